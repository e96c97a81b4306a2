"""Canonical identifiers: UUIDv7 (time-ordered) and per-system external references."""

from __future__ import annotations

import uuid
from typing import Annotated

import uuid6
from pydantic import Field

__all__ = ["ExternalRefs", "SystemSlug", "new_id"]

SystemSlug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
ExternalRefs = dict[str, str]


def new_id() -> uuid.UUID:
    """A new UUIDv7: sortable by creation time, unique without coordination."""
    return uuid.UUID(str(uuid6.uuid7()))
