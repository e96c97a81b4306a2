from __future__ import annotations

from datetime import datetime

import pytest

from retailconnect.bus.api import (
    PARTITIONS,
    LatencyRecorder,
    SubscriptionOptions,
    backoff_delay,
    decode_event,
    encode_event,
    matches,
    partition_of,
    validate_and_encode,
    validate_event,
    validate_pattern,
)
from retailconnect.canonical.event import CloudEvent, make_event
from retailconnect.errors import EnvelopeError, InputError


@pytest.mark.parametrize(
    ("pattern", "type_", "ok"),
    [
        ("order.*", "order.accepted", True),
        ("order.*", "order.line.added", False),
        ("order.>", "order.line.added", True),
        ("order.>", "order", False),
        ("inventory.>", "inventory.availability.changed", True),
        (">", "shipment.dispatched", True),
        ("*.accepted", "order.accepted", True),
        ("*.accepted", "return.accepted.late", False),
        ("order.accepted", "order.accepted", True),
        ("order.accepted", "order.accepte", False),
    ],
)
def test_patterns_follow_nats_subject_wildcards(pattern: str, type_: str, ok: bool) -> None:
    assert matches(pattern, type_) is ok


@pytest.mark.parametrize("bad", ["", "Order.*", "order.>.x", "order..x", "order.#", "order.*x"])
def test_bad_patterns_are_refused(bad: str) -> None:
    with pytest.raises(InputError):
        validate_pattern(bad)


def test_validate_event_accepts_instances_and_dicts() -> None:
    ev = make_event("order.accepted", source="t", subject="SO-1", data={"a": 1})
    assert validate_event(ev) is ev
    d = ev.to_json_dict()
    assert validate_event(d).id == ev.id


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"type": "OrderAccepted"}, "type"),
        ({"source": ""}, "source"),
        ({"specversion": "0.3"}, "specversion"),
        ({"time": datetime(2026, 1, 1)}, "time"),  # naive
        ({"data": {"x": object()}}, "JSON"),
        ({"subject": 5}, "subject"),
    ],
)
def test_constructed_bad_envelopes_are_refused(change: dict, needle: str) -> None:
    base = make_event("order.accepted", source="t").model_dump()
    bad = CloudEvent.model_construct(**{**base, **change})
    with pytest.raises(EnvelopeError, match=needle):
        validate_event(bad)


def test_dict_missing_source_names_the_field() -> None:
    with pytest.raises(EnvelopeError, match="source"):
        validate_event({"type": "order.accepted"})
    with pytest.raises(EnvelopeError):
        validate_event("not an event")  # type: ignore[arg-type]


def test_encode_decode_round_trip_keeps_every_field() -> None:
    ev = make_event(
        "inventory.movement", source="wms", subject="SKU-1", data={"qty": 3}, correlationid="c-1", tenant="eu"
    )
    back = decode_event(encode_event(ev))
    assert back == ev
    assert back.time.tzinfo is not None
    _, text = validate_and_encode(ev)
    assert '"time":"' in text and text.count("Z") >= 1


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    for attempt in range(1, 12):
        for _ in range(50):
            d = backoff_delay(attempt, 0.1, 2.0)
            assert 0 <= d <= min(2.0, 0.1 * 2 ** (attempt - 1))
    assert max(backoff_delay(8, 0.1, 2.0) for _ in range(500)) > 1.0


def test_partition_is_stable_per_key() -> None:
    assert partition_of("SKU-1", "e1") == partition_of("SKU-1", "e2")
    assert {partition_of(f"SKU-{i}", "e") for i in range(200)} == set(range(PARTITIONS))


def test_latency_percentiles() -> None:
    r = LatencyRecorder(size=1000)
    for i in range(1, 101):
        r.add(i / 1000)
    p = r.percentiles()
    assert p["p50"] == 50.0 and p["p99"] == 99.0 and p["max"] == 100.0 and p["count"] == 100
    assert LatencyRecorder().percentiles() == {"count": 0}


def test_subscription_options_are_checked() -> None:
    with pytest.raises(InputError):
        SubscriptionOptions("order.*", "bad group!")
    with pytest.raises(InputError):
        SubscriptionOptions("order.*", "g", max_attempts=0)
    with pytest.raises(InputError):
        SubscriptionOptions("order.*", "g", backoff=(2.0, 1.0))
