"""Partition leases for the NATS backend, in a JetStream key-value bucket.

Keys, per consumer group ``G`` (group names are KV-safe: letters, digits, ``_``, ``-``):

- ``G.m.<member>``: a member's heartbeat, value ``{"until": epoch}``; live while ``until >= now``.
- ``G.p.<k>``: the lease on partition ``k``, value ``{"owner": member | null, "until": epoch}``.

Every write to a lease is a compare-and-set on the key's revision (``create`` when absent, ``update``
with ``last=revision`` otherwise), so two members never both win a partition: a member renews only a
lease it still owns at the revision it last saw, and takes over one that is free (no owner) or expired.
The bucket's ``ttl`` only collects leftovers (members that died, released leases); expiry of a lease is
decided from its ``until`` (clocks of the members are assumed roughly in step, as in the SQL backends).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["Lease", "LeaseTable"]


@dataclass(slots=True)
class Lease:
    part: int
    owner: str | None
    until: float
    revision: int | None  # None: no such key


class LeaseTable:
    def __init__(self, kv: Any, group: str, member: str, partitions: int, lease_seconds: float) -> None:
        self.kv = kv
        self.group = group
        self.member = member
        self.partitions = partitions
        self.lease_seconds = lease_seconds

    def _key(self, part: int) -> str:
        return f"{self.group}.p.{part}"

    async def snapshot(self) -> tuple[int, dict[int, Lease]]:
        """Heartbeat, then read the group's keys in one watch: ``(live members, leases by partition)``."""
        now = time.time()
        await self.kv.put(
            f"{self.group}.m.{self.member}", json.dumps({"until": now + self.lease_seconds}).encode()
        )
        leases = {k: Lease(k, None, 0.0, None) for k in range(self.partitions)}
        live = {self.member}
        w = await self.kv.watch(f"{self.group}.>", ignore_deletes=True)
        try:
            while True:
                e = await w.updates(timeout=5.0)
                if e is None:
                    break
                kind, _, rest = e.key[len(self.group) + 1 :].partition(".")
                try:
                    val = json.loads(e.value or b"{}")
                except ValueError:
                    val = {}
                if kind == "m":
                    if float(val.get("until", 0)) >= now:
                        live.add(rest)
                elif kind == "p" and rest.isdigit() and int(rest) < self.partitions:
                    leases[int(rest)] = Lease(
                        int(rest), val.get("owner"), float(val.get("until", 0)), e.revision
                    )
                if not e.delta:
                    break
        finally:
            await w.stop()
        return len(live), leases

    def claimable(self, lease: Lease, now: float) -> bool:
        return lease.revision is None or lease.owner is None or lease.until < now

    async def _write(self, lease: Lease, owner: str | None, until: float) -> Lease | None:
        from nats.js.errors import KeyWrongLastSequenceError

        val = json.dumps({"owner": owner, "until": until}).encode()
        try:
            if lease.revision is None:
                rev = await self.kv.create(self._key(lease.part), val)
            else:
                rev = await self.kv.update(self._key(lease.part), val, last=lease.revision)
        except KeyWrongLastSequenceError:
            return None
        return Lease(lease.part, owner, until, int(rev))

    async def claim(self, lease: Lease) -> Lease | None:
        """Take a free or expired lease; None if another member got there first."""
        return await self._write(lease, self.member, time.time() + self.lease_seconds)

    async def renew(self, lease: Lease) -> Lease | None:
        """Extend a lease this member holds; None if it was taken meanwhile (lost)."""
        return await self._write(lease, self.member, time.time() + self.lease_seconds)

    async def release(self, lease: Lease) -> None:
        await self._write(lease, None, 0.0)

    async def leave(self) -> None:
        await self.kv.delete(f"{self.group}.m.{self.member}")
