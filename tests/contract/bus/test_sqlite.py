"""The bus contract on the embedded SQLite backend (the store's own file, WAL)."""

from __future__ import annotations

import sys

import pytest

S = sys.modules["retailconnect_tests_bus_suite"]  # loaded by conftest.py


class TestSqliteBus(S.BusContract):
    @pytest.fixture
    async def env(self, sqlite_url: str):
        async with S.open_env("sqlite", sqlite_url) as env:
            yield env
