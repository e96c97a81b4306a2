from __future__ import annotations

from retailconnect.bus.api import BusStats, GroupStats
from retailconnect.bus.stats import flatten


def test_flatten_names_every_figure_with_labels() -> None:
    st = BusStats(
        backend="sqlite",
        published=10,
        groups={"wms": GroupStats("wms", "order.*", lag=3, delivered=9, acked=7, retried=2, dead_lettered=1)},
        dead_letters=1,
        latency_ms={"p50": 1.5, "p90": 2.0, "p99": 4.0, "max": 9.0, "count": 7},
    )
    m = flatten(st)
    assert m['retailconnect_bus_consumer_lag{backend="sqlite",group="wms"}'] == 3
    assert m['retailconnect_bus_retries_total{backend="sqlite",group="wms"}'] == 2
    assert m['retailconnect_bus_dead_letters{backend="sqlite"}'] == 1
    assert m['retailconnect_bus_publish_to_ack_ms{backend="sqlite",quantile="p99"}'] == 4.0
    assert st.to_dict()["groups"]["wms"]["acked"] == 7
