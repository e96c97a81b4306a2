"""Operational visibility: metrics, traces, SLA alerts, contract drift, structured logs, redaction."""

from .core import Observability as Observability
from .core import snapshot_from_hub as snapshot_from_hub
from .drift import DriftEntry as DriftEntry
from .drift import DriftRecorder as DriftRecorder
from .http_hooks import InstrumentedTransport as InstrumentedTransport
from .http_hooks import MetricsMiddleware as MetricsMiddleware
from .logging import configure_logging as configure_logging
from .logging import get_logger as get_logger
from .metrics import HubMetrics as HubMetrics
from .redaction import redact as redact
from .sla import AlertNotice as AlertNotice
from .sla import SlaEvaluator as SlaEvaluator
from .state import BreakerState as BreakerState
from .state import ConsumerGroupState as ConsumerGroupState
from .state import HubSnapshot as HubSnapshot
from .state import PendingOrder as PendingOrder
from .tracing import SpanRecord as SpanRecord
from .tracing import SpanStore as SpanStore
from .tracing import Tracing as Tracing

__all__ = [
    "AlertNotice",
    "BreakerState",
    "ConsumerGroupState",
    "DriftEntry",
    "DriftRecorder",
    "HubMetrics",
    "HubSnapshot",
    "InstrumentedTransport",
    "MetricsMiddleware",
    "Observability",
    "PendingOrder",
    "SlaEvaluator",
    "SpanRecord",
    "SpanStore",
    "Tracing",
    "configure_logging",
    "get_logger",
    "redact",
    "snapshot_from_hub",
]
