from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from retailconnect.bus.replay import parse_duration, parse_start
from retailconnect.errors import InputError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("12h", 43200), ("7d", 604800), ("2w", 1209600), ("1.5h", 5400)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("bad", ["", "7", "7x", "d7", "-1d", "seven days"])
def test_bad_durations(bad: str) -> None:
    with pytest.raises(InputError):
        parse_duration(bad)


def test_start_points() -> None:
    now = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
    assert parse_start("120") == {"from_offset": 120}
    assert parse_start("15m", now=now) == {"from_time": now - timedelta(minutes=15)}
    assert parse_start("2026-11-28T06:00:00Z") == {"from_time": datetime(2026, 11, 28, 6, 0, tzinfo=UTC)}
    assert parse_start("2026-11-28T07:00:00+01:00") == {"from_time": datetime(2026, 11, 28, 6, 0, tzinfo=UTC)}
    with pytest.raises(InputError, match="zone"):
        parse_start("2026-11-28T06:00:00")
    with pytest.raises(InputError):
        parse_start("yesterday")
