"""Running the pieces on loopback: vendor simulators for the topology's ``mode: simulator`` systems, the
effective topology written to a file, and the hub (``retailconnect serve``) as a child process.

Used by ``retailconnect serve`` (simulators started in-process before the hub) and by
``retailconnect demo`` (simulators in the demo process, the hub in a child process, so that every check
reads what the simulators themselves received).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from retailconnect.config import Topology
from retailconnect.simulators._kit import free_port

__all__ = [
    "SHOPIFY_TOPICS",
    "HubProcess",
    "RunningSimulator",
    "SimulatorFleet",
    "gateway_webhook_url",
    "simulator_settings",
    "topology_to_yaml",
]

# kind -> (module, class); each class takes ``settings`` and has ``.start(port) -> ServerHandle``
SIMULATORS: dict[str, tuple[str, str]] = {
    "shopify": ("retailconnect.simulators.shopify", "ShopifySimulator"),
    "netsuite": ("retailconnect.simulators.netsuite", "NetSuiteSimulator"),
    "wms": ("retailconnect.simulators.wms", "WmsSimulator"),
    "legacy_erp": ("retailconnect.simulators.legacy_erp", "LegacyErpSimulator"),
}

# Shopify topics the hub subscribes to (the orders and refunds of the storefront)
SHOPIFY_TOPICS = ("orders/create", "orders/updated", "orders/cancelled", "refunds/create")


def gateway_webhook_url(gateway_url: str, sysc: Any) -> str | None:
    """Where a system's webhooks go on the gateway (``/v1/channels/{channel}/{source}/webhooks``)."""
    base = gateway_url.rstrip("/")
    if sysc.kind == "shopify":
        return f"{base}/v1/channels/shopify/{sysc.shop_domain}/webhooks"
    if sysc.kind == "wms":
        return f"{base}/v1/channels/wms/{sysc.warehouse_id}/webhooks"
    return None


def simulator_settings(sysc: Any, environ: MutableMapping[str, str]) -> dict[str, Any]:
    """The simulator settings for one topology system: its identity (shop domain, account, warehouse)
    and its credentials. A credential whose environment variable is unset gets a fresh random value,
    written to ``environ`` so that the hub (same environment) signs and verifies with the same secret."""
    settings: dict[str, Any] = dict(sysc.settings.get("simulator") or {})
    if sysc.kind == "shopify":
        settings.setdefault("shop_domain", sysc.shop_domain)
        settings.setdefault("api_version", sysc.api_version)
    elif sysc.kind == "netsuite":
        settings.setdefault("account_id", sysc.account_id)
    elif sysc.kind == "wms":
        settings.setdefault("warehouse", sysc.warehouse_id)
    for cred, ref in sysc.credentials.items():
        if ref.env is not None:
            value = environ.get(ref.env)
            if not value:
                value = secrets.token_hex(16)
                environ[ref.env] = value
        else:
            path = Path(str(ref.file))
            if not path.is_file():
                continue
            value = path.read_text().strip()
        settings[cred] = value
    return settings


@dataclass
class RunningSimulator:
    name: str
    kind: str
    sim: Any
    handle: Any

    @property
    def url(self) -> str:
        return str(self.handle.url)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.handle.stop()


@dataclass
class SimulatorFleet:
    """The simulators started for one topology, by system name."""

    sims: dict[str, RunningSimulator] = field(default_factory=dict)

    def __getitem__(self, name: str) -> RunningSimulator:
        return self.sims[name]

    def __contains__(self, name: object) -> bool:
        return name in self.sims

    def of_kind(self, kind: str) -> RunningSimulator | None:
        return next((s for s in self.sims.values() if s.kind == kind), None)

    def start(self, name: str, sysc: Any, environ: MutableMapping[str, str]) -> RunningSimulator:
        if sysc.kind not in SIMULATORS:
            raise LookupError(f"no simulator for systems of kind {sysc.kind!r} (system {name!r})")
        module, cls = SIMULATORS[sysc.kind]
        sim = getattr(importlib.import_module(module), cls)(simulator_settings(sysc, environ))
        handle = sim.start(free_port())
        running = RunningSimulator(name, sysc.kind, sim, handle)
        self.sims[name] = running
        return running

    def start_for(self, topology: Topology, environ: MutableMapping[str, str] | None = None) -> Topology:
        """Start a simulator for every ``mode: simulator`` system without a ``base_url`` and return the
        topology with their loopback URLs filled in (systems with a base_url are left as they are)."""
        env = os.environ if environ is None else environ
        systems = dict(topology.systems)
        for name, sysc in topology.systems.items():
            if sysc.mode != "simulator" or sysc.base_url:
                continue
            running = self.start(name, sysc, env)
            systems[name] = sysc.model_copy(update={"base_url": running.url})
        return topology.model_copy(update={"systems": systems})

    def subscribe(self, topology: Topology, gateway_url: str) -> None:
        """Point the simulators' webhooks at the gateway (Shopify subscriptions, WMS webhook URL)."""
        with httpx.Client(timeout=10.0) as http:
            for name, running in self.sims.items():
                sysc = topology.systems.get(name)
                if sysc is None:
                    continue
                address = gateway_webhook_url(gateway_url, sysc)
                if address is None:
                    continue
                if running.kind == "shopify":
                    for topic in SHOPIFY_TOPICS:
                        r = http.post(
                            f"{running.url}/_sim/webhooks", json={"topic": topic, "address": address}
                        )
                        r.raise_for_status()
                elif running.kind == "wms":
                    http.post(f"{running.url}/_sim/webhooks", json={"url": address}).raise_for_status()

    def stop(self) -> None:
        for running in self.sims.values():
            running.stop()
        self.sims.clear()


def topology_to_yaml(topology: Topology) -> str:
    data = topology.model_dump(mode="json", by_alias=True, exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False)


def write_topology(topology: Topology, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(topology_to_yaml(topology))
    return path


class HubProcess:
    """``retailconnect serve`` as a child process on a free loopback port."""

    def __init__(
        self,
        config: Path,
        *,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        workers: int = 1,
    ) -> None:
        self.config = config
        self.port = port or free_port()
        self.env = dict(os.environ if env is None else env)
        self.log_path = log_path
        self.workers = workers
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 90.0) -> None:
        cmd = [sys.executable, "-m", "retailconnect.cli", "serve", "--config", str(self.config),
               "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]  # fmt: skip
        out: Any = subprocess.DEVNULL
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
            out = self._log
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=2.0) as http:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"the hub exited with code {self.proc.returncode} while starting"
                        + (f" (log: {self.log_path})" if self.log_path else "")
                    )
                try:
                    if http.get(f"{self.url}/healthz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the hub did not answer /healthz within {timeout_s:.0f} s")
                time.sleep(0.2)

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGINT (a clean shutdown: in-flight steps checkpoint), then SIGKILL after ``timeout_s``."""
        code: int | None = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                code = self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait(5)
        elif self.proc is not None:
            code = self.proc.returncode
        if self._log is not None:
            self._log.close()
            self._log = None
        return code


@contextlib.contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
