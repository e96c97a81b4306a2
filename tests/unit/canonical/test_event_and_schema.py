import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from retailconnect.canonical import SCHEMAS, CloudEvent, make_event, schema_for
from retailconnect.canonical.schema import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[3]


def test_cloudevent_envelope_with_extensions() -> None:
    e = make_event(
        "order.accepted",
        source="/retailconnect/flows",
        subject="order-1",
        data={"a": 1},
        correlationid="c-1",
        tenant="acme",
        dataschema="https://retailconnect.dev/schemas/order/1.0.0",
    )
    d = e.to_json_dict()
    assert d["specversion"] == "1.0"
    assert d["time"].endswith("Z")
    assert {
        "id",
        "source",
        "type",
        "subject",
        "time",
        "datacontenttype",
        "data",
        "correlationid",
        "tenant",
        "dataschema",
    } <= set(d)
    assert CloudEvent.model_validate(d) == e


@pytest.mark.parametrize("bad", [{"type": "Order Accepted"}, {"specversion": "0.3"}, {"source": ""}])
def test_invalid_envelopes_are_refused(bad: dict) -> None:
    base = {"source": "x", "type": "order.accepted"} | bad
    with pytest.raises(ValidationError):
        CloudEvent.model_validate(base)


def test_every_schema_has_a_version_and_id() -> None:
    assert set(SCHEMAS) == {
        "order",
        "customer",
        "product",
        "price",
        "promotion",
        "inventory_level",
        "stock_movement",
        "shipment",
        "return",
        "refund",
        "settlement",
        "event",
    }
    for name in SCHEMAS:
        s = schema_for(name)
        assert s["version"] == SCHEMA_VERSION
        assert s["$id"].endswith(f"/{name}/{SCHEMA_VERSION}")


def test_checked_in_schemas_match_the_models() -> None:
    """Fails when a model changed and `make schemas` (retailconnect schema export schemas) was not run."""
    stale = []
    for name in SCHEMAS:
        path = ROOT / "schemas" / f"{name}.schema.json"
        assert path.exists(), f"{path} missing: run `retailconnect schema export schemas`"
        if json.loads(path.read_text()) != json.loads(json.dumps(schema_for(name))):
            stale.append(name)
    assert not stale, f"schemas out of date for {stale}: run `retailconnect schema export schemas`"
