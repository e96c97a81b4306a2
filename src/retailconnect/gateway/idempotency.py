"""Idempotency keys over the store's ``idempotency_keys`` table, through group commit.

Same semantics as ``store.IdempotencyKeys`` (claim -> new | in_flight | completed | mismatch; an
in-flight claim older than ``stale_after`` is taken over), written as ``INSERT .. ON CONFLICT DO
NOTHING`` so that many claims share one transaction without aborting it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
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
        self._complete_stmt = (
            sa.update(t)
            .where(t.c.scope == sa.bindparam("b_scope"), t.c.key == sa.bindparam("b_key"))
            .values(
                state="completed",
                status=sa.bindparam("b_status"),
                body=sa.bindparam("b_body", type_=t.c.body.type),
                headers=sa.bindparam("b_headers", type_=t.c.headers.type),
                completed_at=sa.bindparam("b_at", type_=t.c.completed_at.type),
            )
        )

    # -- claims ---------------------------------------------------------------------------------------
    def _claim_one(self, c: Connection, scope: str, key: str, req_hash: str) -> Claim:
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
        return self._judge(c, row, req_hash, now)

    def _judge(self, c: Connection, row: Any, req_hash: str, now: datetime) -> Claim:
        if row.request_hash != req_hash:
            return Claim("mismatch")
        if row.state == "completed":
            return Claim("completed", row.status, row.body, dict(row.headers or {}))
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        if now - created > self.stale_after:
            c.execute(sa.update(t).where(t.c.scope == row.scope, t.c.key == row.key).values(created_at=now))
            return Claim("new")
        return Claim("in_flight")

    def _claim_bulk(self, c: Connection, items: Sequence[tuple[str, str, str]]) -> list[Claim]:
        """One SELECT for every key in the batch, one multi-row INSERT for the new ones."""
        if len(items) == 1:
            return [self._claim_one(c, *items[0])]
        now = datetime.now(UTC)
        wanted = list({(s, k) for s, k, _ in items})
        existing = {
            (r.scope, r.key): r
            for r in c.execute(sa.select(t).where(sa.tuple_(t.c.scope, t.c.key).in_(wanted)))
        }
        fresh: dict[tuple[str, str], str] = {}  # claimed in this batch -> request hash
        out: list[Claim] = []
        for scope, key, req_hash in items:
            ident = (scope, key)
            if ident in fresh:
                out.append(Claim("in_flight" if fresh[ident] == req_hash else "mismatch"))
            elif ident in existing:
                out.append(self._judge(c, existing[ident], req_hash, now))
            else:
                fresh[ident] = req_hash
                out.append(Claim("new"))
        if fresh:
            # a concurrent process inserting one of these keys makes this raise: the committer then
            # retries every item alone (the single path handles the conflict)
            c.execute(
                t.insert(),
                [
                    {"scope": s, "key": k, "request_hash": h, "state": "in_flight", "created_at": now}
                    for (s, k), h in fresh.items()
                ],
            )
        return out

    async def claim(self, scope: str, key: str, req_hash: str) -> Claim:
        claim: Claim = await self.committer.run_bulk(self._claim_bulk, (scope, key, req_hash))
        return claim

    # -- completion -----------------------------------------------------------------------------------
    def _complete_bulk(self, c: Connection, items: Sequence[dict[str, Any]]) -> list[None]:
        c.execute(self._complete_stmt, list(items))
        return [None] * len(items)

    async def complete(self, scope: str, key: str, status: int, body: bytes, headers: dict[str, str]) -> None:
        item = {
            "b_scope": scope, "b_key": key, "b_status": status, "b_body": body, "b_headers": headers,
            "b_at": datetime.now(UTC),
        }  # fmt: skip
        await self.committer.run_bulk(self._complete_bulk, item)

    async def release(self, scope: str, key: str) -> None:
        def op(c: Connection) -> None:
            c.execute(sa.delete(t).where(t.c.scope == scope, t.c.key == key, t.c.state == "in_flight"))

        await self.committer.run(op)
