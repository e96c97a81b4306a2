"""``retailconnect exceptions list|show|resolve``: the exception queue (every action is audited)."""

from __future__ import annotations

import typer
from rich.table import Table

from ._common import console, fail, print_json
from .flows import ConfigOpt, JsonOpt, operator

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_(
    status: str = typer.Option("open", "--status", "-s", help="open, resolved or all"),
    team: str | None = typer.Option(None, "--team"),
    tenant: str | None = typer.Option(None, "--tenant"),
    config: str | None = ConfigOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Exceptions, newest first."""
    if status not in ("open", "resolved", "all"):
        fail(f"--status must be open, resolved or all, not {status!r}")
    with operator(config) as op:
        rows = op.exceptions.list(status=None if status == "all" else status, team=team, tenant=tenant)
    if as_json:
        print_json([r.as_dict() for r in rows])
        return
    table = Table("id", "status", "team", "code", "order", "amount", "workflow", "step", "message")
    for r in rows:
        table.add_row(str(r.id), r.status, r.team, r.code, str(r.context.get("order_number") or "-"),
                      str(r.context.get("amount") or "-"), r.workflow_id or "-", r.failed_step or "-", r.message[:70])  # fmt: skip
    console.print(table)


@app.command("show")
def show(exception_id: int, config: str | None = ConfigOpt, as_json: bool = JsonOpt) -> None:
    """One exception with its business context and suggested action."""
    with operator(config) as op:
        rec = op.exceptions.get(exception_id)
    d = rec.as_dict()
    if as_json:
        print_json(d)
        return
    for k in ("id", "status", "team", "tenant", "code", "error_class", "message", "suggested_action", "workflow_id",
              "failed_step", "assignee", "resolution", "resolved_by", "created_at"):  # fmt: skip
        console.print(f"[bold]{k}[/]: {d[k] if d[k] is not None else '-'}", highlight=False)
    for k, v in d["context"].items():
        console.print(f"  {k}: {v}", highlight=False)
    for n in d["notes"]:
        console.print(f"  note ({n.get('by')}, {n.get('at')}): {n.get('text')}", highlight=False)


@app.command("resolve")
def resolve(
    exception_id: int,
    retry: bool = typer.Option(False, "--retry", help="run the flow again from the failed step"),
    skip: bool = typer.Option(False, "--skip", help="pass the failed step (handled by hand) and go on"),
    cancel: bool = typer.Option(False, "--cancel", help="cancel the flow and compensate"),
    note: str | None = typer.Option(None, "--note"),
    actor: str = typer.Option("cli", "--actor"),
    config: str | None = ConfigOpt,
) -> None:
    """Resolve an exception with exactly one of --retry, --skip, --cancel."""
    chosen = [a for a, on in (("retry", retry), ("skip", skip), ("cancel", cancel)) if on]
    if len(chosen) != 1:
        fail("give exactly one of --retry, --skip, --cancel")
    with operator(config) as op:
        rec = op.resolve(exception_id, chosen[0], actor, note)
    console.print(
        f"exception {exception_id}: resolved with {chosen[0]} ({rec['workflow_id'] or 'no flow'})",
        highlight=False,
    )
