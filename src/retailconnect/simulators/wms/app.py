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
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from retailconnect.simulators._kit import SimulatorBase

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
    "webhook_retries": 8,
    "webhook_retry_base_s": 0.3,
    "webhook_retry_cap_s": 5.0,
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


def unprocessable(detail: str, code: str = "invalid_request") -> JSONResponse:
    return problem(422, "Unprocessable Entity", detail, code)


def _fault_body(status: int) -> dict[str, Any]:
    return {"type": "about:blank", "title": "Simulated failure", "status": status,
            "detail": f"simulated HTTP {status}", "code": "simulated"}  # fmt: skip


class WmsSimulator(SimulatorBase):
    api_prefix = "/v1/"

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.settings: dict[str, Any] = {**DEFAULTS, **(settings or {})}
        self._seq = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.sender: WebhookSender | None = None
        self.reset_state()
        routes = [
            Route("/v1/fulfillment-requests", self.create_fulfillment, methods=["POST"]),
            Route("/v1/fulfillment-requests/{ref:path}", self.get_fulfillment, methods=["GET"]),
            Route("/v1/fulfillment-requests/{ref:path}", self.cancel_fulfillment, methods=["DELETE"]),
            Route("/v1/returns", self.create_return, methods=["POST"]),
            *self.admin_routes(),
            Route("/_sim/webhooks", self.set_webhook, methods=["POST"]),
            Route("/_sim/settings", self.update_settings, methods=["POST"]),
            Route("/_sim/fulfillment-requests/{id}/ship", self.ship_now, methods=["POST"]),
            Route("/_sim/movements", self.one_movement, methods=["POST"]),
            Route("/_sim/movements/start", self.start_movements, methods=["POST"]),
            Route("/_sim/movements/stop", self.stop_movements, methods=["POST"]),
            Route("/_sim/returns/{id}/inspect", self.inspect_now, methods=["POST"]),
            Route("/_sim/state/{kind}", self.state_view, methods=["GET"]),
            Route("/_sim/reset", self.reset, methods=["POST"]),
        ]
        self.app: ASGIApp = self.wrap(Starlette(routes=routes, lifespan=self._lifespan), _fault_body)

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
                cap_s=float(self.settings["webhook_retry_cap_s"]),
            )
        return self.sender

    async def _emit(self, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        event = {"id": f"evt_{next(self._seq):08d}_{random.getrandbits(32):08x}", "type": event_type,
                 "occurred_at": _now(), "warehouse": self.settings["warehouse"], "data": data}  # fmt: skip
        self.events.append(event)
        url = self.settings.get("webhook_url")
        if url:
            forge = bool(self.fault_extra().get("forge_signatures"))
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

    async def _create_body(self, request: Request) -> tuple[dict[str, Any] | None, Response | None]:
        """Auth, a JSON object body with ``external_id`` and ``lines``: (body, None) or (None, the problem)."""
        denied = self._auth(request)
        if denied:
            return None, denied
        body, bad = await self._json(request)
        if bad or body is None:
            return None, bad or problem(400, "Bad Request", "empty body", "invalid_json")
        ext, lines = body.get("external_id"), body.get("lines")
        if not isinstance(ext, str) or not ext or not isinstance(lines, list) or not lines:
            return None, unprocessable("external_id and lines are required")
        return body, None

    def _create_once(
        self,
        records: dict[str, dict[str, Any]],
        by_external: dict[str, str],
        body: dict[str, Any],
        prefix: str,
        status: str,
    ) -> tuple[dict[str, Any], Response | None]:
        """Idempotent on ``external_id``: the same body again answers the record made first (200, ``repeats``
        counted); a different body under the same external id is refused. Returns (record, the answer for a
        repeat or a refusal, None when the record is new)."""
        ext = str(body["external_id"])
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        if ext in by_external:
            rec = records[by_external[ext]]
            if rec["_digest"] != digest:
                return rec, unprocessable(
                    "external_id reused with a different body", "idempotency_key_reused"
                )
            rec["repeats"] += 1
            return rec, JSONResponse(self._public(rec), status_code=200)
        rid = f"{prefix}-{next(self._seq):06d}"
        rec = {"id": rid, "external_id": ext, "status": status, "created_at": _now(), "request": body,
               "repeats": 0, "_digest": digest}  # fmt: skip
        records[rid] = rec
        by_external[ext] = rid
        return rec, None

    # -- contract endpoints ------------------------------------------------------------------------
    async def create_fulfillment(self, request: Request) -> Response:
        body, refused = await self._create_body(request)
        if body is None:
            return refused or unprocessable("empty body")
        key = request.headers.get("idempotency-key")
        if key and key != body["external_id"]:
            return unprocessable("Idempotency-Key must equal external_id")
        skus = {str(ln.get("sku")) for ln in body["lines"]}
        unknown = set(self.fault_extra().get("unknown_skus") or []) & skus
        if unknown:
            return unprocessable(f"unknown SKU {', '.join(sorted(unknown))}", "unknown_sku")
        fr, answered = self._create_once(self.fulfillments, self.by_external, body, "FR", "accepted")
        if answered is not None:
            return answered
        delay = self.settings.get("ship_delay_s")
        if delay is not None and float(delay) >= 0:
            self._spawn(self._ship_later(fr["id"], float(delay)))
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
        body, refused = await self._create_body(request)
        if body is None:
            return refused or unprocessable("empty body")
        rt, answered = self._create_once(self.returns, self.returns_by_external, body, "RT", "expected")
        if answered is not None:
            return answered
        auto = self.settings.get("auto_inspect_s")
        if auto is not None:
            self._spawn(self._inspect_later(rt["id"], float(auto)))
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

    async def update_settings(self, request: Request) -> Response:
        data = await request.json()
        self.settings.update({k: v for k, v in data.items() if k in DEFAULTS and k != "api_key"})
        if {"webhook_secret", "webhook_retries", "webhook_retry_base_s", "webhook_retry_cap_s"} & set(data):
            self.sender = None
        return JSONResponse(
            {k: v for k, v in self.settings.items() if k not in ("api_key", "webhook_secret")}
        )

    def requests_summary(self) -> dict[str, Any]:
        deliveries = self.sender.records if self.sender else []
        return {
            **super().requests_summary(),
            "webhooks": {
                "sent": len(deliveries),
                "delivered": sum(1 for d in deliveries if d.delivered),
                "attempts": sum(d.attempts for d in deliveries),
            },
        }

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
        views: dict[str, Callable[[], Any]] = {  # built only when asked (the demo polls some of them)
            "fulfillment_requests": lambda: [
                {**self._public(f), "request": f["request"]} for f in self.fulfillments.values()
            ],
            "returns": lambda: [{**self._public(r), "request": r["request"]} for r in self.returns.values()],
            "shipments": lambda: self.shipments,
            "movements": lambda: self.movements,
            "events": lambda: self.events,
            "webhooks": lambda: [d.as_dict() for d in (self.sender.records if self.sender else [])],
            "movement_run": lambda: self.movement_run,
        }
        if kind not in views:
            return JSONResponse({"error": f"unknown state {kind}", "have": sorted(views)}, status_code=404)
        return JSONResponse(views[kind]())

    async def reset(self, request: Request) -> Response:
        for t in list(self._tasks):
            t.cancel()
        self.reset_state()
        self.reset_admin()
        if self.sender:
            self.sender.records.clear()
        return JSONResponse({"ok": True})


def create_app(settings: dict[str, Any] | None = None) -> ASGIApp:
    return WmsSimulator(settings).app
