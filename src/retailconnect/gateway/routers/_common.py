"""Small helpers shared by the routers."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from fastapi import Request, Response

from retailconnect.errors import PermissionDeniedError

from ..cache import CacheAnswer
from ..consumers import Principal
from ..deps import GatewayState

__all__ = ["budget_s", "correlation_id", "mark_stale", "plain", "tenant_for"]


def correlation_id(request: Request) -> str | None:
    cid: str | None = request.scope.get("state", {}).get("correlation_id")
    return cid


def tenant_for(principal: Principal, state: GatewayState, requested: str | None = None) -> str:
    """The tenant a call acts for; a consumer of brand A can never name brand B."""
    if requested is not None and not principal.sees_tenant(requested):
        raise PermissionDeniedError(
            f"consumer {principal.consumer!r} may not act for tenant {requested!r}",
            context={"tenant": requested},
        )
    if requested is not None:
        return requested
    if principal.tenant == "*":
        default: str = state.settings.default_tenant
        return default
    return principal.tenant


def budget_s(state: GatewayState, name: str) -> float:
    ms = state.settings.latency_budget_ms.get(name, state.settings.default_latency_budget_ms)
    return float(ms) / 1000.0


def mark_stale(response: Response, answer: CacheAnswer[Any]) -> None:
    if answer.stale:
        response.headers["X-RetailConnect-Stale"] = "true"
        response.headers["Age"] = str(int(answer.age_s))
        response.headers["Cache-Control"] = "no-store"


def plain(obj: Any) -> Any:
    """A JSON-friendly view of whatever the hub returned (pydantic model, dataclass, mapping)."""
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {k: plain(v) for k, v in dataclasses.asdict(obj).items()}
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [plain(v) for v in obj]
    if isinstance(obj, datetime):
        return obj.isoformat()
    return str(obj)
