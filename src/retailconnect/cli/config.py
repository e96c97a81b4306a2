"""``retailconnect config validate FILE``."""

from __future__ import annotations

from pathlib import Path

import typer

from retailconnect.cli._common import console, err_console

app = typer.Typer(no_args_is_help=True)


@app.command("validate")
def validate(file: Path = typer.Argument(..., help="topology YAML file")) -> None:
    """Exit 0 when the topology is valid; else print FILE:LINE: path: message per problem and exit 2."""
    from retailconnect.config import load_topology
    from retailconnect.errors import ConfigError

    try:
        topo = load_topology(file)
    except ConfigError as exc:
        for line in exc.problems:
            err_console.print(line, highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(2) from None
    missing = [
        f"systems.{name}.credentials.{cred}: environment variable {ref.env} is not set"
        for name, sysc in topo.systems.items()
        if sysc.mode == "live"
        for cred, ref in sysc.credentials.items()
        if not ref.available()
    ]
    for m in missing:
        err_console.print(f"[yellow]warning:[/] {m}", highlight=False)
    console.print(
        f"[green]ok[/] {file}: {len(topo.tenants)} tenant(s), {len(topo.systems)} system(s), "
        f"{len(topo.flows)} flow(s), bus={topo.engines.bus.backend}",
        highlight=False,
    )
