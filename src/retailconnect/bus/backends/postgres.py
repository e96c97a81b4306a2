"""PostgreSQL backend: the same log tables; publishes ``pg_notify('retailconnect_bus')`` in the
publishing transaction (delivered on commit) and each bus LISTENs on a psycopg async connection to wake
its consumers at once; partitions are claimed with ``FOR UPDATE SKIP LOCKED`` so several processes share
a group. Polling (``poll_interval``, 0.5 s) remains as a fallback if a notification is missed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy.engine import Engine

from .sql import SqlBus

__all__ = ["PostgresBus"]

log = logging.getLogger(__name__)


class PostgresBus(SqlBus):
    def __init__(self, engine: Engine, **kw: Any) -> None:
        kw.setdefault("poll_interval", 0.5)
        super().__init__(engine, backend="postgres", **kw)
        self._listener: asyncio.Task[None] | None = None

    def _conninfo(self) -> str:
        url = self.engine.url.set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    async def start(self) -> None:
        if self._started:
            return
        await super().start()
        self._listener = asyncio.get_running_loop().create_task(self._listen(), name="bus:pg-listen")

    async def _listen(self) -> None:
        import psycopg

        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self._conninfo(), autocommit=True)
                async with conn:
                    await conn.execute("LISTEN retailconnect_bus")
                    self._wake_all()
                    async for _ in conn.notifies():
                        self._wake_all()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("bus LISTEN connection lost; reconnecting", exc_info=True)
                await asyncio.sleep(1.0)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
            self._listener = None
        await super().close()
