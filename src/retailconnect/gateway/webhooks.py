"""Vendor webhooks in: verify the signature over the raw body, archive (dedupe on the vendor's delivery
id), answer at once, hand the payload to the hub in the background.

The archive row is the durable record of an accepted delivery (status ``received``); it becomes
``processed`` once the hub took it, or ``failed`` with the error when the hub refused it for good.
``recover`` re-drives rows left ``received`` (a crash between the answer and the hand-off, or a transient
failure), so nothing accepted is lost; the hub folds repeats into the same workflow.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from anyio import to_thread

from retailconnect.connectors._kit.webhooks import Delivery
from retailconnect.errors import InputError, NotFoundError, RetailConnectError

from .settings import GatewaySettings

__all__ = ["WebhookIntake"]

log = logging.getLogger("retailconnect.gateway.webhooks")

Kind = Literal["channel", "warehouse"]


class WebhookIntake:
    def __init__(self, hub: Any, settings: GatewaySettings) -> None:
        self.hub = hub
        self.settings = settings
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    def route(self, channel: str, source: str) -> tuple[str, str]:
        """(system name, tenant) for a delivery addressed to ``/v1/channels/{channel}/{source}/...``."""
        key = f"{channel}/{source}"
        system = self.settings.webhook_systems.get(key, channel)
        tenant = self.settings.webhook_tenants.get(key, self.settings.default_tenant)
        return system, tenant

    async def accept(
        self, kind: Kind, channel: str, source: str, headers: Any, body: bytes, correlation_id: str | None
    ) -> tuple[Delivery, int, bool, str]:
        system, tenant = self.route(channel, source)
        try:
            verifier = self.hub.webhook_verifier(system)
        except (KeyError, LookupError, NotFoundError):
            raise NotFoundError(
                f"no {channel} system configured for {source!r}", context={"system": system}
            ) from None
        delivery: Delivery = verifier.verify(headers, body)  # WebhookSignatureError -> 401
        try:
            payload = json.loads(body)
        except ValueError:
            raise InputError("the webhook body is not JSON") from None
        if not isinstance(payload, dict):
            raise InputError("the webhook body must be a JSON object")
        archive_id, is_new = await to_thread.run_sync(
            lambda: self.hub.archive.put(
                system,
                delivery.topic,
                delivery.delivery_id,
                {k.lower(): v for k, v in headers.items()},
                body,
                tenant=tenant,
                correlation_id=correlation_id,
            )
        )
        if is_new:
            self._spawn(kind, archive_id, system, delivery, payload, tenant, correlation_id)
        return delivery, archive_id, is_new, tenant

    def _spawn(
        self, kind: Kind, archive_id: int, system: str, delivery: Delivery, payload: dict[str, Any],
        tenant: str, cid: str | None,
    ) -> None:  # fmt: skip
        task = asyncio.create_task(self._handoff(kind, archive_id, system, delivery, payload, tenant, cid))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handoff(
        self, kind: Kind, archive_id: int, system: str, delivery: Delivery, payload: dict[str, Any],
        tenant: str, cid: str | None,
    ) -> None:  # fmt: skip
        try:
            if kind == "channel":
                await self.hub.ingest_channel_webhook(
                    system, delivery, payload, tenant=tenant, correlation_id=cid
                )
            else:
                await self.hub.ingest_warehouse_webhook(
                    system, delivery, payload, tenant=tenant, correlation_id=cid
                )
        except RetailConnectError as exc:
            if exc.retryable:
                log.warning("webhook %s hand-off failed, will retry: %s", archive_id, exc.message)
                return  # stays "received": the sweeper re-drives it
            await to_thread.run_sync(self.hub.archive.mark, archive_id, "failed", exc.message)
            return
        except Exception as exc:
            log.exception("webhook %s hand-off crashed", archive_id)
            await to_thread.run_sync(self.hub.archive.mark, archive_id, "failed", repr(exc)[:500])
            return
        await to_thread.run_sync(self.hub.archive.mark, archive_id, "processed")

    def _kind_of(self, system: str) -> Kind:
        topo = getattr(self.hub, "topology", None)
        sysc = getattr(topo, "systems", {}).get(system) if topo is not None else None
        kind = getattr(sysc, "kind", system)
        return "warehouse" if kind == "wms" else "channel"

    async def recover(self, older_than_s: float = 10.0) -> int:
        """Re-drive archived deliveries still ``received`` after ``older_than_s``; return how many."""
        rows = await to_thread.run_sync(self.hub.archive.pending)
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
        n = 0
        for row in rows:
            received = row["received_at"]
            if received.tzinfo is None:
                received = received.replace(tzinfo=UTC)
            if received > cutoff:
                continue
            headers = row.get("headers") or {}
            delivery = Delivery(
                delivery_id=row["delivery_id"],
                topic=row["topic"],
                source=str(headers.get("x-shopify-shop-domain") or row.get("tenant") or ""),
            )
            try:
                payload = json.loads(row["body"])
            except ValueError:
                await to_thread.run_sync(self.hub.archive.mark, row["id"], "failed", "body is not JSON")
                continue
            await self._handoff(
                self._kind_of(row["system"]), row["id"], row["system"], delivery, payload,
                row.get("tenant") or self.settings.default_tenant, row.get("correlation_id"),
            )  # fmt: skip
            n += 1
        return n

    async def start(self, sweep_every_s: float = 30.0) -> None:
        async def sweep() -> None:
            while True:
                try:
                    await self.recover()
                except Exception:
                    log.exception("webhook recovery sweep failed")
                await asyncio.sleep(sweep_every_s)

        self._sweeper = asyncio.create_task(sweep(), name="gateway-webhook-sweeper")

    async def drain(self, timeout_s: float = 5.0) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)
