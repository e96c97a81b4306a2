"""The same store tests on SQLite and on the machine's PostgreSQL (a fresh schema per test)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from retailconnect.errors import ConflictError
from retailconnect.store import AuditLog, Bindings, IdempotencyKeys, PayloadArchive, Store, request_hash
from retailconnect.store.tables import audit_log, bindings


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_schema_url")
    s = Store.open(url)
    yield s
    s.close()


def test_migrations_create_the_foundation_tables(store: Store) -> None:
    names = set(sa.inspect(store.engine).get_table_names())
    assert {"bindings", "idempotency_keys", "audit_log", "inbound_archive", "alembic_version"} <= names
    store.migrate()  # idempotent


def test_sqlite_uses_wal(sqlite_url: str) -> None:
    s = Store.open(sqlite_url)
    with s.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    s.close()


def test_bindings_round_trip_and_uniqueness(store: Store) -> None:
    b = Bindings(store)
    b.bind("order", "netsuite", "c-1", "SO-1")
    b.bind("order", "netsuite", "c-1", "SO-1")  # same pair: no-op
    assert b.to_external("order", "netsuite", "c-1") == "SO-1"
    assert b.to_internal("order", "netsuite", "SO-1") == "c-1"
    with pytest.raises(ConflictError, match="binding conflict"):
        b.bind("order", "netsuite", "c-2", "SO-1")
    b.bind("order", "shopify", "c-1", "55")
    assert b.all_for("c-1") == {"netsuite": "SO-1", "shopify": "55"}


def test_one_transaction_per_unit_of_work(store: Store) -> None:
    b = Bindings(store)
    with pytest.raises(RuntimeError), store.begin() as conn:
        b.bind("order", "netsuite", "c-9", "SO-9", conn=conn)
        AuditLog(store).append("test", "bind", "c-9", {}, conn=conn)
        raise RuntimeError("crash before commit")
    assert b.to_external("order", "netsuite", "c-9") is None
    with store.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(bindings)).scalar() == 0
        assert c.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar() == 0


def test_idempotency_claims(store: Store) -> None:
    k = IdempotencyKeys(store)
    h = request_hash("POST", "/v1/orders", b"{}")
    assert k.claim("consumer-a", "key-1", h).state == "new"
    assert k.claim("consumer-a", "key-1", h).state == "in_flight"
    assert k.claim("consumer-a", "key-1", request_hash("other")).state == "mismatch"
    k.complete("consumer-a", "key-1", 201, b'{"id":"x"}', {"content-type": "application/json"})
    c = k.claim("consumer-a", "key-1", h)
    assert (c.state, c.status, c.body) == ("completed", 201, b'{"id":"x"}')
    assert k.claim("consumer-b", "key-1", h).state == "new"  # keys are scoped per consumer
    k.release("consumer-b", "key-1")
    assert k.claim("consumer-b", "key-1", h).state == "new"


def test_idempotency_claim_many_in_one_transaction(store: Store) -> None:
    k = IdempotencyKeys(store)
    assert k.claim("s", "done", "h").state == "new"
    k.complete("s", "done", 201, b"ok", {})
    items = [("s", "a", "h"), ("s", "a", "h"), ("s", "a", "other"), ("s", "done", "h"), ("s", "done", "x"),
             ("t", "a", "h")]  # fmt: skip
    with store.begin() as c:
        got = [claim.state for claim in k.claim_many(c, items)]
    # a repeat inside one call behaves as the next request: in flight (same body) or a mismatch
    assert got == ["new", "in_flight", "mismatch", "completed", "mismatch", "new"]
    with store.begin() as c:
        assert [x.state for x in k.claim_many(c, [("s", "a", "h"), ("t", "b", "h")])] == ["in_flight", "new"]
        k.release_in(c, "s", "a")
    assert k.claim("s", "a", "h").state == "new"


def test_idempotency_stale_claim_is_taken_over_once(store: Store) -> None:
    k = IdempotencyKeys(store, stale_after=timedelta(0))
    assert k.claim("s", "k", "h").state == "new"
    with store.begin() as c:  # the first attempt died: one of two racing retries takes over
        assert [x.state for x in k.claim_many(c, [("s", "k", "h"), ("s", "k", "h")])] == ["new", "in_flight"]


def test_idempotency_sqlite_driver_writes_read_back_like_core_rows_and_roll_back(store: Store) -> None:
    from datetime import UTC, datetime

    from retailconnect.store.idempotency import completion
    from retailconnect.store.tables import idempotency_keys

    k = IdempotencyKeys(store)
    before = datetime.now(UTC)
    with store.begin() as c:
        assert [x.state for x in k.claim_many(c, [("s", "a", "h"), ("s", "b", "h")])] == ["new", "new"]
        k.complete_many(c, [completion("s", "a", 201, b"\x00ok", {"content-type": "application/json"})])
    with store.connect() as c:
        row = c.execute(sa.select(idempotency_keys).where(idempotency_keys.c.key == "a")).one()
    assert row.state == "completed" and row.status == 201 and row.body == b"\x00ok"
    assert row.headers == {"content-type": "application/json"}
    for at in (row.created_at, row.completed_at):
        assert abs((at.replace(tzinfo=UTC) if at.tzinfo is None else at) - before).total_seconds() < 60
    with pytest.raises(RuntimeError), store.begin() as c:  # the driver writes share the transaction
        k.claim_many(c, [("s", "c", "h")])
        raise RuntimeError("rolled back")
    assert k.claim("s", "c", "h").state == "new" and k.claim("s", "b", "h").state == "in_flight"


def test_idempotency_lookup_of_taken_keys_uses_the_primary_key(sqlite_url: str) -> None:
    s = Store.open(sqlite_url)
    k = IdempotencyKeys(s)
    stmt = k._read_stmt.params(b_scope="s", b_keys=["k1", "k2"])
    sql = str(stmt.compile(s.engine, compile_kwargs={"literal_binds": True}))
    with s.connect() as c:
        plan = " ".join(str(r[-1]) for r in c.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    s.close()
    assert "SEARCH" in plan and "SCAN" not in plan, plan  # a scan made every batch as slow as the table


def test_audit_append_many_continues_the_chain(store: Store) -> None:
    log = AuditLog(store)
    log.append("ops", "first", None, {"i": 0})
    assert log.append_many([("api", "POST /v1/orders", "/v1/orders", {"i": i}) for i in range(1, 4)]) == 3
    with store.begin() as c:
        log.append_many([("api", "GET /v1/x", None, None)], conn=c)
    log.append("ops", "last", None, {"i": 5})
    assert log.append_many([]) == 0
    result = log.verify()
    assert result.ok and result.checked == 6
    assert [e["action"] for e in log.entries()][::-1][1:4] == ["POST /v1/orders"] * 3
    with store.begin() as c:  # a batch row is chained like any other: tampering shows
        c.execute(audit_log.update().where(audit_log.c.action == "GET /v1/x").values(actor="mallory"))
    assert not log.verify().ok


def test_audit_chain_detects_tampering(store: Store) -> None:
    log = AuditLog(store)
    ids = [log.append("ops", "exception.resolve", f"exc-{i}", {"i": i}) for i in range(5)]
    assert log.verify().ok and log.verify().checked == 5
    with store.begin() as c:
        c.execute(audit_log.update().where(audit_log.c.id == ids[2]).values(details='{"i":99}'))
    result = log.verify()
    assert not result.ok and result.first_bad_id == ids[2]


def test_audit_detects_a_deleted_row(store: Store) -> None:
    log = AuditLog(store)
    ids = [log.append("ops", "x", None, {"i": i}) for i in range(4)]
    with store.begin() as c:
        c.execute(audit_log.delete().where(audit_log.c.id == ids[1]))
    assert log.verify().first_bad_id == ids[2]


def test_archive_dedupes_deliveries_and_strips_secrets(store: Store) -> None:
    a = PayloadArchive(store)
    first = a.put("shopify", "orders/create", "d-1", {"X-Shopify-Access-Token": "shpat_x", "X-A": "1"}, b"{}")
    again = a.put("shopify", "orders/create", "d-1", {}, b"{}")
    assert first[1] is True and again == (first[0], False)
    row = a.get(first[0])
    assert row is not None and "X-Shopify-Access-Token" not in row["headers"]
    assert [r["id"] for r in a.pending()] == [first[0]]
    a.mark(first[0], "processed")
    assert a.pending() == []
