"""Idempotency keys: the first request with a key claims it; repeats get the stored response.

``claim`` -> ``new`` (run it) | ``in_flight`` (a first attempt is still running) | ``completed`` (the stored
answer) | ``mismatch`` (the key was used with another request). An in-flight claim older than
``stale_after`` is taken over (the first attempt died without answering). ``claim_many``,
``complete_many`` and ``release_in`` do the same inside a caller's transaction for many keys at once (the
gateway's group commit): one ``INSERT .. ON CONFLICT DO NOTHING RETURNING`` claims every new key of a
batch, and only the keys already taken are read back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from .db import Store
from .tables import idempotency_keys as t

__all__ = ["Claim", "IdempotencyKeys", "completion", "request_hash"]


def request_hash(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\x00")
    return h.hexdigest()


@dataclass(frozen=True)
class Claim:
    state: Literal["new", "in_flight", "completed", "mismatch"]
    status: int | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


class IdempotencyKeys:
    def __init__(self, store: Store, *, stale_after: timedelta = timedelta(minutes=5)) -> None:
        self.store = store
        self.stale_after = stale_after
        insert = postgresql.insert if store.dialect == "postgresql" else sqlite.insert
        # SQLite: the hot writes go straight to the driver connection (same transaction): compiling and
        # executing a Core statement costs more than SQLite spends on the rows
        self._raw = store.dialect == "sqlite"
        self._raw_claim_sql: dict[int, str] = {}
        # statements built once: building them per call costs more than running them
        self._claim_stmt = (
            insert(t).on_conflict_do_nothing(index_elements=["scope", "key"]).returning(t.c.scope, t.c.key)
        )
        self._read_stmt = sa.select(t).where(
            t.c.scope == sa.bindparam("b_scope"), t.c.key.in_(sa.bindparam("b_keys", expanding=True))
        )
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

    # -- one key, one transaction ---------------------------------------------------------------------
    def claim(self, scope: str, key: str, req_hash: str) -> Claim:
        with self.store.begin() as c:
            return self.claim_many(c, [(scope, key, req_hash)])[0]

    def complete(
        self, scope: str, key: str, status: int, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        with self.store.begin() as c:
            self.complete_many(c, [completion(scope, key, status, body, headers)])

    def release(self, scope: str, key: str) -> None:
        with self.store.begin() as c:
            self.release_in(c, scope, key)

    # -- many keys in the caller's transaction --------------------------------------------------------
    def claim_many(self, c: Connection, items: Sequence[tuple[str, str, str]]) -> list[Claim]:
        """Claims for ``(scope, key, request hash)`` items, in order. The same key twice in one call
        behaves as two calls in a row (the second is in flight, or a mismatch)."""
        now = datetime.now(UTC)
        first: dict[tuple[str, str], str] = {}  # each key's first request hash in this call
        for scope, key, req_hash in items:
            first.setdefault((scope, key), req_hash)
        rows = (
            []
            if self._raw
            else [
                {"scope": s, "key": k, "request_hash": h, "state": "in_flight", "created_at": now}
                for (s, k), h in first.items()
            ]
        )
        # no conflict aborts the statement (another process may hold some of these keys)
        if self._raw:
            inserted = self._raw_claim(c, first, now)
        else:
            inserted = {(r.scope, r.key) for r in c.execute(self._claim_stmt, rows)}
        taken: dict[str, list[str]] = {}
        for scope, key in first:
            if (scope, key) not in inserted:
                taken.setdefault(scope, []).append(key)
        existing: dict[tuple[str, str], Any] = {}
        for scope, keys in taken.items():
            for r in c.execute(self._read_stmt, {"b_scope": scope, "b_keys": keys}):
                existing[(r.scope, r.key)] = r
        out: list[Claim] = []
        decided: dict[tuple[str, str], Claim] = {}
        for scope, key, req_hash in items:
            ident = (scope, key)
            prior = decided.get(ident)
            if prior is not None:  # a repeat within this call sees the first as the earlier request
                if first[ident] != req_hash:
                    out.append(Claim("mismatch"))
                else:
                    out.append(Claim("in_flight") if prior.state == "new" else prior)
                continue
            if ident in inserted:
                claim = Claim("new")
            elif ident in existing:
                claim = self._judge(c, existing[ident], req_hash, now)
            else:  # released by another process between our insert and read: let the client retry
                claim = Claim("in_flight")
            decided[ident] = claim
            out.append(claim)
        return out

    def _raw_claim(
        self, c: Connection, first: dict[tuple[str, str], str], now: datetime
    ) -> set[tuple[str, str]]:
        """The claim insert on SQLite's driver connection: one multi-row statement, as Core renders it."""
        n = len(first)
        sql = self._raw_claim_sql.get(n)
        if sql is None:
            sql = self._raw_claim_sql[n] = (
                "INSERT INTO idempotency_keys (scope, key, request_hash, state, created_at) VALUES "
                + ", ".join(["(?, ?, ?, 'in_flight', ?)"] * n)
                + " ON CONFLICT (scope, key) DO NOTHING RETURNING scope, key"
            )
        at = _sqlite_datetime(now)
        params: list[Any] = []
        for (s, k), h in first.items():
            params += (s, k, h, at)
        cur = c.connection.driver_connection.execute(sql, params)  # type: ignore[union-attr]
        try:
            return {(s, k) for s, k in cur.fetchall()}
        finally:
            cur.close()

    def _judge(self, c: Connection, row: Any, req_hash: str, now: datetime) -> Claim:
        if row.request_hash != req_hash:
            return Claim("mismatch")
        if row.state == "completed":
            return Claim("completed", row.status, row.body, dict(row.headers or {}))
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        if now - created > self.stale_after:
            # the first attempt died without answering: let this one take over
            c.execute(sa.update(t).where(t.c.scope == row.scope, t.c.key == row.key).values(created_at=now))
            return Claim("new")
        return Claim("in_flight")

    def complete_many(self, c: Connection, items: Sequence[Mapping[str, Any]]) -> None:
        """Store the answers (items made by :func:`completion`) with one statement."""
        if self._raw:
            cur = c.connection.driver_connection.executemany(  # type: ignore[union-attr]
                _RAW_COMPLETE,
                [
                    (i["b_status"], i["b_body"], json.dumps(i["b_headers"]), _sqlite_datetime(i["b_at"]),
                     i["b_scope"], i["b_key"])
                    for i in items
                ],
            )  # fmt: skip
            cur.close()
            return
        c.execute(self._complete_stmt, list(items))

    def release_in(self, c: Connection, scope: str, key: str) -> None:
        """Forget an in-flight claim (the request failed in a way a retry may fix)."""
        c.execute(sa.delete(t).where(t.c.scope == scope, t.c.key == key, t.c.state == "in_flight"))


_RAW_COMPLETE = (
    "UPDATE idempotency_keys SET state = 'completed', status = ?, body = ?, headers = ?, completed_at = ?"
    " WHERE scope = ? AND key = ?"
)


def _sqlite_datetime(at: datetime) -> str:
    """A datetime as SQLAlchemy's SQLite ``DateTime`` stores it (UTC wall time, microseconds)."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def completion(
    scope: str, key: str, status: int, body: bytes, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """One item for :meth:`IdempotencyKeys.complete_many`."""
    return {
        "b_scope": scope, "b_key": key, "b_status": status, "b_body": body, "b_headers": dict(headers or {}),
        "b_at": datetime.now(UTC),
    }  # fmt: skip
