"""The dashboard router: server-rendered views with live updates over SSE.

Mount it on the gateway (``create_app(hub, extra_routers=[create_dashboard_router(hub, obs)])``); ``/``
redirects to the operations view. Pages need a session with ``ops:read`` (or ``ops:admin``); every
action (POST) needs ``ops:admin`` and the session's CSRF token, and is audited with the consumer as actor.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from retailconnect.errors import ConflictError, InputError, NotFoundError, RetailConnectError
from retailconnect.gateway.consumers import ConsumerStore
from retailconnect.observability import Observability, get_logger

from .charts import bars, sparkline
from .journey import find_journey
from .session import COOKIE, Session, SessionSigner
from .views import business_view, integration_view, operations_view, resolve_exception, routing_check
from .wiring import observability_for, wire

__all__ = ["create_dashboard_router"]

_HERE = Path(__file__).parent
_STATIC = {
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
}
log = get_logger("retailconnect.dashboard")


class _LoginRequired(Exception):
    pass


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(_HERE / "templates")),
        autoescape=select_autoescape(["html"], default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(sparkline=sparkline, bars=bars)
    env.filters["dt"] = lambda v: _when(v, "%Y-%m-%d %H:%M:%S UTC")
    env.filters["tm"] = lambda v: _when(v, "%H:%M:%S")
    env.filters["secs"] = _secs
    return env


def _when(v: Any, fmt: str) -> str:
    """A datetime (or ISO string, or epoch seconds) in UTC; anything else as text, nothing for empty."""
    if isinstance(v, str):
        try:
            v = datetime.fromisoformat(v)
        except ValueError:
            return v
    if isinstance(v, int | float) and not isinstance(v, bool):
        v = datetime.fromtimestamp(v, UTC)
    if isinstance(v, datetime):
        return (v if v.tzinfo else v.replace(tzinfo=UTC)).astimezone(UTC).strftime(fmt)
    return ""


def _secs(v: float | None) -> str:
    if v is None:
        return "–"
    if v < 1:
        return f"{v * 1000:.0f} ms"
    if v < 120:
        return f"{v:.1f} s"
    if v < 7200:
        return f"{v / 60:.0f} min"
    return f"{v / 3600:.1f} h"


async def _maybe(v: Any) -> Any:
    return await v if inspect.isawaitable(v) else v


def create_dashboard_router(
    hub: Any,
    observability: Observability | None = None,
    *,
    consumers: ConsumerStore | None = None,
    signer: SessionSigner | None = None,
    live_interval_s: float = 2.0,
    live_max_s: float = 120.0,
    login_attempts_per_minute: int = 10,
) -> APIRouter:
    obs = wire(hub, observability) if observability is not None else observability_for(hub)
    consumer_store = consumers or ConsumerStore(hub.store)
    sessions = signer or SessionSigner()
    env = _env()
    router = APIRouter(include_in_schema=False)

    def session_of(request: Request) -> Session | None:
        sess = sessions.read(request.cookies.get(COOKIE))
        if sess is None or not sess.can_read:
            return None
        try:
            if not consumer_store.get(sess.consumer).active:
                return None
        except NotFoundError:
            return None
        request.scope.setdefault("state", {})["consumer"] = sess.consumer  # API metrics by consumer
        return sess

    def need(request: Request) -> Session:
        sess = session_of(request)
        if sess is None:
            raise _LoginRequired()
        return sess

    def render(name: str, request: Request, status_code: int = 200, **ctx: Any) -> HTMLResponse:
        html = env.get_template(name).render(
            request=request, hub_name=getattr(getattr(hub, "topology", None), "name", "retailconnect"), **ctx
        )
        resp = HTMLResponse(html, status_code=status_code)
        resp.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
        )
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "same-origin"
        resp.headers["Cache-Control"] = "no-store"
        return resp

    def to_login(request: Request) -> RedirectResponse:
        nxt = request.url.path
        return RedirectResponse(f"/dashboard/login?next={nxt}", status_code=303)

    async def admin_action(request: Request, csrf: str) -> Session:
        sess = need(request)
        if not sess.is_admin:
            raise PermissionError("this action needs the ops:admin scope")
        if not csrf or csrf != sess.csrf:
            raise PermissionError("the form expired; reload the page and try again")
        return sess

    def flash_redirect(to: str, msg: str, kind: str = "ok") -> RedirectResponse:
        resp = RedirectResponse(to, status_code=303)
        resp.set_cookie(
            "rc_flash",
            json.dumps({"m": msg[:300], "k": kind}),
            max_age=30,
            httponly=True,
            samesite="strict",
            path="/dashboard",
        )
        return resp

    def flash_of(request: Request) -> dict[str, str] | None:
        raw = request.cookies.get("rc_flash")
        if not raw:
            return None
        try:
            d = json.loads(raw)
            return {"m": str(d.get("m", "")), "k": "error" if d.get("k") == "error" else "ok"}
        except ValueError:
            return None

    def page(name: str, request: Request, sess: Session, **ctx: Any) -> HTMLResponse:
        resp = render(name, request, session=sess, flash=flash_of(request), **ctx)
        if request.cookies.get("rc_flash"):
            resp.delete_cookie("rc_flash", path="/dashboard")
        return resp

    async def guarded(request: Request, fn: Any) -> Response:
        try:
            result: Response = await fn()
            return result
        except _LoginRequired:
            return to_login(request)
        except PermissionError as exc:
            return render(
                "error.html", request, status_code=403, message=str(exc), session=session_of(request)
            )

    # ---- pages ------------------------------------------------------------------------------------
    @router.get("/")
    async def root(request: Request) -> Response:
        return RedirectResponse(
            "/dashboard/ops" if session_of(request) else "/dashboard/login", status_code=303
        )

    @router.get("/dashboard")
    async def dashboard_root() -> Response:
        return RedirectResponse("/dashboard/ops", status_code=303)

    @router.get("/dashboard/login")
    async def login_form(request: Request, next: str = "/dashboard/ops") -> Response:
        return render("login.html", request, next=_safe_next(next), error=None, session=None)

    failures: dict[str, list[float]] = {}

    @router.post("/dashboard/login")
    async def login(
        request: Request, api_key: str = Form(""), next: str = Form("/dashboard/ops")
    ) -> Response:
        client = request.client.host if request.client else "?"
        now = time.monotonic()
        recent = [t for t in failures.get(client, []) if now - t < 60.0]
        if len(recent) >= login_attempts_per_minute:
            throttled = render(
                "login.html", request, status_code=429, next=_safe_next(next),
                error="Too many failed sign-ins; wait a minute.", session=None,
            )  # fmt: skip
            throttled.headers["Retry-After"] = "60"
            return throttled
        principal = (
            await asyncio.to_thread(consumer_store.verify, api_key.strip()) if api_key.strip() else None
        )
        if principal is None:
            failures[client] = [*recent, now]
            if len(failures) > 10_000:
                failures.clear()
            log.info("dashboard.login_failed")
            return render(
                "login.html",
                request,
                status_code=401,
                next=_safe_next(next),
                error="That key is not valid.",
                session=None,
            )
        if not (set(principal.scopes) & {"ops:read", "ops:admin"}):
            return render(
                "login.html",
                request,
                status_code=403,
                next=_safe_next(next),
                error=f"Consumer {principal.consumer} has no ops scope (ops:read or ops:admin).",
                session=None,
            )
        token, sess = sessions.issue(principal.consumer, principal.tenant, set(principal.scopes))
        hub.audit.append(sess.consumer, "dashboard.login", "dashboard", {"scopes": sorted(sess.scopes)})
        resp = RedirectResponse(_safe_next(next), status_code=303)
        resp.set_cookie(
            COOKIE,
            token,
            max_age=int(sessions.ttl_s),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return resp

    @router.post("/dashboard/logout")
    async def logout() -> Response:
        resp = RedirectResponse("/dashboard/login", status_code=303)
        resp.delete_cookie(COOKIE, path="/")
        return resp

    @router.get("/dashboard/ops")
    async def ops(request: Request) -> Response:
        async def go() -> Response:
            sess = need(request)
            await _refresh(obs)
            return page("ops.html", request, sess, view="ops", **await operations_view(hub, obs, sess))

        return await guarded(request, go)

    @router.get("/dashboard/integration")
    async def integration(request: Request) -> Response:
        async def go() -> Response:
            sess = need(request)
            await _refresh(obs)
            return page(
                "integration.html", request, sess, view="integration", **await integration_view(hub, obs)
            )

        return await guarded(request, go)

    @router.get("/dashboard/business")
    async def business(request: Request) -> Response:
        async def go() -> Response:
            sess = need(request)
            await _refresh(obs)
            return page("business.html", request, sess, view="business", **await business_view(hub, obs))

        return await guarded(request, go)

    @router.get("/dashboard/journey")
    async def journey(request: Request, q: str = "") -> Response:
        async def go() -> Response:
            sess = need(request)
            j = (
                await asyncio.to_thread(find_journey, hub.store, q[:200], spans=obs.tracing.store)
                if q.strip()
                else None
            )
            if j is not None and j.order is not None and not sess.sees_tenant(j.order.get("tenant")):
                j = None
            return page("journey.html", request, sess, view="journey", q=q, journey=j)

        return await guarded(request, go)

    @router.get("/dashboard/exceptions/{exc_id}")
    async def exception_detail(request: Request, exc_id: int) -> Response:
        async def go() -> Response:
            sess = need(request)
            try:
                rec = await _maybe(hub.exceptions.get(exc_id))
            except NotFoundError:
                return render(
                    "error.html", request, status_code=404, message=f"No exception #{exc_id}.", session=sess
                )
            d = rec.as_dict() if hasattr(rec, "as_dict") else dict(rec)
            if not sess.sees_tenant(d.get("tenant")):
                return render(
                    "error.html", request, status_code=404, message=f"No exception #{exc_id}.", session=sess
                )
            audit = await asyncio.to_thread(hub.audit.entries, f"exception:{exc_id}", 50)
            context_json = json.dumps(d.get("context") or {}, indent=2, sort_keys=True, default=str)
            return page(
                "exception.html", request, sess, view="ops", exc=d, audit=audit, context_json=context_json
            )

        return await guarded(request, go)

    @router.get("/dashboard/routing")
    async def routing(
        request: Request, code: str = "", error_class: str = "", system: str = "", tenant: str = ""
    ) -> Response:
        async def go() -> Response:
            sess = need(request)
            rules = list(getattr(getattr(hub, "topology", None), "exception_routing", []) or [])
            result = None
            if any((code, error_class, system, tenant)):
                result = routing_check(
                    rules, code=code, error_class=error_class, system=system, tenant=tenant
                )
            return page(
                "routing.html",
                request,
                sess,
                view="ops",
                rules=rules,
                result=result,
                form={"code": code, "error_class": error_class, "system": system, "tenant": tenant},
            )

        return await guarded(request, go)

    # ---- actions ----------------------------------------------------------------------------------
    @router.post("/dashboard/exceptions/{exc_id}/resolve")
    async def resolve(
        request: Request, exc_id: int, action: str = Form(...), note: str = Form(""), csrf: str = Form("")
    ) -> Response:
        async def go() -> Response:
            sess = await admin_action(request, csrf)
            back = _safe_next(request.headers.get("referer", "") or "/dashboard/ops", request)
            if action not in ("retry", "skip", "cancel"):
                return flash_redirect(back, f"Unknown action {action!r}.", "error")
            try:
                await resolve_exception(hub, exc_id, action, actor=sess.consumer, note=note.strip() or None)
            except (NotFoundError, ConflictError, InputError) as exc:
                return flash_redirect(back, f"Exception #{exc_id}: {exc}", "error")
            except RetailConnectError as exc:
                return flash_redirect(back, f"Exception #{exc_id}: {action} failed: {exc}", "error")
            return flash_redirect(back, f"Exception #{exc_id}: {action} requested.")

        return await guarded(request, go)

    @router.post("/dashboard/exceptions/{exc_id}/assign")
    async def assign(
        request: Request, exc_id: int, assignee: str = Form(...), csrf: str = Form("")
    ) -> Response:
        async def go() -> Response:
            sess = await admin_action(request, csrf)
            who = assignee.strip()[:120]
            if not who:
                return flash_redirect(f"/dashboard/exceptions/{exc_id}", "Give a name to assign to.", "error")
            try:
                await _maybe(hub.exceptions.assign(exc_id, who, actor=sess.consumer))
            except NotFoundError as exc:
                return flash_redirect("/dashboard/ops", str(exc), "error")
            return flash_redirect(f"/dashboard/exceptions/{exc_id}", f"Assigned to {who}.")

        return await guarded(request, go)

    @router.post("/dashboard/exceptions/{exc_id}/notes")
    async def add_note(
        request: Request, exc_id: int, text: str = Form(...), csrf: str = Form("")
    ) -> Response:
        async def go() -> Response:
            sess = await admin_action(request, csrf)
            body = text.strip()[:4000]
            if not body:
                return flash_redirect(f"/dashboard/exceptions/{exc_id}", "A note cannot be empty.", "error")
            try:
                await _maybe(hub.exceptions.add_note(exc_id, body, actor=sess.consumer))
            except NotFoundError as exc:
                return flash_redirect("/dashboard/ops", str(exc), "error")
            return flash_redirect(f"/dashboard/exceptions/{exc_id}", "Note added.")

        return await guarded(request, go)

    @router.post("/dashboard/dead-letters/{dead_id}/replay")
    async def replay_dead(request: Request, dead_id: str, csrf: str = Form("")) -> Response:
        async def go() -> Response:
            sess = await admin_action(request, csrf)
            try:
                result = await hub.bus.replay_dead(dead_id)
            except NotFoundError:
                return flash_redirect(
                    "/dashboard/integration", f"Dead letter {dead_id} is gone (already replayed?).", "error"
                )
            count = getattr(result, "count", 1)
            hub.audit.append(
                sess.consumer, "dlq.replayed", f"dead_letter:{dead_id}", {"count": count, "via": "dashboard"}
            )
            return flash_redirect(
                "/dashboard/integration", f"Dead letter {dead_id} replayed ({count} event)."
            )

        return await guarded(request, go)

    @router.post("/dashboard/flows/retry")
    async def retry_flow(request: Request, workflow_id: str = Form(...), csrf: str = Form("")) -> Response:
        async def go() -> Response:
            sess = await admin_action(request, csrf)
            try:
                await hub.retry_flow(workflow_id)
            except RetailConnectError as exc:
                return flash_redirect("/dashboard/ops", f"Retry of {workflow_id} failed: {exc}", "error")
            hub.audit.append(sess.consumer, "flow.retried", workflow_id, {"via": "dashboard"})
            return flash_redirect("/dashboard/ops", f"Flow {workflow_id} resumed.")

        return await guarded(request, go)

    # ---- live updates -----------------------------------------------------------------------------
    panels = {
        "ops": ("ops.html", "live_ops"),
        "integration": ("integration.html", "live_integration"),
        "business": ("business.html", "live_business"),
    }

    @router.get("/dashboard/live/{view}")
    async def live(request: Request, view: str) -> Response:
        sess = session_of(request)
        if sess is None:
            return Response(status_code=401)
        if view not in panels:
            return Response(status_code=404)
        template, block = panels[view]

        async def fragment() -> str:
            await _refresh(obs)
            if view == "ops":
                ctx = await operations_view(hub, obs, sess)
            elif view == "integration":
                ctx = await integration_view(hub, obs)
            else:
                ctx = await business_view(hub, obs)
            tpl = env.get_template(template)
            ctx_full = tpl.new_context({"request": request, "session": sess, "view": view, **ctx})
            return "".join(tpl.blocks[block](ctx_full))

        async def stream() -> AsyncIterator[bytes]:
            deadline = time.monotonic() + live_max_s  # EventSource reconnects; bounded streams end cleanly
            yield b"retry: 3000\n\n"
            while time.monotonic() < deadline:
                if await request.is_disconnected():
                    break
                try:
                    html = await fragment()
                except Exception as exc:
                    log.warning("dashboard.live_failed", view=view, error=type(exc).__name__)
                    html = ""
                if html:
                    data = json.dumps({"target": block, "html": html})
                    yield f"event: panel\ndata: {data}\n\n".encode()
                await asyncio.sleep(live_interval_s)

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @router.get("/dashboard/static/{name}")
    async def static(name: str) -> Response:
        if name not in _STATIC:
            return Response(status_code=404)
        body = (_HERE / "static" / name).read_bytes()
        return Response(body, media_type=_STATIC[name], headers={"Cache-Control": "public, max-age=300"})

    return router


async def _refresh(obs: Observability) -> None:
    try:
        await obs.refresh()
    except Exception as exc:
        log.warning("dashboard.refresh_failed", error=type(exc).__name__)


def _safe_next(target: str, request: Request | None = None) -> str:
    """Only same-site dashboard paths (no open redirect)."""
    if request is not None and target.startswith(str(request.base_url)):
        target = "/" + target[len(str(request.base_url)) :]
    if target.startswith("/dashboard") and not target.startswith("//") and "\\" not in target:
        return target
    return "/dashboard/ops"
