"""Shared base for canonical objects: strict Pydantic models, UUIDv7 ids, external refs, aware UTC times."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .ids import ExternalRefs, new_id

__all__ = ["CanonicalModel", "Entity", "UtcDatetime", "utcnow"]


def _aware_utc(v: datetime) -> datetime:
    if v.tzinfo is None or v.utcoffset() is None:
        raise ValueError("datetime must carry a timezone (naive times are ambiguous)")
    return v.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_aware_utc)]


def utcnow() -> datetime:
    return datetime.now(UTC)


class CanonicalModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_assignment=True)


class Entity(CanonicalModel):
    """A canonical business object with its own identity."""

    schema_name: ClassVar[str] = ""
    schema_version: ClassVar[str] = "1.0.0"

    id: uuid.UUID = Field(default_factory=new_id)
    external_refs: ExternalRefs = Field(default_factory=dict)

    def ref(self, system: str) -> str | None:
        return self.external_refs.get(system)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
