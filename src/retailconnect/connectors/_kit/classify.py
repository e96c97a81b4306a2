"""Turn transport failures and vendor HTTP answers into our error tree (never leak httpx errors)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from retailconnect.errors import (
    AuthError,
    ConnectorError,
    RateLimitError,
    TransientError,
    VendorRejectedError,
)


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@contextlib.contextmanager
def map_transport_errors(system: str, operation: str) -> Iterator[None]:
    ctx: dict[str, Any] = {"system": system, "operation": operation}
    try:
        yield
    except httpx.TimeoutException as exc:
        raise TransientError(f"{system} {operation}: timed out", context=ctx) from exc
    except httpx.TransportError as exc:
        raise TransientError(f"{system} {operation}: {type(exc).__name__}", context=ctx) from exc


def classify_response(
    response: httpx.Response,
    *,
    system: str,
    operation: str,
    message: str | None = None,
    context: dict[str, Any] | None = None,
) -> ConnectorError | None:
    """None for a 2xx/3xx; otherwise the error to raise (the caller raises it)."""
    status = response.status_code
    if status < 400:
        return None
    ctx = {"system": system, "operation": operation, "status": status, **(context or {})}
    text = message or f"{system} {operation}: HTTP {status}"
    if status == 429:
        return RateLimitError(
            text, context=ctx, retry_after=retry_after_seconds(response.headers.get("Retry-After"))
        )
    if status >= 500 or status in (408,):
        return TransientError(
            text, context=ctx, retry_after=retry_after_seconds(response.headers.get("Retry-After"))
        )
    if status in (401, 403):
        return AuthError(text, context=ctx)
    return VendorRejectedError(text, context=ctx)
