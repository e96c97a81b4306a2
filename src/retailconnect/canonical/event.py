"""The event envelope: CloudEvents 1.0 (JSON format) with the extensions ``correlationid`` and
``tenant``; ``dataschema`` names the canonical schema and version of ``data``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, field_validator

from .base import CanonicalModel, UtcDatetime, utcnow
from .ids import new_id

__all__ = ["CloudEvent", "make_event"]

_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class CloudEvent(CanonicalModel):
    schema_name: str = Field(default="event", exclude=True, repr=False)

    specversion: str = "1.0"
    id: str = Field(default_factory=lambda: str(new_id()), min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(description="<aggregate>.<past-tense fact>, e.g. order.accepted")
    subject: str | None = None
    time: UtcDatetime = Field(default_factory=utcnow)
    datacontenttype: str = "application/json"
    dataschema: str | None = None
    data: dict[str, Any] | list[Any] | None = None
    correlationid: str | None = None
    tenant: str | None = None

    @field_validator("specversion")
    @classmethod
    def _spec(cls, v: str) -> str:
        if v != "1.0":
            raise ValueError("specversion must be '1.0'")
        return v

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        if not _TYPE.match(v):
            raise ValueError(f"type {v!r} must look like '<aggregate>.<fact>' (lowercase, dotted)")
        return v

    def to_json_dict(self) -> dict[str, Any]:
        d = self.model_dump(mode="json", exclude_none=True)
        d["time"] = self.time.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return d


def make_event(
    type: str,
    *,
    source: str,
    data: Any = None,
    subject: str | None = None,
    correlationid: str | None = None,
    tenant: str | None = None,
    dataschema: str | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    if hasattr(data, "model_dump"):
        data = data.model_dump(mode="json")
    return CloudEvent(
        type=type,
        source=source,
        data=data,
        subject=subject,
        correlationid=correlationid,
        tenant=tenant,
        dataschema=dataschema,
        time=time or utcnow(),
    )
