"""The flows' toolkit over DBOS: named checkpoints with retry policies by error class, the correlation id
carried through every step, a readable step history, and parking on an exception case.

``await checkpoint(ctx, "post_sales_order", fn, policy=ERP_POLICY)``:

- runs ``fn`` inside one DBOS step (its result is recorded: after a crash the workflow replays it
  without calling the vendor again; the step in flight at the crash runs again, which is why every
  side effect carries an external id);
- *transient* errors (network, 5xx, 429, circuit open) are retried inside the step with exponential
  backoff, honouring Retry-After; the ERP policy keeps retrying for hours, so an outage buffers orders
  rather than failing them;
- a *business* error (anything not retryable) is not retried: the flow writes an exception record with
  business context and routing, and the workflow stops there ("parked"). Resolving the exception with
  ``retry`` rewinds the workflow to this very step; ``skip`` rewinds it too, and the step then returns
  :data:`SKIPPED` without calling ``fn``; ``cancel`` compensates.
- every attempt is in ``flow_steps`` (start, end, attempts, error) for ``retailconnect flows show``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from retailconnect.errors import FlowError, RetailConnectError, StoreError
from retailconnect.store.exception_queue import exceptions_table

from . import engine
from .context import current_correlation_id
from .services import FlowServices, current
from .tables import flow_steps

__all__ = [
    "DEFAULT_POLICY",
    "ERP_POLICY",
    "SKIPPED",
    "FlowContext",
    "FlowParked",
    "StepPolicy",
    "checkpoint",
    "explain",
    "step_history",
]

log = logging.getLogger("retailconnect.flows")
T = TypeVar("T")

SKIPPED = "__skipped__"


@dataclass(frozen=True)
class StepPolicy:
    max_attempts: int = 6
    base_s: float = 0.2
    cap_s: float = 10.0
    max_elapsed_s: float = 300.0
    max_retry_after_s: float = 120.0

    def backoff(self, attempt: int, exc: BaseException | None) -> float:
        ceiling = min(self.cap_s, self.base_s * (2 ** max(0, attempt - 1)))
        wait = random.uniform(ceiling / 2, ceiling)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            wait = max(wait, min(float(retry_after), self.max_retry_after_s))
        return wait


DEFAULT_POLICY = StepPolicy()
# An ERP outage must buffer, not fail: keep retrying transient errors for a day.
ERP_POLICY = StepPolicy(max_attempts=100_000, base_s=0.2, cap_s=15.0, max_elapsed_s=24 * 3600.0)
LOCAL_POLICY = StepPolicy(max_attempts=5, base_s=0.05, cap_s=1.0, max_elapsed_s=30.0)


class FlowParked(FlowError):
    """The flow stopped on an exception case; it resumes when a person resolves it."""

    code = "flow_parked"
    title = "Flow parked on an exception"


@dataclass
class FlowContext:
    """Who the flow is about: carried through every step, the events and the exception record."""

    workflow_id: str
    tenant: str
    correlation_id: str | None = None
    kind: str = "order"
    business: dict[str, Any] = field(default_factory=dict)  # order_number, customer, amount, systems
    # operator decisions (step -> retry | skip) for this run of the workflow, read once: a decision is
    # only ever made while the workflow is parked, and the run that follows builds a new context
    decisions: dict[str, str] | None = field(default=None, repr=False)

    @property
    def services(self) -> FlowServices:
        return current()


# -- history ------------------------------------------------------------------------------------------


async def _flush_history() -> None:
    """At the end of every workflow: its batched step-history rows (and any others gathered) are written
    before DBOS marks it finished, so whoever sees it finished sees its whole history."""
    try:
        svc = current()
    except Exception:
        return
    if svc.history is not None and svc.history.pending():
        await asyncio.to_thread(svc.history.flush)


engine.on_workflow_end(_flush_history)


def _decisions(svc: FlowServices, workflow_id: str) -> dict[str, str]:
    """The latest resolution per failed step of this workflow (one query per workflow run)."""
    t = exceptions_table
    with svc.store.connect() as c:
        rows = c.execute(
            sa.select(t.c.failed_step, t.c.resolution)
            .where(t.c.workflow_id == workflow_id, t.c.status == "resolved")
            .order_by(t.c.id)
        ).all()
    return {str(step): str(res) for step, res in rows if step and res}


def _history_final(
    svc: FlowServices,
    ctx: FlowContext,
    name: str,
    row: int | None,
    started_at: datetime,
    attempts: int,
    status: str,
    error: str | None,
) -> None:
    if row is not None:
        _history_update(svc, row, attempts=attempts, status=status, error=error, end=True)
        return
    values = dict(
        workflow_id=ctx.workflow_id,
        step=name,
        started_at=started_at,
        ended_at=datetime.now(UTC),
        attempts=attempts,
        status=status,
        error=error,
        correlation_id=ctx.correlation_id,
    )
    if svc.history is not None:
        if status == "ok":
            svc.history.add(values)  # a first-attempt success: written with the next batch
            return
        svc.history.flush()  # what happened before this row is written before it
    with svc.store.begin() as c:
        c.execute(flow_steps.insert().values(**values))


def _history_start(svc: FlowServices, ctx: FlowContext, name: str, started_at: datetime | None = None) -> int:
    if svc.history is not None:
        svc.history.flush()
    with svc.store.begin() as c:
        res = c.execute(
            flow_steps.insert().values(
                workflow_id=ctx.workflow_id,
                step=name,
                started_at=started_at or datetime.now(UTC),
                attempts=0,
                status="running",
                correlation_id=ctx.correlation_id,
            )
        )
        return int(res.inserted_primary_key[0])  # type: ignore[index]


def _history_update(
    svc: FlowServices, row_id: int, *, attempts: int, status: str, error: str | None, end: bool
) -> None:
    values: dict[str, Any] = {"attempts": attempts, "status": status, "error": error}
    if end:
        values["ended_at"] = datetime.now(UTC)
    with svc.store.begin() as c:
        c.execute(flow_steps.update().where(flow_steps.c.id == row_id).values(**values))


def step_history(store: Any, workflow_id: str) -> list[dict[str, Any]]:
    t = flow_steps
    with store.connect() as c:
        rows = c.execute(sa.select(t).where(t.c.workflow_id == workflow_id).order_by(t.c.id)).all()

    def _iso(v: datetime | None) -> str | None:
        if v is None:
            return None
        return (v if v.tzinfo else v.replace(tzinfo=UTC)).isoformat()

    return [
        {
            "step": r.step,
            "started_at": _iso(r.started_at),
            "ended_at": _iso(r.ended_at),
            "attempts": r.attempts,
            "status": r.status,
            "error": r.error,
            "correlation_id": r.correlation_id,
        }
        for r in rows
    ]


# -- explaining errors to people ------------------------------------------------------------------------

_ACTIONS: dict[str, str] = {
    "vendor_rejected": "Read the ERP's message, fix the record it names (customer, item, price, "
    "subsidiary) in the ERP or the channel, then resolve with --retry.",
    "vendor_auth_failed": "Renew the integration's credentials for this system, then resolve with --retry.",
    "unresolved_reference": "Create or map the missing item/customer in the ERP, then resolve with --retry.",
    "mapping_failed": "The data from the channel could not be converted; correct it at the source and "
    "resolve with --retry, or --skip if it was handled by hand.",
    "totals_mismatch": "The order's amounts do not add up; check discounts and tax in the channel.",
    "vendor_unavailable": "The system stayed unavailable past the retry window; check its status, then "
    "resolve with --retry.",
    "inspection_timeout": "The warehouse never reported the inspection; ask the warehouse, then resolve "
    "with --retry to wait again, or --skip to credit without inspection.",
}


def explain(exc: BaseException) -> tuple[str, str, str]:
    """(code, plain-words message, suggested action) for an error."""
    if isinstance(exc, RetailConnectError):
        code = exc.code
        message = exc.message
    else:
        code = "internal"
        message = f"unexpected {type(exc).__name__}: {exc}"
    action = _ACTIONS.get(code, "Look at the error and the order, fix the cause, then resolve with --retry.")
    return code, message, action


# -- checkpoints ----------------------------------------------------------------------------------------


async def checkpoint(
    ctx: FlowContext,
    name: str,
    fn: Callable[[], Awaitable[T]],
    *,
    policy: StepPolicy = DEFAULT_POLICY,
    system: str | None = None,
) -> T:
    """Run ``fn`` as the named durable step (see the module docstring). Returns its result or
    :data:`SKIPPED` after an operator chose ``skip``; raises :class:`FlowParked` on a business error."""

    async def _body() -> dict[str, Any]:
        svc = current()
        sid = engine.step_id()
        if ctx.decisions is None:
            ctx.decisions = await asyncio.to_thread(_decisions, svc, ctx.workflow_id)
        if ctx.decisions.get(name) == "skip":
            now = datetime.now(UTC)
            await asyncio.to_thread(
                _history_final, svc, ctx, name, None, now, 0, "skipped", "skipped by operator"
            )
            return {"ok": True, "value": SKIPPED}
        started_at = datetime.now(UTC)
        started = time.monotonic()
        row: int | None = None  # the history row is written once, unless the step has to retry
        attempt = 0
        while True:
            attempt += 1
            # the workflow task's own context: the vendor calls' spans name the order's correlation id
            current_correlation_id.set(ctx.correlation_id)
            try:
                value = await svc.run(fn)
            except (RetailConnectError, sa.exc.DBAPIError) as exc:
                retryable = exc.retryable if isinstance(exc, RetailConnectError) else True
                message = exc.message if isinstance(exc, RetailConnectError) else str(exc).splitlines()[0]
                err = f"{type(exc).__name__}: {message}"
                elapsed = time.monotonic() - started
                db_limit = isinstance(exc, sa.exc.DBAPIError) and attempt >= LOCAL_POLICY.max_attempts
                if (
                    retryable
                    and not db_limit
                    and attempt < policy.max_attempts
                    and elapsed < policy.max_elapsed_s
                ):
                    if row is None:
                        row = await asyncio.to_thread(_history_start, svc, ctx, name, started_at)
                    await asyncio.to_thread(
                        _history_update, svc, row, attempts=attempt, status="retrying", error=err, end=False
                    )
                    await asyncio.sleep(policy.backoff(attempt, exc))
                    continue
                await asyncio.to_thread(
                    _history_final, svc, ctx, name, row, started_at, attempt, "failed", err
                )
                failure = exc if isinstance(exc, RetailConnectError) else StoreError(err)
                return {"ok": False, "error": failure, "step_id": sid, "class": type(exc).__name__}
            except Exception as exc:
                err = f"{type(exc).__name__}: {exc}"
                log.error("step %s of %s crashed\n%s", name, ctx.workflow_id, traceback.format_exc())
                await asyncio.to_thread(
                    _history_final, svc, ctx, name, row, started_at, attempt, "failed", err
                )
                return {"ok": False, "error": FlowError(err), "step_id": sid, "class": type(exc).__name__}
            if row is None and svc.history is not None:  # no thread hop for a batched row
                _history_final(svc, ctx, name, None, started_at, attempt, "ok", None)
            else:
                await asyncio.to_thread(_history_final, svc, ctx, name, row, started_at, attempt, "ok", None)
            return {"ok": True, "value": value}

    outcome = await engine.run_step(name, _body)
    if outcome["ok"]:
        return outcome["value"]  # type: ignore[no-any-return]
    await park(ctx, name, outcome["error"], outcome.get("step_id"), outcome.get("class"), system=system)
    raise AssertionError("unreachable")  # pragma: no cover


async def park(
    ctx: FlowContext,
    step: str,
    error: BaseException,
    step_id: int | None,
    error_class: str | None = None,
    *,
    system: str | None = None,
) -> None:
    """Open the exception record (once) and stop the workflow (:class:`FlowParked`)."""
    code, message, action = explain(error)
    context = dict(ctx.business)
    if isinstance(error, RetailConnectError):
        for k, v in error.context.items():
            context.setdefault(k, v)
    if system:
        context.setdefault("system", system)
    context["correlation_id"] = ctx.correlation_id

    async def _open() -> int:
        svc = current()
        rec = await asyncio.to_thread(
            lambda: svc.exceptions.open(
                code=code,
                error_class=error_class or type(error).__name__,
                message=message,
                suggested_action=action,
                context=_jsonable(context),
                tenant=ctx.tenant,
                workflow_id=ctx.workflow_id,
                failed_step=step,
                failed_step_id=step_id,
            )
        )
        return rec.id

    exc_id = await engine.run_step(f"open_exception:{step}", _open)
    raise FlowParked(
        f"{ctx.workflow_id} parked at {step}: {message} (exception {exc_id})",
        context={"exception_id": exc_id, "step": step, "workflow_id": ctx.workflow_id, "code": code},
    )


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if v is None or isinstance(v, str | int | float | bool):
            out[k] = v
        elif isinstance(v, list | tuple):
            out[k] = [x if isinstance(x, str | int | float | bool) or x is None else str(x) for x in v]
        elif isinstance(v, dict):
            out[k] = _jsonable(v)
        else:
            out[k] = str(v)
    return out


async def audit(ctx: FlowContext, action: str, details: dict[str, Any]) -> None:
    """An audit entry as its own checkpoint (written once, not again on replay)."""

    async def _write() -> None:
        svc = current()
        await asyncio.to_thread(
            svc.audit.append,
            "flows",
            action,
            ctx.workflow_id,
            _jsonable({**details, "correlation_id": ctx.correlation_id}),
        )

    await engine.run_step(f"audit:{action}", _write)
