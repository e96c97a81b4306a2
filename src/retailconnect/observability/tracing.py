"""Tracing with the OpenTelemetry SDK: one trace per business transaction.

The gateway middleware opens the root span (with the correlation id), flow steps open child spans with
:meth:`Tracing.span`, and every connector HTTP call gets a client span from
:class:`~retailconnect.observability.http_hooks.InstrumentedTransport` (which also sends W3C
``traceparent`` to the vendor). The correlation id is copied onto every span started while it is in
context (attribute ``retailconnect.correlation_id``), so the dashboard can find a transaction's spans by it.

The tracer provider is owned by the hub (never installed as the global provider). Finished spans go to a
bounded in-process :class:`SpanStore` that the dashboard reads, and to OTLP/HTTP when an endpoint is
configured (``opentelemetry-exporter-otlp-proto-http``, the ``otlp`` extra).
"""

from __future__ import annotations

import contextvars
import threading
from collections import OrderedDict, deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from retailconnect.errors import ConfigError

__all__ = ["CORRELATION_ATTR", "SpanRecord", "SpanStore", "Tracing", "current_correlation_id"]

CORRELATION_ATTR = "retailconnect.correlation_id"
_correlation: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "retailconnect_correlation", default=None
)
_propagator = TraceContextTextMapPropagator()


def current_correlation_id() -> str | None:
    return _correlation.get()


@dataclass(frozen=True)
class SpanRecord:
    """A finished span as the dashboard shows it."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    start: datetime
    end: datetime
    status: str
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def duration_ms(self) -> float:
        return (self.end - self.start).total_seconds() * 1000.0

    @property
    def correlation_id(self) -> str | None:
        v = self.attributes.get(CORRELATION_ATTR)
        return str(v) if v is not None else None


def _ns(ts: int | None) -> datetime:
    return datetime.fromtimestamp((ts or 0) / 1e9, UTC)


def _record(span: ReadableSpan) -> SpanRecord:
    ctx = span.get_span_context()
    parent = span.parent
    return SpanRecord(
        trace_id=format(ctx.trace_id if ctx else 0, "032x"),
        span_id=format(ctx.span_id if ctx else 0, "016x"),
        parent_id=format(parent.span_id, "016x") if parent else None,
        name=span.name,
        kind=span.kind.name.lower(),
        start=_ns(span.start_time),
        end=_ns(span.end_time),
        status=span.status.status_code.name.lower(),
        attributes=dict(span.attributes or {}),
        events=[{"name": e.name, "attributes": dict(e.attributes or {})} for e in span.events],
    )


class SpanStore(SpanExporter):
    """Bounded in-process store of finished spans, indexed by trace and by correlation id."""

    def __init__(self, capacity: int = 5000) -> None:
        self.capacity = capacity
        self._spans: deque[SpanRecord] = deque(maxlen=capacity)
        self._by_correlation: OrderedDict[str, set[str]] = OrderedDict()
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            for s in spans:
                rec = _record(s)
                self._spans.append(rec)
                cid = rec.correlation_id
                if cid:
                    self._by_correlation.setdefault(cid, set()).add(rec.trace_id)
                    self._by_correlation.move_to_end(cid)
                    while len(self._by_correlation) > self.capacity:
                        self._by_correlation.popitem(last=False)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def all(self) -> list[SpanRecord]:
        with self._lock:
            return list(self._spans)

    def trace(self, trace_id: str) -> list[SpanRecord]:
        with self._lock:
            return sorted((s for s in self._spans if s.trace_id == trace_id), key=lambda s: s.start)

    def by_correlation(self, correlation_id: str) -> list[SpanRecord]:
        with self._lock:
            traces = self._by_correlation.get(correlation_id, set())
            return sorted(
                (s for s in self._spans if s.trace_id in traces or s.correlation_id == correlation_id),
                key=lambda s: s.start,
            )

    def traceparent_for(self, correlation_id: str) -> str | None:
        """The W3C traceparent of the first root span seen for a correlation id (to join its trace)."""
        with self._lock:
            if correlation_id not in self._by_correlation:
                return None
            root = next(
                (s for s in self._spans if s.parent_id is None and s.correlation_id == correlation_id), None
            )
        return f"00-{root.trace_id}-{root.span_id}-01" if root else None

    def recent_roots(self, limit: int = 50) -> list[SpanRecord]:
        with self._lock:
            roots = [s for s in self._spans if s.parent_id is None]
        return sorted(roots, key=lambda s: s.start, reverse=True)[:limit]


class _CorrelationProcessor(SpanProcessor):
    """Stamps the correlation id in context on every span when it starts."""

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:  # type: ignore[override]
        cid = _correlation.get()
        if cid and span.is_recording():
            span.set_attribute(CORRELATION_ATTR, cid)

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class Tracing:
    """The hub's tracer provider, span store and helpers."""

    def __init__(
        self,
        service_name: str = "retailconnect",
        *,
        otlp_endpoint: str | None = None,
        otlp_headers: Mapping[str, str] | None = None,
        store_capacity: int = 5000,
        exporters: Sequence[SpanExporter] = (),
    ) -> None:
        self.provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        self.provider.add_span_processor(_CorrelationProcessor())
        self.store = SpanStore(store_capacity)
        self.provider.add_span_processor(SimpleSpanProcessor(self.store))
        for exp in exporters:
            self.provider.add_span_processor(SimpleSpanProcessor(exp))
        if otlp_endpoint:
            try:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            except ImportError as exc:  # pragma: no cover - depends on the optional extra
                raise ConfigError(
                    "tracing.otlp_endpoint is set but opentelemetry-exporter-otlp-proto-http is not installed "
                    "(pip install 'retailconnect[otlp]')"
                ) from exc
            self.provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint, headers=dict(otlp_headers or {})))
            )
        self.tracer = self.provider.get_tracer("retailconnect")

    @contextmanager
    def span(
        self,
        name: str,
        *,
        correlation_id: str | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, Any] | None = None,
        traceparent: str | None = None,
    ) -> Iterator[Span]:
        """A span; ``traceparent`` continues a trace started elsewhere (an event, another process).

        Errors raised inside are recorded on the span (with their ``code``) and re-raised."""
        token = _correlation.set(correlation_id) if correlation_id else None
        parent_ctx = _propagator.extract({"traceparent": traceparent}) if traceparent else None
        try:
            with self.tracer.start_as_current_span(
                name,
                context=parent_ctx,
                kind=kind,
                attributes=dict(attributes or {}),
                record_exception=False,
                set_status_on_exception=False,
            ) as sp:
                try:
                    yield sp
                except BaseException as exc:
                    code = getattr(exc, "code", None)
                    sp.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}"))
                    sp.add_event(
                        "exception",
                        {
                            "exception.type": type(exc).__name__,
                            **({"retailconnect.error_code": code} if code else {}),
                        },
                    )
                    raise
        finally:
            if token is not None:
                _correlation.reset(token)

    @contextmanager
    def correlation(self, correlation_id: str | None) -> Iterator[None]:
        """Put a correlation id in context (spans started inside carry it)."""
        token = _correlation.set(correlation_id)
        try:
            yield
        finally:
            _correlation.reset(token)

    def current_traceparent(self) -> str | None:
        """The W3C traceparent of the current span, to carry in an event or workflow input."""
        carrier: dict[str, str] = {}
        _propagator.inject(carrier)
        return carrier.get("traceparent")

    def inject(self, headers: dict[str, str]) -> dict[str, str]:
        _propagator.inject(headers)
        return headers

    def shutdown(self) -> None:
        self.provider.shutdown()
