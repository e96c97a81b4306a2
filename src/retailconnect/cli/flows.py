"""``retailconnect flows list|show|retry|cancel``: durable flows, read from the DBOS system database and
the store (no worker needs to run)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import typer
from rich.table import Table

from ._common import console, fail, print_json

app = typer.Typer(no_args_is_help=True)

ConfigOpt = typer.Option(None, "--config", "-c", help="topology YAML file (default: the embedded store)")
JsonOpt = typer.Option(False, "--json", help="machine-readable output")


@contextlib.contextmanager
def operator(config: str | None) -> Iterator[Any]:
    """The store, the exception queue and a DBOS client, from the topology (or the embedded default)."""
    from retailconnect.config import Topology, load_topology
    from retailconnect.errors import RetailConnectError
    from retailconnect.flows.engine import EngineClient, dbos_url_for
    from retailconnect.flows.operations import Operator
    from retailconnect.store import Store
    from retailconnect.store.exception_queue import ExceptionQueue

    try:
        topo = load_topology(config) if config else Topology()
        store = Store.open(topo.engines.store_url)
    except RetailConnectError as exc:
        fail(exc.message)
    client = EngineClient(topo.engines.dbos_url or dbos_url_for(store.url))
    erp = topo.erp_name()
    op = Operator(store, client, ExceptionQueue(store, rules=topo.exception_routing), f"erp-{erp or 'none'}")
    try:
        yield op
    except RetailConnectError as exc:
        fail(exc.message)
    finally:
        client.close()
        store.close()


def _t(v: str | None) -> str:
    return (v or "-").replace("+00:00", "Z")


@app.command("list")
def list_(
    status: str | None = typer.Option(
        None, "--status", "-s", help="PENDING, ENQUEUED, SUCCESS, ERROR, CANCELLED"
    ),
    limit: int = typer.Option(50, "--limit", "-n", min=1, max=10_000),
    config: str | None = ConfigOpt,
    as_json: bool = JsonOpt,
) -> None:
    """List flows, newest first."""
    with operator(config) as op:
        rows = op.list(status=status, limit=limit)
    if as_json:
        print_json(rows)
        return
    table = Table("workflow", "name", "status", "created", "updated", "error")
    for r in rows:
        table.add_row(r["workflow_id"], r["name"], r["status"], _t(r["created_at"]), _t(r["updated_at"]),
                      (r["error"] or "")[:80])  # fmt: skip
    console.print(table)


def _hms(v: str | None) -> str:
    """``2026-11-28T07:45:12.123456+00:00`` -> ``07:45:12.123`` (the date is in the flow's header)."""
    if not v or "T" not in v:
        return "-"
    return v.split("T", 1)[1][:12]


def _steps_table(title: str, steps: list[dict[str, Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("step", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("tries", justify="right")
    table.add_column("started (UTC)", no_wrap=True)
    table.add_column("ended", no_wrap=True)
    table.add_column("error", overflow="fold")
    for s in steps:
        table.add_row(s["step"], s["status"], str(s["attempts"]), _hms(s["started_at"]), _hms(s["ended_at"]),
                      (s["error"] or "")[:200])  # fmt: skip
    return table


@app.command("show")
def show(workflow_id: str, config: str | None = ConfigOpt, as_json: bool = JsonOpt) -> None:
    """Each step of a flow (and of its continuations) with start/end, attempts and error."""
    with operator(config) as op:
        data = op.show(workflow_id)
    if as_json:
        print_json(data)
        return
    console.print(
        f"[bold]{data['workflow_id']}[/] ({data['name']}): {data['status']}, created {_t(data['created_at'])}",
        highlight=False,
    )
    if data.get("order"):
        o = data["order"]
        console.print(f"order: {o['status']}, ERP id {o['erp_id'] or '-'}, paid {o['paid']}", highlight=False)
    console.print(_steps_table("steps", data["steps"]))
    for c in data["continuations"]:
        console.print(_steps_table(f"{c['workflow_id']} ({c['status']})", c["steps"]))
    for e in data["exceptions"]:
        console.print(f"exception {e['id']} [{e['status']}] {e['code']}: {e['message']}", highlight=False)
    if data.get("error"):
        console.print(f"error: {data['error']}", highlight=False)


@app.command("retry")
def retry(workflow_id: str, config: str | None = ConfigOpt) -> None:
    """Retry a parked or failed flow from its failed step."""
    with operator(config) as op:
        how = op.retry(workflow_id)
    console.print(f"{workflow_id}: {how}", highlight=False)


@app.command("cancel")
def cancel(workflow_id: str, config: str | None = ConfigOpt) -> None:
    """Cancel a flow (it stops at its next step)."""
    with operator(config) as op:
        op.cancel(workflow_id)
    console.print(f"{workflow_id}: cancelled", highlight=False)
