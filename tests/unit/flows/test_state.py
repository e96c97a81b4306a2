import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "integration" / "flows"))

from _harness import make_order

from retailconnect.flows.steps import state
from retailconnect.store import Store

WF = "order:acme:shopify:1"


def test_out_of_order_events_fold_into_one_row(sqlite_url):
    store = Store.open(sqlite_url)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    paid_first = make_order(1, updated_at=t0 + timedelta(minutes=5))
    created, changed, row = state.record_order(store, WF, tenant="acme", channel="shopify", external_id="1",
                                               order=paid_first, correlation_id="c", fact={"type": "paid", "amount": None})  # fmt: skip
    assert created and row.paid and row.pending == [{"type": "paid", "amount": None}]
    # the (older) create webhook arrives late: kept version stays, nothing new
    created, changed, row = state.record_order(store, WF, tenant="acme", channel="shopify", external_id="1",
                                               order=make_order(1, updated_at=t0), correlation_id="c")  # fmt: skip
    assert not created and not changed
    assert row.order_json["updated_at"].startswith("2026-01-01T00:05")
    # the same paid webhook again: not a second fact
    _, changed, row = state.record_order(store, WF, tenant="acme", channel="shopify", external_id="1",
                                         order=None, correlation_id="c", fact={"type": "paid", "amount": None})  # fmt: skip
    assert not changed and len(row.pending) == 1
    # an edit after the create: newer version kept
    edited = make_order(1, updated_at=t0 + timedelta(minutes=9), qty=3)
    _, changed, row = state.record_order(store, WF, tenant="acme", channel="shopify", external_id="1",
                                         order=edited, correlation_id="c")  # fmt: skip
    assert changed and row.order().lines[0].quantity == 3
    posted = state.mark_posted(store, WF, "SO-9")
    assert posted.posted and posted.erp_id == "SO-9" and posted.status == "accepted"
    after = state.add_fact(store, WF, {"type": "cancelled"})
    assert after is not None and after.cancelled and after.posted
    assert state.add_fact(store, "order:acme:shopify:404", {"type": "paid"}) is None
    store.close()
