"""Signed webhook delivery from the WMS simulator, retried on non-2xx (same event id on every retry) with
capped exponential backoff: 8 retries over about 25 s by default (a compressed version of what production
senders do over hours), so a hub that is briefly overloaded still gets every event."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


def signature(secret: str, body: bytes, ts: int) -> str:
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


@dataclass
class DeliveryRecord:
    event_id: str
    type: str
    attempts: int = 0
    statuses: list[int | str] = field(default_factory=list)
    delivered: bool = False
    first_attempt_at: float = 0.0
    delivered_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class WebhookSender:
    def __init__(
        self, secret: str, *, retries: int = 8, base_s: float = 0.3, cap_s: float = 5.0, concurrency: int = 32
    ) -> None:
        self.secret = secret
        self.retries = retries
        self.base_s = base_s
        self.cap_s = cap_s
        self.records: list[DeliveryRecord] = []
        self._sem = asyncio.Semaphore(concurrency)
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0))
        return self._client

    async def send(
        self, url: str, event: dict[str, Any], warehouse: str, *, forge: bool = False
    ) -> DeliveryRecord:
        rec = DeliveryRecord(event["id"], event["type"], first_attempt_at=time.time())
        self.records.append(rec)
        body = json.dumps(event, separators=(",", ":")).encode()
        async with self._sem:
            for attempt in range(self.retries + 1):
                rec.attempts += 1
                ts = int(time.time())
                sig = signature("forged-secret" if forge else self.secret, body, ts)
                headers = {
                    "Content-Type": "application/json",
                    "X-WMS-Signature": sig,
                    "X-WMS-Event-Id": event["id"],
                    "X-WMS-Event-Type": event["type"],
                    "X-WMS-Warehouse": warehouse,
                }
                try:
                    resp = await self.client().post(url, content=body, headers=headers)
                    rec.statuses.append(resp.status_code)
                    if 200 <= resp.status_code < 300:
                        rec.delivered = True
                        rec.delivered_at = time.time()
                        return rec
                except httpx.HTTPError as exc:
                    rec.statuses.append(type(exc).__name__)
                if attempt < self.retries:
                    await asyncio.sleep(min(self.cap_s, self.base_s * (2**attempt)))
        return rec

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
