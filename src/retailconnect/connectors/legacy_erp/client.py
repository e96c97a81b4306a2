"""``LegacyErpClient``: the ErpSystem of an ERP that only takes flat files.

Calls are grouped into batch files (group commit): each ``post_sales_order`` waits until the file
holding its rows has been uploaded, so a caller never believes an order was handed over when it was
not, while the ERP still receives a few files instead of one call per order. The ERP de-duplicates on
``order_ref`` (our external id), so a retried upload cannot create a second order.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

from retailconnect.canonical import Customer, CustomerContact, Money, Order, Refund, Return, Shipment
from retailconnect.connectors._kit import ErpItem, ErpPostResult, classify_response, map_transport_errors
from retailconnect.errors import VendorRejectedError

from . import wire
from .mappers import order_to_rows, shipment_to_rows

__all__ = ["LegacyErpClient"]


class _Batch:
    def __init__(self) -> None:
        self.rows: list[dict[str, str]] = []
        self.waiters: list[asyncio.Future[None]] = []


class LegacyErpClient:
    system = "legacy_erp"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        batch_size: int = 200,
        flush_interval_s: float = 0.25,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, headers={"X-Drop-Key": api_key}, transport=transport, timeout=timeout
        )
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self._batches: dict[str, _Batch] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._lock = asyncio.Lock()
        self.files_uploaded = 0
        self._tasks: set[asyncio.Future[None]] = set()

    async def _enqueue(self, kind: str, rows: list[dict[str, str]]) -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        async with self._lock:
            batch = self._batches.setdefault(kind, _Batch())
            batch.rows.extend(rows)
            batch.waiters.append(fut)
            if len(batch.rows) >= self.batch_size:
                self._batches.pop(kind)
                timer = self._timers.pop(kind, None)
                if timer:
                    timer.cancel()
                task = asyncio.ensure_future(self._upload(kind, batch))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            elif kind not in self._timers:
                self._timers[kind] = loop.call_later(self.flush_interval_s, self._spawn_flush, kind)
        await fut

    def _spawn_flush(self, kind: str) -> None:
        task = asyncio.ensure_future(self._flush(kind))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush(self, kind: str) -> None:
        async with self._lock:
            self._timers.pop(kind, None)
            batch = self._batches.pop(kind, None)
        if batch and batch.rows:
            await self._upload(kind, batch)

    async def _upload(self, kind: str, batch: _Batch) -> None:
        columns = wire.ORDER_COLUMNS if kind == "orders" else wire.SHIPMENT_COLUMNS
        name = f"{kind}_{time.strftime('%Y%m%d%H%M%S')}_{uuid.uuid4().hex[:8]}.csv"
        try:
            with map_transport_errors(self.system, f"upload {name}"):
                resp = await self._http.put(
                    f"/drop/inbound/{name}",
                    content=wire.write_csv(columns, batch.rows),
                    headers={"Content-Type": "text/csv"},
                )
            err = classify_response(resp, system=self.system, operation=f"upload {name}")
            if err is not None:
                raise err
            self.files_uploaded += 1
            for w in batch.waiters:
                if not w.done():
                    w.set_result(None)
        except Exception as exc:
            for w in batch.waiters:
                if not w.done():
                    w.set_exception(exc)

    # -- ErpSystem ------------------------------------------------------------------------------
    async def lookup_customer(self, email: str) -> str | None:
        return None  # the flat-file ERP matches customers by the e-mail carried on each order row

    async def upsert_customer(
        self, customer: Customer | CustomerContact, *, external_id: str
    ) -> ErpPostResult:
        return ErpPostResult(internal_id=(customer.email or external_id), created=False)

    async def lookup_item(self, sku: str) -> ErpItem | None:
        return ErpItem(sku=sku, internal_id=sku)

    async def lookup_price(self, sku: str, *, price_list: str | None = None) -> Money | None:
        return None

    async def post_sales_order(self, order: Order, *, external_id: str, customer_id: str) -> ErpPostResult:
        await self._enqueue("orders", order_to_rows(order, external_id))
        return ErpPostResult(internal_id=f"file:{external_id}", created=True)

    async def update_sales_order(self, order: Order, *, external_id: str) -> ErpPostResult:
        await self._enqueue("orders", order_to_rows(order, external_id))
        return ErpPostResult(internal_id=f"file:{external_id}", created=False)

    async def cancel_sales_order(self, *, external_id: str) -> None:
        raise VendorRejectedError(
            "the legacy ERP takes cancellations only by hand",
            context={"system": self.system, "order": external_id},
        )

    async def post_fulfillment(
        self, shipment: Shipment, *, order_external_id: str, external_id: str
    ) -> ErpPostResult:
        await self._enqueue("shipments", shipment_to_rows(shipment, order_external_id, external_id))
        return ErpPostResult(internal_id=f"file:{external_id}", created=True)

    async def post_payment(
        self, amount: Money, *, order_external_id: str, external_id: str, reference: str | None = None
    ) -> ErpPostResult:
        return ErpPostResult(
            internal_id=f"file:{external_id}", created=False, extra={"note": "settled in ERP batch"}
        )

    async def post_return_authorization(
        self, ret: Return, *, order_external_id: str, external_id: str
    ) -> ErpPostResult:
        raise VendorRejectedError("the legacy ERP has no return interface", context={"system": self.system})

    async def post_credit(self, refund: Refund, *, order_external_id: str, external_id: str) -> ErpPostResult:
        raise VendorRejectedError("the legacy ERP has no credit interface", context={"system": self.system})

    async def concurrency_limit(self) -> int | None:
        return None

    async def acknowledgements(self) -> list[dict[str, str]]:
        """Every ack row the ERP has written so far (order_ref, status, doc_number, error)."""
        resp = await self._http.get("/drop/outbound")
        err = classify_response(resp, system=self.system, operation="list outbound")
        if err is not None:
            raise err
        rows: list[dict[str, str]] = []
        for name in resp.json()["files"]:
            f = await self._http.get(f"/drop/outbound/{name}")
            rows.extend(wire.read_csv(f.text))
        return rows

    async def aclose(self) -> None:
        for kind in list(self._batches):
            await self._flush(kind)
        await self._http.aclose()

    def __repr__(self) -> str:
        return f"LegacyErpClient({self._http.base_url!s})"

    def _debug(self) -> dict[str, Any]:
        return {"pending": {k: len(b.rows) for k, b in self._batches.items()}}
