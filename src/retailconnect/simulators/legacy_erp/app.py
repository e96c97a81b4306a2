"""A legacy ERP that only exchanges flat files.

- ``PUT /drop/inbound/{name}`` (header ``X-Drop-Key``): drop a CSV file (orders_*.csv, shipments_*.csv).
- Every ``batch_interval_s`` the ERP processes the files dropped since the last run, creates sales
  orders (document numbers ``LSO-000001``...), refuses rows it cannot read, and writes
  ``ack_<name>`` into the outbound folder.
- ``GET /drop/outbound`` lists ack files; ``GET /drop/outbound/{name}`` returns one.
- Admin: ``GET /_sim/state/orders``, ``POST /_sim/reset``, ``POST /_sim/process``, and the shared
  ``/_sim/faults`` and ``/_sim/requests`` (simulators/_kit/admin.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import threading
from collections.abc import AsyncIterator
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from retailconnect.simulators._kit import SimulatorBase


class LegacyState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inbound: list[tuple[str, str]] = []
        self.outbound: dict[str, str] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.shipments: list[dict[str, str]] = []
        self.files_received = 0
        self.batches_run = 0
        self.next_doc = 1

    def process(self) -> None:
        with self.lock:
            pending, self.inbound = self.inbound, []
        for name, text in pending:
            acks = self._process_file(name, text)
            buf = io.StringIO()
            w = csv.DictWriter(
                buf, fieldnames=["order_ref", "status", "doc_number", "error"], lineterminator="\n"
            )
            w.writeheader()
            for a in acks:
                w.writerow(a)
            with self.lock:
                self.outbound[f"ack_{name}"] = buf.getvalue()
        with self.lock:
            self.batches_run += 1

    def _process_file(self, name: str, text: str) -> list[dict[str, str]]:
        rows = list(csv.DictReader(io.StringIO(text)))
        if name.startswith("shipments_"):
            with self.lock:
                self.shipments.extend(rows)
            return [
                {"order_ref": r.get("order_ref", ""), "status": "created", "doc_number": "", "error": ""}
                for r in rows
            ]
        by_ref: dict[str, list[dict[str, str]]] = {}
        for r in rows:
            by_ref.setdefault(r.get("order_ref", ""), []).append(r)
        acks = []
        for ref, lines in by_ref.items():
            err = self._validate(ref, lines)
            with self.lock:
                if err:
                    acks.append({"order_ref": ref, "status": "rejected", "doc_number": "", "error": err})
                    continue
                if ref in self.orders:
                    acks.append(
                        {
                            "order_ref": ref,
                            "status": "duplicate",
                            "doc_number": self.orders[ref]["doc_number"],
                            "error": "",
                        }
                    )
                    self.orders[ref]["duplicates"] += 1
                    continue
                doc = f"LSO-{self.next_doc:06d}"
                self.next_doc += 1
                self.orders[ref] = {
                    "doc_number": doc,
                    "order_ref": ref,
                    "file": name,
                    "duplicates": 0,
                    "currency": lines[0]["currency"],
                    "total": lines[0]["order_total"],
                    "lines": [{"sku": ln["sku"], "quantity": int(ln["quantity"])} for ln in lines],
                }
            acks.append({"order_ref": ref, "status": "created", "doc_number": doc, "error": ""})
        return acks

    @staticmethod
    def _validate(ref: str, lines: list[dict[str, str]]) -> str | None:
        if not ref:
            return "order_ref is empty"
        for i, ln in enumerate(lines):
            if not ln.get("sku"):
                return f"line {i + 1}: sku is empty"
            try:
                if int(ln["quantity"]) <= 0:
                    return f"line {i + 1}: quantity must be positive"
                Decimal(ln["unit_price"])
                Decimal(ln["order_total"])
            except (KeyError, ValueError, InvalidOperation):
                return f"line {i + 1}: unreadable number"
        return None


class LegacyErpSimulator(SimulatorBase):
    api_prefix = "/drop"

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__()
        s = dict(settings or {})
        self.api_key = str(s.get("api_key", "legacy-drop-key"))
        self.batch_interval_s = float(s.get("batch_interval_s", 1.0))
        self.state = LegacyState()
        self.app = self._build()

    def _auth(self, request: Request) -> Response | None:
        if request.headers.get("x-drop-key") != self.api_key:
            return PlainTextResponse("530 Login incorrect.\n", status_code=401)
        return None

    def _build(self) -> Any:
        sim = self

        async def put_inbound(request: Request) -> Response:
            if (denied := sim._auth(request)) is not None:
                return denied
            name = request.path_params["name"]
            if not name.endswith(".csv") or "/" in name:
                return PlainTextResponse("553 File name not allowed.\n", status_code=400)
            text = (await request.body()).decode("utf-8", errors="replace")
            with sim.state.lock:
                sim.state.inbound.append((name, text))
                sim.state.files_received += 1
            return PlainTextResponse("226 Transfer complete.\n", status_code=201)

        async def list_outbound(request: Request) -> Response:
            if (denied := sim._auth(request)) is not None:
                return denied
            with sim.state.lock:
                return JSONResponse({"files": sorted(sim.state.outbound)})

        async def get_outbound(request: Request) -> Response:
            if (denied := sim._auth(request)) is not None:
                return denied
            with sim.state.lock:
                text = sim.state.outbound.get(request.path_params["name"])
            if text is None:
                return PlainTextResponse("550 No such file.\n", status_code=404)
            return PlainTextResponse(text, media_type="text/csv")

        async def state_orders(request: Request) -> Response:
            with sim.state.lock:
                return JSONResponse(
                    {
                        "orders": list(sim.state.orders.values()),
                        "files_received": sim.state.files_received,
                        "batches_run": sim.state.batches_run,
                        "pending_files": len(sim.state.inbound),
                        "shipments": len(sim.state.shipments),
                    }
                )

        async def reset(request: Request) -> Response:
            sim.state = LegacyState()
            sim.reset_admin()
            return JSONResponse({"ok": True})

        async def process_now(request: Request) -> Response:
            sim.state.process()
            return JSONResponse({"ok": True})

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            async def loop() -> None:
                while True:
                    await asyncio.sleep(sim.batch_interval_s)
                    sim.state.process()

            task = asyncio.create_task(loop())
            yield
            task.cancel()

        app: Any = Starlette(
            routes=[
                Route("/drop/inbound/{name}", put_inbound, methods=["PUT"]),
                Route("/drop/outbound", list_outbound),
                Route("/drop/outbound/{name}", get_outbound),
                Route("/_sim/state/orders", state_orders),
                *sim.admin_routes(),
                Route("/_sim/reset", reset, methods=["POST"]),
                Route("/_sim/process", process_now, methods=["POST"]),
            ],
            lifespan=lifespan,
        )
        return self.wrap(app, lambda status: {"error": f"{status} drop unavailable"})


def create_app(settings: dict[str, Any] | None = None) -> Any:
    return LegacyErpSimulator(settings).app
