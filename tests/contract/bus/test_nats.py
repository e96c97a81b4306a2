"""The bus contract on NATS JetStream (the machine's server), with a unique stream per test; the
outbox lives in a SQLite store and is relayed to JetStream."""

from __future__ import annotations

import sys

import pytest

S = sys.modules["retailconnect_tests_bus_suite"]  # loaded by conftest.py


class TestNatsBus(S.BusContract):
    @pytest.fixture
    async def env(self, nats_url: str, unique: str, sqlite_url: str):
        async with S.open_env("nats", sqlite_url, url=nats_url, prefix=f"rct{unique}") as env:
            yield env
