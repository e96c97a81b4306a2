"""Shared fixtures: a fresh SQLite file per test, and real local services (PostgreSQL, NATS, Redis).

Service-backed tests skip with a clear reason when the service is unreachable, unless
RETAILCONNECT_REQUIRE_SERVICES=1 (CI), where they fail instead.
"""

from __future__ import annotations

import os
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

# shared test kits importable by name (tests are not a package): tests/support/gateway_testkit.py
sys.path.insert(0, str(Path(__file__).with_name("support")))

REQUIRE = os.environ.get("RETAILCONNECT_REQUIRE_SERVICES") == "1"
PG_URL = os.environ.get("RETAILCONNECT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("RETAILCONNECT_TEST_NATS_URL", "nats://127.0.0.1:4222")
REDIS_URL = os.environ.get("RETAILCONNECT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(url: str, default_port: int) -> bool:
    u = urlparse(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or default_port), timeout=1.0):
            return True
    except OSError:
        return False


def need_service(name: str, url: str, default_port: int) -> None:
    if _reachable(url, default_port):
        return
    msg = f"{name} is not reachable at {url}"
    if REQUIRE:
        pytest.fail(f"{msg} and RETAILCONNECT_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(f"{msg} (start it, or set RETAILCONNECT_REQUIRE_SERVICES=1 to make this a failure)")


def sa_pg_url(url: str) -> str:
    """The SQLAlchemy URL (psycopg 3 driver) for a plain postgresql:// URL."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'retailconnect.db'}"


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A SQLAlchemy URL to the test PostgreSQL database, confined to a fresh schema dropped afterwards."""
    need_service("PostgreSQL", PG_URL, 5432)
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    base = sa_pg_url(PG_URL)
    eng = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with eng.connect() as c:
            c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        eng.dispose()


@pytest.fixture
def pg_url() -> str:
    need_service("PostgreSQL", PG_URL, 5432)
    return PG_URL


@pytest.fixture
def nats_url() -> str:
    need_service("NATS", NATS_URL, 4222)
    return NATS_URL


@pytest.fixture
def redis_url() -> str:
    need_service("Redis", REDIS_URL, 6379)
    return REDIS_URL


@pytest.fixture
def unique() -> str:
    """A short unique token for names on shared services (streams, key prefixes)."""
    return uuid.uuid4().hex[:10]
