"""The bus contract on PostgreSQL (LISTEN/NOTIFY, SKIP LOCKED), in a fresh schema per test."""

from __future__ import annotations

import sys

import pytest

S = sys.modules["retailconnect_tests_bus_suite"]  # loaded by conftest.py


class TestPostgresBus(S.BusContract):
    @pytest.fixture
    async def env(self, pg_schema_url: str):
        async with S.open_env("postgres", pg_schema_url) as env:
            yield env
