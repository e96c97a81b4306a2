"""NetSuite REST client (record API v1, SuiteQL, governance) implementing the flows' ``ErpSystem``.

No duplicates: every create is an upsert by external id (``PUT /record/v1/{type}/eid:{externalId}``),
so a retry after a timeout updates the record the first attempt made instead of creating a second.
NetSuite answers an upsert with 204 and a ``Location`` header whatever happened, so ``created`` is
decided by a ``GET .../eid:{externalId}`` made once before the first attempt (404 -> created). That GET
costs a request against the account's limits; callers that know from their own records whether they
posted before (the flows keep the binding and the order's posted flag) build the client with
``probe_upserts=False``: the PUT alone is made, the id comes from its ``Location``, and ``created`` is
then ``True`` meaning "not known to exist" (exactly-once rests on the external id, not on the probe). Record
transforms (sales order -> item fulfilment / return authorisation) are not upserts: each attempt first
looks the target up by external id and only transforms when it is absent, so a retried transform whose
first attempt did commit returns the existing record.

Governance: every request holds a slot of the limiter (``async with limiter.slot(tier)``): by default
a semaphore sized from ``concurrency_limit`` (config), else from ``GET /system/v1/governanceLimits``
when the role may read it, else 5 (the smallest service tier). An account-wide guard can be injected
with ``limiter=``. Retryable answers (429, concurrency error codes, 5xx, timeouts) are retried with
jittered backoff (``resilience.retry``).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx

from retailconnect.canonical import (
    Customer,
    CustomerContact,
    Money,
    Order,
    Refund,
    RefundKind,
    Return,
    Shipment,
)
from retailconnect.connectors._kit import ErpItem, ErpPostResult, MapContext, map_transport_errors
from retailconnect.errors import NotFoundError, RetailConnectError, VendorRejectedError
from retailconnect.resilience import RetryPolicy, run_with_retry

from . import wire
from .auth import host_for
from .errors import classify_netsuite
from .limiter import Limiter, SemaphoreLimiter
from .mappers import (
    credit_to_netsuite,
    customer_to_netsuite,
    fulfillment_to_netsuite,
    order_from_netsuite,
    order_to_netsuite,
    payment_to_netsuite,
    return_authorization_to_netsuite,
)
from .mappers.records import SalesOrderLineRef
from .pagination import MAX_PAGE, OffsetPaginator, require_order_by

__all__ = ["DEFAULT_CONCURRENCY", "NetSuiteClient", "parse_governance", "safe_external_id", "sql_str"]

RECORD = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"
GOVERNANCE = "/services/rest/system/v1/governanceLimits"
DEFAULT_CONCURRENCY = 5
_ITEM_PATH = re.compile(r"item\.items\[(\d+)\]")


def sql_str(value: str) -> str:
    """A SuiteQL string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def parse_governance(data: dict[str, Any]) -> int | None:
    """The limit this integration may use, from a ``governanceLimits`` answer::

        {"accountConcurrencyLimit": 5, "accountUnallocatedConcurrencyLimit": 3,
         "integrationConcurrencyLimit": 2, "integrationLimitType": "integrationSpecific"}

    ``integrationSpecific`` -> the integration's own limit; ``accountLimit`` (no limit allocated to the
    integration) and ``internal`` -> the account's unallocated pool, which integrations without their own
    limit share; the account limit as a last resort.
    """
    kind = str(data.get("integrationLimitType") or data.get("limitType") or "").lstrip("_")
    order = ["integrationConcurrencyLimit"] if kind == "integrationSpecific" else []
    order += ["accountUnallocatedConcurrencyLimit", "unallocatedConcurrencyLimit", "accountConcurrencyLimit"]
    for key in order:
        val = data.get(key)
        if isinstance(val, int) and not isinstance(val, bool) and val > 0:
            return val
    return None


_EID_OK = re.compile(r"^[A-Za-z0-9_-]+$")


def safe_external_id(raw: str) -> str:
    """NetSuite external ids may hold only letters, digits, '_' and '-'. Others are replaced by '_' and a
    short hash of the raw id is appended, so the mapping stays deterministic and collision-free
    (``order:acme:shopify:1001`` -> ``order_acme_shopify_1001-3f2a9c1b``)."""
    if _EID_OK.match(raw):
        return raw
    digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
    return re.sub(r"[^A-Za-z0-9_-]", "_", raw)[:80] + "-" + digest


def _eid(external_id: str) -> str:
    return "eid:" + quote(safe_external_id(external_id), safe="")


class NetSuiteClient:
    system = "netsuite"

    def __init__(
        self,
        account_id: str,
        base_url: str | None = None,
        auth: httpx.Auth | None = None,
        *,
        concurrency_limit: int | None = None,
        limiter: Limiter | None = None,
        tier: str = "default",
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | float = httpx.Timeout(30.0, connect=5.0),
        retry: RetryPolicy | None = None,
        settings: dict[str, Any] | None = None,
        item_cache_ttl_s: float = 300.0,
        event_hooks: dict[str, list[Any]] | None = None,
        probe_upserts: bool = True,
    ) -> None:
        self.account_id = account_id
        self.probe_upserts = probe_upserts
        self.settings = dict(settings or {})
        self._configured_limit = concurrency_limit
        self._limiter: Limiter | None = limiter
        self._tier = tier
        self._retry = retry or RetryPolicy(attempts=6, base_s=0.2, cap_s=8.0)
        self._init_lock = asyncio.Lock()
        self._governance: int | None = None
        self._governance_read = False
        self._items: dict[str, tuple[float, ErpItem]] = {}
        self._item_ttl = item_cache_ttl_s
        self._http = httpx.AsyncClient(
            base_url=base_url or f"https://{host_for(account_id)}",
            auth=auth,
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json"},
            event_hooks=event_hooks,
        )

    # -- plumbing --------------------------------------------------------------------------------
    @property
    def limiter(self) -> Limiter | None:
        return self._limiter

    async def _ensure_limiter(self) -> Limiter:
        if self._limiter is not None:
            return self._limiter
        async with self._init_lock:
            if self._limiter is None:
                limit = self._configured_limit or await self.concurrency_limit() or DEFAULT_CONCURRENCY
                self._limiter = SemaphoreLimiter(limit)
        return self._limiter

    def _ctx(self) -> MapContext:
        return MapContext(settings=self.settings)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        body: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        context: dict[str, Any] | None = None,
        limited: bool = True,
    ) -> httpx.Response:
        """One attempt: take a slot, send, classify (raises our errors)."""
        hdrs = dict(headers or {})
        content = None
        if body is not None:
            content = wire.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"

        async def _do() -> httpx.Response:
            with map_transport_errors("netsuite", operation):
                return await self._http.request(method, path, content=content, params=params, headers=hdrs)

        if limited:
            limiter = await self._ensure_limiter()
            async with limiter.slot(self._tier):
                resp = await _do()
        else:
            resp = await _do()
        err = classify_netsuite(resp, operation=operation, context=context)
        if err is not None:
            if isinstance(err, VendorRejectedError):
                _enrich(err, body)
            raise err
        return resp

    async def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return await run_with_retry(lambda: self._send(method, path, **kw), self._retry)

    async def _get_json(self, path: str, *, operation: str, params: dict[str, str] | None = None) -> Any:
        resp = await self._request("GET", path, operation=operation, params=params)
        return wire.loads(resp.content)

    # -- governance --------------------------------------------------------------------------------
    async def concurrency_limit(self) -> int | None:
        """The limit from ``governanceLimits`` (read once; None when the role may not read it)."""
        if self._governance_read:
            return self._governance
        try:
            resp = await self._send("GET", GOVERNANCE, operation="governance_limits", limited=False)
            self._governance = parse_governance(wire.loads(resp.content))
        except (RetailConnectError, ValueError):
            self._governance = None
        self._governance_read = True
        return self._governance

    # -- SuiteQL -----------------------------------------------------------------------------------
    async def suiteql_pages(self, query: str, *, limit: int = MAX_PAGE) -> AsyncIterator[wire.SuiteQLPage]:
        require_order_by(query)
        pager = OffsetPaginator(limit=limit)
        seen: set[int] = set()
        while not pager.done:
            if pager.offset in seen:  # pragma: no cover - OffsetPaginator always advances
                raise RuntimeError("SuiteQL paging loop")
            seen.add(pager.offset)
            resp = await self._request(
                "POST",
                SUITEQL,
                operation="suiteql",
                body={"q": query},
                params=pager.params(),
                headers={"Prefer": "transient"},
                context={"query": query[:200]},
            )
            page = wire.SuiteQLPage.model_validate(wire.loads(resp.content))
            yield page
            pager.advance(count=page.count or len(page.items), has_more=page.hasMore)

    async def suiteql(self, query: str, *, limit: int = MAX_PAGE) -> AsyncIterator[dict[str, Any]]:
        async for page in self.suiteql_pages(query, limit=limit):
            for row in page.items:
                yield {k: v for k, v in row.items() if k != "links"}

    async def suiteql_all(self, query: str, *, limit: int = MAX_PAGE) -> list[dict[str, Any]]:
        return [row async for row in self.suiteql(query, limit=limit)]

    # -- records -----------------------------------------------------------------------------------
    async def get_record(
        self,
        record_type: str,
        *,
        external_id: str | None = None,
        internal_id: str | None = None,
        expand: bool = True,
    ) -> dict[str, Any] | None:
        key = _eid(external_id) if external_id is not None else quote(str(internal_id), safe="")
        params = {"expandSubResources": "true"} if expand else None
        try:
            data = await self._get_json(
                f"{RECORD}/{record_type}/{key}", operation=f"get_{record_type}", params=params
            )
        except NotFoundError:
            return None
        return data if isinstance(data, dict) else None

    async def get_sales_order(self, external_id: str) -> dict[str, Any] | None:
        external_id = safe_external_id(external_id)
        return await self.get_record("salesOrder", external_id=external_id)

    async def read_order(self, external_id: str, ctx: MapContext | None = None) -> Order | None:
        """The sales order as a canonical Order (reads and reconciliation)."""
        external_id = safe_external_id(external_id)
        data = await self.get_sales_order(external_id)
        return None if data is None else order_from_netsuite(data, ctx or self._ctx())

    async def _exists(self, record_type: str, external_id: str) -> str | None:
        rec = await self.get_record(record_type, external_id=external_id, expand=False)
        return str(rec["id"]) if rec and rec.get("id") is not None else None

    async def _upsert(
        self,
        record_type: str,
        external_id: str,
        body: dict[str, Any],
        *,
        context: dict[str, Any],
        replace: str | None = None,
    ) -> ErpPostResult:
        existing = await self._exists(record_type, external_id) if self.probe_upserts else None
        params = {"replace": replace} if replace else None
        resp = await self._request(
            "PUT",
            f"{RECORD}/{record_type}/{_eid(external_id)}",
            operation=f"upsert_{record_type}",
            body=body,
            params=params,
            context=context,
        )
        internal_id = _id_from_location(resp) or existing or await self._exists(record_type, external_id)
        if internal_id is None:
            raise VendorRejectedError(
                f"NetSuite upsert of {record_type} {external_id!r} returned no record id", context=context
            )
        return ErpPostResult(internal_id, created=existing is None, extra={"record_type": record_type})

    async def _transform(
        self,
        source_type: str,
        source_id: str,
        target_type: str,
        external_id: str,
        body: dict[str, Any],
        *,
        context: dict[str, Any],
    ) -> ErpPostResult:
        async def attempt() -> ErpPostResult:
            found = await self._exists(target_type, external_id)
            if found:
                return ErpPostResult(found, created=False, extra={"record_type": target_type})
            resp = await self._send(
                "POST",
                f"{RECORD}/{source_type}/{source_id}/!transform/{target_type}",
                operation=f"transform_{target_type}",
                body=body,
                context=context,
            )
            rid = _id_from_location(resp) or await self._exists(target_type, external_id)
            if rid is None:
                raise VendorRejectedError(
                    f"NetSuite transform to {target_type} returned no id", context=context
                )
            return ErpPostResult(rid, created=True, extra={"record_type": target_type})

        return await run_with_retry(attempt, self._retry)

    async def _sales_order(self, order_external_id: str, context: dict[str, Any]) -> dict[str, Any]:
        so = await self.get_sales_order(order_external_id)
        if so is None:
            raise VendorRejectedError(
                f"NetSuite has no sales order with external id {order_external_id!r}", context=context
            )
        return so

    # -- ErpSystem ---------------------------------------------------------------------------------
    async def lookup_customer(self, email: str) -> str | None:
        q = f"SELECT id FROM customer WHERE LOWER(email) = {sql_str(email.strip().lower())} ORDER BY id"
        rows = await self.suiteql_all(q, limit=10)
        return str(rows[0]["id"]) if rows else None

    async def upsert_customer(
        self, customer: Customer | CustomerContact, *, external_id: str
    ) -> ErpPostResult:
        external_id = safe_external_id(external_id)
        body = customer_to_netsuite(customer, self._ctx(), external_id=external_id)
        return await self._upsert("customer", external_id, body, context={"customer": customer.email})

    async def lookup_item(self, sku: str) -> ErpItem | None:
        hit = self._items.get(sku)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        q = f"SELECT id, itemid, displayname, isinactive FROM item WHERE itemid = {sql_str(sku)} ORDER BY id"
        rows = await self.suiteql_all(q, limit=10)
        if not rows:
            return None
        row = rows[0]
        item = ErpItem(
            sku=str(row.get("itemid") or sku),
            internal_id=str(row["id"]),
            title=row.get("displayname"),
            active=str(row.get("isinactive", "F")).upper() != "T",
        )
        self._items[sku] = (time.monotonic() + self._item_ttl, item)
        return item

    def clear_item_cache(self) -> None:
        self._items.clear()

    async def lookup_price(self, sku: str, *, price_list: str | None = None) -> Money | None:
        item = await self.lookup_item(sku)
        if item is None:
            return None
        level = price_list or str(self.settings.get("price_level_id", "1"))
        q = (
            f"SELECT item, pricelevel, unitprice FROM pricing WHERE item = {int(item.internal_id)} "
            f"AND pricelevel = {int(level)} ORDER BY item"
        )
        rows = await self.suiteql_all(q, limit=10)
        if not rows or rows[0].get("unitprice") in (None, ""):
            return None
        return Money.of(str(rows[0]["unitprice"]), str(self.settings.get("currency", "USD")))

    async def _item_ids(self, skus: list[str], context: dict[str, Any]) -> dict[str, str]:
        out: dict[str, str] = {}
        missing = []
        for sku in dict.fromkeys(skus):
            item = await self.lookup_item(sku)
            if item is None:
                missing.append(sku)
            else:
                out[sku] = item.internal_id
        if missing:
            raise VendorRejectedError(
                f"NetSuite has no item for SKU {', '.join(missing)}",
                context={
                    **context,
                    "sku": missing[0],
                    "skus": missing,
                    "hint": "create the item or fix the SKU",
                },
            )
        return out

    async def post_sales_order(self, order: Order, *, external_id: str, customer_id: str) -> ErpPostResult:
        external_id = safe_external_id(external_id)
        context = {"order_number": order.number, "customer": order.customer.email, "external_id": external_id}
        item_ids = await self._item_ids(order.skus, context)
        body = order_to_netsuite(
            order, self._ctx(), external_id=external_id, customer_id=customer_id, item_ids=item_ids
        )
        try:
            # replace=item: a repeated PUT (a retry after a timeout) replaces the lines instead of
            # appending them again (NetSuite's default for sublists on update is add/merge).
            return await self._upsert("salesOrder", external_id, body, context=context, replace="item")
        except VendorRejectedError as exc:
            raise _readable(exc, order.number, item_ids) from None

    async def update_sales_order(self, order: Order, *, external_id: str) -> ErpPostResult:
        """Order edit: the item sublist is replaced (``?replace=item``), so removed lines go away."""
        external_id = safe_external_id(external_id)
        context = {"order_number": order.number, "external_id": external_id}
        if await self._exists("salesOrder", external_id) is None:
            raise VendorRejectedError(f"no NetSuite sales order {external_id!r} to update", context=context)
        item_ids = await self._item_ids(order.skus, context)
        body = order_to_netsuite(order, self._ctx(), external_id=external_id, item_ids=item_ids)
        return await self._upsert("salesOrder", external_id, body, context=context, replace="item")

    async def cancel_sales_order(self, *, external_id: str) -> None:
        """Close every open line (NetSuite's way to cancel an approved order); nothing to do if absent."""
        external_id = safe_external_id(external_id)
        so = await self.get_sales_order(external_id)
        if so is None:
            return
        lines = (so.get("item") or {}).get("items") or []
        body = {"item": {"items": [{"line": ln.get("line"), "isClosed": True} for ln in lines]}}
        await self._request(
            "PATCH",
            f"{RECORD}/salesOrder/{_eid(external_id)}",
            operation="cancel_salesOrder",
            body=body,
            context={"external_id": external_id},
        )

    @staticmethod
    def _so_lines(so: dict[str, Any]) -> list[SalesOrderLineRef]:
        out = []
        for i, ln in enumerate((so.get("item") or {}).get("items") or []):
            item = ln.get("item") or {}
            out.append(
                (int(ln.get("line", i + 1)), str(item.get("refName") or ""), int(ln.get("quantity") or 0))
            )
        return out

    async def post_fulfillment(
        self, shipment: Shipment, *, order_external_id: str, external_id: str
    ) -> ErpPostResult:
        order_external_id = safe_external_id(order_external_id)
        external_id = safe_external_id(external_id)
        context = {"order_number": shipment.order_number, "external_id": external_id}
        # no existence probe here: _transform checks by external id right before it POSTs
        so = await self._sales_order(order_external_id, context)
        body = fulfillment_to_netsuite(
            shipment, self._ctx(), external_id=external_id, so_lines=self._so_lines(so)
        )
        return await self._transform(
            "salesOrder", str(so["id"]), "itemFulfillment", external_id, body, context=context
        )

    async def post_payment(
        self, amount: Money, *, order_external_id: str, external_id: str, reference: str | None = None
    ) -> ErpPostResult:
        order_external_id = safe_external_id(order_external_id)
        external_id = safe_external_id(external_id)
        context = {"order_external_id": order_external_id, "external_id": external_id, "amount": str(amount)}
        so = await self._sales_order(order_external_id, context)
        customer_id = str((so.get("entity") or {}).get("id"))
        body = payment_to_netsuite(
            amount,
            self._ctx(),
            external_id=external_id,
            customer_id=customer_id,
            order_external_id=order_external_id,
            reference=reference,
        )
        return await self._upsert("customerPayment", external_id, body, context=context)

    async def post_return_authorization(
        self, ret: Return, *, order_external_id: str, external_id: str
    ) -> ErpPostResult:
        order_external_id = safe_external_id(order_external_id)
        external_id = safe_external_id(external_id)
        context = {"order_number": ret.order_number, "external_id": external_id}
        so = await self._sales_order(order_external_id, context)  # _transform probes the external id
        body = return_authorization_to_netsuite(
            ret, self._ctx(), external_id=external_id, so_lines=self._so_lines(so)
        )
        return await self._transform(
            "salesOrder", str(so["id"]), "returnAuthorization", external_id, body, context=context
        )

    async def post_credit(self, refund: Refund, *, order_external_id: str, external_id: str) -> ErpPostResult:
        order_external_id = safe_external_id(order_external_id)
        external_id = safe_external_id(external_id)
        record_type = "creditMemo" if refund.kind == RefundKind.CREDIT_MEMO else "cashRefund"
        context = {
            "order_number": refund.order_number,
            "external_id": external_id,
            "amount": str(refund.total),
        }
        so = await self._sales_order(order_external_id, context)
        customer_id = str((so.get("entity") or {}).get("id"))
        item_ids = await self._item_ids([ln.sku for ln in refund.lines if ln.sku], context)
        body = credit_to_netsuite(
            refund, self._ctx(), external_id=external_id, customer_id=customer_id, item_ids=item_ids
        )
        return await self._upsert(record_type, external_id, body, context=context)

    async def post_invoice(
        self, *, order_external_id: str, external_id: str, record_type: str = "invoice"
    ) -> ErpPostResult:
        """Bill the fulfilled sales order: ``POST /salesOrder/{id}/!transform/invoice`` (or ``cashSale``),
        idempotent on ``external_id`` like every transform here."""
        order_external_id = safe_external_id(order_external_id)
        external_id = safe_external_id(external_id)
        if record_type not in ("invoice", "cashSale"):
            raise ValueError("record_type must be invoice or cashSale")
        context = {"order_external_id": order_external_id, "external_id": external_id}
        found = await self._exists(record_type, external_id)
        if found:
            return ErpPostResult(found, created=False, extra={"record_type": record_type})
        so = await self._sales_order(order_external_id, context)
        body = {"externalId": external_id}
        return await self._transform(
            "salesOrder", str(so["id"]), record_type, external_id, body, context=context
        )

    async def iter_sales_orders(self, *, page_size: int = MAX_PAGE) -> AsyncIterator[dict[str, Any]]:
        """Every sales order's ``id``, ``tranid``, ``externalid``, ``otherrefnum`` (SuiteQL, paged by id)."""
        q = "SELECT id, tranid, externalid, otherrefnum FROM transaction WHERE type = 'SalesOrd' ORDER BY id"
        async for row in self.suiteql(q, limit=page_size):
            yield row

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> NetSuiteClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _id_from_location(resp: httpx.Response) -> str | None:
    loc = resp.headers.get("Location")
    if not loc:
        return None
    last = loc.rstrip("/").rsplit("/", 1)[-1]
    return last if last.isdigit() else None


def _enrich(err: VendorRejectedError, body: Any) -> None:
    """Name the SKU of the line NetSuite pointed at (``o:errorPath`` item.items[N].item)."""
    path = err.context.get("netsuite_path")
    if not isinstance(path, str) or not isinstance(body, dict):
        return
    m = _ITEM_PATH.search(path)
    if not m:
        return
    try:
        line = body["item"]["items"][int(m.group(1))]
    except (KeyError, IndexError, TypeError):
        return
    item = line.get("item") or {}
    sku = item.get("refName") or item.get("id")
    err.context.setdefault("line", int(m.group(1)))
    if sku is not None:
        err.context.setdefault("item", str(sku))
    desc = line.get("description")
    if desc:
        err.context.setdefault("line_title", desc)


def _readable(exc: VendorRejectedError, order_number: str, item_ids: dict[str, str]) -> VendorRejectedError:
    """The same rejection, its message naming the order and the SKU NetSuite pointed at."""
    by_id = {v: k for k, v in item_ids.items()}
    item = exc.context.get("item")
    if isinstance(item, str) and item in by_id:
        exc.context["sku"] = by_id[item]
    facts = [f"order {order_number}"]
    if "sku" in exc.context:
        facts.append(f"SKU {exc.context['sku']}")
    new = type(exc)(f"{exc.message} ({', '.join(facts)})", context=exc.context, retry_after=exc.retry_after)
    return new
