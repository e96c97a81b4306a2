"""Fault injection for simulators, set at run time from an admin endpoint (``POST /_sim/faults``).

A plan applies to requests whose path starts with ``path_prefix`` (all when empty): added latency,
a share of 5xx answers, a share of 429s with Retry-After, a window during which every request fails
(an outage), and hangs (a timeout seen by the client).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass
class FaultPlan:
    path_prefix: str = ""
    latency_ms: float = 0.0
    error_rate: float = 0.0  # share of requests answered 5xx
    error_status: int = 503
    throttle_rate: float = 0.0  # share answered 429
    retry_after_s: float = 1.0
    outage_until: float = 0.0  # time.time() until which every matching request fails with error_status
    hang_rate: float = 0.0  # share of requests that sleep hang_s before answering (client timeout)
    hang_s: float = 30.0
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # vendor-specific knobs (dropped webhooks...)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FaultPlan:
        d = dict(d)
        if "outage_s" in d:
            d["outage_until"] = time.time() + float(d.pop("outage_s"))
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        plan = cls(**known)
        plan.extra.update({k: v for k, v in d.items() if k not in cls.__dataclass_fields__})
        return plan


class FaultMiddleware:
    """Applies the current :class:`FaultPlan` (held in ``holder['plan']``) before the simulator's routes.

    ``error_body`` builds the vendor-shaped error body for a status (so a NetSuite 429 looks like
    NetSuite's and a Shopify 503 like Shopify's)."""

    def __init__(self, app: ASGIApp, holder: dict[str, FaultPlan], error_body: Any = None) -> None:
        self.app = app
        self.holder = holder
        self.error_body = error_body or (lambda status: {"errors": f"simulated HTTP {status}"})
        self._rng = random.Random()

    async def _reply(self, send: Send, status: int, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        body = json.dumps(self.error_body(status)).encode()
        hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": hdrs + (headers or [])})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        plan = self.holder.get("plan")
        if scope["type"] != "http" or plan is None or scope["path"].startswith("/_sim"):
            await self.app(scope, receive, send)
            return
        if plan.path_prefix and not scope["path"].startswith(plan.path_prefix):
            await self.app(scope, receive, send)
            return
        if plan.seed is not None:
            self._rng.seed(plan.seed)
            plan.seed = None
        if plan.latency_ms:
            await asyncio.sleep(plan.latency_ms / 1000)
        if plan.outage_until and time.time() < plan.outage_until:
            await self._reply(send, plan.error_status)
            return
        if plan.hang_rate and self._rng.random() < plan.hang_rate:
            await asyncio.sleep(plan.hang_s)
        if plan.throttle_rate and self._rng.random() < plan.throttle_rate:
            await self._reply(send, 429, [(b"retry-after", str(plan.retry_after_s).encode())])
            return
        if plan.error_rate and self._rng.random() < plan.error_rate:
            await self._reply(send, plan.error_status)
            return
        await self.app(scope, receive, send)
