from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from retailconnect.errors import VendorRejectedError
from retailconnect.observability.tracing import CORRELATION_ATTR, Tracing


def test_child_spans_share_the_trace_and_carry_the_correlation_id() -> None:
    mem = InMemorySpanExporter()
    t = Tracing(exporters=[mem])
    with t.span("POST /v1/orders", correlation_id="cid-1") as root:
        with t.span("flow.validate"):
            pass
        with pytest.raises(VendorRejectedError), t.span("flow.post_to_erp"):
            raise VendorRejectedError("credit hold")
    spans = {s.name: s for s in mem.get_finished_spans()}
    assert set(spans) == {"POST /v1/orders", "flow.validate", "flow.post_to_erp"}
    trace_ids = {s.context.trace_id for s in spans.values()}
    assert trace_ids == {root.get_span_context().trace_id}
    assert all(s.attributes[CORRELATION_ATTR] == "cid-1" for s in spans.values())
    failed = spans["flow.post_to_erp"]
    assert failed.status.status_code.name == "ERROR"
    assert failed.events[0].attributes["retailconnect.error_code"] == "vendor_rejected"
    # the in-process store indexes the transaction by correlation id
    assert [s.name for s in t.store.by_correlation("cid-1")] == [
        "POST /v1/orders",
        "flow.validate",
        "flow.post_to_erp",
    ]
    assert t.store.recent_roots()[0].name == "POST /v1/orders"


def test_traceparent_continues_a_trace_started_elsewhere() -> None:
    t = Tracing()
    with t.span("gateway", correlation_id="c2"):
        tp = t.current_traceparent()
    assert tp is not None
    with t.span("worker step", traceparent=tp, correlation_id="c2"):
        pass
    spans = t.store.by_correlation("c2")
    assert len({s.trace_id for s in spans}) == 1
    assert spans[1].parent_id == spans[0].span_id


def test_span_store_is_bounded() -> None:
    t = Tracing(store_capacity=10)
    for i in range(25):
        with t.span(f"s{i}", correlation_id=f"c{i}"):
            pass
    assert len(t.store.all()) == 10
    assert t.store.by_correlation("c0") == []
    assert t.store.by_correlation("c24")[0].name == "s24"
