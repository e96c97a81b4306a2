"""Operator actions from outside a worker (the CLI): the store plus a DBOS client on the system
database. The same decisions as the hub's async ones in :mod:`.ingest`, for processes without DBOS."""

from __future__ import annotations

import time
from typing import Any

from retailconnect.errors import ConflictError, InputError, NotFoundError
from retailconnect.store import AuditLog, Store
from retailconnect.store.exception_queue import ExceptionQueue

from .engine import EngineClient
from .steps import state
from .toolkit import step_history

__all__ = ["Operator"]


class Operator:
    def __init__(
        self, store: Store, client: EngineClient, exceptions: ExceptionQueue, erp_queue: str
    ) -> None:
        self.store = store
        self.client = client
        self.exceptions = exceptions
        self.audit = AuditLog(store)
        self.erp_queue = erp_queue

    def list(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return [w.as_dict() for w in self.client.workflows(status=status, limit=limit)]

    def show(self, workflow_id: str) -> dict[str, Any]:
        info = self.client.status(workflow_id)
        if info is None:
            raise NotFoundError(f"no workflow {workflow_id}", context={"workflow_id": workflow_id})
        out: dict[str, Any] = {**info.as_dict(), "steps": step_history(self.store, workflow_id)}
        related = sorted(
            self.client.workflows(prefix=workflow_id + ":", limit=200), key=lambda w: w.workflow_id
        )
        out["continuations"] = [
            {**w.as_dict(), "steps": step_history(self.store, w.workflow_id)} for w in related
        ]
        out["exceptions"] = [e.as_dict() for e in self.exceptions.list(status=None, workflow_id=workflow_id)]
        row = state.get_order_row(self.store, workflow_id)
        out["order"] = None if row is None else {
            "status": row.status, "erp_id": row.erp_id, "posted": row.posted, "cancelled": row.cancelled, "paid": row.paid,
        }  # fmt: skip
        return out

    def retry(self, workflow_id: str, actor: str = "cli") -> str:
        open_exc = self.exceptions.list(status="open", workflow_id=workflow_id)
        if open_exc:
            self.resolve(open_exc[0].id, "retry", actor)
            return f"resolved exception {open_exc[0].id} with retry"
        info = self.client.status(workflow_id)
        if info is None:
            raise NotFoundError(f"no workflow {workflow_id}", context={"workflow_id": workflow_id})
        if info.status in ("SUCCESS", "PENDING", "ENQUEUED"):
            raise ConflictError(f"workflow {workflow_id} is {info.status}: nothing to retry")
        if info.status == "CANCELLED":
            self.client.resume(workflow_id)
            how = "resumed"
        else:
            failed = next((s.step_id for s in self.client.steps(workflow_id) if s.error), 1)
            self.client.rewind(workflow_id, failed, queue=info.queue)
            how = f"rewound to step {failed}"
        self.audit.append(actor, "flow.retried", workflow_id, {"status": info.status, "how": how})
        return how

    def cancel(self, workflow_id: str, actor: str = "cli") -> None:
        info = self.client.status(workflow_id)
        if info is None:
            raise NotFoundError(f"no workflow {workflow_id}", context={"workflow_id": workflow_id})
        self.client.cancel(workflow_id)
        self.audit.append(actor, "flow.cancelled", workflow_id, {"status": info.status})

    def resolve(
        self, exc_id: int, action: str, actor: str = "cli", note: str | None = None
    ) -> dict[str, Any]:
        if action not in ("retry", "skip", "cancel"):
            raise InputError(f"unknown action {action!r}: use retry, skip or cancel")
        self.exceptions.get(exc_id)
        rec = self.exceptions.resolve(exc_id, action, actor, note)
        wf = rec.workflow_id
        if wf is None:
            return rec.as_dict()
        info = self.client.status(wf)
        for _ in range(100):  # the exception is recorded a moment before the workflow stops
            if info is None or info.status not in ("PENDING", "ENQUEUED") or action == "cancel":
                break
            time.sleep(0.1)
            info = self.client.status(wf)
        try:
            if (
                action in ("retry", "skip")
                and info is not None
                and info.status not in ("PENDING", "ENQUEUED", "SUCCESS")
            ):
                self.client.rewind(wf, rec.failed_step_id or 1, queue=info.queue)
            elif action == "cancel":
                if info is not None and info.status in ("PENDING", "ENQUEUED"):
                    self.client.cancel(wf)
                if wf.startswith("order:") and wf.count(":") == 3:
                    row = state.add_fact(self.store, wf, {"type": "cancelled"})
                    tenant = row.tenant if row else (rec.tenant or "default")
                    self.client.enqueue("order_cancel", self.erp_queue, f"{wf}:cancel", wf, tenant,
                                        rec.context.get("correlation_id"), priority=1)  # fmt: skip
        except Exception as exc:
            self.exceptions.reopen(exc_id, actor, f"could not {action}: {exc}")
            raise
        return rec.as_dict()
