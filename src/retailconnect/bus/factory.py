"""Build a bus from a backend name (and the store), or from the topology file."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from retailconnect.errors import ConfigError

from .api import EventBus

__all__ = ["bus_from_topology", "open_bus", "sql_engine"]

BACKENDS = ("sqlite", "postgres", "nats")


def sql_engine(url: str) -> Engine:
    """An engine for a bus that does not share the store's (SQLite in WAL mode, or PostgreSQL/psycopg)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        eng = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(eng, "connect")
        def _pragmas(dbapi_conn: Any, _rec: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return eng
    return sa.create_engine(url, pool_size=10, max_overflow=10)


def open_bus(backend: str, *, store: Any | None = None, url: str | None = None, **options: Any) -> EventBus:
    """``backend``: "sqlite" | "postgres" | "nats".

    - sqlite / postgres: the log lives in ``store``'s database (so ``bus.outbox`` shares business
      transactions), or in ``url``'s database when given without a store (tables are created then).
    - nats: ``url`` is the NATS server URL; with ``store`` the outbox table and its relay are enabled.
      Options: ``prefix`` (stream/subject prefix), ``duplicate_window``, ``ack_wait``, ``publish_timeout``.
    SQL options: ``poll_interval``, ``lease_seconds``.
    """
    if backend in ("sqlite", "postgres"):
        from .backends.postgres import PostgresBus
        from .backends.sqlite import SqliteBus

        want = "sqlite" if backend == "sqlite" else "postgresql"
        if store is not None and url is None:
            engine, owns, create = store.engine, False, False
        elif url is not None:
            engine, owns, create = sql_engine(url), True, True
        else:
            raise ConfigError(f"the {backend} bus needs a store or a database url")
        if engine.dialect.name != want:
            raise ConfigError(f"bus backend {backend!r} needs a {want} database, got {engine.dialect.name}")
        cls = SqliteBus if backend == "sqlite" else PostgresBus
        return cls(engine, owns_engine=owns, create_tables=create, **options)
    if backend == "nats":
        from .backends.nats import NatsBus

        if not url:
            raise ConfigError("the nats bus needs engines.bus.url (e.g. nats://127.0.0.1:4222)")
        return NatsBus(url, engine=store.engine if store is not None else None, **options)
    raise ConfigError(f"unknown bus backend {backend!r}; expected one of {', '.join(BACKENDS)}")


def bus_from_topology(topo: Any, store: Any | None) -> EventBus:
    """The bus the topology file selects (``engines.bus.backend`` / ``engines.bus.url``)."""
    bus_cfg = topo.engines.bus
    backend = bus_cfg.backend
    url = getattr(bus_cfg, "url", None)
    options = dict(getattr(bus_cfg, "options", None) or {})
    if backend == "nats" and getattr(bus_cfg, "stream", None):
        options.setdefault("prefix", bus_cfg.stream)
    if backend in ("sqlite", "postgres") and store is not None and url is not None:
        store_url = str(getattr(topo.engines, "store_url", "") or "")
        if store_url and store_url == url:
            url = None  # same database as the store: share its engine (outbox in one transaction)
    return open_bus(backend, store=store, url=url, **options)
