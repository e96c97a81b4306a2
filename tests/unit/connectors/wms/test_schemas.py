"""The WMS documents validate against the published JSON Schemas; docs/ holds exactly the schemas in code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from retailconnect.connectors.wms import SCHEMAS

ROOT = Path(__file__).parents[4]
DOCS = ROOT / "docs" / "connectors" / "schemas" / "wms"
FIX = ROOT / "tests" / "fixtures" / "wms"


def test_docs_schemas_equal_the_code() -> None:
    on_disk = {p.stem: json.loads(p.read_text()) for p in DOCS.glob("*.json")}
    assert on_disk == SCHEMAS


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schemas_are_valid_draft_2020_12(name: str) -> None:
    Draft202012Validator.check_schema(SCHEMAS[name])


@pytest.mark.parametrize(
    "fixture,schema",
    [
        ("shipment_dispatched.json", "shipment.dispatched"),
        ("stock_movement.json", "stock.movement"),
        ("stock_cycle_count.json", "stock.movement"),
        ("return_inspected.json", "return.inspected"),
        ("fulfillment_request.json", "fulfillment-request"),
    ],
)
def test_fixtures_validate(fixture: str, schema: str) -> None:
    doc = json.loads((FIX / fixture).read_text())
    v = Draft202012Validator(
        json.loads((DOCS / f"{schema}.json").read_text()), format_checker=FormatChecker()
    )
    assert list(v.iter_errors(doc)) == []


def test_schema_rejects_bad_documents() -> None:
    v = Draft202012Validator(SCHEMAS["stock.movement"])
    doc = json.loads((FIX / "stock_movement.json").read_text())
    doc["data"]["quantity"] = 0
    assert list(v.iter_errors(doc))
    doc = json.loads((FIX / "stock_cycle_count.json").read_text())
    del doc["data"]["counted"]
    assert list(v.iter_errors(doc))
    ret = json.loads((FIX / "return_inspected.json").read_text())
    ret["data"]["lines"][0]["disposition"] = "burn"
    assert list(Draft202012Validator(SCHEMAS["return.inspected"]).iter_errors(ret))
