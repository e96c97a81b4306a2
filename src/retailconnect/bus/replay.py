"""Parsing replay starting points and durations (shared by the CLI and callers with text input)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from retailconnect.errors import InputError

__all__ = ["parse_duration", "parse_start"]

_DUR = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """``30s`` ``15m`` ``12h`` ``7d`` ``2w`` -> timedelta; ``InputError`` otherwise."""
    m = _DUR.match(text.strip().lower())
    if not m:
        raise InputError(f"bad duration {text!r}: use a number and a unit s|m|h|d|w, e.g. 7d or 15m")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def parse_start(text: str, *, now: datetime | None = None) -> dict[str, object]:
    """A replay start as keyword arguments for ``EventBus.replay``: an integer offset, an ISO 8601 time
    with a zone (``2026-11-28T06:00:00Z``), or a duration meaning "that long ago" (``15m``)."""
    s = text.strip()
    if s.isdigit():
        return {"from_offset": int(s)}
    if _DUR.match(s.lower()):
        return {"from_time": (now or datetime.now(UTC)) - parse_duration(s)}
    try:
        t = datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InputError(
            f"bad --from {text!r}: give an offset (e.g. 120), an ISO time with zone (2026-11-28T06:00:00Z) "
            "or a duration ago (15m)"
        ) from None
    if t.tzinfo is None or t.utcoffset() is None:
        raise InputError(f"bad --from {text!r}: the time needs a zone (Z or +01:00)")
    return {"from_time": t.astimezone(UTC)}
