"""Webhook delivery the way Shopify does it: JSON POST with X-Shopify-* headers and a base64 HMAC-SHA256 of the
raw body (the app secret), a delivery counted failed when not answered 2xx within the timeout (5 s), retried with
backoff (Shopify: 8 retries over 4 hours; here the delays are compressed and configurable). Faults: dropped,
duplicated (same X-Shopify-Webhook-Id) and reordered deliveries."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from .state import ShopState, now_iso

DEFAULT_DELAYS = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8]


def triggered_at() -> str:
    """X-Shopify-Triggered-At as Shopify sends it (UTC, nanosecond digits, "Z")."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def hmac_b64(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class WebhookSender:
    state: ShopState
    secret: str
    api_version: str = "2025-01"
    timeout_s: float = 5.0
    delays: list[float] = field(default_factory=lambda: list(DEFAULT_DELAYS))
    faults: dict[str, Any] = field(
        default_factory=dict
    )  # drop_webhook_rate, duplicate_webhook_rate, reorder_webhooks
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _client: httpx.AsyncClient | None = None

    def emit(self, topic: str, payload: dict[str, Any]) -> None:
        subs = [s for s in self.state.subscriptions if s["topic"] == topic]
        if not subs:
            return
        body = json.dumps(payload, separators=(",", ":"), default=str).encode()
        for sub in subs:
            rec = {
                "webhook_id": str(uuid.uuid4()),
                "event_id": str(uuid.uuid4()),
                "topic": topic,
                "address": sub["address"],
                "triggered_at": triggered_at(),
                "resource_id": payload.get("id"),
                "attempts": [],
                "delivered": False,
                "dropped": False,
                "duplicate": False,
            }
            self.deliveries.append(rec)
            if self.rng.random() < float(self.faults.get("drop_webhook_rate", 0)):
                rec["dropped"] = True
                continue
            delay = (
                self.rng.uniform(0, float(self.faults.get("reorder_window_s", 0.5)))
                if self.faults.get("reorder_webhooks")
                else 0.0
            )
            self._spawn(rec, body, delay)
            if self.rng.random() < float(self.faults.get("duplicate_webhook_rate", 0)):
                dup = {**rec, "attempts": [], "delivered": False, "duplicate": True}
                self.deliveries.append(dup)
                self._spawn(dup, body, delay + 0.01)

    def _spawn(self, rec: dict[str, Any], body: bytes, delay: float) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(rec, body, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, rec: dict[str, Any], body: bytes, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.timeout_s, limits=httpx.Limits(max_keepalive_connections=0)
            )
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": rec["topic"],
            "X-Shopify-Hmac-Sha256": hmac_b64(self.secret, body),
            "X-Shopify-Shop-Domain": self.state.shop_domain,
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Webhook-Id": rec["webhook_id"],
            "X-Shopify-Event-Id": rec["event_id"],
            "X-Shopify-Triggered-At": rec["triggered_at"],
        }
        for attempt in range(len(self.delays) + 1):
            status: int | None = None
            error = None
            try:
                resp = await self._client.post(rec["address"], content=body, headers=headers)
                status = resp.status_code
            except httpx.TimeoutException:
                error = f"no answer within {self.timeout_s} s"
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            rec["attempts"].append({"at": now_iso(), "status": status, "error": error})
            if status is not None and 200 <= status < 300:
                rec["delivered"] = True
                return
            if attempt < len(self.delays):
                await asyncio.sleep(self.delays[attempt])

    async def drain(self, wait_s: float = 10.0) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=wait_s)

    async def aclose(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
