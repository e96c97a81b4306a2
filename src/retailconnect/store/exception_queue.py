"""The exception queue: failures that retrying cannot fix, with the business context a person needs.

A record says what happened in plain words (order number, customer, amount, the systems involved, the
error, a suggested action), which team owns it (from the topology's routing rules), and which workflow
and step are parked on it. ``resolve(id, action=retry|skip|cancel)`` records the decision; acting on the
parked workflow is the flows' job (``runtime.Hub`` wires the two). Every change is audited.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa

from retailconnect.errors import ConflictError, InputError, NotFoundError

from .audit import AuditLog
from .db import Store

__all__ = ["ExceptionQueue", "ExceptionRecord", "RoutingRule", "exceptions_table", "route_team"]

_meta = sa.MetaData()
exceptions_table = sa.Table(
    "exceptions",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # open | resolved
    sa.Column("tenant", sa.String(80), nullable=True),
    sa.Column("team", sa.String(80), nullable=False),
    sa.Column("code", sa.String(80), nullable=False),
    sa.Column("error_class", sa.String(120), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("suggested_action", sa.Text, nullable=False),
    sa.Column("context", sa.JSON, nullable=False),
    sa.Column("workflow_id", sa.String(255), nullable=True),
    sa.Column("failed_step", sa.String(120), nullable=True),
    sa.Column("failed_step_id", sa.Integer, nullable=True),
    sa.Column("assignee", sa.String(120), nullable=True),
    sa.Column("notes", sa.JSON, nullable=False),
    sa.Column("resolution", sa.String(16), nullable=True),  # retry | skip | cancel
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("resolved_by", sa.String(120), nullable=True),
    sa.Index("ix_exceptions_status_team", "status", "team"),
    sa.Index("ix_exceptions_workflow", "workflow_id"),
)

Action = Literal["retry", "skip", "cancel"]


@dataclass(frozen=True)
class RoutingRule:
    team: str
    code: str | None = None
    error_class: str | None = None
    system: str | None = None
    tenant: str | None = None


def route_team(
    rules: Sequence[Any], *, code: str, error_class: str, system: str | None, tenant: str | None
) -> str:
    """The first rule whose set fields all match wins; ``integration`` when none does."""
    for r in rules:
        if r.code is not None and r.code != code:
            continue
        if r.error_class is not None and r.error_class != error_class:
            continue
        if r.system is not None and r.system != system:
            continue
        if r.tenant is not None and r.tenant != tenant:
            continue
        return str(r.team)
    return "integration"


@dataclass(frozen=True)
class ExceptionRecord:
    id: int
    created_at: datetime
    updated_at: datetime
    status: str
    tenant: str | None
    team: str
    code: str
    error_class: str
    message: str
    suggested_action: str
    context: dict[str, Any]
    workflow_id: str | None
    failed_step: str | None
    failed_step_id: int | None
    assignee: str | None
    notes: list[dict[str, Any]]
    resolution: str | None
    resolved_at: datetime | None
    resolved_by: str | None

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        for k in ("created_at", "updated_at", "resolved_at"):
            if d[k] is not None:
                d[k] = _aware(d[k]).isoformat()
        return d


def _aware(v: datetime) -> datetime:
    return v if v.tzinfo else v.replace(tzinfo=UTC)


def _row(r: Any) -> ExceptionRecord:
    def _j(v: Any) -> Any:
        return json.loads(v) if isinstance(v, str) else v

    return ExceptionRecord(
        id=r.id,
        created_at=_aware(r.created_at),
        updated_at=_aware(r.updated_at),
        status=r.status,
        tenant=r.tenant,
        team=r.team,
        code=r.code,
        error_class=r.error_class,
        message=r.message,
        suggested_action=r.suggested_action,
        context=_j(r.context) or {},
        workflow_id=r.workflow_id,
        failed_step=r.failed_step,
        failed_step_id=r.failed_step_id,
        assignee=r.assignee,
        notes=_j(r.notes) or [],
        resolution=r.resolution,
        resolved_at=_aware(r.resolved_at) if r.resolved_at else None,
        resolved_by=r.resolved_by,
    )


class ExceptionQueue:
    def __init__(self, store: Store, audit: AuditLog | None = None, rules: Sequence[Any] = ()) -> None:
        self.store = store
        self.audit = audit or AuditLog(store)
        self.rules = list(rules)

    def open(
        self,
        *,
        code: str,
        error_class: str,
        message: str,
        suggested_action: str,
        context: dict[str, Any],
        tenant: str | None = None,
        workflow_id: str | None = None,
        failed_step: str | None = None,
        failed_step_id: int | None = None,
        team: str | None = None,
        actor: str = "flows",
    ) -> ExceptionRecord:
        """Record a new exception (or return the open one already parked on the same workflow step)."""
        t = exceptions_table
        now = datetime.now(UTC)
        system = context.get("system")
        team = team or route_team(
            self.rules, code=code, error_class=error_class, system=system, tenant=tenant
        )
        with self.store.begin() as c:
            if workflow_id is not None:
                existing = c.execute(
                    sa.select(t).where(
                        t.c.workflow_id == workflow_id,
                        t.c.failed_step == failed_step,
                        t.c.status == "open",
                    )
                ).first()
                if existing is not None:
                    return _row(existing)
            res = c.execute(
                t.insert().values(
                    created_at=now,
                    updated_at=now,
                    status="open",
                    tenant=tenant,
                    team=team,
                    code=code,
                    error_class=error_class,
                    message=message,
                    suggested_action=suggested_action,
                    context=context,
                    workflow_id=workflow_id,
                    failed_step=failed_step,
                    failed_step_id=failed_step_id,
                    notes=[],
                )
            )
            new_id = int(res.inserted_primary_key[0])  # type: ignore[index]
            self.audit.append(
                actor,
                "exception.opened",
                f"exception:{new_id}",
                {"code": code, "team": team, "workflow_id": workflow_id, "step": failed_step},
                conn=c,
            )
            row = c.execute(sa.select(t).where(t.c.id == new_id)).one()
        return _row(row)

    def get(self, exc_id: int) -> ExceptionRecord:
        with self.store.connect() as c:
            row = c.execute(sa.select(exceptions_table).where(exceptions_table.c.id == exc_id)).first()
        if row is None:
            raise NotFoundError(f"exception {exc_id} does not exist", context={"exception_id": exc_id})
        return _row(row)

    def list(
        self,
        status: str | None = "open",
        team: str | None = None,
        tenant: str | None = None,
        workflow_id: str | None = None,
        limit: int = 200,
    ) -> list[ExceptionRecord]:
        t = exceptions_table
        q = sa.select(t).order_by(t.c.id.desc()).limit(limit)
        if status:
            q = q.where(t.c.status == status)
        if team:
            q = q.where(t.c.team == team)
        if tenant:
            q = q.where(t.c.tenant == tenant)
        if workflow_id:
            q = q.where(t.c.workflow_id == workflow_id)
        with self.store.connect() as c:
            return [_row(r) for r in c.execute(q)]

    def count_open(self) -> int:
        t = exceptions_table
        with self.store.connect() as c:
            return int(c.execute(sa.select(sa.func.count()).where(t.c.status == "open")).scalar() or 0)

    def decision(self, workflow_id: str, step: str) -> str | None:
        """The latest resolution recorded for that workflow step (``skip`` lets a retried flow pass it)."""
        t = exceptions_table
        with self.store.connect() as c:
            return c.execute(
                sa.select(t.c.resolution)
                .where(t.c.workflow_id == workflow_id, t.c.failed_step == step, t.c.status == "resolved")
                .order_by(t.c.id.desc())
                .limit(1)
            ).scalar()

    def resolve(
        self, exc_id: int, action: str, actor: str = "operator", note: str | None = None
    ) -> ExceptionRecord:
        if action not in ("retry", "skip", "cancel"):
            raise InputError(f"unknown action {action!r}: use retry, skip or cancel")
        t = exceptions_table
        now = datetime.now(UTC)
        with self.store.begin() as c:
            row = c.execute(sa.select(t).where(t.c.id == exc_id)).first()
            if row is None:
                raise NotFoundError(f"exception {exc_id} does not exist", context={"exception_id": exc_id})
            if row.status != "open":
                raise ConflictError(
                    f"exception {exc_id} is already resolved ({row.resolution})",
                    context={"exception_id": exc_id},
                )
            notes = list(_row(row).notes)
            if note:
                notes.append({"at": now.isoformat(), "by": actor, "text": note})
            c.execute(
                t.update()
                .where(t.c.id == exc_id)
                .values(
                    status="resolved",
                    resolution=action,
                    resolved_at=now,
                    resolved_by=actor,
                    updated_at=now,
                    notes=notes,
                )
            )
            self.audit.append(
                actor,
                f"exception.resolved.{action}",
                f"exception:{exc_id}",
                {"workflow_id": row.workflow_id, "step": row.failed_step, "note": note},
                conn=c,
            )
            row = c.execute(sa.select(t).where(t.c.id == exc_id)).one()
        return _row(row)

    def reopen(self, exc_id: int, actor: str, reason: str) -> None:
        """Put a resolution back (acting on it failed), keeping the reason as a note."""
        t = exceptions_table
        rec = self.get(exc_id)
        now = datetime.now(UTC)
        notes = [*rec.notes, {"at": now.isoformat(), "by": actor, "text": reason}]
        with self.store.begin() as c:
            c.execute(
                t.update()
                .where(t.c.id == exc_id)
                .values(
                    status="open",
                    resolution=None,
                    resolved_at=None,
                    resolved_by=None,
                    notes=notes,
                    updated_at=now,
                )
            )
            self.audit.append(actor, "exception.reopened", f"exception:{exc_id}", {"reason": reason}, conn=c)

    def assign(self, exc_id: int, assignee: str, actor: str = "operator") -> None:
        t = exceptions_table
        self.get(exc_id)
        with self.store.begin() as c:
            c.execute(
                t.update().where(t.c.id == exc_id).values(assignee=assignee, updated_at=datetime.now(UTC))
            )
            self.audit.append(
                actor, "exception.assigned", f"exception:{exc_id}", {"assignee": assignee}, conn=c
            )

    def add_note(self, exc_id: int, text: str, actor: str = "operator") -> None:
        t = exceptions_table
        rec = self.get(exc_id)
        now = datetime.now(UTC)
        notes = [*rec.notes, {"at": now.isoformat(), "by": actor, "text": text}]
        with self.store.begin() as c:
            c.execute(t.update().where(t.c.id == exc_id).values(notes=notes, updated_at=now))
            self.audit.append(actor, "exception.note", f"exception:{exc_id}", {"text": text}, conn=c)
