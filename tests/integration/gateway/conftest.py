"""Reuse the in-test hub and fixtures of tests/unit/gateway (loaded by path: tests are not a package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_path = Path(__file__).parents[2] / "unit" / "gateway" / "conftest.py"
_spec = importlib.util.spec_from_file_location("_gateway_test_support_integration", _path)
assert _spec is not None and _spec.loader is not None
_support = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _support
_spec.loader.exec_module(_support)

FakeHub = _support.FakeHub
store = _support.store
hub = _support.hub
keys = _support.keys
make_client = _support.make_client
client = _support.client
order_body = _support.order_body
signer = _support.signer


@__import__("pytest").fixture(scope="session")
def fake_hub_cls():
    return FakeHub
