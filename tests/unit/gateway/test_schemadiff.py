"""schema diff on crafted OpenAPI documents and canonical schema sets."""

from __future__ import annotations

import copy
import json

from typer.testing import CliRunner

from retailconnect.cli.schema import app as schema_app
from retailconnect.gateway.schemadiff import diff_documents

BASE = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/v1/orders": {
            "post": {
                "parameters": [
                    {"name": "dry", "in": "query", "required": False, "schema": {"type": "boolean"}}
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OrderIn"}}},
                },
                "responses": {
                    "202": {
                        "description": "ok",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/OrderOut"}}
                        },
                    }
                },
            }
        },
        "/v1/prices/{sku}": {"get": {"responses": {"200": {"description": "ok"}}}},
    },
    "components": {
        "schemas": {
            "OrderIn": {
                "type": "object",
                "required": ["number"],
                "properties": {
                    "number": {"type": "string", "maxLength": 50},
                    "qty": {"type": "number"},
                    "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    "status": {"type": "string", "enum": ["open", "closed"]},
                },
            },
            "OrderOut": {
                "type": "object",
                "properties": {"id": {"type": "string"}, "state": {"enum": ["accepted", "duplicate"]}},
            },
        }
    },
}


def kinds(changes):
    return {(c.kind, c.location) for c in changes}


def test_identical_documents_have_no_breaking_changes():
    assert diff_documents(BASE, copy.deepcopy(BASE)) == []


def test_additive_changes_are_not_breaking():
    new = copy.deepcopy(BASE)
    new["paths"]["/v1/returns"] = {"post": {"responses": {"202": {"description": "ok"}}}}
    new["components"]["schemas"]["OrderIn"]["properties"]["tag"] = {"type": "string"}
    new["components"]["schemas"]["OrderOut"]["properties"]["extra"] = {"type": "string"}
    new["components"]["schemas"]["OrderIn"]["properties"]["status"]["enum"].append("draft")
    new["components"]["schemas"]["OrderIn"]["properties"]["number"]["maxLength"] = 80
    assert diff_documents(BASE, new) == []


def test_each_breaking_change_is_reported():
    new = copy.deepcopy(BASE)
    del new["paths"]["/v1/prices/{sku}"]
    s = new["components"]["schemas"]
    s["OrderIn"]["properties"]["qty"] = {"type": "integer"}  # narrowed
    s["OrderIn"]["properties"]["note"] = {"type": "string"}  # null no longer accepted
    s["OrderIn"]["required"].append("qty")  # new required
    s["OrderIn"]["properties"]["status"]["enum"] = ["open"]  # enum value removed
    s["OrderIn"]["properties"]["number"]["maxLength"] = 10  # tighter
    del s["OrderOut"]["properties"]["id"]  # removed response field
    s["OrderOut"]["properties"]["state"]["enum"].append("queued")  # response enum changed
    new["paths"]["/v1/orders"]["post"]["parameters"].append(
        {"name": "mode", "in": "query", "required": True, "schema": {"type": "string"}}
    )
    got = kinds(diff_documents(BASE, new))
    assert ("removed route", "GET /v1/prices/{sku}") in got
    assert ("narrowed type", "POST /v1/orders body.qty") in got
    assert ("narrowed type", "POST /v1/orders body.note") in got
    assert ("new required field", "POST /v1/orders body.qty") in got
    assert ("changed enum", "POST /v1/orders body.status") in got
    assert ("narrowed type", "POST /v1/orders body.number") in got
    assert ("removed field", "POST /v1/orders 202.id") in got
    assert ("changed enum", "POST /v1/orders 202.state") in got
    assert ("new required field", "POST /v1/orders query:mode") in got


def test_cli_on_canonical_schema_dirs(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    order = {"type": "object", "properties": {"number": {"type": "string"}, "channel": {"type": "string"}}}
    (old / "order.schema.json").write_text(json.dumps(order))
    (old / "customer.schema.json").write_text(json.dumps({"type": "object"}))
    (new / "order.schema.json").write_text(json.dumps(order))
    (new / "customer.schema.json").write_text(json.dumps({"type": "object"}))
    runner = CliRunner()
    r = runner.invoke(schema_app, ["diff", str(old), str(new)])
    assert r.exit_code == 0 and "no breaking changes" in r.output
    changed = {**order, "properties": {"number": {"type": "string"}}, "required": ["number"]}
    (new / "order.schema.json").write_text(json.dumps(changed))
    (new / "customer.schema.json").unlink()
    r = runner.invoke(schema_app, ["diff", str(old), str(new), "--json"])
    assert r.exit_code == 1
    got = {(c["kind"], c["location"]) for c in json.loads(r.output)}
    assert got == {
        ("removed schema", "customer"),
        ("removed field", "order.channel"),
        ("new required field", "order.number"),
    }


def test_cli_refuses_mixed_inputs(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(BASE))
    (tmp_path / "b.json").write_text(json.dumps({"type": "object"}))
    r = CliRunner().invoke(schema_app, ["diff", str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    assert r.exit_code == 2
