"""``retailconnect dlq list|show|replay|purge``: dead letters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.panel import Panel
from rich.table import Table

from retailconnect.cli._common import console, fail, print_json
from retailconnect.cli.events import ConfigOpt, JsonOpt, run

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_(
    group: str | None = typer.Option(None, "--group", "-g"),
    limit: int = typer.Option(100, "--limit", "-n", min=1),
    config: Path | None = ConfigOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Dead letters, oldest first."""

    async def go(bus: Any) -> Any:
        return await bus.list_dead(group, limit=limit)

    dead = run(config, go)
    if as_json:
        print_json([d.to_dict() for d in dead])
        return
    if not dead:
        console.print("no dead letters")
        return
    table = Table("id", "dead at", "group", "type", "subject", "attempts", "handler", "last error")
    for d in dead:
        err = d.last_error.splitlines()[0] if d.last_error else ""
        table.add_row(
            d.id,
            d.dead_at.strftime("%Y-%m-%d %H:%M:%S"),
            d.group,
            d.event.type,
            d.event.subject or "-",
            str(d.attempts),
            d.handler.rsplit(".", 1)[-1],
            err[:60],
        )
    console.print(table)


@app.command("show")
def show(
    id: str = typer.Argument(..., help="dead-letter id"),
    config: Path | None = ConfigOpt,
    as_json: bool = JsonOpt,
) -> None:
    """One dead letter with its error, traceback summary and event."""

    async def go(bus: Any) -> Any:
        return await bus.get_dead(id)

    d = run(config, go)
    if as_json:
        print_json(d.to_dict())
        return
    meta = Table.grid(padding=(0, 2))
    for k, v in [
        ("id", d.id),
        ("group", d.group),
        ("handler", d.handler),
        ("attempts", str(d.attempts)),
        ("dead at", d.dead_at.isoformat()),
        ("event id", d.event.id),
        ("type", d.event.type),
        ("subject", d.event.subject or "-"),
        ("last error", d.last_error),
    ]:
        meta.add_row(f"[bold]{k}[/]", v)
    console.print(meta)
    console.print(Panel(d.traceback.rstrip(), title="traceback", expand=False), markup=False)
    console.print(
        Panel(json.dumps(d.event.to_json_dict(), indent=2), title="event", expand=False), markup=False
    )


@app.command("replay")
def replay(
    id: str | None = typer.Argument(None, help="dead-letter id (or use --all)"),
    all_: bool = typer.Option(False, "--all", help="every dead letter (of --group if given)"),
    group: str | None = typer.Option(None, "--group", "-g"),
    dry_run: bool = typer.Option(False, "--dry-run", help="list what would be redelivered and to whom"),
    config: Path | None = ConfigOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Redeliver dead letters to the group each died in (and remove them from the queue)."""
    if (id is None) == (not all_):
        fail("give a dead-letter ID or --all (not both)")

    async def go(bus: Any) -> Any:
        return await bus.replay_dead("all" if all_ else id, group=group, dry_run=dry_run)

    res = run(config, go)
    if as_json:
        print_json(res.to_dict())
        return
    verb = "would redeliver" if dry_run else "redelivered"
    console.print(f"{verb} [bold]{res.count}[/] dead letter(s)", highlight=False)
    if res.items:
        table = Table("dead id", "type", "subject", "event id", "to group")
        for it in res.items:
            table.add_row(it["dead_id"], it["type"], it["subject"] or "-", it["event_id"], it["group"])
        console.print(table)


@app.command("purge")
def purge(
    older_than: str = typer.Option(..., "--older-than", help="age, e.g. 7d, 12h, 30m"),
    config: Path | None = ConfigOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Delete dead letters older than the given age."""
    from retailconnect.bus.replay import parse_duration
    from retailconnect.errors import InputError

    try:
        age = parse_duration(older_than)
    except InputError as exc:
        fail(exc.message)

    async def go(bus: Any) -> Any:
        return await bus.purge_dead(age)

    n = run(config, go)
    if as_json:
        print_json({"purged": n, "older_than": older_than})
    else:
        console.print(f"purged [bold]{n}[/] dead letter(s) older than {older_than}", highlight=False)
