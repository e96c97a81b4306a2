"""Correlation id, W3C trace context, response headers, one audit entry per call, last-resort 500.

``X-Correlation-ID`` is accepted when well formed (1-128 of ``[A-Za-z0-9._:-]``), else taken from a valid
``traceparent``'s trace id, else generated; it is echoed on every answer and stored in ``scope["state"]``
for handlers, problems and the audit. A valid ``traceparent`` is continued: the answer carries the same
trace id with this hop's span id.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Mapping
from email.utils import format_datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..problems import send_problem
from ..settings import DeprecationNotice

__all__ = ["ContextMiddleware", "deprecation_headers"]

log = logging.getLogger("retailconnect.gateway")

_CID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# ids for correlation, not secrets: a seeded PRNG avoids a getrandom() syscall per request
_rng = random.Random()
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def deprecation_headers(notice: DeprecationNotice) -> list[tuple[bytes, bytes]]:
    out = [(b"deprecation", f"@{int(notice.deprecated_at.timestamp())}".encode())]
    if notice.sunset_at is not None:
        out.append((b"sunset", format_datetime(notice.sunset_at, usegmt=True).encode()))
    links = []
    if notice.link:
        links.append(f'<{notice.link}>; rel="deprecation"; type="text/html"')
    if notice.successor:
        links.append(f'<{notice.successor}>; rel="successor-version"')
    if links:
        out.append((b"link", ", ".join(links).encode()))
    return out


class ContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        audit: Any = None,
        deprecations: Mapping[str, DeprecationNotice] | None = None,
    ) -> None:
        self.app = app
        self.audit = audit
        self.deprecations = dict(deprecations or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        cid = None
        tp = None
        for k, v in scope["headers"]:
            if k == b"x-correlation-id":
                cid = v.decode("latin-1")
            elif k == b"traceparent":
                tp = v.decode("latin-1").strip().lower()
        trace_id = None
        flags = "01"
        if tp:
            m = _TRACEPARENT.match(tp)
            if m and m.group(1) != "ff" and m.group(2) != "0" * 32 and m.group(3) != "0" * 16:
                trace_id = m.group(2)
                flags = m.group(4)
        if cid is None or not _CID.match(cid):
            cid = trace_id or f"{_rng.getrandbits(128):032x}"
        state = scope.setdefault("state", {})
        state["correlation_id"] = cid
        if trace_id:
            state["trace_id"] = trace_id
        span_id = f"{_rng.getrandbits(64):016x}" if trace_id else ""
        status_holder = [500]
        response_started = False

        async def wrapped_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_holder[0] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-correlation-id", cid.encode()))
                if trace_id:
                    headers.append((b"traceparent", f"00-{trace_id}-{span_id}-{flags}".encode()))
                rl = state.get("ratelimit_headers")
                if rl:
                    headers += [(k.lower().encode(), v.encode()) for k, v in rl.items()]
                if self.deprecations:
                    route = scope.get("route")
                    path = getattr(route, "path", None)
                    if path is not None:
                        notice = self.deprecations.get(f"{scope['method']} {path}") or self.deprecations.get(
                            path
                        )
                        if notice is not None:
                            headers += deprecation_headers(notice)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, wrapped_send)
        except Exception:
            log.exception("unhandled error (correlation id %s)", cid)
            if not response_started:
                await send_problem(
                    wrapped_send,
                    500,
                    detail="The hub could not complete the request; quote the correlation id.",
                    instance=scope.get("path"),
                    correlation_id=cid,
                )
        finally:
            if self.audit is not None and scope.get("path", "").startswith("/v1/"):
                self._audit(scope, state, status_holder[0], time.perf_counter() - started, cid)

    def _audit(self, scope: Scope, state: dict[str, Any], status: int, elapsed: float, cid: str) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "(unmatched)"
        principal = state.get("principal")
        actor = principal.consumer if principal is not None else state.get("actor", "anonymous")
        details: dict[str, Any] = {
            "method": scope["method"],
            "route": template,
            "status": status,
            "latency_ms": round(elapsed * 1000, 2),
            "correlation_id": cid,
        }
        if principal is not None:
            details["tenant"] = principal.tenant
            details["auth"] = principal.kind
        elif state.get("tenant"):
            details["tenant"] = state["tenant"]
        self.audit.record(actor, f"api {scope['method']} {template}", template, details)
