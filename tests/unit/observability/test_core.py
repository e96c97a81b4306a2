from __future__ import annotations

from typing import Any

from retailconnect.observability import Observability, snapshot_from_hub


class Bus:
    async def stats(self) -> Any:
        return {"groups": {"wms": {"lag": 3, "in_flight": 1, "retried": 2}}, "latency_ms": {"p99": 12.0}}

    async def list_dead(self, group: str | None = None, limit: int = 100) -> list[Any]:
        class D:
            group = "wms"

        return [D(), D()]


class Hub:
    bus = Bus()

    def erp_status(self) -> dict[str, Any]:
        return {
            "netsuite": {
                "system": "netsuite",
                "breaker": "open",
                "rate_rps": 4.0,
            }
        }

    async def list_flows(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return [
            {"workflow_id": "order:a:s:1", "status": "ENQUEUED", "queue": "erp-netsuite"},
            {"workflow_id": "order:a:s:2", "status": "ENQUEUED", "queue": "erp-netsuite"},
            {"workflow_id": "order:a:s:3", "status": "SUCCESS", "queue": "flows"},
        ]

    class exceptions:
        @staticmethod
        def list(status: str | None = None) -> list[dict[str, Any]]:
            return [{"team": "finance"}, {"team": "finance"}, {"team": None}]


async def test_snapshot_gathers_every_source_and_tracks_open_time() -> None:
    open_since: dict = {}
    snap = await snapshot_from_hub(Hub(), open_since=open_since)
    assert snap.errors == []
    [g] = snap.groups
    assert (g.group, g.lag, g.pending, g.dead_letters, g.attempts) == ("wms", 3, 1, 2, 2)
    [b] = snap.breakers
    assert b.state == "open" and b.current_rate == 4.0 and b.queue_depth == 2 and b.opened_at is not None
    assert snap.flows == {"enqueued": 2, "success": 1}
    assert snap.exceptions_open == {"finance": 2, "unassigned": 1}
    again = await snapshot_from_hub(Hub(), open_since=open_since)
    assert again.breakers[0].opened_at == b.opened_at  # first seen open, kept


async def test_a_failing_source_is_reported_not_raised() -> None:
    class Broken(Hub):
        async def list_flows(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
            raise RuntimeError("db down")

    snap = await snapshot_from_hub(Broken())
    assert snap.errors == ["flows: RuntimeError"] and snap.groups


async def test_refresh_feeds_metrics_and_enrichers() -> None:
    obs = Observability()
    seen = []
    obs.attach(Hub(), enrich=[lambda snap: seen.append(snap.taken_at)])
    snap = await obs.refresh()
    assert seen == [snap.taken_at]
    assert obs.metrics.counter_value("retailconnect_erp_queue_depth_requests", {"system": "netsuite"}) == 2
    assert obs.metrics.counter_value("retailconnect_bus_dead_letters_events", {"group": "wms"}) == 2
