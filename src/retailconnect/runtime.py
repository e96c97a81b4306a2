"""The composition root: :class:`Hub` is built from the topology and passed down (no module singletons).

``hub = await Hub.start(topology, role="all"|"gateway"|"worker")`` opens the store and the bus, builds a
client per system from the topology (the ERP wrapped in its guard: breaker, account-wide governor,
cache; its HTTP transport takes one governor slot per request; every client's transport is the
observability bundle's instrumented one, ``hub.observability``), launches DBOS with an ERP queue per ERP
(concurrency and rate from ``policies.erp``; tiers as priorities), installs the flows' services, applies
the batch-sync schedules and starts the breaker monitor that pauses an ERP queue while its circuit is
open. ``role="gateway"`` enqueues workflows but runs none (it listens to no queue); ``"worker"`` and
``"all"`` run them. ``await hub.stop()`` undoes it all.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib
import logging
import math
import os
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from retailconnect.bus import EventBus, bus_from_topology
from retailconnect.canonical import Money, Order, Return, Shipment
from retailconnect.config import Topology
from retailconnect.connectors._kit import (
    ChannelSystem,
    Delivery,
    ErpSystem,
    MapContext,
    WarehouseSystem,
    WebhookVerifier,
)
from retailconnect.errors import ConfigError, InputError, NotFoundError
from retailconnect.flows import ingest
from retailconnect.flows.context import WorkflowContext
from retailconnect.flows.engine import Engine, dbos_url_for
from retailconnect.flows.history import HistoryWriter
from retailconnect.flows.ingest import CaptureResult, FlowExceptions
from retailconnect.flows.scheduled import batch_jobs, batch_sync
from retailconnect.flows.services import FlowServices, install, uninstall
from retailconnect.flows.steps.erp import GuardedErp
from retailconnect.observability import InstrumentedTransport, Observability
from retailconnect.resilience import (
    BreakerState,
    CircuitBreaker,
    ErpGuard,
    Governor,
    GuardLimits,
    RedisGovernorBackend,
    SqlGovernorBackend,
)
from retailconnect.resilience.erp_guard import GovernedTransport
from retailconnect.store import AuditLog, Bindings, PayloadArchive, Store
from retailconnect.store.exception_queue import ExceptionQueue

__all__ = ["APP_VERSION", "CaptureResult", "Hub"]

log = logging.getLogger("retailconnect.runtime")
_STOP_POOL = __import__("concurrent.futures").futures.ThreadPoolExecutor(
    max_workers=1, thread_name_prefix="rc-stop"
)

APP_VERSION = os.environ.get("RETAILCONNECT_APP_VERSION", "retailconnect-flows-1")
# Seconds of work outside the ERP per order_to_cash workflow under load (store, DBOS bookkeeping, bus).
WORKFLOW_BUSY_S = 0.5


def queue_concurrency(erp_concurrency: int, effective_rps: float) -> int:
    """Workflows the ERP queue runs at once: the ERP's concurrency, or as many as keep its rate busy
    when each workflow spends about ``WORKFLOW_BUSY_S`` outside the ERP, whichever is larger. A queue
    capped at the ERP's concurrency alone left the rate budget unused (1-2 requests in flight of 5, the
    burst drained at a fraction of the rate); more workflows than the rate needs only add event-loop lag,
    which wakes callers late together and bunches their requests in the ERP's one-second window. The
    guard's semaphore and the governor cap what actually reaches the ERP either way."""
    return max(1, erp_concurrency, math.ceil(effective_rps * WORKFLOW_BUSY_S))


ERP_KINDS = ("netsuite", "legacy_erp", "business_central", "sap_s4", "oracle_fusion")
CHANNEL_KINDS = ("shopify", "adobe_commerce")
ORDER_TOPICS = {
    "orders/create": None,
    "orders/updated": None,
    "orders/edited": None,
    "orders/paid": "paid",
    "orders/cancelled": "cancelled",
}


def _secret(cfg: Any, name: str, default: str = "") -> str:
    try:
        s = cfg.secret(name)
    except ConfigError:
        if cfg.mode == "simulator":
            return default
        raise
    return s.get_secret_value() if s is not None else default


class Hub:
    topology: Topology
    store: Store
    bus: EventBus
    bindings: Bindings
    audit: AuditLog
    archive: PayloadArchive
    exceptions: FlowExceptions

    def __init__(self) -> None:
        self._systems: dict[str, Any] = {}
        self._guards: dict[str, ErpGuard] = {}
        self._erps: dict[str, GuardedErp] = {}
        self._verifiers: dict[str, WebhookVerifier] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self.engine: Engine | None = None
        self.services: FlowServices | None = None
        self.role = "all"
        self.availability_projection: Any = None
        self.inventory_sync: Any = None
        self._inv_targets: list[str] | None = None
        self.observability: Observability | None = None
        self._transports: list[InstrumentedTransport] = []
        self._workflow_context: WorkflowContext | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    @classmethod
    async def start(
        cls,
        topology: Topology,
        *,
        role: str = "all",
        executor_id: str | None = None,
        systems: Mapping[str, Any] | None = None,
        dead_after_s: float = 10.0,
    ) -> Hub:
        """``systems`` overrides clients by system name (tests inject doubles there)."""
        if role not in ("all", "gateway", "worker"):
            raise ConfigError(f"unknown role {role!r}: use all, gateway or worker")
        hub = cls()
        hub.role = role
        hub.topology = topology
        eng = topology.engines
        hub.store = await asyncio.to_thread(lambda: Store.open(eng.store_url, pool_size=30))
        hub.bindings = Bindings(hub.store)
        hub.audit = AuditLog(hub.store)
        hub.archive = PayloadArchive(hub.store)
        queue = ExceptionQueue(hub.store, hub.audit, rules=topology.exception_routing)
        hub.bus = bus_from_topology(topology, hub.store)
        await hub.bus.start()
        with contextlib.suppress(ImportError):
            from retailconnect.store.projections.availability import AvailabilityProjection

            hub.availability_projection = AvailabilityProjection(
                hub.store,
                safety_stock=topology.policies.safety_stock,
                stale_buffer=topology.policies.stale_buffer,
            )
        backend = (
            RedisGovernorBackend(eng.redis_url) if eng.redis_url else SqlGovernorBackend(hub.store.engine)
        )
        governor = Governor(backend)
        hub.observability = Observability.from_topology(topology)
        hub.observability.attach(hub)
        hub._build_systems(governor, dict(systems or {}))

        dbos_url = eng.dbos_url or dbos_url_for(hub.store.url)
        hub.engine = Engine(
            system_database_url=dbos_url,
            application_version=APP_VERSION,
            executor_id=executor_id or eng.executor_id,
            store_engine=hub.store.engine,
            dead_after_s=dead_after_s,
        )
        erp_names = list(hub._erps)
        history = HistoryWriter(hub.store)  # the step history, written in batches
        history.start()
        svc = FlowServices(
            store=hub.store,
            bindings=hub.bindings,
            audit=hub.audit,
            exceptions=queue,
            engine=hub.engine,
            publish=hub.bus.publish,
            erps=dict(hub._erps),
            channels=hub._channels(),
            warehouses=hub._warehouses(),
            availability=hub.availability_projection,
            default_erp=erp_names[0] if erp_names else None,
            default_warehouse=next(iter(hub._warehouses()), None),
            cancellation_after_post={n: topology.erp_policy(n).cancellation_after_post for n in erp_names},
            tax_system=next(iter(topology.systems_of("tax")), None),
            loop=asyncio.get_running_loop(),
            history=history,
        )
        hub.services = svc
        hub.exceptions = FlowExceptions(svc)
        install(svc)
        listen = role != "gateway"
        await asyncio.to_thread(hub._launch_engine, listen)
        if listen:
            for name, gerp in hub._erps.items():
                limit = await gerp.refresh_limits()
                if limit:
                    await asyncio.to_thread(
                        hub.engine.set_queue_concurrency,
                        svc.erp_queue(name),
                        queue_concurrency(gerp.guard.concurrency, gerp.guard.limits.effective_rps),
                    )
            hub._tasks.append(asyncio.create_task(hub._breaker_monitor(), name="rc-breaker-monitor"))
            await hub._start_inventory_sync()
        return hub

    def _launch_engine(self, listen: bool) -> None:
        assert self.engine is not None and self.services is not None
        self.engine.launch(listen=listen)
        for name, gerp in self._erps.items():
            pol = self.topology.erp_policy(name)
            rate = max(1, math.floor(pol.rps * pol.headroom))
            self.engine.register_queue(
                self.services.erp_queue(name),
                concurrency=queue_concurrency(pol.concurrency, pol.rps * pol.headroom),
                rate=(rate, 1.0),
            )
            gerp.guard.breaker.on_change(self._on_breaker(name))
        if not self._erps:
            self.engine.register_queue(self.services.erp_queue(None), concurrency=None, rate=None)
        # returns, batch sync: not latency-critical; every poll of an idle queue costs a system-db transaction
        self.engine.register_queue("flows", concurrency=None, rate=None, polling_s=0.5)
        if listen:
            for job in batch_jobs().values():
                self.engine.schedule(f"batch:{job.name}", batch_sync, job.cron, {"job": job.name})

    async def stop(self) -> None:
        if self.inventory_sync is not None:
            with contextlib.suppress(Exception):
                await self.inventory_sync.stop()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(BaseException):
                await t
        self._tasks.clear()
        if self.engine is not None:
            # DBOS swaps the loop's default executor for its own and shuts it down on destroy
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(_STOP_POOL, self.engine.shutdown)
            loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(thread_name_prefix="rc-default"))
        if self.services is not None and self.services.history is not None:
            await asyncio.to_thread(self.services.history.close)
        uninstall()
        for s in {id(s): s for s in [*self._systems.values()]}.values():
            with contextlib.suppress(Exception):
                await s.aclose()
        with contextlib.suppress(Exception):
            await self.bus.close()
        self.store.close()

    # -- systems ---------------------------------------------------------------------------------
    def _build_systems(self, governor: Governor, overrides: dict[str, Any]) -> None:
        for name, cfg in self.topology.systems.items():
            kind = cfg.kind
            transport = None
            guard = None
            if kind in ERP_KINDS:
                pol = self.topology.erp_policy(name)
                account = f"{kind}:{getattr(cfg, 'account_id', name)}"
                limits = GuardLimits(
                    rps=pol.rps,
                    headroom=pol.headroom,
                    concurrency=pol.concurrency,
                    failure_threshold=pol.circuit.failure_threshold,
                    reset_after_s=pol.circuit.reset_after_s,
                    half_open_max_calls=pol.circuit.half_open_max_calls,
                    cache_ttl_s=pol.cache_ttl_s,
                )
                transport = (
                    None
                    if name in overrides
                    else GovernedTransport(governor, account, inner=self._instrumented(name))
                )
                guard = ErpGuard(name, account, limits, governor=governor, transport=transport)
                self._guards[name] = guard
            client = overrides.get(name)
            if client is None:
                client = self._client_for(name, cfg, transport)
            if client is None:
                continue
            self._systems[name] = client
            if guard is not None:
                self._erps[name] = GuardedErp(client, guard)

    def _instrumented(self, name: str) -> InstrumentedTransport:
        """The transport a client for ``name`` sends through: latency, errors and a client span per vendor
        request into ``self.observability`` (inside a workflow, tagged with its order's correlation id)."""
        if self.observability is None:
            self.observability = Observability.from_topology(self.topology)
        if self._workflow_context is None:
            self._workflow_context = WorkflowContext(self.store)
        t = self.observability.transport(name, context=self._workflow_context)
        self._transports.append(t)
        return t

    def use_observability(self, obs: Observability) -> list[str]:
        """Report the clients' vendor calls to ``obs`` from now on (the dashboard may bring its own bundle);
        returns the systems whose transport reports there."""
        self.observability = obs
        for t in self._transports:
            t.metrics = obs.metrics
            t.tracing = obs.tracing
        return [t.system for t in self._transports]

    def _client_for(self, name: str, cfg: Any, transport: Any) -> Any:
        kind = cfg.kind
        base = cfg.base_url
        if base is None:
            return None  # a simulator not started yet: the demo passes clients or base URLs
        if kind not in ("legacy_erp", "netsuite", "shopify", "wms"):
            return None
        transport = transport or self._instrumented(name)
        if kind == "legacy_erp":
            from retailconnect.connectors.legacy_erp import LegacyErpClient

            return LegacyErpClient(
                base, _secret(cfg, "api_key", "legacy-drop-key"), transport=transport, timeout=cfg.timeout_s
            )
        if kind == "netsuite":
            from retailconnect.connectors.netsuite import NetSuiteAuth, NetSuiteClient

            auth = NetSuiteAuth(
                cfg.account_id,
                _secret(cfg, "consumer_key", "sim-consumer-key"),
                _secret(cfg, "consumer_secret", "sim-consumer-secret"),
                _secret(cfg, "token_id", "sim-token-id"),
                _secret(cfg, "token_secret", "sim-token-secret"),
            )
            return NetSuiteClient(
                cfg.account_id,
                base,
                auth,
                concurrency_limit=cfg.concurrency_limit,
                transport=transport,
                timeout=cfg.timeout_s,
                # the flows know from the order's state whether they posted before: no GET per upsert
                probe_upserts=False,
                settings=dict(cfg.settings)
                | {
                    k: v
                    for k, v in (
                        ("subsidiary", cfg.subsidiary),
                        ("location", cfg.location),
                        ("shipping_item", cfg.shipping_item),
                    )
                    if v
                },
            )
        if kind == "shopify":
            from retailconnect.connectors.shopify import ShopifyClient

            return ShopifyClient(
                base,
                _secret(cfg, "access_token", "sim-token"),
                api_version=cfg.api_version,
                transport=transport,
            )
        if kind == "wms":
            from retailconnect.connectors.wms import WmsClient

            return WmsClient(
                base, _secret(cfg, "api_key", "sim-wms-key"), settings=dict(cfg.settings), transport=transport
            )
        return None

    def _channels(self) -> dict[str, ChannelSystem]:
        return {n: s for n, s in self._systems.items() if self.topology.systems[n].kind in CHANNEL_KINDS}

    def _warehouses(self) -> dict[str, WarehouseSystem]:
        return {n: s for n, s in self._systems.items() if self.topology.systems[n].kind == "wms"}

    def erp(self, name: str | None = None) -> ErpSystem:
        key = name or next(iter(self._erps), None)
        if key is None or key not in self._erps:
            raise NotFoundError(f"no ERP system {key!r}", context={"system": key})
        return self._erps[key]  # type: ignore[return-value]

    def guarded_erp(self, name: str | None = None) -> GuardedErp:
        return self.erp(name)  # type: ignore[return-value]

    def channel(self, name: str) -> ChannelSystem:
        ch = self._channels().get(name)
        if ch is None:
            raise NotFoundError(f"no channel system {name!r}", context={"system": name})
        return ch

    def warehouse(self, name: str | None = None) -> WarehouseSystem:
        whs = self._warehouses()
        key = name or next(iter(whs), None)
        if key is None or key not in whs:
            raise NotFoundError(f"no warehouse system {key!r}", context={"system": key})
        return whs[key]

    def webhook_verifier(self, system_name: str) -> WebhookVerifier:
        if system_name in self._verifiers:
            return self._verifiers[system_name]
        cfg = self.topology.systems.get(system_name)
        if cfg is None:
            raise NotFoundError(f"no system {system_name!r}", context={"system": system_name})
        secret = _secret(
            cfg, "webhook_secret", "sim-wms-secret" if cfg.kind == "wms" else "sim-webhook-secret"
        )
        v: WebhookVerifier
        if cfg.kind == "shopify":
            from retailconnect.connectors.shopify import ShopifyWebhookVerifier

            v = ShopifyWebhookVerifier(secret)
        elif cfg.kind == "wms":
            from retailconnect.connectors.wms import WmsWebhookVerifier

            v = WmsWebhookVerifier(secret)
        else:
            raise NotFoundError(f"system {system_name!r} ({cfg.kind}) sends no webhooks we verify")
        self._verifiers[system_name] = v
        return v

    # -- breaker -> queue ------------------------------------------------------------------------
    def _on_breaker(self, name: str) -> Any:
        def _listener(_b: CircuitBreaker, old: BreakerState, new: BreakerState) -> None:
            assert self.engine is not None and self.services is not None
            qname = self.services.erp_queue(name)
            if new == BreakerState.OPEN:
                value: int | None = 0
            elif new == BreakerState.HALF_OPEN:
                value = 1
            else:
                guard = self._guards[name]
                value = queue_concurrency(guard.concurrency, guard.limits.effective_rps)
            log.warning("ERP %s circuit %s -> %s: queue %s concurrency %s", name, old, new, qname, value)
            with contextlib.suppress(Exception):
                self.audit.append("erp_guard", f"circuit.{new}", f"system:{name}", {"from": str(old)})
            engine = self.engine
            threading.Thread(target=lambda: engine.set_queue_concurrency(qname, value), daemon=True).start()

        return _listener

    async def _breaker_monitor(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            for guard in self._guards.values():
                _ = guard.breaker.state  # moves open -> half-open when the cool-down is over

    def erp_status(self) -> dict[str, Any]:
        return {n: g.snapshot() for n, g in self._guards.items()}

    # -- process services ------------------------------------------------------------------------
    @property
    def _svc(self) -> FlowServices:
        assert self.services is not None
        return self.services

    async def capture_order(
        self, order: Order, *, tenant: str, correlation_id: str | None = None, source: str = "api"
    ) -> CaptureResult:
        return await ingest.capture_order(
            self._svc, order, tenant=tenant, correlation_id=correlation_id, source=source
        )

    def _map_ctx(self, system_name: str, tenant: str) -> MapContext:
        cfg = self.topology.systems[system_name]
        settings = dict(cfg.settings)
        api_version = getattr(cfg, "api_version", None)
        if api_version:
            settings.setdefault("api_version", api_version)
        obs = getattr(self, "observability", None)
        return MapContext(
            refs=self.bindings,
            tenant=tenant,
            channel=system_name,
            settings=settings,
            drift=getattr(obs, "drift", None),
        )

    async def ingest_channel_webhook(
        self,
        system_name: str,
        delivery: Delivery,
        payload: dict[str, Any],
        *,
        tenant: str,
        correlation_id: str | None,
    ) -> CaptureResult | None:
        cfg = self.topology.systems.get(system_name)
        if cfg is None:
            raise NotFoundError(f"no system {system_name!r}", context={"system": system_name})
        topic = delivery.topic
        if topic in ORDER_TOPICS:
            mod = importlib.import_module(f"retailconnect.connectors.{cfg.kind}")
            mapper = getattr(mod, f"order_from_{cfg.kind}")
            order: Order = mapper(payload, self._map_ctx(system_name, tenant))
            if order.channel != system_name:
                order = order.model_copy(update={"channel": system_name})
            kind = ORDER_TOPICS[topic]
            fact: dict[str, Any] | None = None
            if kind == "paid":
                fact = {"type": "paid", "amount": order.totals.grand_total.model_dump(mode="json")}
            elif kind == "cancelled":
                fact = {"type": "cancelled"}
            elif topic == "orders/create":
                fact = ingest._payment_fact(order)
            return await ingest.order_event(
                self._svc,
                order,
                tenant=tenant,
                correlation_id=correlation_id,
                fact=fact,
                source=f"webhook:{system_name}",
            )
        await asyncio.to_thread(
            self.audit.append,
            f"webhook:{system_name}",
            f"channel.{topic}",
            delivery.delivery_id,
            {"tenant": tenant},
        )
        return None

    async def ingest_warehouse_webhook(
        self,
        system_name: str,
        delivery: Delivery,
        payload: dict[str, Any],
        *,
        tenant: str,
        correlation_id: str | None,
    ) -> None:
        cfg = self.topology.systems.get(system_name)
        if cfg is None:
            raise NotFoundError(f"no system {system_name!r}", context={"system": system_name})
        topic = delivery.topic or str(payload.get("type"))
        ctx = self._map_ctx(system_name, tenant)
        if topic == "shipment.dispatched":
            from retailconnect.connectors.wms import shipment_from_wms

            shipment: Shipment = shipment_from_wms(payload, ctx)
            await ingest.shipment_dispatched(
                self._svc, shipment, tenant=tenant, correlation_id=correlation_id
            )
        elif topic == "return.inspected":
            data = payload.get("data", payload)
            wf = str(data.get("external_id") or "")
            lines = [
                {
                    "sku": ln.get("sku"),
                    "quantity": ln.get("quantity"),
                    "condition": ln.get("condition"),
                    "disposition": ln.get("disposition"),
                    "reason": ln.get("note"),
                }
                for ln in data.get("lines", [])
            ]
            if wf.startswith("return:"):
                await self._svc.engine.send(wf, {"lines": lines}, ingest.INSPECTED_TOPIC)
            else:
                rma = str(data.get("rma_number") or data.get("return_id"))
                await ingest.return_inspected(
                    self._svc, {"lines": lines}, tenant=tenant, channel=None, rma=rma
                )
        elif topic in ("stock.movement", "stock.movements"):
            await self._stock_movements(
                system_name, payload, ctx, tenant=tenant, correlation_id=correlation_id
            )
        else:
            raise InputError(f"unknown warehouse event {topic!r}", context={"system": system_name})

    async def _stock_movements(
        self,
        system_name: str,
        payload: dict[str, Any],
        ctx: MapContext,
        *,
        tenant: str,
        correlation_id: str | None,
    ) -> None:
        """WMS movements become durable ``inventory.movement`` events (one per movement, subject = SKU);
        the inventory sync applies them to the projection and pushes coalesced levels to the channels.
        The movement's canonical id derives from the WMS movement id, so a redelivery is applied once."""
        from retailconnect.connectors.wms import stock_movement_from_wms
        from retailconnect.flows.inventory_sync import movement_event

        data = payload.get("data", payload)
        raw = (
            data.get("movements")
            if isinstance(data, dict) and isinstance(data.get("movements"), list)
            else None
        )
        docs = [{**payload, "data": m} for m in raw] if raw is not None else [payload]
        movements = []
        for doc in docs:
            mv = stock_movement_from_wms(doc, ctx)
            ext = mv.external_refs.get("wms") or str(mv.id)
            movements.append(
                mv.model_copy(update={"id": uuid.uuid5(uuid.NAMESPACE_URL, f"{system_name}:{ext}")})
            )
        if not self._inventory_targets():
            if self.availability_projection is not None:  # no channel to feed: keep availability current
                await asyncio.to_thread(self.availability_projection.apply_movements, movements)
            return
        events = []
        for mv in movements:
            ev = movement_event(
                mv, source=f"/systems/{system_name}", tenant=tenant, correlationid=correlation_id
            )
            events.append(ev.model_copy(update={"id": f"{system_name}:movement:{mv.id}"}))
        await self.bus.publish_many(events)

    def _inventory_targets(self) -> list[str]:
        """Channels fed by an enabled inventory_sync flow; fixed once the systems are built, so computed once."""
        if self._inv_targets is not None:
            return self._inv_targets
        channels = self._channels()
        self._inv_targets = [
            t
            for f in self.topology.flows
            if f.name == "inventory_sync" and f.enabled
            for t in f.targets
            if t in channels
        ]
        return self._inv_targets

    async def _start_inventory_sync(self) -> None:
        from retailconnect.flows.inventory_sync import InventorySync

        targets = self._inventory_targets()
        if not targets or self.availability_projection is None:
            return
        channels = self._channels()
        locmap = {t: dict(getattr(self.topology.systems[t], "location_map", None) or {}) for t in targets}
        self.inventory_sync = InventorySync(
            self.bus,
            self.availability_projection,
            {t: channels[t] for t in targets},
            location_map=locmap,
            on_pushed=self._inventory_pushed,
        )
        await self.inventory_sync.start()

    def _inventory_pushed(self, channel: str, levels: list[Any], lags: list[float]) -> None:
        obs = getattr(self, "observability", None)
        if obs is not None:
            obs.metrics.on_inventory_pushed(channel, levels, lags)

    async def create_return(
        self, ret: Return, *, tenant: str, correlation_id: str | None = None
    ) -> CaptureResult:
        return await ingest.create_return(self._svc, ret, tenant=tenant, correlation_id=correlation_id)

    async def availability(self, sku: str, location: str | None, *, tenant: str) -> Any:
        if self.availability_projection is None:
            raise NotFoundError("no availability projection in this store")
        view = await asyncio.to_thread(self.availability_projection.get, sku, location)
        if view is None:
            raise NotFoundError(f"no stock figure for {sku}", context={"sku": sku})
        return view

    async def price_check(self, sku: str, *, channel: str | None, tenant: str) -> tuple[Money | None, bool]:
        return await self.guarded_erp().lookup_price(sku, tier=1)

    async def customer_lookup(self, email: str, *, tenant: str) -> tuple[dict[str, Any] | None, bool]:
        gerp = self.guarded_erp()
        found, stale = await gerp.lookup_customer(email)
        return ({"email": email.lower(), "erp_id": found, "system": gerp.system} if found else None), stale

    # -- ops -------------------------------------------------------------------------------------
    async def list_flows(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return await ingest.list_flows(self._svc, status, limit)

    async def flow_history(self, workflow_id: str) -> dict[str, Any]:
        return await ingest.flow_history(self._svc, workflow_id)

    async def retry_flow(self, workflow_id: str) -> None:
        await ingest.retry_flow(self._svc, workflow_id)

    async def cancel_flow(self, workflow_id: str) -> None:
        await ingest.cancel_flow(self._svc, workflow_id)

    async def dispatch_shipment(
        self, shipment: Shipment, *, tenant: str, correlation_id: str | None = None
    ) -> str | None:
        """A shipment already in canonical form (tests, replays): same path as the WMS webhook."""
        return await ingest.shipment_dispatched(
            self._svc, shipment, tenant=tenant, correlation_id=correlation_id
        )

    async def return_inspected(
        self, rma: str, lines: list[dict[str, Any]], *, tenant: str, channel: str | None
    ) -> str:
        return await ingest.return_inspected(
            self._svc, {"lines": lines}, tenant=tenant, channel=channel, rma=rma
        )


async def run_worker(
    topology: Topology,
    *,
    executor_id: str | None = None,
    role: str = "worker",
    dead_after_s: float = 10.0,
    stop: asyncio.Event | None = None,
) -> None:
    """Run a worker until ``stop`` is set or SIGINT/SIGTERM arrives (``retailconnect worker`` wraps this)."""
    import signal

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    hub = await Hub.start(topology, role=role, executor_id=executor_id, dead_after_s=dead_after_s)
    log.warning("worker %s running (role %s)", hub.engine.executor_id if hub.engine else "?", role)
    try:
        await stop.wait()
    finally:
        await hub.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m retailconnect.runtime --config FILE [--executor-id ID] [--dead-after S]``."""
    import argparse

    from retailconnect.config import load_topology

    p = argparse.ArgumentParser(prog="python -m retailconnect.runtime")
    p.add_argument("--config", "-c", required=True)
    p.add_argument("--executor-id")
    p.add_argument("--role", default="worker", choices=["worker", "all"])
    p.add_argument("--dead-after", type=float, default=10.0)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    topo = load_topology(args.config)
    asyncio.run(run_worker(topo, executor_id=args.executor_id, role=args.role, dead_after_s=args.dead_after))


if __name__ == "__main__":
    main()
