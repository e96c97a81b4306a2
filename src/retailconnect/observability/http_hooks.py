"""HTTP instrumentation: the gateway's pure-ASGI metrics/tracing middleware, and the httpx transport
that wraps every connector's vendor calls (latency, errors, a client span, ``traceparent`` out)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from .metrics import HubMetrics
from .tracing import Tracing, current_correlation_id

__all__ = ["InstrumentedTransport", "MetricsMiddleware", "consumer_from_scope", "route_template"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


_WEBHOOK_ROUTE = re.compile(r"/([a-z0-9_]+)/\{[^}]+\}/webhooks$")


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/v1/orders/{order_id}``), never the raw path (cardinality)."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if path:
        return (
            f"{scope.get('root_path', '')}{path}"
            if scope.get("root_path") and not path.startswith(scope.get("root_path", ""))
            else str(path)
        )
    app_root = scope.get("app_root_path") or ""
    if scope.get("root_path") and scope.get("root_path") != app_root:
        return f"{scope['root_path']}/*"  # a mounted sub-app (static files)
    return "<unmatched>"


def consumer_from_scope(scope: Scope) -> str:
    """The API consumer the gateway's auth policy put on the request state, else ``anonymous``."""
    state = scope.get("state") or {}
    for key in ("principal", "consumer", "consumer_id", "api_consumer"):
        c = state.get(key) if isinstance(state, MutableMapping) else getattr(state, key, None)
        if c is None:
            continue
        if isinstance(c, str):
            return c
        for attr in ("consumer", "name", "id", "consumer_id"):
            v = getattr(c, attr, None)
            if v:
                return str(v)
    return "anonymous"


class MetricsMiddleware:
    """Pure ASGI: a server span per request (correlation id attached) and the API latency/error metrics.

    If the request carries no correlation header, one is generated and added to the request headers so
    the gateway's correlation policy and this span agree."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: HubMetrics,
        tracing: Tracing | None = None,
        correlation_header: str = "x-correlation-id",
        consumer: Callable[[Scope], str] = consumer_from_scope,
        skip_paths: tuple[str, ...] = (
            "/metrics",
            "/healthz",
            "/readyz",
            "/dashboard/static",
            "/dashboard/live",
        ),
        untraced_paths: tuple[str, ...] = ("/dashboard", "/favicon.ico"),
        on_startup: Callable[[], Awaitable[None]] | None = None,
        on_shutdown: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.tracing = tracing
        self.header = correlation_header.lower().encode()
        self.consumer = consumer
        self.skip_paths = skip_paths
        self.untraced_paths = untraced_paths
        self.on_startup = on_startup
        self.on_shutdown = on_shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" and (self.on_startup or self.on_shutdown):
            await self._lifespan(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if any(path == p or path.startswith(p + "/") for p in self.skip_paths):
            await self.app(scope, receive, send)
            return
        headers = list(scope.get("headers") or [])
        cid = next((v.decode("latin-1") for k, v in headers if k.lower() == self.header), None)
        incoming_tp = next((v.decode("latin-1") for k, v in headers if k.lower() == b"traceparent"), None)
        if not cid:
            cid = str(uuid.uuid4())
            headers.append((self.header, cid.encode()))
            scope["headers"] = headers
        status_holder = {"status": 500}

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = int(message["status"])
            await send(message)

        method = scope.get("method", "GET")
        start = time.perf_counter()
        if self.tracing is None or path == "/" or any(path.startswith(p) for p in self.untraced_paths):
            try:  # the UI's own requests are measured, not traced: traces are business transactions
                await self.app(scope, receive, _send)
            finally:
                self._observe(scope, method, status_holder["status"], time.perf_counter() - start)
            return
        with self.tracing.span(
            f"{method} {path}",
            correlation_id=cid,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
            traceparent=incoming_tp,
        ) as span:
            tp = self.tracing.current_traceparent()
            if tp:  # the gateway continues this span's trace (and echoes it in its answer)
                scope["headers"] = [(k, v) for k, v in scope["headers"] if k.lower() != b"traceparent"]
                scope["headers"].append((b"traceparent", tp.encode()))
            try:
                await self.app(scope, receive, _send)
            finally:
                status = status_holder["status"]
                route = self._observe(scope, method, status, time.perf_counter() - start)
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
                span.set_attribute("retailconnect.consumer", self.consumer(scope))
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the observability start/stop hooks (SLA evaluator) inside the app's own lifespan."""

        async def _receive() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown" and self.on_shutdown is not None:
                await self.on_shutdown()
            return message

        async def _send(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete" and self.on_startup is not None:
                await self.on_startup()
            await send(message)

        await self.app(scope, _receive, _send)

    def _observe(self, scope: Scope, method: str, status: int, seconds: float) -> str:
        route = route_template(scope)
        self.metrics.api_request(route, method, self.consumer(scope), status, seconds)
        m = _WEBHOOK_ROUTE.search(route)
        if m and method == "POST":  # webhook routes authenticate by signature only: a 401 is a bad signature
            system = m.group(1)
            if status == 401:
                self.metrics.webhook_signature_failed(system=system)
            elif status < 300:
                topic = next(
                    (
                        v.decode("latin-1")
                        for k, v in scope.get("headers") or []
                        if k.lower().endswith(b"-topic")
                    ),
                    "unknown",
                )
                self.metrics.webhook_received(system=system, topic=topic[:80])
        return route


class InstrumentedTransport(httpx.AsyncBaseTransport):
    """Wraps a connector's transport: a client span and the connector metrics for every vendor call.

    Build connectors with ``transport=InstrumentedTransport(httpx.AsyncHTTPTransport(), system="netsuite",
    metrics=obs.metrics, tracing=obs.tracing)``. URLs are recorded without their query string."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport | None = None,
        *,
        system: str,
        metrics: HubMetrics | None = None,
        tracing: Tracing | None = None,
        context: Callable[[], Mapping[str, str | None]] | None = None,
    ) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.system = system
        self.metrics = metrics
        self.tracing = tracing
        self.context = context

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        start = time.perf_counter()
        status: int | None = None
        url = str(request.url.copy_with(query=None))
        if self.tracing is None:
            try:
                response = await self.inner.handle_async_request(request)
                status = response.status_code
                return response
            finally:
                if self.metrics:
                    self.metrics.connector_call(
                        self.system, request.method, status, time.perf_counter() - start
                    )
        attributes: dict[str, Any] = {
            "http.request.method": request.method,
            "url.full": url,
            "server.address": request.url.host,
            "retailconnect.system": self.system,
        }
        cid = current_correlation_id()
        parent: str | None = None
        if self.context is not None:
            # inside a durable workflow the request's context is gone: the workflow tells who we work for
            facts = {k: v for k, v in (self.context() or {}).items() if v}
            if facts.get("workflow_id"):
                attributes["retailconnect.workflow_id"] = facts["workflow_id"]
            cid = cid or facts.get("correlation_id")
            if cid and not trace.get_current_span().get_span_context().is_valid:
                parent = self.tracing.store.traceparent_for(cid)  # join the gateway's trace (same process)
        with self.tracing.span(
            f"{self.system} {request.method}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            correlation_id=cid,
            traceparent=parent,
        ) as span:
            carrier: dict[str, str] = {}
            self.tracing.inject(carrier)
            for k, v in carrier.items():
                request.headers[k] = v
            try:
                response = await self.inner.handle_async_request(request)
                status = response.status_code
                span.set_attribute("http.response.status_code", status)
                if status >= 400:
                    span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
                return response
            finally:
                if self.metrics:
                    self.metrics.connector_call(
                        self.system, request.method, status, time.perf_counter() - start
                    )

    async def aclose(self) -> None:
        await self.inner.aclose()
