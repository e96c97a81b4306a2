import pytest

from retailconnect.config import ExceptionRoute
from retailconnect.errors import ConflictError, InputError, NotFoundError
from retailconnect.store import AuditLog, Store
from retailconnect.store.exception_queue import ExceptionQueue, route_team

RULES = [
    ExceptionRoute(code="unresolved_reference", team="merchandising"),
    ExceptionRoute(code="vendor_rejected", system="netsuite", team="finance-ops"),
    ExceptionRoute(tenant="brand-b", team="brand-b-ops"),
    ExceptionRoute(team="integration"),
]


def test_routing_rules_first_match_wins():
    assert (
        route_team(
            RULES, code="vendor_rejected", error_class="VendorRejectedError", system="netsuite", tenant="a"
        )
        == "finance-ops"
    )
    assert (
        route_team(RULES, code="vendor_rejected", error_class="X", system="sap_s4", tenant="a")
        == "integration"
    )
    assert (
        route_team(RULES, code="mapping_failed", error_class="X", system=None, tenant="brand-b")
        == "brand-b-ops"
    )
    assert route_team([], code="x", error_class="X", system=None, tenant=None) == "integration"


def _open(q, **kw):
    base = dict(code="vendor_rejected", error_class="VendorRejectedError", message="NetSuite has no item SKU-9",
                suggested_action="create the item", context={"order_number": "#1", "system": "netsuite", "amount": "10.00 USD"},
                tenant="acme", workflow_id="order:acme:shopify:1", failed_step="post_sales_order", failed_step_id=7)  # fmt: skip
    base.update(kw)
    return q.open(**base)


def test_open_routes_dedupes_resolves_and_audits(sqlite_url):
    store = Store.open(sqlite_url)
    audit = AuditLog(store)
    q = ExceptionQueue(store, audit, rules=RULES)
    rec = _open(q)
    assert rec.team == "finance-ops" and rec.status == "open" and rec.failed_step_id == 7
    assert _open(q).id == rec.id  # the same parked step is one case
    assert [r.id for r in q.list(team="finance-ops")] == [rec.id]
    assert q.count_open() == 1
    with pytest.raises(InputError):
        q.resolve(rec.id, "ignore")
    done = q.resolve(rec.id, "skip", actor="ops@acme", note="entered by hand")
    assert (
        done.status == "resolved" and done.resolution == "skip" and done.notes[0]["text"] == "entered by hand"
    )
    assert q.decision("order:acme:shopify:1", "post_sales_order") == "skip"
    with pytest.raises(ConflictError):
        q.resolve(rec.id, "retry")
    with pytest.raises(NotFoundError):
        q.get(999)
    actions = [e["action"] for e in audit.entries(target=f"exception:{rec.id}")]
    assert actions == ["exception.resolved.skip", "exception.opened"]
    assert audit.verify().ok
    store.close()


def test_reopen_assign_and_note(sqlite_url):
    store = Store.open(sqlite_url)
    q = ExceptionQueue(store)
    rec = _open(q)
    q.resolve(rec.id, "retry")
    q.reopen(rec.id, "ops", "rewind failed")
    q.assign(rec.id, "alice")
    q.add_note(rec.id, "called the warehouse")
    got = q.get(rec.id)
    assert got.status == "open" and got.assignee == "alice" and len(got.notes) == 2
    assert got.as_dict()["created_at"].endswith("+00:00")
    store.close()
