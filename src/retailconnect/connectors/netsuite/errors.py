"""NetSuite answers -> our error tree.

NetSuite REST errors are RFC 9457-like bodies::

    {"type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.1", "title": "Bad Request",
     "status": 400, "o:errorDetails": [{"detail": "...", "o:errorCode": "INVALID_KEY_OR_REF",
     "o:errorPath": "item.items[0].item"}]}

Retryable: HTTP 429 (REST concurrency governance), the concurrency codes NetSuite uses elsewhere
(``SSS_REQUEST_LIMIT_EXCEEDED`` is an HTTP 400 from RESTlets, ``CONCURRENCY_LIMIT_EXCEEDED``,
``WS_CONCUR_SESSION_DISALLOWED``...), 5xx and timeouts. Everything else 4xx is a business rejection
(:class:`VendorRejectedError`) carrying a readable message for the exception queue.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from retailconnect.connectors._kit.classify import retry_after_seconds
from retailconnect.errors import (
    AuthError,
    ConnectorError,
    NotFoundError,
    RateLimitError,
    TransientError,
    VendorRejectedError,
)

__all__ = ["CONCURRENCY_CODES", "NetSuiteErrorDetail", "classify_netsuite", "parse_error_body"]

CONCURRENCY_CODES = frozenset(
    {
        "CONCURRENCY_LIMIT_EXCEEDED",
        "SSS_REQUEST_LIMIT_EXCEEDED",
        "WS_CONCUR_SESSION_DISALLOWED",
        "WS_REQUEST_BLOCKED",
        "EXCEEDED_CONCURRENT_REQUEST_LIMIT",
        "EXCEEDED_REQUEST_LIMIT",
        "EXCEEDED_PER_INTEGRATION_CONCURRENCY_LIMIT",
    }
)
TRANSIENT_CODES = frozenset({"UNEXPECTED_ERROR", "SSS_CONNECTION_TIME_OUT", "SESSION_TIMED_OUT"})

# A readable hint per business code, for the exception queue's "suggested action".
HINTS = {
    "INVALID_KEY_OR_REF": "a referenced record (item, customer, location...) does not exist in NetSuite",
    "INVALID_CONTENT": "a field value is not valid for NetSuite",
    "USER_ERROR": "NetSuite refused the record (validation, credit hold, closed period...)",
    "DUP_RCRD": "a record with this external id already exists",
    "RCRD_DSNT_EXIST": "the record does not exist",
    "NONEXISTENT_ID": "the record does not exist",
    "INSUFFICIENT_PERMISSION": "the integration role lacks a permission",
}


class NetSuiteErrorDetail:
    def __init__(self, detail: str, code: str | None, path: str | None) -> None:
        self.detail = detail
        self.code = code
        self.path = path


def parse_error_body(body: bytes | str) -> tuple[str | None, list[NetSuiteErrorDetail]]:
    """(title, details) from a NetSuite error body; tolerant of non-JSON answers."""
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return None, []
    if not isinstance(data, dict):
        return None, []
    details = []
    for d in data.get("o:errorDetails") or []:
        if isinstance(d, dict):
            details.append(
                NetSuiteErrorDetail(str(d.get("detail", "")), d.get("o:errorCode"), d.get("o:errorPath"))
            )
    # RESTlets answer {"error": {"code": "SSS_REQUEST_LIMIT_EXCEEDED", "message": "..."}}
    err = data.get("error")
    if isinstance(err, dict) and err.get("code"):
        details.append(NetSuiteErrorDetail(str(err.get("message", "")), str(err["code"]), None))
    return data.get("title"), details


def classify_netsuite(
    response: httpx.Response, *, operation: str, context: dict[str, Any] | None = None
) -> ConnectorError | NotFoundError | None:
    """None for success; else the error to raise (caller raises)."""
    status = response.status_code
    if status < 400:
        return None
    title, details = parse_error_body(response.content)
    codes = [d.code for d in details if d.code]
    code = codes[0] if codes else None
    text = "; ".join(d.detail for d in details if d.detail) or title or f"HTTP {status}"
    ctx: dict[str, Any] = {"system": "netsuite", "operation": operation, "status": status, **(context or {})}
    if code:
        ctx["netsuite_code"] = code
    paths = [d.path for d in details if d.path]
    if paths:
        ctx["netsuite_path"] = paths[0]
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    msg = f"NetSuite {operation}: {text}"
    if status == 429 or any(c in CONCURRENCY_CODES for c in codes):
        return RateLimitError(msg, context=ctx, retry_after=retry_after)
    if status >= 500 or status == 408 or any(c in TRANSIENT_CODES for c in codes):
        return TransientError(msg, context=ctx, retry_after=retry_after)
    if status in (401, 403) and code != "INSUFFICIENT_PERMISSION":
        return AuthError(msg, context=ctx)
    if status == 404:
        return NotFoundError(msg, context=ctx)
    if code in HINTS:
        ctx["hint"] = HINTS[code]
    return VendorRejectedError(msg, context=ctx)
