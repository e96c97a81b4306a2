"""``retailconnect demo``: the scripted retail day, end to end on loopback.

Shopify, NetSuite and WMS simulators run in this process on free loopback ports; the hub runs as a child
process (``retailconnect serve`` on the generated topology). Each scenario drives the simulators' admin
endpoints and checks what the simulators themselves received. Exit 0 only when every check passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
import traceback
from pathlib import Path

import typer
from rich.console import Console

from retailconnect.cli._common import fail

from .checks import Outcome
from .report import Reporter, print_failures, summary_table, write_json

__all__ = ["register"]


def demo(
    scenario: list[str] = typer.Option(
        [],
        "--scenario",
        "-s",
        help="run only this scenario (repeatable): orders, inventory, flash_sale, "
        "erp_outage, returns, exceptions, erp_migration",
    ),
    orders: int = typer.Option(
        500, "--orders", "-n", min=10, help="orders in the main scenario (others scale)"
    ),
    json_path: Path | None = typer.Option(None, "--json", help="write the results as JSON here"),
    keep_running: bool = typer.Option(
        False, "--keep-running", help="leave the hub, simulators and dashboard up; print their URLs"
    ),
    workdir: Path | None = typer.Option(
        None, "--workdir", help="where the store and logs go (default: a temp dir)"
    ),
) -> None:
    """Run the scripted retail day: hub + Shopify, NetSuite and WMS simulators, every check from the simulators."""
    from .scenarios import ORDER

    names = scenario or list(ORDER)
    unknown = [n for n in names if n not in ORDER]
    if unknown:
        fail(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(ORDER)}")
    names = [n for n in ORDER if n in names]
    console = Console()
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="retailconnect-demo-")))
        code = asyncio.run(_main(console, names, orders, json_path, keep_running, workdir))
    raise typer.Exit(code)


async def _main(
    console: Console, names: list[str], orders: int, json_path: Path | None, keep_running: bool, workdir: Path
) -> int:
    from .context import DemoEnv
    from .scenarios import load

    console.print(
        f"[bold]retailconnect demo[/]: {orders} orders, scenarios {', '.join(names)}\n"
        f"  starting simulators and the hub (work dir {workdir}) ...",
        highlight=False,
    )
    t_start = time.monotonic()
    try:
        env = await asyncio.to_thread(DemoEnv.setup, orders, workdir)
    except Exception as exc:
        console.print(f"[red]could not start the demo:[/] {exc}", highlight=False)
        log = workdir / "hub.log"
        if log.is_file():
            console.print(log.read_text()[-3000:], highlight=False, markup=False)
        return 1
    for running in env.fleet.sims.values():
        console.print(f"  {running.kind:<9} simulator  {running.url}", highlight=False)
    console.print(f"  hub (gateway)        {env.hub.url}", highlight=False)
    outcomes: list[Outcome] = []
    try:
        with Reporter(console) as reporter:
            for name in names:
                mod = load(name)
                ui = reporter.scenario(name)
                t0 = time.monotonic()
                limit = scenario_timeout(orders)
                try:
                    outcome: Outcome = await asyncio.wait_for(mod.run(env, ui), limit)
                except TimeoutError:
                    outcome = Outcome(name, getattr(mod, "TITLE", name))
                    outcome.error = f"did not finish within {limit:.0f} s"
                except Exception as exc:
                    outcome = Outcome(name, getattr(mod, "TITLE", name))
                    outcome.error = f"{type(exc).__name__}: {exc}"
                    if os.environ.get("RETAILCONNECT_DEMO_DEBUG"):
                        traceback.print_exc()
                outcome.duration_s = time.monotonic() - t0
                outcomes.append(outcome)
                reporter.finished(ui, outcome)
                if not console.is_terminal:
                    mark = "passed" if outcome.passed else "FAILED"
                    console.print(f"  {name}: {mark} in {outcome.duration_s:.1f} s", highlight=False)
        for o in outcomes:
            for note in o.notes:
                console.print(f"  [dim]{o.name}: {note}[/]", highlight=False)
        console.print(summary_table(outcomes))
        print_failures(console, outcomes)
        total = time.monotonic() - t_start
        passed = all(o.passed for o in outcomes)
        console.print(
            f"[bold]{'all checks passed' if passed else 'SOME CHECKS FAILED'}[/] in {total:.0f} s "
            f"(every figure read from the simulators' own state and request logs)",
            highlight=False,
        )
        if json_path is not None:
            write_json(json_path, outcomes, {"orders": orders, "duration_s": round(total, 1)})
        if keep_running:
            await _keep_running(console, env)
        return 0 if passed else 1
    finally:
        code = await env.close()
        if code not in (0, None):
            console.print(f"[yellow]the hub exited with code {code}[/] (log: {workdir / 'hub.log'})")


async def _keep_running(console: Console, env: object) -> None:
    from .context import DemoEnv

    assert isinstance(env, DemoEnv)
    console.print("\n[bold]still running[/] (Ctrl-C to stop):", highlight=False, soft_wrap=True)
    console.print(f"  dashboard   {env.hub.url}/", highlight=False, soft_wrap=True)
    console.print(f"  API docs    {env.hub.url}/docs", highlight=False, soft_wrap=True)
    console.print(f"  metrics     {env.hub.url}/metrics", highlight=False, soft_wrap=True)
    for name, running in env.fleet.sims.items():
        console.print(f"  {name:<11} {running.url}/_sim/requests", highlight=False, soft_wrap=True)
    console.print(f"  ops API key (dashboard login): {env.keys['ops']}", highlight=False, soft_wrap=True)
    console.print(f"  topology    {env.hub.config}", highlight=False, soft_wrap=True)
    with contextlib.suppress(asyncio.CancelledError, KeyboardInterrupt):
        await asyncio.Event().wait()


def scenario_timeout(orders: int) -> float:
    """A scenario that has not finished by then is reported failed (the demo always ends with a table)."""
    return 180.0 + orders * 1.5


def register(root: typer.Typer) -> None:
    root.command("demo")(demo)
