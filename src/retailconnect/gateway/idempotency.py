"""Idempotency keys through group commit: ``store.IdempotencyKeys`` (same table, same semantics, its
batch methods) with each claim, answer and release queued on the process-wide
:class:`~retailconnect.gateway.batching.GroupCommitter`, so concurrent requests share transactions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Connection

from retailconnect.store import Claim, IdempotencyKeys
from retailconnect.store.idempotency import completion

from .batching import GroupCommitter

__all__ = ["GroupIdempotencyKeys", "scope_key"]


def scope_key(*parts: str) -> str:
    """The key scope, hashed when it would not fit the column (120)."""
    raw = "/".join(parts)
    return raw if len(raw) <= 120 else "sha256:" + hashlib.sha256(raw.encode()).hexdigest()


class GroupIdempotencyKeys:
    """The async face of ``IdempotencyKeys`` used by the idempotency middleware."""

    def __init__(
        self, store: Any, committer: GroupCommitter, *, stale_after: timedelta = timedelta(minutes=5)
    ) -> None:
        self.keys = IdempotencyKeys(store, stale_after=stale_after)
        self.committer = committer
        # bound once: the committer groups a batch's items by executor identity
        self._claim_many = self.keys.claim_many
        self._complete_many = self._complete

    def _complete(self, c: Connection, items: Any) -> list[None]:
        self.keys.complete_many(c, items)
        return [None] * len(items)

    async def claim(self, scope: str, key: str, req_hash: str) -> Claim:
        claim: Claim = await self.committer.run_bulk(self._claim_many, (scope, key, req_hash))
        return claim

    async def complete(
        self, scope: str, key: str, status: int, body: bytes, headers: Mapping[str, str]
    ) -> None:
        await self.committer.run_bulk(self._complete_many, completion(scope, key, status, body, headers))

    async def release(self, scope: str, key: str) -> None:
        await self.committer.run(lambda c: self.keys.release_in(c, scope, key))
