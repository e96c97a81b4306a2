"""Reference resolution for mappers (OCA's bindings): canonical id <-> each system's id.

``store.bindings`` implements :class:`RefResolver`; connectors and mappers only see this protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from .drift import DriftSink


class RefResolver(Protocol):
    def to_internal(self, kind: str, system: str, external_id: str) -> str | None: ...

    def to_external(self, kind: str, system: str, internal_id: str) -> str | None: ...


class MemoryRefs:
    """An in-memory resolver for tests and the CLI's `map` command."""

    def __init__(self) -> None:
        self._fwd: dict[tuple[str, str, str], str] = {}
        self._rev: dict[tuple[str, str, str], str] = {}

    def bind(self, kind: str, system: str, internal_id: str, external_id: str) -> None:
        self._fwd[(kind, system, external_id)] = internal_id
        self._rev[(kind, system, internal_id)] = external_id

    def to_internal(self, kind: str, system: str, external_id: str) -> str | None:
        return self._fwd.get((kind, system, external_id))

    def to_external(self, kind: str, system: str, internal_id: str) -> str | None:
        return self._rev.get((kind, system, internal_id))


@dataclass
class MapContext:
    """What a mapper may consult besides its input: references, tenant, per-system settings."""

    refs: RefResolver = field(default_factory=MemoryRefs)
    tenant: str | None = None
    channel: str | None = None
    settings: dict[str, object] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    drift: DriftSink | None = None  # where contract drift is reported (connectors._kit.drift)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
