"""The store: one SQLAlchemy engine (SQLite WAL by default, PostgreSQL by URL), migrated on open."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config as AlembicConfig
from sqlalchemy.engine import Connection, Engine

from retailconnect.errors import StoreError

__all__ = ["DEFAULT_STORE_URL", "Store", "normalise_url"]

DEFAULT_STORE_URL = "sqlite:///.retailconnect/retailconnect.db"
_MIGRATIONS = Path(__file__).parent / "migrations"
_migrate_lock = threading.Lock()


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://") :]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Store:
    """Owns the engine. One transaction per unit of work: ``with store.begin() as conn: ...``."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    @classmethod
    def open(cls, url: str | None = None, *, migrate: bool = True, pool_size: int = 10) -> Store:
        url = normalise_url(url or DEFAULT_STORE_URL)
        kwargs: dict[str, Any] = {"future": True}
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1] if "///" in url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if path and path != ":memory:":  # file databases pool connections like PostgreSQL does
                kwargs["pool_size"] = pool_size
                kwargs["max_overflow"] = pool_size
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size
            kwargs["pool_pre_ping"] = True
        try:
            engine = sa.create_engine(url, **kwargs)
        except Exception as exc:
            raise StoreError(f"cannot open store {url!r}: {exc}") from exc
        if url.startswith("sqlite"):
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine, url)
        if migrate:
            store.migrate()
        return store

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> None:
        """Bring the schema to every head (each area keeps its own Alembic branch)."""
        from alembic import command

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        cfg.set_main_option("version_locations", str(_MIGRATIONS / "versions"))
        with _migrate_lock, self.engine.begin() as conn:
            if self.dialect == "postgresql":
                # serialise concurrent migrators (several processes starting at once)
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(724011)"))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()
