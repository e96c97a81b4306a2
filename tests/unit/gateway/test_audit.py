"""Batched audit appends keep the hash chain valid; personal data is redacted."""

from __future__ import annotations

from retailconnect.gateway.audit import AuditWriter, redact
from retailconnect.gateway.batching import GroupCommitter


async def test_batches_interleaved_with_single_appends_verify(store, hub):
    committer = GroupCommitter(store)
    writer = AuditWriter(hub.audit, store, committer=committer, batch=20)
    hub.audit.append("lead", "before", None, {"n": 0})
    for i in range(45):
        writer.record("c", "api GET /v1/x", "/v1/x", {"i": i, "email": "a@b.co"})
    await writer.flush()
    hub.audit.append("lead", "after", None, {"n": 1})
    for i in range(3):
        writer.record("c", "api GET /v1/y", "/v1/y", {"i": i})
    await writer.flush()
    await committer.stop()
    v = hub.audit.verify()
    assert v.ok and v.checked == 50
    assert committer.batches >= 3
    assert all(e["details"].get("email") in (None, "[redacted]") for e in hub.audit.entries())


def test_redact_masks_personal_data_but_keeps_ids():
    out = redact(
        {
            "correlation_id": "4bf92f3577b34da6a3ce929d0e0e4736",
            "note": "call +1 415 555 0100 or mail jo@example.com",
            "customer": {"id": 1},
            "lines": [{"sku": "A-1", "phone": "555"}],
            "order": "B-1001",
        }
    )
    assert out["correlation_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert out["note"] == "call [phone] or mail [email]"
    assert out["customer"] == "[redacted]" and out["lines"][0] == {"sku": "A-1", "phone": "[redacted]"}
    assert out["order"] == "B-1001"
