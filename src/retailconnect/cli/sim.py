"""``retailconnect sim SYSTEM --port P``: run a vendor simulator in the foreground.

Each simulator package exposes ``create_app(settings: dict) -> ASGI app``; ``--set key=value`` passes
settings (e.g. ``--set concurrency_limit=5``)."""

from __future__ import annotations

import importlib
import json

import typer

from retailconnect.cli._common import console, fail

app = typer.Typer(no_args_is_help=True)


def _parse_settings(pairs: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for pair in pairs:
        if "=" not in pair:
            fail(f"--set expects key=value, got {pair!r}")
        k, v = pair.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def _run(system: str, port: int, host: str, settings: list[str]) -> None:
    import uvicorn

    try:
        mod = importlib.import_module(f"retailconnect.simulators.{system}")
    except ModuleNotFoundError:
        fail(f"no simulator for {system!r}")
    sim_app = mod.create_app(_parse_settings(settings))
    console.print(f"[bold]{system}[/] simulator on http://{host}:{port}  (admin: /_sim)")
    uvicorn.run(sim_app, host=host, port=port, log_level="warning")


def _make(system: str) -> None:
    def cmd(
        port: int = typer.Option(..., "--port", "-p", help="loopback port"),
        host: str = typer.Option("127.0.0.1", "--host"),
        set_: list[str] = typer.Option([], "--set", help="simulator setting key=value"),
    ) -> None:
        _run(system, port, host, set_)

    cmd.__doc__ = f"Run the {system} simulator."
    app.command(system)(cmd)


for _system in ("shopify", "netsuite", "wms", "legacy_erp"):
    _make(_system)
