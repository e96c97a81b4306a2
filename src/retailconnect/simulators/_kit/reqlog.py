"""An in-memory log of every request a simulator received, with the concurrency reached.

Tests and benchmarks read it (over HTTP at ``GET /_sim/requests`` or in-process) to prove what the
vendor actually received: no duplicates, the highest concurrency, the peak request rate.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class LoggedRequest:
    seq: int
    method: str
    path: str
    query: str
    status: int
    started: float  # time.time()
    ended: float
    in_flight_at_start: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    def __init__(self, maxlen: int = 200_000) -> None:
        self._lock = threading.Lock()
        self._items: deque[LoggedRequest] = deque(maxlen=maxlen)
        self._seq = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def begin(self) -> int:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return self.in_flight

    def end(self, method: str, path: str, query: str, status: int, started: float, in_flight: int) -> None:
        with self._lock:
            self.in_flight -= 1
            self._seq += 1
            self._items.append(
                LoggedRequest(self._seq, method, path, query, status, started, time.time(), in_flight)
            )

    def items(self, path_prefix: str | None = None, method: str | None = None) -> list[LoggedRequest]:
        with self._lock:
            out = list(self._items)
        if path_prefix:
            out = [r for r in out if r.path.startswith(path_prefix)]
        if method:
            out = [r for r in out if r.method == method]
        return out

    def max_rps(self, path_prefix: str | None = None, window_s: float = 1.0) -> float:
        """Highest number of requests started in any sliding window of ``window_s`` seconds."""
        starts = sorted(r.started for r in self.items(path_prefix))
        best = 0
        j = 0
        for i, t in enumerate(starts):
            while starts[j] < t - window_s + 1e-9:
                j += 1
            best = max(best, i - j + 1)
        return best / window_s

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.max_in_flight = self.in_flight

    def summary(self) -> dict[str, Any]:
        items = self.items()
        return {"count": len(items), "max_in_flight": self.max_in_flight, "in_flight": self.in_flight}


class RequestLogMiddleware:
    """Pure ASGI middleware that records each HTTP request (except the simulator's own ``/_sim`` admin)."""

    def __init__(self, app: ASGIApp, log: RequestLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sim"):
            await self.app(scope, receive, send)
            return
        started = time.time()
        in_flight = self.log.begin()
        status = 500

        async def _send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            self.log.end(
                scope["method"],
                scope["path"],
                scope.get("query_string", b"").decode(),
                status,
                started,
                in_flight,
            )
