"""Idempotency keys: the first request with a key claims it; repeats get the stored response."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .db import Store
from .tables import idempotency_keys

__all__ = ["Claim", "IdempotencyKeys", "request_hash"]


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

    def claim(self, scope: str, key: str, req_hash: str) -> Claim:
        now = datetime.now(UTC)
        try:
            with self.store.begin() as c:
                c.execute(
                    idempotency_keys.insert().values(
                        scope=scope, key=key, request_hash=req_hash, state="in_flight", created_at=now
                    )
                )
            return Claim("new")
        except IntegrityError:
            pass
        with self.store.begin() as c:
            row = c.execute(
                sa.select(idempotency_keys).where(
                    idempotency_keys.c.scope == scope, idempotency_keys.c.key == key
                )
            ).one_or_none()
            if row is None:  # released in between: try again once
                return self.claim(scope, key, req_hash)
            if row.request_hash != req_hash:
                return Claim("mismatch")
            if row.state == "completed":
                return Claim("completed", row.status, row.body, dict(row.headers or {}))
            created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
            if now - created > self.stale_after:
                # the first attempt died without answering: let this one take over
                c.execute(
                    idempotency_keys.update()
                    .where(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
                    .values(created_at=now)
                )
                return Claim("new")
            return Claim("in_flight")

    def complete(
        self, scope: str, key: str, status: int, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        with self.store.begin() as c:
            c.execute(
                idempotency_keys.update()
                .where(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
                .values(
                    state="completed",
                    status=status,
                    body=body,
                    headers=headers or {},
                    completed_at=datetime.now(UTC),
                )
            )

    def release(self, scope: str, key: str) -> None:
        with self.store.begin() as c:
            c.execute(
                idempotency_keys.delete().where(
                    idempotency_keys.c.scope == scope,
                    idempotency_keys.c.key == key,
                    idempotency_keys.c.state == "in_flight",
                )
            )
