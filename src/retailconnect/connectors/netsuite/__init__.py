"""NetSuite connector: REST record API v1 + SuiteQL, TBA (OAuth 1.0a HMAC-SHA256), external-id upserts,
concurrency governance. ``NetSuiteClient`` implements ``connectors._kit.ErpSystem``."""

from __future__ import annotations

import json
from typing import Any

from retailconnect.canonical import Order
from retailconnect.connectors._kit import MapContext

from . import wire
from .auth import NetSuiteAuth as NetSuiteAuth
from .auth import realm_for as realm_for
from .client import NetSuiteClient as NetSuiteClient
from .client import parse_governance as parse_governance
from .errors import classify_netsuite as classify_netsuite
from .limiter import Limiter as Limiter
from .limiter import SemaphoreLimiter as SemaphoreLimiter
from .mappers import order_from_netsuite as order_from_netsuite
from .mappers import order_to_netsuite as order_to_netsuite
from .spec import spec as spec


def _export_order(order: Order, ctx: MapContext) -> dict[str, Any]:
    # The CLI prints JSON: re-read our Decimal-exact encoding so numbers print as numbers.
    data: dict[str, Any] = json.loads(wire.dumps(order_to_netsuite(order, ctx)))
    return data


CLI_MAPPERS = {"order": order_from_netsuite}
CLI_EXPORTERS = {"order": _export_order}

__all__ = [
    "CLI_EXPORTERS",
    "CLI_MAPPERS",
    "Limiter",
    "NetSuiteAuth",
    "NetSuiteClient",
    "SemaphoreLimiter",
    "classify_netsuite",
    "order_from_netsuite",
    "order_to_netsuite",
    "parse_governance",
    "realm_for",
    "spec",
]
