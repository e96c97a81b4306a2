"""Authentication: resolve the caller once per request into ``scope["state"]["principal"]``.

API keys come as ``X-API-Key: rc_...`` or ``Authorization: Bearer rc_...``; any other bearer token is an
OAuth2 client-credentials access token (JWT) checked by :class:`~retailconnect.gateway.jwt.JwtVerifier`.
A presented but invalid credential is refused here (401 problem); an absent one leaves no principal and
the route's scope dependency answers 401. Webhook routes authenticate by vendor signature instead.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from retailconnect.errors import RetailConnectError

from ..problems import send_problem

__all__ = ["AuthMiddleware"]


class AuthMiddleware:
    def __init__(self, app: ASGIApp, *, consumers: Any, jwt: Any = None) -> None:
        self.app = app
        self.consumers = consumers
        self.jwt = jwt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        api_key = None
        bearer = None
        for k, v in scope["headers"]:
            if k == b"x-api-key":
                api_key = v.decode("latin-1").strip()
            elif k == b"authorization":
                scheme, _, value = v.decode("latin-1").strip().partition(" ")
                scheme = scheme.lower()
                value = value.strip()
                if scheme == "bearer" and value.startswith("rc_"):
                    api_key = api_key or value
                elif scheme == "apikey":
                    api_key = api_key or value
                elif scheme == "bearer":
                    bearer = value
        state = scope.setdefault("state", {})
        if api_key is None and bearer is None:
            await self.app(scope, receive, send)
            return
        try:
            if api_key is not None:
                hit = self.consumers.cached(api_key)
                principal = hit.principal if hit is not None else None
                if hit is None:
                    principal = await to_thread.run_sync(self.consumers.verify, api_key)
                if principal is None:
                    raise _Unauthenticated("the API key is unknown or revoked")
            else:
                if self.jwt is None:
                    raise _Unauthenticated("access tokens are not accepted here (no JWT key configured)")
                principal = await self.jwt.verify(bearer)
        except RetailConnectError as exc:
            await send_problem(
                send,
                401,
                code="unauthenticated",
                detail=exc.message,
                instance=scope["path"],
                correlation_id=state.get("correlation_id"),
            )
            return
        state["principal"] = principal
        await self.app(scope, receive, send)


class _Unauthenticated(RetailConnectError):
    code = "unauthenticated"
    http_status = 401
    title = "Authentication required"
