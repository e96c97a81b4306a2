"""``retailconnect map [--to SYSTEM] SYSTEM OBJECT FILE``: vendor JSON -> canonical JSON, or back.

Each connector package exposes two dicts in its ``__init__``:
``CLI_MAPPERS = {"order": fn(payload, ctx) -> canonical model}`` (vendor -> canonical) and
``CLI_EXPORTERS = {"order": fn(canonical_model, ctx) -> dict}`` (canonical -> vendor request body).
A mapper raises :class:`~retailconnect.errors.MappingError` with ``context["path"]`` (a JSON path) when
it cannot map; warnings it adds to ``ctx.warnings`` go to stderr.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError

from retailconnect.cli._common import err_console, fail, print_json
from retailconnect.errors import RetailConnectError


def _load_connector(system: str) -> Any:
    try:
        return importlib.import_module(f"retailconnect.connectors.{system}")
    except ModuleNotFoundError:
        fail(f"unknown system {system!r}")


def _read_json(file: Path) -> Any:
    try:
        return json.loads(file.read_text())
    except FileNotFoundError:
        fail(f"{file}: no such file")
    except json.JSONDecodeError as exc:
        fail(f"{file}:{exc.lineno}: not valid JSON: {exc.msg}")


def _canonical_model(obj: str) -> Any:
    from retailconnect.canonical import SCHEMAS

    if obj not in SCHEMAS:
        fail(f"unknown canonical object {obj!r} (one of {', '.join(sorted(SCHEMAS))})")
    return SCHEMAS[obj]


def _validation_path(exc: ValidationError) -> str:
    err = exc.errors()[0]
    path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
    return f"{path}: {err['msg']}"


def map_command(
    system: str = typer.Argument(..., help="shopify, netsuite, wms ..."),
    obj: str = typer.Argument(..., help="order, refund, product, inventory_level ..."),
    file: Path = typer.Argument(..., help="JSON file"),
    to: bool = typer.Option(False, "--to", help="canonical -> SYSTEM instead of SYSTEM -> canonical"),
) -> None:
    """Map a vendor payload to canonical JSON (or, with --to, canonical JSON to the vendor's body)."""
    from retailconnect.connectors._kit import MapContext

    mod = _load_connector(system)
    table = getattr(mod, "CLI_EXPORTERS" if to else "CLI_MAPPERS", {})
    if obj not in table:
        direction = f"to {system}" if to else f"from {system}"
        fail(f"no mapper for {obj!r} {direction} (have: {', '.join(sorted(table)) or 'none'})")
    payload = _read_json(file)
    ctx = MapContext()
    try:
        if to:
            model = _canonical_model(obj).model_validate(payload)
            out = table[obj](model, ctx)
        else:
            result = table[obj](payload, ctx)
            out = result.model_dump(mode="json") if hasattr(result, "model_dump") else result
    except ValidationError as exc:
        fail(f"{file}: {_validation_path(exc)}")
    except RetailConnectError as exc:
        path = exc.context.get("path")
        fail(f"{file}: {path + ': ' if path else ''}{exc.message}")
    for w in ctx.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
    print_json(out)


def register(root: typer.Typer) -> None:
    root.command("map")(map_command)
