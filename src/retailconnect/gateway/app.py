"""The gateway application: ``create_app(hub)`` assembles routers and the policy chain.

Policy chain, outermost first: [extra middleware, e.g. metrics] -> context (correlation id, trace context,
rate-limit and deprecation headers, audit entry, last-resort 500) -> body size limit -> authentication
-> idempotency -> FastAPI (problem+json handlers, strict validation) -> route dependencies (scope check
and rate limit) -> handler.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.middleware import Middleware
from starlette.responses import Response

from retailconnect import __version__

from .audit import AuditWriter
from .batching import GroupCommitter
from .cache import StaleCache
from .consumers import ConsumerStore
from .deps import GatewayState, HubServices
from .idempotency import GroupIdempotencyKeys
from .jwt import JwtVerifier
from .middleware import AuthMiddleware, BodyLimitMiddleware, ContextMiddleware, IdempotencyMiddleware
from .problems import PROBLEM_MEDIA_TYPE, install_problem_handlers, problem_response
from .ratelimit import RateLimiter
from .routers import channels, experience, ops, process, system
from .settings import GatewaySettings
from .webhooks import WebhookIntake

__all__ = ["create_app", "openapi_document"]

API_VERSION = "1.0.0"

_PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "correlation_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "pointer": {"type": "string"},
                    "detail": {"type": "string"},
                    "code": {"type": "string"},
                },
            },
        },
        "reasons": {"type": "array", "items": {"type": "string"}},
    },
}


def create_app(
    hub: HubServices,
    *,
    settings: GatewaySettings | None = None,
    extra_routers: Sequence[APIRouter] = (),
    extra_middleware: Sequence[Middleware | type] = (),
    consumers: ConsumerStore | None = None,
    start_background: bool = True,
) -> FastAPI:
    """Build the gateway for ``hub``.

    ``settings`` default to ``GatewaySettings.from_topology(hub.topology)`` when the hub has a topology.
    ``extra_routers`` (e.g. /metrics, the dashboard) are included as they are; ``extra_middleware``
    (``starlette.middleware.Middleware`` items or bare ASGI middleware classes) wrap the whole chain, so
    they see every answer including 401/429/413. ``start_background`` runs the audit writer and the
    webhook recovery sweeper in the app's lifespan (tests may turn the sweeper off).
    """
    if settings is None:
        topo = getattr(hub, "topology", None)
        settings = GatewaySettings.from_topology(topo) if topo is not None else GatewaySettings()
    consumers = consumers or ConsumerStore(hub.store, cache_ttl_s=settings.key_cache_ttl_s)
    deprecations = {**experience.DEPRECATIONS, **settings.deprecations}
    # the process-wide writer of this store: a hub capturing through it shares its transactions
    committer = GroupCommitter.shared(hub.store) if hub.store is not None else GroupCommitter(None)
    state = GatewayState(
        hub=hub,
        settings=settings,
        consumers=consumers,
        limiter=RateLimiter(settings.rate_limits),
        cache=StaleCache(fresh_s=settings.cache_fresh_s, max_age_s=settings.cache_max_age_s),
        audit=AuditWriter(
            hub.audit,
            hub.store,
            interval_s=settings.audit_flush_interval_s,
            batch=settings.audit_batch,
            committer=committer,
        ),
        webhooks=WebhookIntake(hub, settings),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.audit.start()
        if start_background:
            await state.webhooks.start()
        try:
            yield
        finally:
            await state.webhooks.drain()
            await state.audit.stop()
            await committer.stop()

    app = FastAPI(
        title="retailconnect gateway",
        version=API_VERSION,
        summary="Governed experience, process, system and ops APIs of the retail integration hub.",
        lifespan=lifespan,
    )
    app.state.gateway = state
    install_problem_handlers(app)

    # process first: order capture is the hottest route and matching walks the routes in order
    for router in (process.router, channels.router, experience.router, system.router, ops.router):
        app.include_router(router)
    app.include_router(_health_router())
    for extra in extra_routers:
        app.include_router(extra)
    _mark_deprecated(app, deprecations)

    if hub.store is not None:
        app.add_middleware(IdempotencyMiddleware, keys=GroupIdempotencyKeys(hub.store, committer))
    app.add_middleware(
        AuthMiddleware, consumers=consumers, jwt=JwtVerifier(settings.jwt) if settings.jwt else None
    )
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(ContextMiddleware, audit=state.audit, deprecations=deprecations)
    for mw in extra_middleware:
        if isinstance(mw, Middleware):
            app.user_middleware.insert(0, mw)
        else:
            app.add_middleware(mw)  # type: ignore[arg-type]

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _mark_deprecated(app: FastAPI, deprecations: dict[str, Any]) -> None:
    for route in app.routes:
        path = getattr(route, "path", None)
        methods = getattr(route, "methods", None) or set()
        if path is None:
            continue
        if path in deprecations or any(f"{m} {path}" in deprecations for m in methods):
            route.deprecated = True  # type: ignore[attr-defined]


def _health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @router.get(
        "/readyz",
        summary="Store, event bus and durable-workflow engine are ready",
        responses={503: {"description": "not ready"}},
    )
    async def readyz(request: Request) -> Response:
        state: GatewayState = request.app.state.gateway
        checks = await readiness(state)
        if all(checks.values()):
            return JSONResponse({"status": "ready", "checks": checks})
        return problem_response(
            503,
            detail="not ready: " + ", ".join(k for k, ok in checks.items() if not ok),
            instance="/readyz",
            correlation_id=request.scope.get("state", {}).get("correlation_id"),
            extra={"checks": checks},
        )

    return router


async def readiness(state: GatewayState) -> dict[str, bool]:
    hub: Any = state.hub
    checks: dict[str, bool] = {}

    def ping_store() -> bool:
        import sqlalchemy as sa

        with hub.store.connect() as c:
            c.execute(sa.text("SELECT 1"))
        return True

    try:
        checks["store"] = await to_thread.run_sync(ping_store)
    except Exception:
        checks["store"] = False
    probe = getattr(hub, "readiness", None)
    if probe is not None:
        try:
            got = await probe()
            checks.update({str(k): bool(v) for k, v in dict(got).items()})
        except Exception:
            checks["hub"] = False
    else:
        try:
            await hub.bus.stats()
            checks["bus"] = True
        except Exception:
            checks["bus"] = False
        engine = getattr(hub, "engine", None)
        if engine is not None:
            checks["workflows"] = bool(getattr(engine, "launched", False))
    checks["rate_limits"] = await state.limiter.check_ready()
    return checks


_PUBLIC = ("/healthz", "/readyz")


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes, openapi_version="3.1.0"
    )
    comps = doc.setdefault("components", {})
    comps.setdefault("schemas", {})["Problem"] = _PROBLEM_SCHEMA
    comps["securitySchemes"] = {
        "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "OAuth2": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    }
    problem = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, path_ops in doc.get("paths", {}).items():
        for method, op in path_ops.items():
            responses = op.setdefault("responses", {})
            for code, resp in responses.items():
                if code.isdigit() and int(code) >= 400:
                    resp["content"] = problem
            responses["default"] = {"description": "Error (RFC 9457 problem details)", "content": problem}
            if method == "post" and not path.endswith("/webhooks") and path.startswith("/v1/"):
                params = op.setdefault("parameters", [])
                params.append(
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                        "description": "Same key and body -> the stored answer; other body -> 422.",
                    }
                )
            if path.startswith("/v1/") and not path.endswith("/webhooks") and path not in _PUBLIC:
                op["security"] = [{"ApiKey": []}, {"OAuth2": []}]
    # drop FastAPI's unused default validation schemas (our 422 is a problem document)
    for name in ("HTTPValidationError", "ValidationError"):
        comps["schemas"].pop(name, None)
    app.openapi_schema = doc
    return doc


def openapi_document(settings: GatewaySettings | None = None) -> dict[str, Any]:
    """The gateway's OpenAPI document without a running hub (for the checked-in baseline and diffs)."""
    from types import SimpleNamespace

    placeholder: Any = SimpleNamespace(store=None, audit=None, topology=None)
    return create_app(placeholder, settings=settings or GatewaySettings()).openapi()
