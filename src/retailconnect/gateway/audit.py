"""One audit entry per API call, written in batches off the request path.

Entries carry the consumer, route template (never the raw path or query: ``/v1/customers?email=...`` must
not leak), status, latency and correlation id. ``redact`` masks e-mail addresses, phone numbers and named
personal fields in anything else put in the details. A batch is one transaction on the hash-chained
``AuditLog``; the queue is flushed on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from typing import Any

from anyio import to_thread

__all__ = ["AuditWriter", "redact"]

log = logging.getLogger("retailconnect.gateway.audit")

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\w.:/-])\+?\d[\d ().-]{6,}\d(?![\w.:/-])")
_SAFE_KEYS = {"correlation_id", "route", "method", "status", "latency_ms", "tenant", "auth", "trace_id"}
_PERSONAL_KEYS = {
    "email", "phone", "first_name", "last_name", "name", "address", "address1", "address2", "street",
    "zip", "postcode", "postal_code", "city", "customer", "billing_address", "shipping_address",
}  # fmt: skip


def redact(value: Any, key: str | None = None) -> Any:
    """A copy of ``value`` with personal data masked."""
    if key is not None and key.lower() in _SAFE_KEYS:
        return value
    if key is not None and key.lower() in _PERSONAL_KEYS:
        return "[redacted]"
    if isinstance(value, Mapping):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _PHONE.sub("[phone]", _EMAIL.sub("[email]", value))
    return value


class AuditWriter:
    def __init__(
        self, audit_log: Any, store: Any, *, interval_s: float = 0.05, batch: int = 500, committer: Any = None
    ) -> None:
        self.committer = committer
        self.audit_log = audit_log
        self.store = store
        self.interval_s = interval_s
        self.batch = batch
        self._queue: list[tuple[str, str, str | None, dict[str, Any]]] = []
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self.written = 0

    def record(self, actor: str, action: str, target: str | None, details: dict[str, Any]) -> None:
        self._queue.append((actor, action, target, redact(details)))
        if len(self._queue) >= self.batch and self._wake is not None:
            self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="gateway-audit-writer")

    async def _run(self) -> None:
        wake = self._wake
        assert wake is not None
        while True:
            try:
                await asyncio.wait_for(wake.wait(), timeout=self.interval_s)
            except TimeoutError:
                pass
            wake.clear()
            await self.flush()

    async def flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.batch], self._queue[self.batch :]
            try:
                if self.committer is not None:
                    await self.committer.run(lambda conn, b=batch: self._write_in(conn, b))
                else:
                    await to_thread.run_sync(self._write, batch)
                self.written += len(batch)
            except Exception:
                log.exception("audit batch of %d entries failed; retrying", len(batch))
                self._queue[:0] = batch
                await asyncio.sleep(self.interval_s * 10)
                return

    def _write(self, batch: list[tuple[str, str, str | None, dict[str, Any]]]) -> None:
        with self.store.begin() as conn:
            self._write_in(conn, batch)

    def _write_in(self, conn: Any, batch: list[tuple[str, str, str | None, dict[str, Any]]]) -> None:
        """The batch on the hash chain: one read of the chain head, one multi-row insert."""
        self.audit_log.append_many(batch, conn=conn)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self.flush()
