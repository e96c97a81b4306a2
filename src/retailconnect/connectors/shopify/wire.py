"""Shopify wire shapes the client reads (GraphQL Admin API 2025-01): the cost extension and ids."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["QueryCost", "ThrottleStatus", "gid", "legacy_id"]


class ThrottleStatus(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    maximumAvailable: float
    currentlyAvailable: float
    restoreRate: float


class QueryCost(BaseModel):
    model_config = ConfigDict(extra="ignore")
    requestedQueryCost: float | None = None
    actualQueryCost: float | None = None
    throttleStatus: ThrottleStatus | None = None


def gid(kind: str, value: str | int) -> str:
    """``gid://shopify/<kind>/<id>`` for a numeric id; a GID is returned unchanged."""
    s = str(value)
    return s if s.startswith("gid://") else f"gid://shopify/{kind}/{s}"


def legacy_id(value: str) -> str:
    return value.rsplit("/", 1)[-1].split("?")[0]
