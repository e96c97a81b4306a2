"""Shopify answers -> our error tree.

HTTP: 401/403 -> AuthError, 429 -> RateLimitError (Retry-After), 5xx -> TransientError (connectors._kit.classify).
GraphQL: ``errors[].extensions.code == "THROTTLED"`` -> RateLimitError with the wait the cost bucket implies;
``ACCESS_DENIED`` -> AuthError; other top-level errors -> VendorRejectedError; a mutation's ``userErrors`` ->
VendorRejectedError naming the fields.
"""

from __future__ import annotations

from typing import Any

from retailconnect.errors import AuthError, ConnectorError, RateLimitError, VendorRejectedError

__all__ = ["graphql_error", "user_errors"]


def graphql_error(body: dict[str, Any], operation: str) -> ConnectorError | None:
    errors = body.get("errors")
    if not errors:
        return None
    if isinstance(errors, str):  # REST-style {"errors": "..."} (e.g. a 401 body)
        return VendorRejectedError(
            f"shopify {operation}: {errors}", context={"system": "shopify", "operation": operation}
        )
    codes = [((e.get("extensions") or {}).get("code")) for e in errors if isinstance(e, dict)]
    msgs = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
    ctx = {"system": "shopify", "operation": operation, "codes": codes}
    if "THROTTLED" in codes:
        cost = (body.get("extensions") or {}).get("cost") or {}
        ts = cost.get("throttleStatus") or {}
        wait = None
        try:
            need = float(cost.get("requestedQueryCost") or 0) - float(ts.get("currentlyAvailable") or 0)
            wait = max(0.0, need / float(ts["restoreRate"])) if ts.get("restoreRate") else None
        except (TypeError, ValueError):
            wait = None
        return RateLimitError(f"shopify {operation}: throttled", context=ctx, retry_after=wait)
    if "ACCESS_DENIED" in codes:
        return AuthError(f"shopify {operation}: {msgs}", context=ctx)
    return VendorRejectedError(f"shopify {operation}: {msgs}", context=ctx)


def user_errors(
    payload: dict[str, Any] | None, operation: str, context: dict[str, Any] | None = None
) -> None:
    errs = (payload or {}).get("userErrors") or []
    if errs:
        text = "; ".join(f"{'.'.join(map(str, e.get('field') or []))}: {e.get('message')}" for e in errs)
        raise VendorRejectedError(
            f"shopify {operation} rejected: {text}",
            context={"system": "shopify", "operation": operation, "user_errors": errs, **(context or {})},
        )
