"""A small hub over a real store (SQLite, migrated) with seeded rows: flows' orders and steps, an open
exception, an archived webhook, audit entries, a dead letter. The bus and flow engine are stand-ins
that record what the dashboard asked of them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from retailconnect.canonical import make_event
from retailconnect.config import ExceptionRoute, Topology
from retailconnect.errors import NotFoundError
from retailconnect.flows.tables import flow_orders, flow_steps
from retailconnect.gateway.consumers import ConsumerStore
from retailconnect.store import AuditLog, PayloadArchive, Store
from retailconnect.store.exception_queue import ExceptionQueue

XSS = "<script>alert('x')</script>"


@dataclass
class Dead:
    id: str
    group: str
    event: Any
    handler: str = "push_inventory_to_shopify"
    attempts: int = 5
    last_error: str = "TransientError: shopify 503"
    traceback: str = ""
    dead_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "group": self.group,
            "type": self.event.type,
            "subject": self.event.subject,
            "handler": self.handler,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "dead_at": self.dead_at.isoformat(),
            "event": self.event.to_json_dict(),
        }


@dataclass
class Replay:
    count: int


class FakeBus:
    def __init__(self) -> None:
        ev = make_event(
            "inventory.availability.changed",
            source="hub",
            data={"sku": "SKU-1", "available": 3, "token": "should-not-show"},
            subject="SKU-1",
            correlationid="corr-inv-1",
        )
        self.dead = {"7": Dead("7", "inventory-push-shopify", ev)}
        self.replayed: list[str] = []

    async def stats(self) -> Any:
        return {"groups": {"inventory-push-shopify": {"lag": 4, "in_flight": 1}}}

    async def list_dead(self, group: str | None = None, limit: int = 100) -> list[Dead]:
        return list(self.dead.values())

    async def replay_dead(self, id: str, *, group: str | None = None, dry_run: bool = False) -> Replay:
        if id not in self.dead:
            raise NotFoundError(f"no dead letter {id}")
        del self.dead[id]
        self.replayed.append(id)
        return Replay(1)


class FakeHub:
    def __init__(self, store: Store) -> None:
        self.topology = Topology(
            name="test-hub",
            exception_routing=[
                ExceptionRoute(team="finance", code="credit_hold"),
                ExceptionRoute(team="erp-team", system="netsuite"),
            ],
        )
        self.store = store
        self.audit = AuditLog(store)
        self.archive = PayloadArchive(store)
        self.exceptions = ExceptionQueue(store, self.audit, rules=self.topology.exception_routing)
        self.bus = FakeBus()
        self.retried: list[str] = []
        self.cancelled: list[str] = []

    async def list_flows(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return [
            {"workflow_id": "order:acme:shopify:1001", "status": "PENDING"},
            {"workflow_id": "order:acme:shopify:1002", "status": "SUCCESS"},
            {"workflow_id": "order:acme:shopify:1003", "status": "ERROR"},
        ]

    async def retry_flow(self, workflow_id: str) -> None:
        self.retried.append(workflow_id)

    async def cancel_flow(self, workflow_id: str) -> None:
        self.cancelled.append(workflow_id)

    def erp_status(self) -> dict[str, Any]:
        return {"netsuite": {"system": "netsuite", "breaker": "open", "rate_rps": 2.5}}


def seed(hub: FakeHub) -> dict[str, Any]:
    now = datetime.now(UTC)
    wid = "order:acme:shopify:1001"
    with hub.store.begin() as c:
        c.execute(
            flow_orders.insert().values(
                workflow_id=wid,
                tenant="acme",
                channel="shopify",
                external_id="1001",
                order_number="#1001",
                order_id="0190a0b0-0000-7000-8000-000000000001",
                status="parked",
                posted=False,
                cancelled=False,
                paid=True,
                pending=[],
                correlation_id="corr-order-1001",
                created_at=now - timedelta(minutes=20),
                updated_at=now - timedelta(minutes=19),
            )
        )
        c.execute(
            flow_orders.insert().values(
                workflow_id="order:acme:pos:77",
                tenant="acme",
                channel="pos",
                external_id="77",
                order_number="POS-77",
                status="posted",
                posted=True,
                cancelled=False,
                paid=True,
                pending=[],
                erp_id="SO-77",
                created_at=now - timedelta(minutes=3),
                updated_at=now - timedelta(minutes=2),
            )
        )
        for step, status, err in (
            ("validate", "ok", None),
            ("post_to_erp", "failed", "VendorRejectedError: customer on credit hold"),
        ):
            c.execute(
                flow_steps.insert().values(
                    workflow_id=wid,
                    step=step,
                    started_at=now - timedelta(minutes=19),
                    ended_at=now - timedelta(minutes=19),
                    attempts=1,
                    status=status,
                    error=err,
                    correlation_id="corr-order-1001",
                )
            )
    hub.archive.put(
        "shopify",
        "orders/create",
        "delivery-1001",
        {"X-Shopify-Topic": "orders/create"},
        json.dumps({"id": 1001, "name": "#1001", "note": XSS}).encode(),
        tenant="acme",
        correlation_id="corr-order-1001",
    )
    hub.audit.append(
        "shopify-webhook",
        "api POST /v1/channels/shopify/{shop}/webhooks",
        "/v1/channels/shopify/{shop}/webhooks",
        {"correlation_id": "corr-order-1001", "status": 200},
    )
    exc = hub.exceptions.open(
        code="credit_hold",
        error_class="VendorRejectedError",
        message=f"Customer on credit hold {XSS}",
        suggested_action="Release the credit hold in NetSuite, then replay.",
        context={
            "order_number": "#1001",
            "customer": "Ada Lovelace",
            "amount": "129.90 EUR",
            "system": "netsuite",
        },
        tenant="acme",
        workflow_id=wid,
        failed_step="post_to_erp",
        failed_step_id=2,
    )
    return {"exception_id": exc.id, "workflow_id": wid}


@pytest.fixture
def seeded(sqlite_url: str):
    store = Store.open(sqlite_url)
    hub = FakeHub(store)
    facts = seed(hub)
    consumers = ConsumerStore(store, cache_ttl_s=0.0)
    keys = {
        "admin": consumers.add("ops-admin", tenant="*", scopes=["ops:admin"]),
        "reader": consumers.add("ops-reader", tenant="*", scopes=["ops:read"]),
        "orders": consumers.add("pos", tenant="acme", scopes=["orders:write"]),
    }
    yield hub, consumers, keys, facts
    store.close()
