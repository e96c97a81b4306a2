"""The gateway's own writes (consumers, group-committed idempotency keys, audit batches) on PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from retailconnect.gateway import ConsumerStore
from retailconnect.gateway.audit import AuditWriter
from retailconnect.gateway.batching import GroupCommitter
from retailconnect.gateway.idempotency import GroupIdempotencyKeys
from retailconnect.store import AuditLog, Store


@pytest.mark.service("postgres")
async def test_gateway_writes_on_postgres(pg_schema_url):
    store = Store.open(pg_schema_url)
    try:
        cs = ConsumerStore(store)
        key = cs.add("pg-consumer", tenant="brand-a", scopes=["orders:write"])
        assert cs.verify(key).tenant == "brand-a"
        committer = GroupCommitter(store)
        keys = GroupIdempotencyKeys(store, committer)
        claims = await asyncio.gather(*[keys.claim("s", f"k{i % 10}", "h") for i in range(40)])
        assert [c.state for c in claims].count("new") == 10
        await keys.complete("s", "k3", 202, b"{}", {"content-type": "application/json"})
        assert (await keys.claim("s", "k3", "h")).state == "completed"
        audit = AuditLog(store)
        writer = AuditWriter(audit, store, committer=committer)
        for i in range(30):
            writer.record("c", "api POST /v1/orders", "/v1/orders", {"i": i})
        await writer.flush()
        await committer.stop()
        assert audit.verify().ok and audit.verify().checked == 30
    finally:
        store.close()
