from __future__ import annotations

import pytest

from retailconnect.bus.backends.nats import NatsBus
from retailconnect.bus.backends.postgres import PostgresBus
from retailconnect.bus.backends.sqlite import SqliteBus
from retailconnect.bus.factory import bus_from_topology, open_bus
from retailconnect.config import parse_topology
from retailconnect.errors import BusError, ConfigError
from retailconnect.store import Store


def test_open_bus_picks_the_backend(sqlite_url: str) -> None:
    store = Store.open(sqlite_url)
    try:
        bus = open_bus("sqlite", store=store)
        assert isinstance(bus, SqliteBus) and bus.engine is store.engine
        nb = open_bus("nats", store=store, url="nats://127.0.0.1:1", prefix="x")
        assert isinstance(nb, NatsBus) and nb.stream == "X_EVENTS" and nb.relay is not None
        with pytest.raises(ConfigError, match="postgresql"):
            open_bus("postgres", store=store)
    finally:
        store.close()


def test_open_bus_refuses_bad_choices() -> None:
    with pytest.raises(ConfigError, match="unknown bus backend"):
        open_bus("kafka")
    with pytest.raises(ConfigError, match="url"):
        open_bus("nats")
    with pytest.raises(ConfigError, match="store or a database url"):
        open_bus("sqlite")
    with pytest.raises(BusError, match="outbox"):
        _ = open_bus("nats", url="nats://127.0.0.1:1").outbox


def test_bus_from_topology(sqlite_url: str, tmp_path) -> None:
    store = Store.open(sqlite_url)
    try:
        topo = parse_topology(f"engines:\n  store_url: {sqlite_url}\n  bus:\n    backend: sqlite\n")
        bus = bus_from_topology(topo, store)
        assert isinstance(bus, SqliteBus) and bus.engine is store.engine
        topo = parse_topology(
            "engines:\n  bus:\n    backend: nats\n    url: nats://127.0.0.1:1\n    stream: shop1\n"
            "    options:\n      ack_wait: 12\n"
        )
        nb = bus_from_topology(topo, store)
        assert isinstance(nb, NatsBus) and nb.prefix == "shop1" and nb.ack_wait == 12
        topo = parse_topology(
            f"engines:\n  bus:\n    backend: postgres\n    url: sqlite:///{tmp_path / 'x.db'}\n"
        )
        with pytest.raises(ConfigError, match="postgresql"):
            bus_from_topology(topo, store)
    finally:
        store.close()


def test_postgres_bus_conninfo_keeps_search_path() -> None:
    import sqlalchemy as sa

    eng = sa.create_engine("postgresql+psycopg://u:p@h:5432/db?options=-csearch_path%3Dt_1")
    bus = PostgresBus(eng)
    info = bus._conninfo()
    assert info.startswith("postgresql://u:p@h:5432/db") and "search_path" in info
