"""Scheduled batch sync for low-priority reference data (DBOS cron schedules, ERP tier 3).

Catalog and pricing register their jobs with :func:`register_batch_job`; the hub applies every
registered schedule at start. One concrete job ships now: ``erp_reference_refresh`` re-reads the items
and prices of recently ordered SKUs from the ERP into the guard's cache, at tier 3 so it never competes
with order capture.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from . import engine
from .services import FlowServices, current
from .steps.erp import TIER_BATCH
from .tables import flow_orders
from .toolkit import ERP_POLICY, FlowContext, checkpoint

__all__ = ["BatchJob", "batch_jobs", "batch_sync", "register_batch_job"]

JobFn = Callable[[FlowServices], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class BatchJob:
    name: str
    cron: str  # 5 or 6 fields (seconds first when 6)
    run: JobFn


_jobs: dict[str, BatchJob] = {}


def register_batch_job(name: str, cron: str, run: JobFn) -> None:
    _jobs[name] = BatchJob(name, cron, run)


def batch_jobs() -> dict[str, BatchJob]:
    return dict(_jobs)


@engine.workflow("batch_sync")
async def batch_sync(scheduled_at: datetime, context: Any) -> None:
    name = str((context or {}).get("job"))
    job = _jobs.get(name)
    if job is None:
        return
    ctx = FlowContext(f"batch:{name}:{scheduled_at.isoformat()}", tenant="*", kind="batch")
    await checkpoint(ctx, f"batch:{name}", lambda: job.run(current()), policy=ERP_POLICY)


async def refresh_reference_data(svc: FlowServices, *, limit: int = 200) -> dict[str, Any]:
    """Re-read item and price of the SKUs in the latest orders (tier 3, cache refreshed)."""

    def _skus() -> list[str]:
        with svc.store.connect() as c:
            rows = c.execute(
                sa.select(flow_orders.c.order_json).order_by(flow_orders.c.updated_at.desc()).limit(limit)
            ).all()
        seen: dict[str, None] = {}
        for (oj,) in rows:
            for ln in (oj or {}).get("lines", []):
                if ln.get("sku"):
                    seen.setdefault(ln["sku"], None)
        return list(seen)

    skus = await asyncio.to_thread(_skus)
    if svc.default_erp is None:
        return {"skus": 0}
    erp = svc.erp()
    items = prices = 0
    for sku in skus:
        erp.guard.cache.invalidate(("item", sku))
        erp.guard.cache.invalidate(("price", (sku, None)))
        item, _ = await erp.lookup_item(sku, tier=TIER_BATCH)
        price, _ = await erp.lookup_price(sku, tier=TIER_BATCH)
        items += item is not None
        prices += price is not None
    return {"skus": len(skus), "items": items, "prices": prices}


register_batch_job("erp_reference_refresh", "0 */15 * * * *", refresh_reference_data)
