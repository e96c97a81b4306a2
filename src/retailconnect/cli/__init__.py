"""The ``retailconnect`` command line (Typer + Rich). One module per command group; each module defines
``app`` (a Typer group) or ``register(root)`` for top-level commands. Modules are loaded lazily so that
a slow import (DBOS, FastAPI) is paid only by the commands that need it."""

from __future__ import annotations

import importlib
import sys

import typer

from retailconnect import __version__

# (module, group name or None for top-level commands registered by ``register``, help)
GROUPS: list[tuple[str, str | None, str]] = [
    ("config", "config", "Validate topology files."),
    ("schema", "schema", "Export and diff canonical JSON Schemas and OpenAPI documents."),
    ("audit", "audit", "Verify the tamper-evident audit log."),
    ("map", None, "Map vendor payloads to canonical objects and back."),
    ("sim", "sim", "Run a vendor simulator on a loopback port."),
    ("events", "events", "Tail and replay the event backbone."),
    ("dlq", "dlq", "Inspect and replay dead letters."),
    ("flows", "flows", "Inspect, retry and cancel durable flows."),
    ("exceptions", "exceptions", "Act on the exception queue."),
    ("consumers", "consumers", "Manage API consumers and their keys."),
    ("serve", None, "Run the hub."),
    ("demo", None, "Run the scripted retail day."),
    ("bench", None, "Run benchmarks."),
]

app = typer.Typer(
    name="retailconnect",
    help="retailconnect: the control plane between storefronts, marketplaces, warehouses and the ERP.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"retailconnect {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """retailconnect command line."""


def _load() -> None:
    for module, group, help_text in GROUPS:
        try:
            mod = importlib.import_module(f"retailconnect.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name == f"retailconnect.cli.{module}":
                continue  # that command group is not built yet
            raise
        if hasattr(mod, "register"):
            mod.register(app)
        elif group is not None and hasattr(mod, "app"):
            app.add_typer(mod.app, name=group, help=help_text)


def main() -> None:
    _load()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
