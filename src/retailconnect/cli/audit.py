"""``retailconnect audit verify``: walk the hash chain of the audit log."""

from __future__ import annotations

from pathlib import Path

import typer

from retailconnect.cli._common import console, err_console, fail

app = typer.Typer(no_args_is_help=True)


def store_url_from(config: Path | None, store_url: str | None) -> str | None:
    if store_url:
        return store_url
    if config is not None:
        from retailconnect.config import load_topology
        from retailconnect.errors import ConfigError

        try:
            return load_topology(config).engines.store_url
        except ConfigError as exc:
            fail(exc.problems[0])
    return None


@app.command("verify")
def verify(
    config: Path | None = typer.Option(None, "--config", "-c", help="topology file (selects the store)"),
    store_url: str | None = typer.Option(None, "--store", help="store URL (overrides --config)"),
) -> None:
    """Exit 0 when the chain is intact; report the first tampered row and exit 1 otherwise."""
    from retailconnect.store import AuditLog, Store

    store = Store.open(store_url_from(config, store_url))
    try:
        result = AuditLog(store).verify()
    finally:
        store.close()
    if result.ok:
        console.print(f"[green]ok[/] audit log intact ({result.checked} rows)", highlight=False)
        return
    err_console.print(
        f"audit log tampered: first bad row id={result.first_bad_id}: {result.reason}", highlight=False
    )
    raise typer.Exit(1)
