"""Archive of inbound payloads (webhooks, pulls): kept raw for audit and replay, de-duplicated on the
vendor's delivery id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from .db import Store
from .tables import inbound_archive

__all__ = ["PayloadArchive"]

_SECRET_HEADERS = {"authorization", "x-shopify-access-token", "cookie", "x-api-key"}


class PayloadArchive:
    def __init__(self, store: Store) -> None:
        self.store = store

    def put(
        self,
        system: str,
        topic: str,
        delivery_id: str,
        headers: dict[str, str],
        body: bytes,
        tenant: str | None = None,
        correlation_id: str | None = None,
        conn: Connection | None = None,
    ) -> tuple[int, bool]:
        """Store the payload; returns (archive id, is_new). A repeated delivery id returns the first id."""
        clean = {k: v for k, v in headers.items() if k.lower() not in _SECRET_HEADERS}
        values = dict(
            received_at=datetime.now(UTC),
            system=system,
            topic=topic,
            delivery_id=delivery_id,
            tenant=tenant,
            correlation_id=correlation_id,
            headers=clean,
            body=body,
            status="received",
        )
        try:
            if conn is not None:
                with conn.begin_nested():
                    res = conn.execute(inbound_archive.insert().values(**values))
            else:
                with self.store.begin() as c:
                    res = c.execute(inbound_archive.insert().values(**values))
            return int(res.inserted_primary_key[0]), True  # type: ignore[index]
        except IntegrityError:
            with self.store.connect() as c:
                existing = c.execute(
                    sa.select(inbound_archive.c.id).where(
                        inbound_archive.c.system == system, inbound_archive.c.delivery_id == delivery_id
                    )
                ).scalar_one()
            return int(existing), False

    def get(self, archive_id: int) -> dict[str, Any] | None:
        with self.store.connect() as c:
            row = c.execute(
                sa.select(inbound_archive).where(inbound_archive.c.id == archive_id)
            ).one_or_none()
        return dict(row._mapping) if row else None

    def mark(self, archive_id: int, status: str, error: str | None = None) -> None:
        with self.store.begin() as c:
            c.execute(
                inbound_archive.update()
                .where(inbound_archive.c.id == archive_id)
                .values(status=status, error=error, processed_at=datetime.now(UTC))
            )

    def pending(self, limit: int = 500) -> list[dict[str, Any]]:
        """Archived deliveries not yet processed (for recovery after a crash)."""
        with self.store.connect() as c:
            rows = c.execute(
                sa.select(inbound_archive)
                .where(inbound_archive.c.status == "received")
                .order_by(inbound_archive.c.id)
                .limit(limit)
            ).all()
        return [dict(r._mapping) for r in rows]

    def search(self, text: str, limit: int = 50) -> list[dict[str, Any]]:
        with self.store.connect() as c:
            rows = c.execute(
                sa.select(inbound_archive)
                .where(
                    sa.or_(
                        inbound_archive.c.correlation_id == text,
                        inbound_archive.c.delivery_id == text,
                    )
                )
                .order_by(inbound_archive.c.id.desc())
                .limit(limit)
            ).all()
        return [dict(r._mapping) for r in rows]
