"""The bus contract on NATS JetStream (the machine's server), with a unique stream per test; the
outbox lives in a SQLite store and is relayed to JetStream."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def _suite():  # _suite.py is not collected; load it by path (importlib import mode, no packages)
    name = "retailconnect_tests_bus_suite"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("_suite.py"))
        assert spec and spec.loader
        sys.modules[name] = mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    return sys.modules[name]


S = _suite()

import pytest  # noqa: E402

from retailconnect.bus import open_bus  # noqa: E402
from retailconnect.store import Store  # noqa: E402


class TestNatsBus(S.BusContract):
    @pytest.fixture
    async def env(self, nats_url: str, unique: str, sqlite_url: str):
        store = Store.open(sqlite_url)
        bus = open_bus("nats", store=store, url=nats_url, prefix=f"rct{unique}")
        await bus.start()
        try:
            yield S.Env(bus, store)
        finally:
            await bus.delete_streams()  # type: ignore[attr-defined]
            await bus.close()
            store.close()
