"""The NetSuite simulator's ASGI app: REST record API v1, SuiteQL, governanceLimits, TBA checks,
concurrency governance (429 when more requests are in flight than the limit; no queueing), admin under
``/_sim``."""

from __future__ import annotations

import asyncio
import json
import re
import time
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from retailconnect.simulators._kit import FaultPlan, SimulatorBase

from . import suiteql
from .problems import SimError, error_body, ns_error
from .state import RECORD_TYPES, NetSuiteState
from .tba import TbaVerifier

_EID = re.compile(r"[A-Za-z0-9_-]+")

DEFAULTS: dict[str, Any] = {
    "account_id": "1234567",
    "consumer_key": "sim-consumer-key",
    "consumer_secret": "sim-consumer-secret",
    "token_id": "sim-token-id",
    "token_secret": "sim-token-secret",
    "verify_signatures": True,
    "concurrency_limit": 5,
    "rate_limit_rps": None,
    "rate_limit_burst": None,
    "governance_readable": True,
    "items": [],
    "customers": [],
}


def _dumps(obj: Any) -> str:
    if isinstance(obj, Decimal):
        return format(obj, "f")
    if isinstance(obj, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_dumps(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list | tuple):
        return "[" + ",".join(_dumps(v) for v in obj) + "]"
    return json.dumps(obj)


class NSJSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return _dumps(content).encode()


class Governor:
    """Concurrency governance and an optional request rate (a token bucket) for the /services paths."""

    def __init__(self, app: ASGIApp, sim: NetSuiteSimulator) -> None:
        self.app = app
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/services/"):
            await self.app(scope, receive, send)
            return
        sim = self.sim
        now = time.monotonic()
        rps = sim.settings.get("rate_limit_rps")
        if rps and not sim.take_token(float(rps), now):
            sim.rejected_rate += 1
            await _reply(
                send,
                429,
                error_body(429, "REQUEST_LIMIT_EXCEEDED", "Request limit exceeded. Request blocked."),
            )
            return
        limit = int(sim.settings.get("concurrency_limit") or 0)
        if limit and sim.in_flight >= limit:
            sim.rejected_concurrency += 1
            await _reply(send, 429, error_body(429))
            return
        sim.in_flight += 1
        sim.max_in_flight = max(sim.max_in_flight, sim.in_flight)
        released = False

        async def _send(message: Message) -> None:
            nonlocal released
            if message["type"] == "http.response.body" and not message.get("more_body") and not released:
                released = True
                sim.in_flight -= 1  # released before the last byte leaves, as NetSuite frees the slot
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            if not released:
                sim.in_flight -= 1


async def _reply(send: Send, status: int, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": raw})


class NetSuiteSimulator(SimulatorBase):
    """``NetSuiteSimulator(settings)``: ``.app`` (ASGI), ``.state``, ``.log``; ``.start()`` runs it on a
    loopback port in a thread and returns the handle (``.url``)."""

    api_prefix = "/services/"

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.settings: dict[str, Any] = {**DEFAULTS, **(settings or {})}
        self.state = NetSuiteState(self.settings)
        self.in_flight = 0
        self.max_in_flight = 0
        self.rejected_concurrency = 0
        self.rejected_rate = 0
        self.rejected_auth = 0
        self._tokens: float | None = None  # the rate limit's bucket (None: full)
        self._tokens_at = 0.0
        self.auth_failures: list[str] = []
        self._hangs_done: dict[str, int] = {}
        s = self.settings
        self.verifier = TbaVerifier(
            realm=str(s["account_id"]).upper().replace("-", "_"),
            consumer_key=s["consumer_key"],
            consumer_secret=s["consumer_secret"],
            token_id=s["token_id"],
            token_secret=s["token_secret"],
        )
        routes = [
            Route("/services/rest/system/v1/governanceLimits", self.governance, methods=["GET"]),
            Route("/services/rest/query/v1/suiteql", self.suiteql, methods=["POST"]),
            Route(
                "/services/rest/record/v1/{rest:path}",
                self.record,
                methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            ),
            *self.admin_routes(),
            Route("/_sim/items", self.add_items, methods=["POST"]),
            Route("/_sim/customers", self.add_customers, methods=["POST"]),
            Route("/_sim/settings", self.update_settings, methods=["POST"]),
            Route("/_sim/state/sales_orders", self.sales_orders, methods=["GET"]),
            Route("/_sim/state/{rtype}", self.records_state, methods=["GET"]),
            Route("/_sim/reset", self.reset, methods=["POST"]),
        ]
        # NetSuite's governance outside the faults: injected latency is time in flight
        self.app: ASGIApp = self.wrap(
            Starlette(routes=routes), error_body, around_faults=lambda app: Governor(app, self)
        )

    def take_token(self, rps: float, now: float) -> bool:
        """The request rate limit as API gateways enforce "N requests per second": a bucket of
        ``rate_limit_burst`` requests (default N) refilled at N per second; a request finding it empty is
        refused. A client that keeps under N/s is never refused though its requests may arrive bunched
        (network or scheduling jitter); one that keeps above it soon is."""
        burst = float(self.settings.get("rate_limit_burst") or rps)
        tokens = burst if self._tokens is None else self._tokens
        tokens = min(burst, tokens + (now - self._tokens_at) * rps)
        self._tokens_at = now
        if tokens < 1.0:
            self._tokens = tokens
            return False
        self._tokens = tokens - 1.0
        return True

    # -- helpers ---------------------------------------------------------------------------------
    def _auth(self, request: Request) -> Response | None:
        if not self.settings.get("verify_signatures", True):
            return None
        scheme = request.url.scheme
        host = (request.headers.get("host") or "").lower()
        if (scheme == "http" and host.endswith(":80")) or (scheme == "https" and host.endswith(":443")):
            host = host.rsplit(":", 1)[0]
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        base_uri = f"{scheme}://{host}{raw_path.decode().split('?', 1)[0]}"
        query = request.scope.get("query_string", b"").decode()
        reason = self.verifier.check(request.method, base_uri, query, request.headers.get("authorization"))
        if reason is None:
            return None
        self.rejected_auth += 1
        self.auth_failures.append(reason)
        return ns_error(401)

    async def _body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        try:
            data = json.loads(raw, parse_float=Decimal)
        except ValueError:
            raise SimError(400, "INVALID_CONTENT", "The request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise SimError(400, "INVALID_CONTENT", "The request body must be a JSON object.")
        return data

    async def _maybe_hang(self, method: str, path: str) -> None:
        """Fault ``hang_after_commit``: the write is done, the answer comes too late (client timeout)."""
        spec = self.fault_extra().get("hang_after_commit")
        if not isinstance(spec, dict):
            return
        if spec.get("method", method) != method or spec.get("path_contains", "") not in path:
            return
        key = json.dumps(spec, sort_keys=True)
        done = self._hangs_done.get(key, 0)
        if done >= int(spec.get("count", 1)):
            return
        self._hangs_done[key] = done + 1
        await asyncio.sleep(float(spec.get("seconds", 30)))

    # -- NetSuite endpoints ----------------------------------------------------------------------
    async def governance(self, request: Request) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        if not self.settings.get("governance_readable", True):
            return ns_error(
                403,
                "INSUFFICIENT_PERMISSION",
                "Permission Violation: you need the Administrator role to view governance limits.",
            )
        limit = int(self.settings.get("concurrency_limit") or 0)
        account = int(self.settings.get("account_concurrency_limit") or limit)
        own = self.settings.get("integration_concurrency_limit")
        body: dict[str, Any] = {
            "accountConcurrencyLimit": account,
            "accountUnallocatedConcurrencyLimit": limit,
        }
        if own:
            body.update(
                {"integrationConcurrencyLimit": int(own), "integrationLimitType": "integrationSpecific"}
            )
        else:
            body["integrationLimitType"] = "accountLimit"
        return NSJSON(body)

    async def suiteql(self, request: Request) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        if "transient" not in (request.headers.get("prefer") or ""):
            return ns_error(
                400, "INVALID_PARAMETER", "The Prefer: transient header is required for SuiteQL queries."
            )
        try:
            body = await self._body(request)
            q = body.get("q")
            if not isinstance(q, str):
                raise SimError(400, "INVALID_CONTENT", "The request body must contain the query in 'q'.", "q")
            limit = int(request.query_params.get("limit", "1000"))
            offset = int(request.query_params.get("offset", "0"))
            if not 1 <= limit <= 1000 or offset < 0:
                raise SimError(
                    400, "INVALID_PARAMETER", "Invalid limit or offset. The limit must be 1..1000."
                )
            with self.state.lock:
                rows = suiteql.run(
                    q, self.state.item_rows(), self.state.customer_rows(), self.state.so_rows()
                )
        except SimError as exc:
            return exc.response()
        page = [
            {"links": [], **{k: v for k, v in r.items() if not k.startswith("_")}}
            for r in rows[offset : offset + limit]
        ]
        base = str(request.url.replace(query=""))
        links = [{"rel": "self", "href": f"{base}?limit={limit}&offset={offset}"}]
        if offset + limit < len(rows):
            links.append({"rel": "next", "href": f"{base}?limit={limit}&offset={offset + limit}"})
        if offset > 0:
            links.append({"rel": "previous", "href": f"{base}?limit={limit}&offset={max(0, offset - limit)}"})
        return NSJSON({"links": links, "count": len(page), "hasMore": offset + limit < len(rows), "items": page,
                       "offset": offset, "totalResults": len(rows)})  # fmt: skip

    async def record(self, request: Request) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        parts = [
            unquote(p)
            for p in request.scope.get("raw_path", b"")
            .decode()
            .split("/services/rest/record/v1/", 1)[-1]
            .split("/")
        ]
        method = request.method
        base = str(request.base_url).rstrip("/") + "/services/rest/record/v1"
        try:
            rtype = parts[0]
            if rtype not in RECORD_TYPES:
                raise SimError(404, "INVALID_PARAMETER", f"Record type '{rtype}' does not exist.")
            extra = self.fault_extra()
            if len(parts) == 1 and method == "POST":
                rid = self.state.create(rtype, await self._body(request), extra)
                await self._maybe_hang(method, request.url.path)
                return Response(status_code=204, headers={"Location": f"{base}/{rtype}/{rid}"})
            if len(parts) == 4 and parts[2] == "!transform" and method == "POST":
                rid = self.state.transform(rtype, parts[1], parts[3], await self._body(request))
                await self._maybe_hang(method, request.url.path)
                return Response(status_code=204, headers={"Location": f"{base}/{parts[3]}/{rid}"})
            if len(parts) != 2:
                raise SimError(404, "INVALID_PARAMETER", "The requested resource does not exist.")
            ref = parts[1]
            if method == "GET":
                rec = self.state.resolve(rtype, ref)
                if rec is None:
                    raise SimError(
                        404,
                        "NONEXISTENT_ID",
                        "The record instance does not exist. Provide a valid record instance ID.",
                    )
                return NSJSON(
                    self._render(rec, rtype, base, request.query_params.get("expandSubResources") == "true")
                )
            if method == "PUT":
                if not ref.startswith("eid:"):
                    raise SimError(
                        405, "INVALID_PARAMETER", "PUT (upsert) requires an external id: eid:{externalId}."
                    )
                if not _EID.fullmatch(ref[4:]):
                    raise SimError(
                        400,
                        "INVALID_PARAMETER",
                        f"Invalid external ID '{ref[4:]}'. An external ID can contain letters, numbers, "
                        "underscore (_), and hyphen (-).",
                    )
                replace = {p.strip() for p in request.query_params.get("replace", "").split(",") if p.strip()}
                rid, _created = self.state.upsert(rtype, ref[4:], await self._body(request), extra, replace)
                await self._maybe_hang(method, request.url.path)
                return Response(status_code=204, headers={"Location": f"{base}/{rtype}/{rid}"})
            if method == "PATCH":
                rid = self.state.patch(rtype, ref, await self._body(request), extra)
                return Response(status_code=204, headers={"Location": f"{base}/{rtype}/{rid}"})
            if method == "DELETE":
                self.state.delete(rtype, ref)
                return Response(status_code=204)
            raise SimError(405, "INVALID_PARAMETER", "Method not allowed.")
        except SimError as exc:
            return exc.response()

    def _render(self, rec: dict[str, Any], rtype: str, base: str, expand: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"links": [{"rel": "self", "href": f"{base}/{rtype}/{rec['id']}"}]}
        for k, v in rec.items():
            if k in ("item", "package", "apply") and isinstance(v, dict):
                href = f"{base}/{rtype}/{rec['id']}/{k}"
                if expand:
                    out[k] = {"links": [{"rel": "self", "href": href}], "items": v.get("items", []),
                              "totalResults": len(v.get("items", []))}  # fmt: skip
                else:
                    out[k] = {"links": [{"rel": "self", "href": href}]}
            else:
                out[k] = v
        return out

    # -- admin -----------------------------------------------------------------------------------
    def on_faults(self, plan: FaultPlan | None) -> None:
        self._hangs_done.clear()  # a new plan's hang_after_commit counts afresh

    def requests_summary(self) -> dict[str, Any]:
        by_status: dict[str, int] = {}
        for r in self.log.items():
            by_status[str(r.status)] = by_status.get(str(r.status), 0) + 1
        return {
            **super().requests_summary(),
            "max_in_flight_governed": self.max_in_flight,
            "concurrency_limit": self.settings.get("concurrency_limit"),
            "rejected_concurrency": self.rejected_concurrency,
            "rejected_rate": self.rejected_rate,
            "rejected_auth": self.rejected_auth,
            "by_status": by_status,
        }

    def summary(self) -> dict[str, Any]:
        return self.requests_summary()

    async def add_items(self, request: Request) -> Response:
        data = await request.json()
        recs = [self.state.add_item(it) for it in (data if isinstance(data, list) else [data])]
        return NSJSON(recs)

    async def add_customers(self, request: Request) -> Response:
        data = await request.json()
        recs = [self.state.add_customer(c) for c in (data if isinstance(data, list) else [data])]
        return NSJSON(recs)

    async def update_settings(self, request: Request) -> Response:
        data = await request.json()
        allowed = {"concurrency_limit", "rate_limit_rps", "rate_limit_burst", "governance_readable",
                   "verify_signatures"}  # fmt: skip
        self.settings.update({k: v for k, v in data.items() if k in allowed})
        return JSONResponse({k: self.settings.get(k) for k in allowed})

    async def sales_orders(self, request: Request) -> Response:
        return NSJSON(self.state.sales_orders_view())

    async def records_state(self, request: Request) -> Response:
        rtype = request.path_params["rtype"]
        alias = {"customers": "customer", "items": "inventoryItem", "item_fulfillments": "itemFulfillment",
                 "customer_payments": "customerPayment", "return_authorizations": "returnAuthorization",
                 "credit_memos": "creditMemo", "cash_refunds": "cashRefund", "invoices": "invoice"}  # fmt: skip
        rtype = alias.get(rtype, rtype)
        if rtype not in RECORD_TYPES:
            return JSONResponse({"error": f"unknown record type {rtype}"}, status_code=404)
        fields = [f for f in request.query_params.get("fields", "").split(",") if f] or None
        return NSJSON(self.state.records_view(rtype, fields))

    async def reset(self, request: Request) -> Response:
        self.state.reset()
        self.reset_admin()
        self.max_in_flight = self.in_flight
        self._tokens = None
        self.rejected_concurrency = self.rejected_rate = self.rejected_auth = 0
        self.auth_failures.clear()
        self._hangs_done.clear()
        return JSONResponse({"ok": True})


def create_app(settings: dict[str, Any] | None = None) -> ASGIApp:
    return NetSuiteSimulator(settings).app
