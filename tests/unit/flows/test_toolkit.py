from retailconnect.canonical import Return, ReturnLine
from retailconnect.errors import RateLimitError, VendorRejectedError
from retailconnect.flows.returns import dispositions
from retailconnect.flows.toolkit import StepPolicy, explain


def test_explain_gives_plain_words_and_an_action():
    code, message, action = explain(VendorRejectedError("NetSuite has no item for SKU X-1"))
    assert code == "vendor_rejected" and "X-1" in message and "--retry" in action
    code, message, _ = explain(KeyError("lines"))
    assert code == "internal" and "KeyError" in message


def test_backoff_grows_and_honours_retry_after():
    p = StepPolicy(base_s=0.1, cap_s=2.0)
    assert p.backoff(1, None) <= 0.1
    assert 1.0 <= p.backoff(10, None) <= 2.0
    assert p.backoff(1, RateLimitError("429", retry_after=7.0)) >= 7.0
    assert p.backoff(1, RateLimitError("429", retry_after=999.0)) == p.max_retry_after_s


def test_dispositions_partial_return_and_refused_items():
    ret = Return(order_number="#1", lines=[ReturnLine(sku="A", quantity=2), ReturnLine(sku="B", quantity=1),
                                            ReturnLine(sku="C", quantity=1), ReturnLine(sku="D", quantity=1)])  # fmt: skip
    out = {d["sku"]: d for d in dispositions(ret, {"lines": [
        {"sku": "A", "quantity": 1, "condition": "new"},
        {"sku": "B", "quantity": 1, "condition": "damaged"},
        {"sku": "C", "quantity": 1, "condition": "opened", "disposition": "refused"},
    ]})}  # fmt: skip
    assert out["A"] == {**out["A"], "disposition": "restock", "quantity": 1, "requested": 2}
    assert out["B"]["disposition"] == "write_off" and out["B"]["quantity"] == 1
    assert out["C"]["disposition"] == "refused" and out["C"]["quantity"] == 0
    assert out["D"]["disposition"] == "refused" and out["D"]["condition"] == "missing"
