"""Group commit: concurrent operations share transactions; a failing operation fails only its caller."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from retailconnect.gateway.batching import GroupCommitter
from retailconnect.gateway.idempotency import GroupIdempotencyKeys, scope_key


async def test_concurrent_claims_share_commits_and_keep_semantics(store):
    committer = GroupCommitter(store)
    keys = GroupIdempotencyKeys(store, committer)
    claims = await asyncio.gather(*[keys.claim("s", f"k{i % 50}", "h") for i in range(100)])
    states = [c.state for c in claims]
    assert states.count("new") == 50 and states.count("in_flight") == 50
    assert committer.batches < 100  # shared transactions
    await keys.complete("s", "k1", 201, b'{"ok":1}', {"content-type": "application/json"})
    done = await keys.claim("s", "k1", "h")
    assert done.state == "completed" and done.status == 201 and done.body == b'{"ok":1}'
    assert (await keys.claim("s", "k1", "other")).state == "mismatch"
    await keys.release("s", "k2")
    assert (await keys.claim("s", "k2", "h")).state == "new"
    await committer.stop()


async def test_one_failing_operation_only_fails_its_caller(store):
    committer = GroupCommitter(store)

    def ok(conn):
        return conn.execute(sa.text("SELECT 1")).scalar()

    def bad(conn):
        raise ValueError("boom")

    results = await asyncio.gather(
        committer.run(ok), committer.run(bad), committer.run(ok), return_exceptions=True
    )
    assert results[0] == 1 and results[2] == 1 and isinstance(results[1], ValueError)
    await committer.stop()


def test_scope_key_fits_the_column():
    assert scope_key("t", "c", "/v1/orders") == "t/c//v1/orders"
    long = scope_key("t" * 100, "c" * 100, "/v1/orders")
    assert len(long) <= 120 and long.startswith("sha256:")


async def test_bulk_claims_in_one_batch_see_each_other(store):
    committer = GroupCommitter(store)
    keys = GroupIdempotencyKeys(store, committer)
    # same key twice in one batch: the second is in flight (same body) or a mismatch (other body)
    a, b, c = await asyncio.gather(
        keys.claim("s", "x", "h1"), keys.claim("s", "x", "h1"), keys.claim("s", "x", "h2")
    )
    assert (a.state, b.state, c.state) == ("new", "in_flight", "mismatch")
    await asyncio.gather(*[keys.complete("s", "x", 202, b"ok", {}) for _ in range(1)])
    again = await asyncio.gather(keys.claim("s", "x", "h1"), keys.claim("s", "y", "h1"))
    assert again[0].state == "completed" and again[0].body == b"ok" and again[1].state == "new"
    await committer.stop()


async def test_shared_committer_is_one_per_store_and_stop_answers_what_is_queued(store):
    committer = GroupCommitter.shared(store)
    assert GroupCommitter.shared(store) is committer
    keys = GroupIdempotencyKeys(store, committer)
    pending = [asyncio.ensure_future(keys.claim("s", f"q{i}", "h")) for i in range(20)]
    await asyncio.sleep(0)  # queued, not yet committed
    await committer.stop()  # another app sharing the writer shuts down: queued claims still answer
    assert [c.state for c in await asyncio.wait_for(asyncio.gather(*pending), 10)] == ["new"] * 20
    assert (await keys.claim("s", "q0", "h")).state == "in_flight"  # a later operation restarts it
    await committer.stop()
