"""``retailconnect serve`` and ``retailconnect worker``: run the hub.

``serve --config FILE`` loads the topology, starts a simulator on a loopback port for every
``mode: simulator`` system that has no ``base_url``, builds the hub (gateway and workers in one process),
mounts the gateway with /metrics and the dashboard, and serves it with uvicorn. ``--workers N`` starts
N-1 extra ``retailconnect worker`` processes that share the store and the durable queues.

Ctrl-C / SIGTERM: stop accepting requests, let in-flight requests and webhook hand-offs finish, stop the
hub (the durable engine checkpoints each step, so a workflow interrupted here resumes on the next start),
stop the workers and simulators, exit 0. A second Ctrl-C forces the exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from retailconnect.cli._common import console, err_console, fail
from retailconnect.config import Topology, load_topology
from retailconnect.errors import ConfigError

__all__ = ["build_app", "register"]


def _load(config: Path) -> Topology:
    try:
        return load_topology(config)
    except ConfigError as exc:
        for line in exc.problems:
            err_console.print(line, highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(2) from None


def _hub_class() -> Any:
    try:
        from retailconnect.runtime import Hub
    except ImportError as exc:  # the composition root is missing or broken
        fail(f"the hub runtime cannot be imported: {exc}")
    return Hub


async def build_app(hub: Any, topology: Topology) -> tuple[Any, Any]:
    """The gateway app for ``hub`` with /metrics and the dashboard mounted (when present); returns
    (app, observability)."""
    from retailconnect.gateway import create_app

    routers: list[Any] = []
    middleware: list[Any] = []
    obs: Any = getattr(hub, "observability", None)
    try:
        from retailconnect.observability import Observability

        if obs is None:
            obs = Observability.from_topology(topology)
            obs.attach(hub)
        routers.append(obs.metrics_router())
        middleware.append(obs.middleware())
    except ImportError:  # pragma: no cover - observability is part of the package
        obs = None
    try:
        from retailconnect.dashboard.routes import create_dashboard_router

        routers.append(create_dashboard_router(hub, obs))
    except ImportError:
        pass
    app = create_app(hub, extra_routers=routers, extra_middleware=middleware)
    return app, obs


class _Server:
    """uvicorn without its own signal capture (we handle SIGINT/SIGTERM to shut the hub down too)."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        import uvicorn

        class Quiet(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        self.server = Quiet(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_level="warning",
                access_log=False,
                lifespan="on",
                timeout_graceful_shutdown=10,
            )
        )

    async def serve(self) -> None:
        await self.server.serve()

    def exit(self, force: bool = False) -> None:
        if self.server.should_exit and force:
            self.server.force_exit = True
        self.server.should_exit = True


def _freeze_startup_heap() -> None:
    """Move what start-up allocated (modules, models, the app) out of the GC's reach: a long-lived
    server otherwise re-walks it in every full collection (about a sixth of the gateway's CPU under load
    in the gateway benchmark). RC_NO_GC_FREEZE=1 turns it off."""
    if os.environ.get("RC_NO_GC_FREEZE") != "1":
        gc.collect()
        gc.freeze()


def _install_signals(on_signal: Any) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)


def _executor_id(topology: Topology, role: str) -> str:
    """A stable executor id: after a restart the durable engine resumes this executor's own unfinished
    workflows at once (a new id would wait for the dead-executor sweep)."""
    if topology.engines.executor_id:
        base = topology.engines.executor_id
    else:
        base = f"{socket.gethostname()}-{topology.name}"
    return f"{base}-{role}"


async def _run_serve(topology: Topology, host: str, port: int, quiet: bool) -> None:
    hub_cls = _hub_class()
    holder: dict[str, Any] = {"server": None, "stop": False}

    def on_signal() -> None:
        holder["stop"] = True
        if holder["server"] is not None:
            holder["server"].exit(force=True)

    _install_signals(on_signal)  # before the hub starts: a Ctrl-C during start-up still stops cleanly
    hub = await hub_cls.start(topology, role="all", executor_id=_executor_id(topology, f"serve-{port}"))
    obs: Any = None
    try:
        app, obs = await build_app(hub, topology)
        if obs is not None:
            await obs.start()
        server = holder["server"] = _Server(app, host, port)
        _freeze_startup_heap()
        if not holder["stop"]:
            if not quiet:
                console.print(f"[bold]retailconnect[/] hub serving on http://{host}:{port}  (Ctrl-C to stop)")
            await server.serve()
    finally:
        if obs is not None:
            with contextlib.suppress(Exception):
                await obs.stop()
        await hub.stop()


async def _run_worker(topology: Topology, quiet: bool) -> None:
    hub_cls = _hub_class()
    stop = asyncio.Event()
    _install_signals(stop.set)
    index = os.environ.get("RETAILCONNECT_WORKER_INDEX") or str(os.getpid())
    hub = await hub_cls.start(topology, role="worker", executor_id=_executor_id(topology, f"worker-{index}"))
    _freeze_startup_heap()
    try:
        if not quiet:
            console.print(f"[bold]retailconnect[/] worker {os.getpid()} running  (Ctrl-C to stop)")
        await stop.wait()
    finally:
        await hub.stop()


def _spawn_workers(n: int, topology: Topology, workdir: Path) -> list[subprocess.Popen[bytes]]:
    from retailconnect.cli.demo.harness import write_topology

    path = write_topology(topology, workdir / "effective-topology.yaml")
    procs = []
    for i in range(n):
        cmd = [sys.executable, "-m", "retailconnect.cli", "worker", "--config", str(path), "--quiet"]
        env = {**os.environ, "RETAILCONNECT_WORKER_INDEX": str(i + 1)}
        procs.append(subprocess.Popen(cmd, env=env))
    return procs


def _stop_workers(procs: list[subprocess.Popen[bytes]], timeout_s: float = 30.0) -> list[int]:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    codes = []
    for p in procs:
        try:
            codes.append(p.wait(timeout_s))
        except subprocess.TimeoutExpired:
            p.kill()
            codes.append(p.wait(5))
    return codes


def serve(
    config: Path = typer.Option(..., "--config", "-c", help="topology YAML file"),
    host: str = typer.Option("127.0.0.1", "--host", help="interface to listen on"),
    port: int = typer.Option(8080, "--port", "-p", help="port (0 picks a free one)"),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="processes running flows (1 = this one)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no banner"),
) -> None:
    """Run the hub: gateway and workers in one process (--workers N for more processes)."""
    from retailconnect.cli.demo.harness import SimulatorFleet

    topology = _load(config)
    if port == 0:
        from retailconnect.simulators._kit import free_port

        port = free_port()
    fleet = SimulatorFleet()
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="retailconnect-serve-") as tmp:
        try:
            try:
                topology = fleet.start_for(topology)
            except (LookupError, RuntimeError) as exc:
                fail(str(exc))
            advertised = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
            gateway_url = f"http://{advertised}:{port}"
            if fleet.sims:
                fleet.subscribe(topology, gateway_url)
                if not quiet:
                    for name, running in fleet.sims.items():
                        console.print(f"  simulator [cyan]{name}[/] ({running.kind}) on {running.url}")
            if workers > 1:
                procs = _spawn_workers(workers - 1, topology, Path(tmp))
            asyncio.run(_run_serve(topology, host, port, quiet))
        finally:
            codes = _stop_workers(procs)
            fleet.stop()
    bad = [c for c in codes if c not in (0, None)]
    if bad:
        err_console.print(f"worker exit codes: {codes}")
        raise typer.Exit(1)
    if not quiet:
        console.print("hub stopped cleanly")


def worker(
    config: Path = typer.Option(..., "--config", "-c", help="topology YAML file"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no banner"),
) -> None:
    """Run flows only (no HTTP): a worker sharing the store and durable queues with `serve`."""
    topology = _load(config)
    missing = [n for n, s in topology.systems.items() if s.mode == "simulator" and not s.base_url]
    if missing:
        fail(
            f"system(s) {', '.join(missing)} are simulators without base_url: a worker cannot start its own "
            "simulators; run `retailconnect serve --workers N`, or set base_url to a running simulator"
        )
    asyncio.run(_run_worker(topology, quiet))


def register(root: typer.Typer) -> None:
    root.command("serve")(serve)
    root.command("worker")(worker)
