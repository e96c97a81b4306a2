"""The bus contract on the embedded SQLite backend (the store's own file, WAL)."""

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


class TestSqliteBus(S.BusContract):
    @pytest.fixture
    async def env(self, sqlite_url: str):
        store = Store.open(sqlite_url)
        bus = open_bus("sqlite", store=store)
        await bus.start()
        try:
            yield S.Env(bus, store)
        finally:
            await bus.close()
            store.close()
