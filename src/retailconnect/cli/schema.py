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


@app.command("diff")
def diff(
    old: Path = typer.Argument(
        ..., help="the baseline: an OpenAPI JSON file, a schema file or a schema directory"
    ),
    new: Path = typer.Argument(..., help="the candidate, of the same kind"),
    as_json: bool = typer.Option(False, "--json", help="print the changes as JSON"),
) -> None:
    """List breaking changes from OLD to NEW (removed route or field, narrowed type, new required field,
    changed enum). Exit 1 when there are any, 0 otherwise."""
    from retailconnect.cli._common import fail, print_json
    from retailconnect.gateway.schemadiff import diff_paths

    for p in (old, new):
        if not p.exists():
            fail(f"{p}: no such file or directory")
    try:
        changes = diff_paths(old, new)
    except (ValueError, OSError) as exc:
        fail(str(exc))
    if as_json:
        print_json([{"location": c.location, "kind": c.kind, "detail": c.detail} for c in changes])
    elif changes:
        for c in changes:
            console.print(str(c), highlight=False, soft_wrap=True)
        console.print(f"{len(changes)} breaking change(s)", highlight=False)
    else:
        console.print("no breaking changes", highlight=False)
    raise typer.Exit(1 if changes else 0)


@app.command("openapi")
def openapi(path: Path = typer.Argument(None, help="output file; stdout when omitted")) -> None:
    """Write the gateway's OpenAPI 3.1 document (the baseline lives in schemas/openapi.v1.json)."""
    import json

    from retailconnect.gateway.app import openapi_document

    text = json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
    if path is None:
        typer.echo(text, nl=False)
    else:
        path.write_text(text)
        console.print(f"wrote {path}", highlight=False)
