"""``retailconnect schema export DIR`` (and ``schema diff OLD NEW``, see the gateway's schema control)."""

from __future__ import annotations

from pathlib import Path

import typer

from retailconnect.cli._common import console

app = typer.Typer(no_args_is_help=True)


@app.command("export")
def export(directory: Path = typer.Argument(..., help="output directory")) -> None:
    """Write one JSON Schema per canonical object (order.schema.json, ...), each with its version."""
    from retailconnect.canonical import export_schemas

    for path in export_schemas(directory):
        console.print(f"wrote {path}", highlight=False)
