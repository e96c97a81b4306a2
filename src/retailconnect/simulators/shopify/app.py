"""The Shopify simulator's ASGI app: GraphQL Admin API + admin endpoints under /_sim.

Settings (all optional): access_token ("shpat_simulator"), webhook_secret ("sim-webhook-secret"),
restore_rate (100), maximum (1000), shop_domain, currency ("USD"), api_version ("2025-01"),
webhook_timeout_s (5), webhook_retry_delays (list of seconds, compressed Shopify schedule), seed_catalog (True).
"""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable
from contextlib import asynccontextmanager
from typing import Any

from graphql import GraphQLError, execute, parse, validate
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from retailconnect.simulators._kit import FaultMiddleware, FaultPlan, RequestLog, RequestLogMiddleware

from .api import Roots
from .cost import Bucket, actual_cost, requested_cost
from .schema import build
from .state import ShopState
from .webhooks_out import DEFAULT_DELAYS, WebhookSender

SCHEMA = build()
_DOCS: dict[str, Any] = {}  # parsed + validated documents by query text (clients repeat the same few)
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


def _error_body(status: int) -> dict[str, Any]:
    if status == 429:
        return {
            "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."
        }
    if status >= 500:
        return {"errors": "Internal Server Error"}
    return {"errors": f"HTTP {status}"}


class Sim:
    """Everything one simulator instance holds (exposed as ``app.state.sim``)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.token = str(settings.get("access_token", "shpat_simulator"))
        self.api_version = str(settings.get("api_version", "2025-01"))
        self.state = ShopState(
            shop_domain=str(settings.get("shop_domain", "retailconnect-sim.myshopify.com")),
            currency=str(settings.get("currency", "USD")),
        )
        self.bucket = Bucket(float(settings.get("maximum", 1000)), float(settings.get("restore_rate", 100)))
        self.log = RequestLog()
        self.faults: dict[str, FaultPlan] = {}
        self.sender = WebhookSender(
            self.state,
            secret=str(settings.get("webhook_secret", "sim-webhook-secret")),
            api_version=self.api_version,
            timeout_s=float(settings.get("webhook_timeout_s", 5.0)),
            delays=list(settings.get("webhook_retry_delays", DEFAULT_DELAYS)),
        )
        self.roots = Roots(self.state, self.sender.emit)
        self.throttled = 0
        self.graphql_calls = 0
        if settings.get("seed_catalog", True):
            self.state.seed()

    def reset(self) -> None:
        keep = dict(self.settings)
        fresh = Sim(keep)
        self.state, self.bucket, self.roots = fresh.state, fresh.bucket, fresh.roots
        self.sender.state = self.state
        self.sender.deliveries.clear()
        self.roots.emit = self.sender.emit
        self.throttled = self.graphql_calls = 0
        self.log.clear()
        self.faults.clear()
        self.sender.faults = {}


def _cost_ext(sim: Sim, requested: int, actual: int | None) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": sim.bucket.status(),
        }
    }


async def graphql_endpoint(request: Request) -> JSONResponse:
    sim: Sim = request.app.state.sim
    if request.headers.get("X-Shopify-Access-Token") != sim.token:
        return JSONResponse({"errors": INVALID_TOKEN}, status_code=401)
    try:
        body = json.loads(await request.body())
        query = body["query"]
        variables = body.get("variables") or {}
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"errors": [{"message": "Parameter Missing or Invalid"}]}, status_code=400)
    cached = _DOCS.get(query)
    if cached is None:
        try:
            doc = parse(query)
        except GraphQLError as exc:
            return JSONResponse({"errors": [exc.formatted]})
        errs = validate(SCHEMA, doc)
        if errs:
            return JSONResponse({"errors": [e.formatted for e in errs]})
        if len(_DOCS) < 512:
            _DOCS[query] = doc
    else:
        doc = cached
    requested = requested_cost(doc, variables)
    sim.graphql_calls += 1
    if requested > sim.bucket.maximum:
        return JSONResponse(
            {
                "errors": [
                    {
                        "message": f"Query cost is {requested}, which exceeds the single query max cost limit ({int(sim.bucket.maximum)}).",
                        "extensions": {
                            "code": "MAX_COST_EXCEEDED",
                            "cost": requested,
                            "maxCost": int(sim.bucket.maximum),
                        },
                    }
                ],
                "extensions": _cost_ext(sim, requested, None),
            }
        )
    if not sim.bucket.try_take(requested):
        sim.throttled += 1
        return JSONResponse(
            {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {
                            "code": "THROTTLED",
                            "documentation": "https://shopify.dev/api/usage/rate-limits",
                        },
                    }
                ],
                "extensions": _cost_ext(sim, requested, None),
            }
        )
    with sim.state.lock:
        root = sim.roots.mutation if _is_mutation(doc) else sim.roots.query
        result = execute(SCHEMA, doc, root_value=root, variable_values=variables)
    assert not isinstance(result, Awaitable)
    out: dict[str, Any] = {"data": result.data}
    if result.errors:
        out["errors"] = [e.formatted for e in result.errors]
    actual = actual_cost(doc, result.data, requested)
    sim.bucket.refund(requested - actual)  # Shopify refunds what the query did not use
    out["extensions"] = _cost_ext(sim, requested, actual)
    return JSONResponse(out)


def _is_mutation(doc: Any) -> bool:
    return any(
        getattr(d, "operation", None) is not None and d.operation.value == "mutation" for d in doc.definitions
    )


# -- admin -------------------------------------------------------------------------------------------
async def _json(request: Request) -> Any:
    raw = await request.body()
    return json.loads(raw) if raw else {}


async def set_faults(request: Request) -> JSONResponse:
    sim: Sim = request.app.state.sim
    body = await _json(request)
    plan = FaultPlan.from_dict(body)
    sim.faults["plan"] = plan
    sim.sender.faults = {
        k: plan.extra[k]
        for k in ("drop_webhook_rate", "duplicate_webhook_rate", "reorder_webhooks", "reorder_window_s")
        if k in plan.extra
    }
    if "seed" in body and body["seed"] is not None:
        sim.sender.rng.seed(body["seed"])
    return JSONResponse({"plan": plan.as_dict()})


async def requests_log(request: Request) -> JSONResponse:
    sim: Sim = request.app.state.sim
    items = [r.as_dict() for r in sim.log.items(request.query_params.get("path_prefix"))]
    return JSONResponse(
        {
            "summary": {
                **sim.log.summary(),
                "throttled": sim.throttled,
                "graphql_calls": sim.graphql_calls,
                "max_rps": sim.log.max_rps(),
            },
            "items": items,
        }
    )


async def state_inventory(request: Request) -> JSONResponse:
    return JSONResponse(request.app.state.sim.state.inventory_report())


async def state_fulfillments(request: Request) -> JSONResponse:
    """``{"fulfillments": [...], "tracking_by_order": {order id: [numbers]}}``; ``?tracking_only=1`` leaves
    the fulfilments out (a cheap answer for polling)."""
    s = request.app.state.sim.state
    by_order: dict[str, list[str]] = {}
    for f in s.fulfillments:
        by_order.setdefault(str(f["order_id"]), []).extend(f["tracking_numbers"])
    if request.query_params.get("tracking_only") in ("1", "true"):
        return JSONResponse({"tracking_by_order": by_order})
    return JSONResponse({"fulfillments": s.fulfillments, "tracking_by_order": by_order})


async def state_refunds(request: Request) -> JSONResponse:
    return JSONResponse({"refunds": request.app.state.sim.state.refunds})


async def state_orders(request: Request) -> JSONResponse:
    s = request.app.state.sim.state
    return JSONResponse(
        {"orders": [s.order_summary(o) for o in sorted(s.orders.values(), key=lambda o: o["id"])]}
    )


async def get_order(request: Request) -> JSONResponse:
    s = request.app.state.sim.state
    o = s.orders.get(int(request.path_params["order_id"]))
    return JSONResponse(o) if o else JSONResponse({"errors": "Not Found"}, status_code=404)


async def seed_catalog(request: Request) -> JSONResponse:
    body = await _json(request)
    return JSONResponse(request.app.state.sim.state.seed(body.get("products", []), body.get("locations")))


async def reset(request: Request) -> JSONResponse:
    request.app.state.sim.reset()
    return JSONResponse({"reset": True})


def _emit_order(sim: Sim, order: dict[str, Any], paid: bool) -> None:
    sim.sender.emit("orders/create", order)
    if paid and order.get("financial_status") == "paid":
        sim.sender.emit("orders/paid", order)


async def generate_orders(request: Request) -> JSONResponse:
    sim: Sim = request.app.state.sim
    body = await _json(request)
    rng = random.Random(body.get("seed"))
    made = []
    for _ in range(int(body.get("count", 1))):
        try:
            o = sim.state.generate_order(rng)
        except ValueError as exc:
            return JSONResponse({"errors": str(exc)}, status_code=422)
        made.append(o)
        if body.get("emit", True):
            _emit_order(sim, o, bool(body.get("paid", False)))
    return JSONResponse({"orders": made if body.get("full") else [sim.state.order_summary(o) for o in made]})


async def create_order(request: Request) -> JSONResponse:
    """One specific order: {"lines": [{"sku", "quantity", "price"?, "title"?}], "taxes_included"?, "tax_rate"?,
    "shipping"?, "presentment_currency"?, "email"?, "emit"?: true, "paid"?: false}. Unknown or empty SKUs allowed."""
    sim: Sim = request.app.state.sim
    body = await _json(request)
    from decimal import Decimal

    rows = {r["sku"]: r for r in sim.state.catalog_rows()}
    specs = []
    for ln in body.get("lines") or []:
        known = rows.get(ln.get("sku"))
        specs.append(
            {
                "sku": ln.get("sku"),
                "quantity": int(ln.get("quantity", 1)),
                "price": str(ln.get("price") or (known["price"] if known else "10.00")),
                "title": ln.get("title") or (known["title"] if known else (ln.get("sku") or "Custom item")),
                "variant_id": known["variant_id"] if known else ln.get("variant_id"),
                "product_id": known["product_id"] if known else ln.get("product_id"),
                "line_discount": ln.get("discount"),
                "gift_card": bool(ln.get("gift_card", False)),
            }
        )
    if not specs:
        return JSONResponse({"errors": "lines: at least one line is required"}, status_code=422)
    over: dict[str, Any] = {
        "taxes_included": bool(body.get("taxes_included", False)),
        "tax_rate": Decimal(str(body.get("tax_rate", "0"))),
        "shipping_cents": int(Decimal(str(body.get("shipping", "0"))) * 100),
        "presentment_currency": body.get("presentment_currency", sim.state.currency),
        "order_discount_pct": int(body.get("order_discount_pct", 0)),
        "free_shipping": bool(body.get("free_shipping", False)),
        "email": body.get("email", "buyer@example.com"),
    }
    o = sim.state.generate_order(random.Random(0), line_specs=specs, **over)
    if body.get("emit", True):
        _emit_order(sim, o, bool(body.get("paid", False)))
    return JSONResponse(o)


async def webhooks_admin(request: Request) -> JSONResponse:
    sim: Sim = request.app.state.sim
    if request.method == "POST":
        body = await _json(request)
        topic, address = body.get("topic"), body.get("address")
        if not topic or not str(address or "").startswith(("http://", "https://")):
            return JSONResponse({"errors": {"address": ["is invalid"]}}, status_code=422)
        sub = {"id": sim.state.next_id(), "topic": topic, "address": address}
        sim.state.subscriptions.append(sub)
        return JSONResponse({"webhook": sub}, status_code=201)
    return JSONResponse({"subscriptions": sim.state.subscriptions, "deliveries": sim.sender.deliveries})


def create_app(settings: dict[str, Any] | None = None) -> Starlette:
    sim = Sim(dict(settings or {}))

    @asynccontextmanager
    async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
        yield
        await sim.sender.aclose()

    version = sim.api_version
    app = Starlette(
        routes=[
            Route(f"/admin/api/{version}/graphql.json", graphql_endpoint, methods=["POST"]),
            Route("/admin/api/{version}/graphql.json", graphql_endpoint, methods=["POST"]),
            Route("/_sim/faults", set_faults, methods=["POST"]),
            Route("/_sim/requests", requests_log, methods=["GET"]),
            Route("/_sim/state/inventory", state_inventory, methods=["GET"]),
            Route("/_sim/state/fulfillments", state_fulfillments, methods=["GET"]),
            Route("/_sim/state/refunds", state_refunds, methods=["GET"]),
            Route("/_sim/state/orders", state_orders, methods=["GET"]),
            Route("/_sim/orders/generate", generate_orders, methods=["POST"]),
            Route("/_sim/orders/{order_id:int}", get_order, methods=["GET"]),
            Route("/_sim/orders", create_order, methods=["POST"]),
            Route("/_sim/catalog", seed_catalog, methods=["POST"]),
            Route("/_sim/webhooks", webhooks_admin, methods=["GET", "POST"]),
            Route("/_sim/reset", reset, methods=["POST"]),
        ],
        middleware=[
            Middleware(RequestLogMiddleware, log=sim.log),
            Middleware(FaultMiddleware, holder=sim.faults, error_body=_error_body),
        ],
        lifespan=lifespan,
    )
    app.state.sim = sim
    return app
