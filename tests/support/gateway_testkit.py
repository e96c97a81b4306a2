"""The gateway tests' kit, one definition for tests/{unit,integration,contract}/gateway (their conftests
import the fixtures from here): a small in-test hub (real Store, archive, audit, bindings; scripted process
services), consumer keys, app clients, order bodies, webhook signing.

``tests/support`` is put on ``sys.path`` by the root conftest; tests are not a package."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import pytest

from retailconnect.canonical import Money, Order, Return
from retailconnect.config import Topology
from retailconnect.connectors._kit.webhooks import Delivery
from retailconnect.errors import NotFoundError, TransientError, WebhookSignatureError
from retailconnect.gateway import ConsumerStore, GatewaySettings, create_app
from retailconnect.store import AuditLog, Bindings, PayloadArchive, Store
from retailconnect.store.projections.availability import AvailabilityView

SHOP_SECRET = "shpss_test_secret"


class HmacVerifier:
    """Shopify's scheme: base64(HMAC-SHA256(secret, raw body)) in X-Shopify-Hmac-Sha256."""

    def __init__(self, secret: str, source_header: str = "x-shopify-shop-domain") -> None:
        self.secret = secret.encode()
        self.source_header = source_header

    def verify(self, headers: Any, raw_body: bytes) -> Delivery:
        given = headers.get("x-shopify-hmac-sha256") or ""
        expect = base64.b64encode(hmac.new(self.secret, raw_body, hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(given, expect):
            raise WebhookSignatureError("X-Shopify-Hmac-Sha256 does not match the body")
        return Delivery(
            delivery_id=headers["x-shopify-webhook-id"],
            topic=headers["x-shopify-topic"],
            source=headers.get(self.source_header, ""),
        )


def sign(body: bytes, secret: str = SHOP_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class Capture:
    status: str
    order_id: UUID | None
    workflow_id: str
    reasons: list[str] = field(default_factory=list)


class FakeExceptions:
    def __init__(self) -> None:
        self.items = {
            1: {"id": 1, "tenant": "brand-a", "status": "open", "code": "unknown_sku", "team": "ops"},
            2: {"id": 2, "tenant": "brand-b", "status": "open", "code": "credit_hold", "team": "finance"},
        }
        self.resolved: list[tuple[int, str, str]] = []

    def list(
        self, status: str | None = None, team: str | None = None, tenant: str | None = None
    ) -> list[dict]:
        return [
            x
            for x in self.items.values()
            if (tenant is None or x["tenant"] == tenant) and (status is None or x["status"] == status)
        ]

    def get(self, id: int) -> dict:
        if id not in self.items:
            raise NotFoundError(f"no exception {id}")
        return self.items[id]

    def resolve(self, id: int, action: str = "retry", actor: str = "", note: str | None = None) -> dict:
        self.items[id]["status"] = "resolved"
        self.resolved.append((id, action, actor))
        return {"id": id, "status": "resolved"}


class FakeBus:
    async def list_dead(self, group: str | None = None, limit: int = 100) -> list[dict]:
        return [{"id": "d1", "group": "g", "event": {"tenant": "brand-a", "type": "order.accepted"}}]

    async def get_dead(self, id: str) -> dict:
        if id != "d1":
            raise NotFoundError("no dead letter")
        return (await self.list_dead())[0]

    async def replay_dead(self, id: str, *, group: str | None = None, dry_run: bool = False) -> dict:
        return {"group": "g", "count": 1}

    async def stats(self) -> dict:
        return {}


class FakeHub:
    """Implements gateway.deps.HubServices over a real Store."""

    def __init__(self, store: Store) -> None:
        self.topology = Topology.model_validate(
            {
                "tenants": {"brand-a": {}, "brand-b": {}},
                "systems": {
                    "shopify": {
                        "kind": "shopify",
                        "mode": "simulator",
                        "tenant": "brand-a",
                        "shop_domain": "acme.myshopify.com",
                    },
                    "wms": {"kind": "wms", "mode": "simulator", "tenant": "brand-a", "warehouse_id": "dc1"},
                },
            }
        )
        self.store = store
        self.archive = PayloadArchive(store)
        self.audit = AuditLog(store)
        self.bindings = Bindings(store)
        self.exceptions = FakeExceptions()
        self.bus = FakeBus()
        self.orders: dict[tuple[str, str, str], UUID] = {}
        self.captured: list[tuple[str, str | None, str]] = []  # (tenant, correlation id, number)
        self.ingested: list[tuple[str, str, str, str]] = []  # (system, topic, delivery id, tenant)
        self.ingest_fail: Exception | None = None
        self.capture_delay = 0.0
        self.erp_delay = 0.0
        self.erp_down = False
        self.erp_calls = 0
        self.flows_retried: list[str] = []

    def webhook_verifier(self, system_name: str) -> Any:
        if system_name == "shopify":
            return HmacVerifier(SHOP_SECRET)
        if system_name == "wms":
            return HmacVerifier(SHOP_SECRET)
        raise KeyError(system_name)

    async def capture_order(
        self, order: Order, *, tenant: str, correlation_id: str | None = None, source: str = "api"
    ) -> Capture:
        if self.capture_delay:
            await asyncio.sleep(self.capture_delay)
        self.captured.append((tenant, correlation_id, order.number))
        wid = f"order:{tenant}:{order.channel}:{order.number}"
        if any(line.sku == "UNKNOWN" for line in order.lines):
            return Capture("rejected", None, wid, ["line 1: unknown SKU UNKNOWN"])
        key = (tenant, order.channel, order.number)
        if key in self.orders:
            return Capture("duplicate", self.orders[key], wid)
        self.orders[key] = order.id
        return Capture("accepted", order.id, wid)

    async def ingest_channel_webhook(
        self, system_name: str, delivery: Delivery, payload: dict, *, tenant: str, correlation_id: str | None
    ) -> None:
        if self.ingest_fail is not None:
            raise self.ingest_fail
        self.ingested.append((system_name, delivery.topic, delivery.delivery_id, tenant))

    async def ingest_warehouse_webhook(
        self, system_name: str, delivery: Delivery, payload: dict, *, tenant: str, correlation_id: str | None
    ) -> None:
        self.ingested.append((system_name, delivery.topic, delivery.delivery_id, tenant))

    async def create_return(self, ret: Return, *, tenant: str, correlation_id: str | None = None) -> Capture:
        return Capture("accepted", ret.id, f"return:{tenant}:{ret.order_number}")

    async def _erp(self) -> None:
        self.erp_calls += 1
        if self.erp_delay:
            await asyncio.sleep(self.erp_delay)
        if self.erp_down:
            raise TransientError("ERP unavailable")

    async def availability(self, sku: str, location: str | None, *, tenant: str) -> AvailabilityView:
        await self._erp()
        return AvailabilityView(
            sku, location, 7 if tenant == "brand-a" else 70, 10, 2, 1, datetime.now(UTC), False
        )

    async def price_check(self, sku: str, *, channel: str | None, tenant: str) -> tuple[Money | None, bool]:
        await self._erp()
        if sku == "NOPRICE":
            return None, False
        return Money(amount=Decimal("19.99"), currency="USD"), False

    async def customer_lookup(self, email: str, *, tenant: str) -> tuple[dict | None, bool]:
        await self._erp()
        if email == "ann@example.com" and tenant == "brand-a":
            return {"id": "c1", "email": email, "first_name": "Ann"}, False
        return None, False

    async def list_flows(self, status: str | None = None, limit: int = 100) -> list[dict]:
        return [
            {"workflow_id": "order:brand-a:shopify:1001", "status": "ERROR"},
            {"workflow_id": "order:brand-b:shopify:2001", "status": "ERROR"},
        ]

    async def flow_history(self, workflow_id: str) -> dict:
        return {"workflow_id": workflow_id, "steps": []}

    async def retry_flow(self, workflow_id: str) -> None:
        self.flows_retried.append(workflow_id)

    async def cancel_flow(self, workflow_id: str) -> None:
        return None


@pytest.fixture
def store(sqlite_url: str) -> Store:
    s = Store.open(sqlite_url)
    yield s
    s.close()


@pytest.fixture
def hub(store: Store) -> FakeHub:
    return FakeHub(store)


@dataclass
class Keys:
    writer_a: str
    reader_a: str
    writer_b: str
    ops_a: str
    admin_all: str
    no_scope_a: str


@pytest.fixture
def keys(store: Store) -> Keys:
    cs = ConsumerStore(store)
    return Keys(
        writer_a=cs.add("shop-a", tenant="brand-a", scopes=["orders:write", "returns:write"]),
        reader_a=cs.add(
            "storefront-a",
            tenant="brand-a",
            scopes=["availability:read", "prices:read", "customers:read", "systems:read"],
        ),
        writer_b=cs.add(
            "shop-b",
            tenant="brand-b",
            scopes=["orders:write", "availability:read", "customers:read", "ops:read"],
        ),
        ops_a=cs.add("ops-a", tenant="brand-a", scopes=["ops:read"]),
        admin_all=cs.add("ops-admin", tenant="*", scopes=["ops:admin", "systems:read"]),
        no_scope_a=cs.add("nothing-a", tenant="brand-a", scopes=["systems:read"]),
    )


AppFactory = Callable[..., Any]


@pytest.fixture
async def make_client(hub: FakeHub) -> AsyncIterator[Callable[..., Any]]:
    """make_client(settings=None, **create_app_kwargs) -> httpx.AsyncClient on a started app."""
    stack: list[Any] = []

    async def make(settings: GatewaySettings | None = None, **kw: Any) -> httpx.AsyncClient:
        kw.setdefault("start_background", False)
        app = create_app(hub, settings=settings, **kw)
        life = app.router.lifespan_context(app)
        await life.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")
        client.app = app  # type: ignore[attr-defined]
        stack.append((life, client))
        return client

    yield make
    for life, client in reversed(stack):
        await client.aclose()
        await life.__aexit__(None, None, None)


@pytest.fixture
async def client(make_client: Callable[..., Any]) -> httpx.AsyncClient:
    return await make_client()


def order_json(number: str = "1001", sku: str = "SKU-1", tenant: str | None = None, **over: Any) -> dict:
    body: dict[str, Any] = {
        "number": number,
        "channel": "web",
        "currency": "USD",
        "placed_at": "2026-11-28T10:00:00Z",
        "customer": {"email": "ann@example.com"},
        "lines": [
            {
                "sku": sku,
                "title": "Tee",
                "quantity": 2,
                "unit_price": {"amount": "10.00", "currency": "USD"},
                "discount_total": {"amount": "0.00", "currency": "USD"},
                "tax_total": {"amount": "0.00", "currency": "USD"},
                "line_total": {"amount": "20.00", "currency": "USD"},
            }
        ],
        "totals": {
            "subtotal": {"amount": "20.00", "currency": "USD"},
            "discount_total": {"amount": "0.00", "currency": "USD"},
            "shipping_total": {"amount": "0.00", "currency": "USD"},
            "tax_total": {"amount": "0.00", "currency": "USD"},
            "grand_total": {"amount": "20.00", "currency": "USD"},
        },
    }
    if tenant is not None:
        body["tenant"] = tenant
    body.update(over)
    return body


@pytest.fixture
def order_body() -> Callable[..., dict]:
    return order_json


@pytest.fixture
def signer() -> Callable[..., str]:
    return sign


@pytest.fixture(scope="session")
def fake_hub_cls() -> type[FakeHub]:
    return FakeHub


__all__ = [
    "SHOP_SECRET",
    "FakeHub",
    "HmacVerifier",
    "Keys",
    "client",
    "fake_hub_cls",
    "hub",
    "keys",
    "make_client",
    "order_body",
    "order_json",
    "sign",
    "signer",
    "store",
]
