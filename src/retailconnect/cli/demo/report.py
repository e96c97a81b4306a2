"""The demo's display: a Rich progress line per scenario, a closing summary table, and the JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from .checks import Outcome

__all__ = ["Reporter", "ScenarioUI", "summary_table", "write_json"]


class ScenarioUI:
    """What a scenario uses to show its progress: a status line and a bar."""

    def __init__(self, progress: Progress | None, task: TaskID | None, console: Console) -> None:
        self._progress = progress
        self._task = task
        self.console = console

    def status(self, text: str) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, status=text)

    def total(self, total: float) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=total)

    def done(self, completed: float) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=completed)

    def note(self, text: str) -> None:
        self.console.print(f"  [dim]{text}[/]", highlight=False)


class Reporter:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description:<14}"),
            BarColumn(bar_width=28),
            TextColumn("{task.completed:>5.0f}/{task.total:<5.0f}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
            console=console,
            transient=False,
        )

    def __enter__(self) -> Reporter:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def scenario(self, name: str) -> ScenarioUI:
        task = self.progress.add_task(name, total=1, status="starting")
        return ScenarioUI(self.progress, task, self.console)

    def finished(self, ui: ScenarioUI, outcome: Outcome) -> None:
        mark = "[green]passed[/]" if outcome.passed else "[red]FAILED[/]"
        ui.status(f"{mark} in {outcome.duration_s:.1f} s")
        task = next((t for t in self.progress.tasks if t.id == ui._task), None)
        if task is not None and task.total and outcome.passed:
            self.progress.update(task.id, completed=task.total)


_FIGURE_LABELS: list[tuple[str, str]] = [
    ("orders", "orders"),
    ("orders_per_s", "orders/s to ERP"),
    ("erp_sustained_rps", "ERP req/s busiest 5 s"),
    ("erp_max_rps", "busiest second"),
    ("erp_limit_rps", "ERP limit req/s"),
    ("erp_max_in_flight", "ERP max in flight"),
    ("erp_concurrency_limit", "ERP concurrency limit"),
    ("erp_429s", "ERP 429s"),
    ("fulfil_wait_s", "all fulfilled after s"),
    ("drain_s", "backlog drain s"),
    ("outage_s", "outage s"),
    ("erp_calls_during_outage", "ERP calls in outage"),
    ("erp_call_allowance", "allowance"),
    ("erp_writes_during_outage", "ERP writes in outage"),
    ("longest_quiet_s", "longest no-write s"),
    ("recovery_s", "recovery s"),
    ("lag_p50_s", "lag p50 s"),
    ("lag_p99_s", "lag p99 s"),
    ("polling_s", "vs polling s"),
    ("movements", "movements"),
    ("refund_s", "return->refund s"),
    ("resolution_s", "fix->posted s"),
    ("orders_legacy", "to legacy ERP"),
    ("orders_netsuite", "to NetSuite"),
    ("switch_s", "switch s"),
]


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.2f}" if v < 10 else f"{v:.1f}"
    return str(v)


def summary_table(outcomes: list[Outcome]) -> Table:
    table = Table(title="retailconnect demo: summary", show_lines=False, expand=False)
    table.add_column("scenario", style="bold")
    table.add_column("result")
    table.add_column("checks", justify="right")
    table.add_column("figures (from the simulators' own records)")
    table.add_column("time", justify="right")
    for o in outcomes:
        ok = sum(c.passed for c in o.checks)
        figs = [
            f"{label} {_fmt(o.figures[key])}"
            for key, label in _FIGURE_LABELS
            if o.figures.get(key) is not None
        ]
        table.add_row(
            o.name,
            "[green]PASS[/]" if o.passed else "[red]FAIL[/]",
            f"{ok}/{len(o.checks)}",
            "; ".join(figs),
            f"{o.duration_s:.0f} s",
        )
    return table


def print_failures(console: Console, outcomes: list[Outcome]) -> None:
    for o in outcomes:
        bad = [c for c in o.checks if not c.passed]
        if o.error:
            console.print(f"[red]{o.name}[/]: error: {o.error}", highlight=False)
        for c in bad:
            console.print(f"[red]{o.name}[/]: {c.name}: {c.detail}", highlight=False)


def write_json(path: Path, outcomes: list[Outcome], meta: dict[str, Any]) -> None:
    data = {
        "passed": all(o.passed for o in outcomes),
        **meta,
        "scenarios": {o.name: o.as_dict() for o in outcomes},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
