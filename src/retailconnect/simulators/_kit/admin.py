"""What every vendor simulator shares: its request log and fault plan, the ``/_sim`` admin endpoints for
them, the middleware stack around the vendor routes, and running on a loopback port.

A simulator subclasses :class:`SimulatorBase`, builds its vendor routes, and calls :meth:`SimulatorBase.wrap`
on its Starlette app; :meth:`SimulatorBase.admin_routes` gives it

- ``POST /_sim/faults`` (a :class:`FaultPlan` as JSON; answers the plan), ``DELETE /_sim/faults`` (clears it),
  ``GET /_sim/faults`` (the plan in force, ``{}`` when none),
- ``GET /_sim/requests`` (:meth:`SimulatorBase.requests_summary`; ``?items=1`` adds every logged request).

Hooks: :meth:`SimulatorBase.on_faults` (a plan was set or cleared: vendor-specific knobs in ``plan.extra``),
:meth:`SimulatorBase.requests_summary` (vendor figures beside the log's).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from .faults import FaultMiddleware, FaultPlan
from .reqlog import RequestLog, RequestLogMiddleware
from .server import ServerHandle, start_in_thread

__all__ = ["SimulatorBase"]

ErrorBody = Callable[[int], dict[str, Any]]


class SimulatorBase:
    """Request log + fault plan + admin endpoints + loopback server, for one simulator instance."""

    #: where the vendor's API lives (for ``max_rps`` in the summary)
    api_prefix: str = "/"

    def __init__(self) -> None:
        self.log = RequestLog()
        self.faults: dict[str, FaultPlan] = {}
        self.handle: ServerHandle | None = None

    # -- the stack ---------------------------------------------------------------------------------
    def wrap(
        self,
        inner: ASGIApp,
        error_body: ErrorBody,
        *,
        around_faults: Callable[[ASGIApp], ASGIApp] | None = None,
    ) -> ASGIApp:
        """Faults first (shaped like the vendor's errors by ``error_body``), then ``around_faults`` (e.g. the
        vendor's own governance, which then counts injected latency as time in flight), then the request log
        outside, so a faulted request is logged with the status the client saw."""
        app: ASGIApp = FaultMiddleware(inner, self.faults, error_body=error_body)
        if around_faults is not None:
            app = around_faults(app)
        return RequestLogMiddleware(app, self.log)

    def admin_routes(self) -> list[Route]:
        return [
            Route("/_sim/faults", self._set_faults, methods=["POST", "DELETE"]),
            Route("/_sim/faults", self._get_faults, methods=["GET"]),
            Route("/_sim/requests", self._requests, methods=["GET"]),
        ]

    # -- faults ------------------------------------------------------------------------------------
    @property
    def fault_plan(self) -> FaultPlan | None:
        return self.faults.get("plan")

    def fault_extra(self) -> dict[str, Any]:
        """The plan's vendor-specific knobs (``{}`` without a plan)."""
        plan = self.fault_plan
        return dict(plan.extra) if plan else {}

    def set_fault_plan(self, plan: FaultPlan | None) -> None:
        if plan is None:
            self.faults.pop("plan", None)
        else:
            self.faults["plan"] = plan
        self.on_faults(plan)

    def on_faults(self, plan: FaultPlan | None) -> None:
        """A plan was set (or cleared: ``None``); override for vendor-specific state."""

    async def _set_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.set_fault_plan(None)
            return JSONResponse({"ok": True})
        raw = await request.body()
        plan = FaultPlan.from_dict(_loads_object(raw))
        self.set_fault_plan(plan)
        return JSONResponse(plan.as_dict())

    async def _get_faults(self, request: Request) -> Response:
        plan = self.fault_plan
        return JSONResponse(plan.as_dict() if plan else {})

    # -- request log -------------------------------------------------------------------------------
    def requests_summary(self) -> dict[str, Any]:
        """``GET /_sim/requests``: the log's count, concurrency and peak rate; override to add figures."""
        return {**self.log.summary(), "max_rps": self.log.max_rps(self.api_prefix)}

    async def _requests(self, request: Request) -> Response:
        out = self.requests_summary()
        if request.query_params.get("items") in ("1", "true"):
            out["items"] = [r.as_dict() for r in self.log.items()]
        return JSONResponse(out)

    def reset_admin(self) -> None:
        """Forget the log and the fault plan (a simulator's ``/_sim/reset`` calls it)."""
        self.log.clear()
        self.set_fault_plan(None)

    # -- lifecycle ---------------------------------------------------------------------------------
    app: ASGIApp

    def start(self, port: int | None = None) -> ServerHandle:
        """Serve on a loopback port in a daemon thread; returns the handle (``.url``)."""
        self.handle = start_in_thread(self.app, port=port)
        return self.handle

    @property
    def url(self) -> str:
        if self.handle is None:
            raise RuntimeError("simulator not started")
        return self.handle.url

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.stop()
            self.handle = None


def _loads_object(raw: bytes) -> dict[str, Any]:
    import json

    data = json.loads(raw) if raw else {}
    if not isinstance(data, dict):
        raise ValueError("a fault plan is a JSON object")
    return data
