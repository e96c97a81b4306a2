"""Request size limit: 413 problem before reading when Content-Length is too big, or as soon as a
streamed (chunked) body crosses the limit."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..problems import send_problem

__all__ = ["BodyLimitMiddleware"]


class _TooLarge(HTTPException):
    """An HTTPException so that FastAPI's body reader re-raises it (it wraps other errors as 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body may hold at most {limit} bytes")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = scope.get("state", {}).get("correlation_id")
        for k, v in scope["headers"]:
            if k == b"content-length":
                try:
                    declared = int(v)
                except ValueError:
                    declared = -1
                if declared > self.max or declared < 0:
                    await send_problem(
                        send,
                        413 if declared > self.max else 400,
                        detail=f"the body may hold at most {self.max} bytes"
                        if declared > self.max
                        else "Content-Length is not a number",
                        instance=scope.get("path"),
                        correlation_id=cid,
                    )
                    return
                break
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max:
                    raise _TooLarge(self.max)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await send_problem(
                    send,
                    413,
                    detail=f"the body may hold at most {self.max} bytes",
                    instance=scope.get("path"),
                    correlation_id=cid,
                )
