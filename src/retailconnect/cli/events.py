"""``retailconnect events tail|replay``: look at and rewind the event backbone."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.table import Table

from retailconnect.cli._common import console, fail, print_json

app = typer.Typer(no_args_is_help=True)

T = TypeVar("T")

ConfigOpt = typer.Option(
    None, "--config", "-c", help="topology YAML file (default: the embedded store in ./.retailconnect)"
)
JsonOpt = typer.Option(False, "--json", help="machine-readable output")


@contextlib.asynccontextmanager
async def open_cli_bus(config: Path | None) -> AsyncIterator[Any]:
    """The bus the topology selects, else the embedded SQLite store ``.retailconnect/retailconnect.db``."""
    from retailconnect.bus import bus_from_topology, open_bus
    from retailconnect.store import DEFAULT_STORE_URL, Store

    if config is not None:
        from retailconnect.config import load_topology

        topo = load_topology(config)
        store = Store.open(topo.engines.store_url)
        bus = bus_from_topology(topo, store)
    else:
        path = Path(DEFAULT_STORE_URL.removeprefix("sqlite:///"))
        if not path.exists():  # noqa: ASYNC240 - one stat before anything starts
            raise _NoStore(f"no event store at {path} (run the hub here first, or pass --config FILE)")
        store = Store.open(DEFAULT_STORE_URL)
        bus = open_bus("sqlite", store=store)
    try:
        await bus.start()
        yield bus
    finally:
        await bus.close()
        store.close()


class _NoStore(Exception):
    pass


def run(config: Path | None, fn: Callable[[Any], Awaitable[T]]) -> T:
    """Open the bus, run ``fn(bus)``, turn our errors into one line and exit 2."""
    from retailconnect.errors import RetailConnectError

    async def main() -> T:
        async with open_cli_bus(config) as bus:
            return await fn(bus)

    try:
        return asyncio.run(main())
    except (RetailConnectError, _NoStore) as exc:
        fail(getattr(exc, "message", None) or str(exc))


def _event_row(offset: int, ev: Any) -> dict[str, Any]:
    return {
        "offset": offset,
        "id": ev.id,
        "type": ev.type,
        "subject": ev.subject,
        "time": ev.time.isoformat(),
        "source": ev.source,
        "data": ev.data,
    }


@app.command("tail")
def tail(
    type_: str = typer.Option(
        ">", "--type", "-t", help="type pattern: order.* (one token), inventory.> (rest)"
    ),
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=10_000),
    follow: bool = typer.Option(False, "--follow", "-f", help="keep printing new events (Ctrl-C to stop)"),
    config: Path | None = ConfigOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show the latest events (oldest first)."""
    from retailconnect.bus.api import validate_pattern
    from retailconnect.errors import InputError

    try:
        validate_pattern(type_)
    except InputError as exc:
        fail(exc.message)

    def show(rows: list[tuple[int, Any]]) -> None:
        if as_json:
            if follow:
                for o, e in rows:
                    sys.stdout.write(json.dumps(_event_row(o, e), default=str) + "\n")
                sys.stdout.flush()
            else:
                print_json([_event_row(o, e) for o, e in rows])
            return
        table = Table("offset", "time")
        table.add_column("type", no_wrap=True)
        table.add_column("subject")
        table.add_column("id", overflow="fold")
        for o, e in rows:
            table.add_row(str(o), e.time.strftime("%Y-%m-%d %H:%M:%S"), e.type, e.subject or "-", e.id)
        if rows or not follow:
            console.print(table)

    async def go(bus: Any) -> None:
        rows = await bus.tail(type_, limit=limit)
        show(rows)
        if not follow:
            return
        last = rows[-1][0] if rows else 0
        if not rows:
            latest = await bus.tail(">", limit=1)
            last = latest[-1][0] if latest else 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):  # Ctrl-C ends the loop cleanly
            loop.add_signal_handler(signal.SIGINT, stop.set)
            loop.add_signal_handler(signal.SIGTERM, stop.set)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
            new = await bus.tail(type_, limit=1000, after=last)
            if new:
                show(new)
                last = new[-1][0]

    with contextlib.suppress(KeyboardInterrupt):
        run(config, go)


@app.command("replay")
def replay(
    group: str = typer.Option(..., "--group", "-g", help="consumer group to rewind"),
    from_: str | None = typer.Option(
        None, "--from", help="offset (120), ISO time with zone (2026-11-28T06:00:00Z) or duration ago (15m)"
    ),
    from_event: str | None = typer.Option(None, "--from-event", help="start at this event id"),
    dry_run: bool = typer.Option(False, "--dry-run", help="list what would be redelivered and to whom"),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="rows to list"),
    config: Path | None = ConfigOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Redeliver to GROUP every matching event from a point on."""
    from retailconnect.bus.replay import parse_start
    from retailconnect.errors import InputError

    if (from_ is None) == (from_event is None):
        fail("give exactly one of --from OFFSET|TIME|DURATION or --from-event ID")
    try:
        start: dict[str, Any] = parse_start(from_) if from_ is not None else {"from_event_id": from_event}
    except InputError as exc:
        fail(exc.message)

    async def go(bus: Any) -> Any:
        return await bus.replay(group, dry_run=dry_run, limit=limit, **start)

    res = run(config, go)
    if as_json:
        print_json(res.to_dict())
        return
    verb = "would redeliver" if dry_run else "redelivering"
    console.print(f"{verb} [bold]{res.count}[/] event(s) to group [bold]{group}[/]", highlight=False)
    table = Table("offset", "type", "subject", "event id", "to group")
    for it in res.items:
        table.add_row(str(it["offset"]), it["type"], it["subject"] or "-", it["event_id"], it["group"])
    if res.items:
        console.print(table)
    if res.count > len(res.items):
        console.print(f"… and {res.count - len(res.items)} more", highlight=False)
