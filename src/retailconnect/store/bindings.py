"""Cross-reference bindings: canonical id <-> each system's id (implements connectors._kit.RefResolver)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from retailconnect.errors import ConflictError

from .db import Store
from .tables import bindings

__all__ = ["Bindings"]


class Bindings:
    def __init__(self, store: Store) -> None:
        self.store = store

    def bind(
        self, kind: str, system: str, canonical_id: str, external_id: str, conn: Connection | None = None
    ) -> None:
        """Record the pair; binding the same pair twice is a no-op; a conflicting pair raises."""
        canonical_id, external_id = str(canonical_id), str(external_id)
        if conn is None:
            with self.store.begin() as c:
                self._bind(c, kind, system, canonical_id, external_id)
        else:
            self._bind(conn, kind, system, canonical_id, external_id)

    def _bind(self, conn: Connection, kind: str, system: str, canonical_id: str, external_id: str) -> None:
        existing = conn.execute(
            sa.select(bindings.c.canonical_id, bindings.c.external_id).where(
                bindings.c.kind == kind,
                bindings.c.system == system,
                sa.or_(bindings.c.external_id == external_id, bindings.c.canonical_id == canonical_id),
            )
        ).all()
        for row in existing:
            if row.canonical_id == canonical_id and row.external_id == external_id:
                return
        if existing:
            row = existing[0]
            raise ConflictError(
                f"{kind} binding conflict in {system}: {canonical_id} <-> {external_id} "
                f"clashes with {row.canonical_id} <-> {row.external_id}",
                context={"kind": kind, "system": system},
            )
        conn.execute(
            bindings.insert().values(
                kind=kind,
                system=system,
                canonical_id=canonical_id,
                external_id=external_id,
                created_at=datetime.now(UTC),
            )
        )

    def to_internal(self, kind: str, system: str, external_id: str) -> str | None:
        with self.store.connect() as c:
            return c.execute(
                sa.select(bindings.c.canonical_id).where(
                    bindings.c.kind == kind,
                    bindings.c.system == system,
                    bindings.c.external_id == str(external_id),
                )
            ).scalar_one_or_none()

    def to_external(self, kind: str, system: str, canonical_id: str) -> str | None:
        with self.store.connect() as c:
            return c.execute(
                sa.select(bindings.c.external_id).where(
                    bindings.c.kind == kind,
                    bindings.c.system == system,
                    bindings.c.canonical_id == str(canonical_id),
                )
            ).scalar_one_or_none()

    def all_for(self, canonical_id: str) -> dict[str, str]:
        with self.store.connect() as c:
            rows = c.execute(
                sa.select(bindings.c.system, bindings.c.external_id).where(
                    bindings.c.canonical_id == str(canonical_id)
                )
            ).all()
        return {r.system: r.external_id for r in rows}
