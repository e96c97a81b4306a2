"""The WMS / 3PL simulator: the generic contract of docs/connectors/wms.md.

Accepts fulfilment requests (idempotent on ``external_id`` / ``Idempotency-Key``), ships them after
``ship_delay_s`` with a tracking number and posts a signed ``shipment.dispatched``; emits
``stock.movement`` events at a configured rate (each carrying ``occurred_at`` for lag measurement);
inspects expected returns with per-SKU outcomes and posts ``return.inspected``. Admin under ``/_sim``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import random
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from retailconnect.simulators._kit import FaultMiddleware, FaultPlan, RequestLog, RequestLogMiddleware

from .webhooks_out import WebhookSender

DEFAULTS: dict[str, Any] = {
    "api_key": "sim-wms-key",
    "webhook_secret": "sim-wms-secret",
    "webhook_url": None,
    "warehouse": "MAIN",
    "ship_delay_s": 2.0,
    "carrier": "UPS",
    "service": "Ground",
    "tracking_url": "https://track.example.com/{tracking}",
    "return_outcomes": {},  # sku -> {"condition": ..., "disposition": ...}
    "default_outcome": {"condition": "new", "disposition": "restock"},
    "auto_inspect_s": None,  # inspect expected returns automatically after this many seconds
    "webhook_retries": 5,
    "webhook_retry_base_s": 0.3,
}


def _now() -> str:
    return datetime.now(UTC).isoformat()


def problem(status: int, title: str, detail: str, code: str) -> JSONResponse:
    return JSONResponse(
        {"type": f"https://retailconnect.dev/problems/wms/{code}", "title": title, "status": status,
         "detail": detail, "code": code},
        status_code=status,
        media_type="application/problem+json",
    )  # fmt: skip


class WmsSimulator:
    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self.settings: dict[str, Any] = {**DEFAULTS, **(settings or {})}
        self.log = RequestLog()
        self.faults: dict[str, FaultPlan] = {}
        self._seq = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.sender: WebhookSender | None = None
        self.reset_state()
        routes = [
            Route("/v1/fulfillment-requests", self.create_fulfillment, methods=["POST"]),
            Route("/v1/fulfillment-requests/{ref:path}", self.get_fulfillment, methods=["GET"]),
            Route("/v1/fulfillment-requests/{ref:path}", self.cancel_fulfillment, methods=["DELETE"]),
            Route("/v1/returns", self.create_return, methods=["POST"]),
            Route("/_sim/webhooks", self.set_webhook, methods=["POST"]),
            Route("/_sim/faults", self.set_faults, methods=["POST", "DELETE"]),
            Route("/_sim/requests", self.requests, methods=["GET"]),
            Route("/_sim/settings", self.update_settings, methods=["POST"]),
            Route("/_sim/fulfillment-requests/{id}/ship", self.ship_now, methods=["POST"]),
            Route("/_sim/movements", self.one_movement, methods=["POST"]),
            Route("/_sim/movements/start", self.start_movements, methods=["POST"]),
            Route("/_sim/movements/stop", self.stop_movements, methods=["POST"]),
            Route("/_sim/returns/{id}/inspect", self.inspect_now, methods=["POST"]),
            Route("/_sim/state/{kind}", self.state_view, methods=["GET"]),
            Route("/_sim/reset", self.reset, methods=["POST"]),
        ]
        inner: ASGIApp = Starlette(routes=routes, lifespan=self._lifespan)
        inner = FaultMiddleware(
            inner,
            self.faults,
            error_body=lambda s: {"type": "about:blank", "title": "Simulated failure", "status": s,
                                  "detail": f"simulated HTTP {s}", "code": "simulated"},
        )  # fmt: skip
        self.app: ASGIApp = RequestLogMiddleware(inner, self.log)
        self.handle: Any = None

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Any) -> AsyncIterator[None]:
        yield
        for t in list(self._tasks):
            t.cancel()
        if self.sender is not None:
            await self.sender.aclose()

    def reset_state(self) -> None:
        self.fulfillments: dict[str, dict[str, Any]] = {}
        self.by_external: dict[str, str] = {}
        self.returns: dict[str, dict[str, Any]] = {}
        self.returns_by_external: dict[str, str] = {}
        self.shipments: list[dict[str, Any]] = []
        self.movements: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.movement_run: dict[str, Any] = {}

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self, port: int | None = None) -> Any:
        from retailconnect.simulators._kit import start_in_thread

        self.handle = start_in_thread(self.app, port=port)
        return self.handle

    @property
    def url(self) -> str:
        return str(self.handle.url)

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.stop()

    # -- helpers ---------------------------------------------------------------------------------
    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _sender(self) -> WebhookSender:
        if self.sender is None:
            self.sender = WebhookSender(
                self.settings["webhook_secret"],
                retries=int(self.settings["webhook_retries"]),
                base_s=float(self.settings["webhook_retry_base_s"]),
            )
        return self.sender

    def _extra(self) -> dict[str, Any]:
        plan = self.faults.get("plan")
        return dict(plan.extra) if plan else {}

    async def _emit(self, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        event = {"id": f"evt_{next(self._seq):08d}_{random.getrandbits(32):08x}", "type": event_type,
                 "occurred_at": _now(), "warehouse": self.settings["warehouse"], "data": data}  # fmt: skip
        self.events.append(event)
        url = self.settings.get("webhook_url")
        if url:
            forge = bool(self._extra().get("forge_signatures"))
            self._spawn(self._sender().send(url, event, self.settings["warehouse"], forge=forge))
        return event

    def _auth(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {self.settings['api_key']}":
            return problem(401, "Unauthorized", "missing or wrong API key", "unauthorized")
        return None

    async def _json(self, request: Request) -> tuple[dict[str, Any] | None, Response | None]:
        try:
            data = json.loads(await request.body())
        except ValueError:
            return None, problem(400, "Bad Request", "body is not JSON", "invalid_json")
        if not isinstance(data, dict):
            return None, problem(400, "Bad Request", "body must be an object", "invalid_json")
        return data, None

    def _find(self, ref: str) -> dict[str, Any] | None:
        ref = unquote(ref)
        if ref.startswith("ext:"):
            fid = self.by_external.get(ref[4:])
            return self.fulfillments.get(fid) if fid else None
        return self.fulfillments.get(ref)

    @staticmethod
    def _digest(body: dict[str, Any]) -> str:
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()

    # -- contract endpoints ------------------------------------------------------------------------
    async def create_fulfillment(self, request: Request) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        body, bad = await self._json(request)
        if bad or body is None:
            return bad or problem(400, "Bad Request", "empty body", "invalid_json")
        ext = body.get("external_id")
        lines = body.get("lines")
        if not isinstance(ext, str) or not ext or not isinstance(lines, list) or not lines:
            return problem(
                422, "Unprocessable Entity", "external_id and lines are required", "invalid_request"
            )
        key = request.headers.get("idempotency-key")
        if key and key != ext:
            return problem(
                422, "Unprocessable Entity", "Idempotency-Key must equal external_id", "invalid_request"
            )
        unknown = set(self._extra().get("unknown_skus") or []) & {str(ln.get("sku")) for ln in lines}
        if unknown:
            return problem(
                422, "Unprocessable Entity", f"unknown SKU {', '.join(sorted(unknown))}", "unknown_sku"
            )
        digest = self._digest(body)
        if ext in self.by_external:
            fr = self.fulfillments[self.by_external[ext]]
            if fr["_digest"] != digest:
                return problem(
                    422,
                    "Unprocessable Entity",
                    "external_id reused with a different body",
                    "idempotency_key_reused",
                )
            fr["repeats"] += 1
            return JSONResponse(self._public(fr), status_code=200)
        fid = f"FR-{next(self._seq):06d}"
        fr = {"id": fid, "external_id": ext, "status": "accepted", "created_at": _now(), "request": body,
              "repeats": 0, "_digest": digest}  # fmt: skip
        self.fulfillments[fid] = fr
        self.by_external[ext] = fid
        delay = self.settings.get("ship_delay_s")
        if delay is not None and float(delay) >= 0:
            self._spawn(self._ship_later(fid, float(delay)))
        return JSONResponse(self._public(fr), status_code=201)

    @staticmethod
    def _public(fr: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in fr.items() if not k.startswith("_") and k != "request"}

    async def get_fulfillment(self, request: Request) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        fr = self._find(request.path_params["ref"])
        if fr is None:
            return problem(404, "Not Found", "no such fulfilment request", "not_found")
        return JSONResponse(self._public(fr))

    async def cancel_fulfillment(self, request: Request) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        fr = self._find(request.path_params["ref"])
        if fr is None:
            return problem(404, "Not Found", "no such fulfilment request", "not_found")
        if fr["status"] == "shipped":
            return problem(409, "Conflict", f"{fr['id']} has already shipped", "already_shipped")
        fr["status"] = "cancelled"
        return JSONResponse(self._public(fr))

    async def create_return(self, request: Request) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        body, bad = await self._json(request)
        if bad or body is None:
            return bad or problem(400, "Bad Request", "empty body", "invalid_json")
        ext = body.get("external_id")
        if not isinstance(ext, str) or not ext or not body.get("lines"):
            return problem(
                422, "Unprocessable Entity", "external_id and lines are required", "invalid_request"
            )
        digest = self._digest(body)
        if ext in self.returns_by_external:
            rt = self.returns[self.returns_by_external[ext]]
            if rt["_digest"] != digest:
                return problem(
                    422,
                    "Unprocessable Entity",
                    "external_id reused with a different body",
                    "idempotency_key_reused",
                )
            return JSONResponse(self._public(rt), status_code=200)
        rid = f"RT-{next(self._seq):06d}"
        rt = {
            "id": rid,
            "external_id": ext,
            "status": "expected",
            "created_at": _now(),
            "request": body,
            "_digest": digest,
        }
        self.returns[rid] = rt
        self.returns_by_external[ext] = rid
        auto = self.settings.get("auto_inspect_s")
        if auto is not None:
            self._spawn(self._inspect_later(rid, float(auto)))
        return JSONResponse(self._public(rt), status_code=201)

    # -- behaviour -----------------------------------------------------------------------------------
    async def _ship_later(self, fid: str, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._ship(fid)

    async def _ship(self, fid: str) -> dict[str, Any] | None:
        fr = self.fulfillments.get(fid)
        if fr is None or fr["status"] != "accepted":
            return None
        fr["status"] = "shipped"
        req = fr["request"]
        tracking = f"1Z{random.getrandbits(40):012X}"
        data = {
            "shipment_id": f"SH-{next(self._seq):06d}",
            "fulfillment_request_id": fid,
            "external_id": fr["external_id"],
            "order_number": req.get("order_number", fr["external_id"]),
            "carrier": self.settings["carrier"],
            "service": self.settings["service"],
            "tracking_number": tracking,
            "tracking_url": str(self.settings["tracking_url"]).format(tracking=tracking),
            "shipped_at": _now(),
            "lines": [
                {"line_id": ln.get("line_id"), "sku": ln["sku"], "quantity": ln["quantity"]}
                for ln in req["lines"]
            ],
        }
        self.shipments.append(data)
        return await self._emit("shipment.dispatched", data)

    def _outcome(self, sku: str) -> dict[str, str]:
        table = self.settings.get("return_outcomes") or {}
        return {**self.settings["default_outcome"], **(table.get(sku) or {})}

    async def _inspect_later(self, rid: str, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._inspect(rid, None)

    async def _inspect(self, rid: str, lines: list[dict[str, Any]] | None) -> dict[str, Any] | None:
        rt = self.returns.get(rid)
        if rt is None or rt["status"] != "expected":
            return None
        rt["status"] = "inspected"
        req = rt["request"]
        given = {ln["sku"]: ln for ln in lines or []}
        out_lines = []
        for ln in req["lines"]:
            o = {
                **self._outcome(ln["sku"]),
                **{
                    k: v
                    for k, v in given.get(ln["sku"], {}).items()
                    if k in ("condition", "disposition", "note")
                },
            }
            out_lines.append(
                {"line_id": ln.get("line_id"), "sku": ln["sku"], "quantity": ln["quantity"], **o}
            )
        data = {"return_id": rid, "external_id": rt["external_id"], "order_number": req.get("order_number"),
                "rma_number": req.get("rma_number"), "inspected_at": _now(), "lines": out_lines}  # fmt: skip
        rt["inspection"] = data
        return await self._emit("return.inspected", data)

    def _movement(
        self, sku: str, kind: str, quantity: int, location: str | None, counted: int | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"movement_id": f"MV-{next(self._seq):08d}", "sku": sku,
                                "location": location or self.settings["warehouse"], "kind": kind,
                                "reference": None, "occurred_at": _now()}  # fmt: skip
        if kind == "cycle_count":
            data["counted"] = counted if counted is not None else max(0, quantity)
        else:
            data["quantity"] = quantity
        self.movements.append(data)
        return data

    async def _run_movements(
        self, rate: float, skus: list[str], duration: float, location: str | None, kinds: list[str]
    ) -> None:
        start = time.monotonic()
        n = 0
        interval = 1.0 / rate
        run = self.movement_run
        while time.monotonic() - start < duration and not run.get("stop"):
            kind = kinds[n % len(kinds)]
            qty = {"receipt": 5, "return": 1, "pick": -1, "damage": -1, "adjustment": -1}.get(kind, -1)
            await self._emit("stock.movement", self._movement(skus[n % len(skus)], kind, qty, location))
            n += 1
            run["emitted"] = n
            delay = start + n * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        run["done"] = True

    # -- admin ---------------------------------------------------------------------------------------
    async def set_webhook(self, request: Request) -> Response:
        data = await request.json()
        self.settings["webhook_url"] = data.get("url")
        if "secret" in data:
            self.settings["webhook_secret"] = data["secret"]
            self.sender = None
        return JSONResponse({"url": self.settings["webhook_url"]})

    async def set_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults.pop("plan", None)
            return JSONResponse({"ok": True})
        self.faults["plan"] = FaultPlan.from_dict(await request.json())
        return JSONResponse(self.faults["plan"].as_dict())

    async def update_settings(self, request: Request) -> Response:
        data = await request.json()
        self.settings.update({k: v for k, v in data.items() if k in DEFAULTS and k != "api_key"})
        if "webhook_secret" in data or "webhook_retries" in data:
            self.sender = None
        return JSONResponse(
            {k: v for k, v in self.settings.items() if k not in ("api_key", "webhook_secret")}
        )

    async def requests(self, request: Request) -> Response:
        out: dict[str, Any] = {**self.log.summary(), "max_rps": self.log.max_rps("/v1/")}
        deliveries = self.sender.records if self.sender else []
        out["webhooks"] = {
            "sent": len(deliveries),
            "delivered": sum(1 for d in deliveries if d.delivered),
            "attempts": sum(d.attempts for d in deliveries),
        }
        if request.query_params.get("items") in ("1", "true"):
            out["items"] = [r.as_dict() for r in self.log.items()]
        return JSONResponse(out)

    async def ship_now(self, request: Request) -> Response:
        event = await self._ship(request.path_params["id"])
        if event is None:
            return problem(409, "Conflict", "not shippable (unknown, cancelled or shipped)", "not_shippable")
        return JSONResponse(event)

    async def one_movement(self, request: Request) -> Response:
        d = await request.json()
        data = self._movement(str(d["sku"]), str(d.get("kind", "adjustment")), int(d.get("quantity", 0)),
                              d.get("location"), d.get("counted"))  # fmt: skip
        return JSONResponse(await self._emit("stock.movement", data))

    async def start_movements(self, request: Request) -> Response:
        d = await request.json()
        rate = float(d.get("rate_per_s", 10))
        skus = [str(s) for s in d.get("skus") or ["SKU-1"]]
        duration = float(d.get("duration_s", 10))
        if self.movement_run and not self.movement_run.get("done"):
            self.movement_run["stop"] = True
        self.movement_run = {
            "rate_per_s": rate,
            "skus": skus,
            "duration_s": duration,
            "emitted": 0,
            "started_at": _now(),
        }
        self._spawn(
            self._run_movements(
                rate, skus, duration, d.get("location"), list(d.get("kinds") or ["pick", "receipt"])
            )
        )
        return JSONResponse(self.movement_run)

    async def stop_movements(self, request: Request) -> Response:
        self.movement_run["stop"] = True
        return JSONResponse(self.movement_run)

    async def inspect_now(self, request: Request) -> Response:
        try:
            d = await request.json()
        except ValueError:
            d = {}
        event = await self._inspect(request.path_params["id"], (d or {}).get("lines"))
        if event is None:
            return problem(
                409, "Conflict", "not inspectable (unknown or already inspected)", "not_inspectable"
            )
        return JSONResponse(event)

    async def state_view(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        views: dict[str, Any] = {
            "fulfillment_requests": [
                {**self._public(f), "request": f["request"]} for f in self.fulfillments.values()
            ],
            "returns": [{**self._public(r), "request": r["request"]} for r in self.returns.values()],
            "shipments": self.shipments,
            "movements": self.movements,
            "events": self.events,
            "webhooks": [d.as_dict() for d in (self.sender.records if self.sender else [])],
            "movement_run": self.movement_run,
        }
        if kind not in views:
            return JSONResponse({"error": f"unknown state {kind}", "have": sorted(views)}, status_code=404)
        return JSONResponse(views[kind])

    async def reset(self, request: Request) -> Response:
        for t in list(self._tasks):
            t.cancel()
        self.reset_state()
        self.log.clear()
        self.faults.pop("plan", None)
        if self.sender:
            self.sender.records.clear()
        return JSONResponse({"ok": True})


def create_app(settings: dict[str, Any] | None = None) -> ASGIApp:
    return WmsSimulator(settings).app
