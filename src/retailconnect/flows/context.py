"""Who a vendor call made inside a durable workflow works for, for the HTTP instrumentation.

The request's own context (the gateway's correlation id) is gone once DBOS runs the workflow, so the
instrumented transports ask :class:`WorkflowContext`: the workflow's id (DBOS keeps it in a context
variable, which crosses the hop to the hub's loop) and the correlation id of the order it works for,
set by the flow's checkpoint for the step in progress, else read once from the order's row (cached).
"""

from __future__ import annotations

import contextvars
from collections import OrderedDict
from typing import Any

import sqlalchemy as sa

from .tables import flow_orders

__all__ = ["WorkflowContext", "current_correlation_id"]

UNSET = "\x00unset"
# set by the checkpoint of the step in progress (to the order's correlation id, None when it has none)
current_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "retailconnect_flow_correlation_id", default=UNSET
)


class WorkflowContext:
    """``ctx()`` -> ``{"workflow_id", "correlation_id"}`` inside a durable workflow, ``{}`` outside."""

    def __init__(self, store: Any, size: int = 10_000) -> None:
        self.store = store
        self.size = size
        self._cids: OrderedDict[str, str | None] = OrderedDict()

    def __call__(self) -> dict[str, str | None]:
        try:
            from .engine import workflow_id

            wid = workflow_id()
        except Exception:
            return {}
        if not wid:
            return {}
        cid = current_correlation_id.get()
        return {"workflow_id": wid, "correlation_id": self._correlation(wid) if cid == UNSET else cid}

    def _correlation(self, wid: str) -> str | None:
        key = ":".join(wid.split(":")[:4]) if wid.startswith("order:") else wid
        if key in self._cids:
            return self._cids[key]
        with self.store.engine.connect() as c:
            cid = c.execute(
                sa.select(flow_orders.c.correlation_id).where(flow_orders.c.workflow_id == key)
            ).scalar()
        self._cids[key] = cid
        while len(self._cids) > self.size:
            self._cids.popitem(last=False)
        return cid
