"""Idempotency keys over the store's ``idempotency_keys`` table, through group commit.

Same semantics as ``store.IdempotencyKeys`` (claim -> new | in_flight | completed | mismatch; an
in-flight claim older than ``stale_after`` is taken over), written as ``INSERT .. ON CONFLICT DO
NOTHING`` so that many claims share one transaction without aborting it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from retailconnect.store import Claim
from retailconnect.store.tables import idempotency_keys as t

from .batching import GroupCommitter

__all__ = ["GroupIdempotencyKeys", "scope_key"]


def scope_key(*parts: str) -> str:
    """The key scope, hashed when it would not fit the column (120)."""
    raw = "/".join(parts)
    return raw if len(raw) <= 120 else "sha256:" + hashlib.sha256(raw.encode()).hexdigest()


class GroupIdempotencyKeys:
    def __init__(
        self, store: Any, committer: GroupCommitter, *, stale_after: timedelta = timedelta(minutes=5)
    ):
        self.committer = committer
        self.stale_after = stale_after
        self._insert = postgresql.insert if store.dialect == "postgresql" else sqlite.insert

    async def claim(self, scope: str, key: str, req_hash: str) -> Claim:
        def op(c: Connection) -> Claim:
            now = datetime.now(UTC)
            res = c.execute(
                self._insert(t)
                .values(scope=scope, key=key, request_hash=req_hash, state="in_flight", created_at=now)
                .on_conflict_do_nothing(index_elements=["scope", "key"])
                .returning(t.c.key)
            )
            if res.first() is not None:  # rowcount is not reliable for this statement on every driver
                return Claim("new")
            row = c.execute(sa.select(t).where(t.c.scope == scope, t.c.key == key)).one()
            if row.request_hash != req_hash:
                return Claim("mismatch")
            if row.state == "completed":
                return Claim("completed", row.status, row.body, dict(row.headers or {}))
            created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
            if now - created > self.stale_after:
                c.execute(sa.update(t).where(t.c.scope == scope, t.c.key == key).values(created_at=now))
                return Claim("new")
            return Claim("in_flight")

        return await self.committer.run(op)

    async def complete(self, scope: str, key: str, status: int, body: bytes, headers: dict[str, str]) -> None:
        def op(c: Connection) -> None:
            c.execute(
                sa.update(t)
                .where(t.c.scope == scope, t.c.key == key)
                .values(
                    state="completed",
                    status=status,
                    body=body,
                    headers=headers,
                    completed_at=datetime.now(UTC),
                )
            )

        await self.committer.run(op)

    async def release(self, scope: str, key: str) -> None:
        def op(c: Connection) -> None:
            c.execute(sa.delete(t).where(t.c.scope == scope, t.c.key == key, t.c.state == "in_flight"))

        await self.committer.run(op)
