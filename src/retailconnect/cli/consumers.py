"""``retailconnect consumers add|list|revoke``: API consumers of the gateway and their keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from retailconnect.cli._common import console, fail, print_json

app = typer.Typer(no_args_is_help=True)

ConfigOpt = typer.Option(
    None, "--config", "-c", help="topology file (its engines.store_url); default .retailconnect/"
)


def _store(config: Path | None) -> Any:
    from retailconnect.errors import RetailConnectError
    from retailconnect.gateway.consumers import ConsumerStore
    from retailconnect.store import Store

    url = None
    try:
        if config is not None:
            from retailconnect.config import load_topology

            url = load_topology(config).engines.store_url
        return ConsumerStore(Store.open(url))
    except RetailConnectError as exc:
        fail(exc.message)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="consumer name (unique)"),
    tenant: str = typer.Option(..., "--tenant", "-t", help="tenant (brand) the consumer acts for; * for all"),
    scopes: list[str] = typer.Option(..., "--scopes", "-s", help="scopes, repeated or space/comma separated"),
    tier: str = typer.Option("default", "--tier", help="rate-limit tier (policies.consumers)"),
    extra: list[str] = typer.Argument(None, hidden=True),
    config: Path | None = ConfigOpt,
) -> None:
    """Create a consumer and print its API key ONCE (only its hash is stored)."""
    from retailconnect.errors import RetailConnectError

    cs = _store(config)
    try:
        key = cs.add(name, tenant=tenant, scopes=[*scopes, *(extra or [])], tier=tier)
    except RetailConnectError as exc:
        fail(exc.message)
    c = cs.get(name)
    console.print(f"consumer {name} (tenant {c.tenant}, scopes {' '.join(c.scopes)})", highlight=False)
    console.print("API key (shown once, store it now):", highlight=False)
    typer.echo(key)


@app.command("list")
def list_(
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
    config: Path | None = ConfigOpt,
) -> None:
    """List consumers (never their keys)."""
    items = [c.public() for c in _store(config).list()]
    if as_json:
        print_json(items)
        return
    from rich.table import Table

    table = Table("name", "tenant", "scopes", "tier", "key", "created", "revoked")
    for c in items:
        table.add_row(
            c["name"], c["tenant"], " ".join(c["scopes"]), c["tier"], f"rc_{c['key_prefix']}_…",
            c["created_at"][:19], (c["revoked_at"] or "")[:19],
        )  # fmt: skip
    console.print(table)


@app.command("revoke")
def revoke(name: str = typer.Argument(...), config: Path | None = ConfigOpt) -> None:
    """Revoke a consumer's key (effective within the gateway's key cache time, 5 s by default)."""
    from retailconnect.errors import RetailConnectError

    try:
        c = _store(config).revoke(name)
    except RetailConnectError as exc:
        fail(exc.message)
    console.print(f"revoked {c.name} at {c.revoked_at}", highlight=False)
