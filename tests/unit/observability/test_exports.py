"""Pins the public surface of observability and dashboard (a change here is a deliberate API change)."""

import importlib

import pytest

PUBLIC = {
    "retailconnect.observability": [
        "AlertNotice", "BreakerState", "ConsumerGroupState", "DriftEntry", "DriftRecorder", "HubMetrics",
        "HubSnapshot", "InstrumentedTransport", "MetricsMiddleware", "Observability", "PendingOrder",
        "SlaEvaluator", "SpanRecord", "SpanStore", "Tracing", "configure_logging", "get_logger", "redact",
        "snapshot_from_hub",
    ],
    "retailconnect.dashboard": ["OrderWatcher", "create_dashboard_router", "observability_for"],
    "retailconnect.connectors._kit.drift": [
        "DriftChecked", "DriftSink", "check_drift", "check_keys", "drift_context", "model_drift",
    ],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_exported_members(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PUBLIC[module])
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name} is listed in __all__ but missing"
