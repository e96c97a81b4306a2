"""Append-only, tamper-evident audit log: each row carries the hash of the previous one.

``hash = sha256(prev_hash | at | actor | action | target | details)``; :meth:`AuditLog.verify` walks the
chain and reports the first row whose stored hash or link does not match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .db import Store
from .idempotency import _sqlite_datetime
from .tables import audit_log

__all__ = ["GENESIS", "AuditEntry", "AuditLog", "AuditVerification"]

GENESIS = "0" * 64


# (actor, action, target, details): one entry for AuditLog.append_many
AuditEntry = tuple[str, str, str | None, Mapping[str, Any] | None]


def _canonical_json(details: Mapping[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)


def _row_hash(prev: str, at: datetime, actor: str, action: str, target: str | None, details: str) -> str:
    at_s = at.astimezone(UTC).isoformat() if at.tzinfo else at.replace(tzinfo=UTC).isoformat()
    payload = "|".join([prev, at_s, actor, action, target or "", details])
    return hashlib.sha256(payload.encode()).hexdigest()


_HEAD = sa.select(audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
_INSERT = audit_log.insert()
_RAW_HEAD = "SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1"
_RAW_INSERT = (
    "INSERT INTO audit_log (at, actor, action, target, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    first_bad_id: int | None
    checked: int
    reason: str | None = None


class AuditLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    def append(
        self,
        actor: str,
        action: str,
        target: str | None = None,
        details: dict[str, Any] | None = None,
        conn: Connection | None = None,
    ) -> int:
        if conn is None:
            with self.store.begin() as c:
                return self._append(c, actor, action, target, details or {})
        return self._append(conn, actor, action, target, details or {})

    def append_many(self, entries: Iterable[AuditEntry], conn: Connection | None = None) -> int:
        """Append entries in order with one read of the chain head and one multi-row insert; each row
        links to the one before, exactly as that many ``append`` calls would. Returns the count."""
        if conn is None:
            with self.store.begin() as c:
                return self._append_many(c, entries)
        return self._append_many(conn, entries)

    def _append_many(self, c: Connection, entries: Iterable[AuditEntry]) -> int:
        prev = self._head(c)
        rows: list[dict[str, Any]] = []
        for actor, action, target, details in entries:
            at = datetime.now(UTC)
            body = _canonical_json(details or {})
            digest = _row_hash(prev, at, actor, action, target, body)
            rows.append(
                {"at": at, "actor": actor, "action": action, "target": target, "details": body,
                 "prev_hash": prev, "hash": digest}
            )  # fmt: skip
            prev = digest
        if rows:
            if self.store.dialect == "sqlite":  # the driver connection, same transaction: no Core overhead
                cur = c.connection.driver_connection.executemany(  # type: ignore[union-attr]
                    _RAW_INSERT,
                    [
                        (_sqlite_datetime(r["at"]), r["actor"], r["action"], r["target"], r["details"],
                         r["prev_hash"], r["hash"])
                        for r in rows
                    ],
                )  # fmt: skip
                cur.close()
            else:
                c.execute(_INSERT, rows)
        return len(rows)

    def _head(self, c: Connection) -> str:
        """The last row's hash, with the chain locked for this transaction (SQLite: its write lock)."""
        if self.store.dialect != "sqlite":
            if self.store.dialect == "postgresql":
                c.execute(sa.text("SELECT pg_advisory_xact_lock(724012)"))
            prev: str | None = c.execute(_HEAD).scalar()
        else:
            cur = c.connection.driver_connection.execute(_RAW_HEAD)  # type: ignore[union-attr]
            row = cur.fetchone()
            cur.close()
            prev = row[0] if row else None
        return prev or GENESIS

    def _append(
        self, c: Connection, actor: str, action: str, target: str | None, details: dict[str, Any]
    ) -> int:
        prev = self._head(c)
        at = datetime.now(UTC)
        body = _canonical_json(details)
        h = _row_hash(prev, at, actor, action, target, body)
        res = c.execute(
            audit_log.insert().values(
                at=at, actor=actor, action=action, target=target, details=body, prev_hash=prev, hash=h
            )
        )
        return int(res.inserted_primary_key[0])  # type: ignore[index]

    def entries(self, target: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        q = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if target is not None:
            q = q.where(audit_log.c.target == target)
        with self.store.connect() as c:
            rows = c.execute(q).all()
        return [
            {
                "id": r.id,
                "at": r.at,
                "actor": r.actor,
                "action": r.action,
                "target": r.target,
                "details": json.loads(r.details),
            }
            for r in rows
        ]

    def verify(self) -> AuditVerification:
        prev = GENESIS
        checked = 0
        with self.store.connect() as c:
            for r in c.execute(sa.select(audit_log).order_by(audit_log.c.id)):
                checked += 1
                if r.prev_hash != prev:
                    return AuditVerification(False, r.id, checked, "link to the previous row is broken")
                if _row_hash(prev, r.at, r.actor, r.action, r.target, r.details) != r.hash:
                    return AuditVerification(False, r.id, checked, "row content does not match its hash")
                prev = r.hash
        return AuditVerification(True, None, checked)
