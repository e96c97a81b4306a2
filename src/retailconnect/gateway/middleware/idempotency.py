"""``Idempotency-Key`` on POST: the first request with a key runs; a repeat with the same body gets the
stored answer (``Idempotent-Replayed: true``); the same key with another body is a 422 problem; a repeat
while the first is still running is a 409 problem. Keys are scoped per tenant, consumer and route.
Server errors and refusals before the handler ran (401/403/409/429) release the key so a retry can run.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from retailconnect.store import request_hash

from ..idempotency import scope_key
from ..problems import send_problem

__all__ = ["IdempotencyMiddleware"]

_RELEASE = {401, 403, 409, 413, 429}
_KEEP_HEADERS = {"content-type", "location"}


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, keys: Any) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        key = None
        for k, v in scope["headers"]:
            if k == b"idempotency-key":
                key = v.decode("latin-1").strip()
                break
        state = scope.setdefault("state", {})
        principal = state.get("principal")
        if key is None or principal is None:
            await self.app(scope, receive, send)
            return
        cid = state.get("correlation_id")
        if not key or len(key) > 255:
            await send_problem(
                send, 400, detail="Idempotency-Key must be 1-255 characters", instance=scope["path"],
                correlation_id=cid,
            )  # fmt: skip
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        id_scope = scope_key(principal.tenant, principal.consumer, scope["path"])
        digest = request_hash(scope["path"], body)
        claim = await self.keys.claim(id_scope, key, digest)
        if claim.state == "mismatch":
            await send_problem(
                send, 422, code="idempotency_key_reused",
                title="Idempotency key reused with a different request",
                detail="this Idempotency-Key was already used with another request body",
                instance=scope["path"], correlation_id=cid,
            )  # fmt: skip
            return
        if claim.state == "in_flight":
            await send_problem(
                send, 409, code="idempotency_key_in_flight", title="Request with this key in progress",
                detail="a request with this Idempotency-Key is still being processed; retry later",
                instance=scope["path"], correlation_id=cid, retry_after=1,
            )  # fmt: skip
            return
        if claim.state == "completed":
            stored = claim.body or b""
            if isinstance(stored, str):
                stored = stored.encode()
            headers = [(k.encode(), str(v).encode()) for k, v in (claim.headers or {}).items()]
            headers += [(b"idempotent-replayed", b"true"), (b"content-length", str(len(stored)).encode())]
            await send({"type": "http.response.start", "status": claim.status or 200, "headers": headers})
            await send({"type": "http.response.body", "body": stored})
            return

        replayed = False

        async def replay_receive() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 500
        kept: dict[str, str] = {}
        out: list[bytes] = []

        async def capture_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for hk, hv in message.get("headers", []):
                    name = hk.decode("latin-1").lower()
                    if name in _KEEP_HEADERS:
                        kept[name] = hv.decode("latin-1")
            elif message["type"] == "http.response.body":
                out.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture_send)
        except BaseException:
            await self.keys.release(id_scope, key)
            raise
        if status >= 500 or status in _RELEASE:
            await self.keys.release(id_scope, key)
        else:
            await self.keys.complete(id_scope, key, status, b"".join(out), kept)
