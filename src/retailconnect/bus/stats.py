"""The figures the observability layer exports (``BusStats`` / ``GroupStats`` from ``api.py``).

``await bus.stats()`` returns a ``BusStats``; ``flatten`` turns it into metric name -> value pairs
(Prometheus-style names, labels folded in as ``{group="..."}``) for exporters that want a flat map."""

from __future__ import annotations

from .api import BusStats, GroupStats

__all__ = ["BusStats", "GroupStats", "flatten"]


def flatten(st: BusStats) -> dict[str, float]:
    out: dict[str, float] = {
        f'retailconnect_bus_published_total{{backend="{st.backend}"}}': float(st.published),
        f'retailconnect_bus_dead_letters{{backend="{st.backend}"}}': float(st.dead_letters),
    }
    for g in st.groups.values():
        lab = f'{{backend="{st.backend}",group="{g.group}"}}'
        out[f"retailconnect_bus_consumer_lag{lab}"] = float(g.lag)
        out[f"retailconnect_bus_deliveries_total{lab}"] = float(g.delivered)
        out[f"retailconnect_bus_acks_total{lab}"] = float(g.acked)
        out[f"retailconnect_bus_retries_total{lab}"] = float(g.retried)
        out[f"retailconnect_bus_dead_lettered_total{lab}"] = float(g.dead_lettered)
        out[f"retailconnect_bus_in_flight{lab}"] = float(g.in_flight)
    for q in ("p50", "p90", "p99", "max"):
        if q in st.latency_ms:
            out[f'retailconnect_bus_publish_to_ack_ms{{backend="{st.backend}",quantile="{q}"}}'] = (
                st.latency_ms[q]
            )
    return out
