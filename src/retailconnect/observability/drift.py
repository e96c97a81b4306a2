"""The hub's contract-drift recorder (implements ``connectors._kit.drift.DriftSink``).

Keeps, per (system, API version, model, field, kind), when it was first and last seen, how often, and
one redacted example payload; exports ``retailconnect_contracts_drift_fields_total``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .metrics import HubMetrics
from .redaction import redact

__all__ = ["DriftEntry", "DriftRecorder"]

_EXAMPLE_MAX_CHARS = 4000


@dataclass
class DriftEntry:
    system: str
    api_version: str
    model: str
    field: str
    kind: str  # unexpected | missing
    first_seen: datetime
    last_seen: datetime
    count: int
    example: str  # redacted JSON, truncated

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.system, self.api_version, self.model, self.field, self.kind)


class DriftRecorder:
    def __init__(self, metrics: HubMetrics | None = None, *, max_entries: int = 2000) -> None:
        self.metrics = metrics
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str, str, str, str], DriftEntry] = {}
        self._lock = threading.Lock()

    def record(
        self,
        *,
        system: str,
        api_version: str | None,
        model: str,
        unexpected: Iterable[str],
        missing: Iterable[str],
        example: Mapping[str, Any],
    ) -> None:
        now = datetime.now(UTC)
        version = api_version or "unknown"
        example_json: str | None = None
        counts = {"unexpected": 0, "missing": 0}
        with self._lock:
            for kind, fields in (("unexpected", list(unexpected)), ("missing", list(missing))):
                for f in fields:
                    key = (system, version, model, f, kind)
                    entry = self._entries.get(key)
                    counts[kind] += 1
                    if entry is None:
                        if len(self._entries) >= self.max_entries:
                            continue
                        if example_json is None:
                            example_json = _example(example)
                        self._entries[key] = DriftEntry(
                            system, version, model, f, kind, now, now, 1, example_json
                        )
                    else:
                        entry.last_seen = now
                        entry.count += 1
        if self.metrics is not None:
            for kind, n in counts.items():
                if n:
                    self.metrics.drift_recorded(system=system, api_version=version, kind=kind, fields=n)

    def entries(self, system: str | None = None) -> list[DriftEntry]:
        with self._lock:
            items = [e for e in self._entries.values() if system is None or e.system == system]
        return sorted(items, key=lambda e: (e.system, e.api_version, e.model, e.kind, e.field))

    def summary(self) -> dict[tuple[str, str], dict[str, int]]:
        """(system, api_version) -> {"unexpected": distinct fields, "missing": distinct fields}."""
        out: dict[tuple[str, str], dict[str, int]] = {}
        for e in self.entries():
            row = out.setdefault((e.system, e.api_version), {"unexpected": 0, "missing": 0})
            row[e.kind] += 1
        return out


def _example(payload: Mapping[str, Any]) -> str:
    text = json.dumps(redact(dict(payload)), indent=2, sort_keys=True, default=str)
    return text if len(text) <= _EXAMPLE_MAX_CHARS else text[:_EXAMPLE_MAX_CHARS] + "\n... (truncated)"
