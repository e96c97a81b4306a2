"""RFC 9457 problem details (``application/problem+json``) for every error the gateway returns.

The ``type`` URI is built from the error's stable ``code`` (``errors.py``), so clients branch on it;
``instance`` is the request path, ``correlation_id`` ties the answer to logs, traces and the audit log.
Validation failures add an ``errors`` list (``pointer`` + ``detail`` per problem). Unknown exceptions
become a 500 that says nothing but the correlation id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Send

from retailconnect.errors import RetailConnectError

__all__ = [
    "PROBLEM_BASE",
    "PROBLEM_MEDIA_TYPE",
    "install_problem_handlers",
    "problem_body",
    "problem_response",
    "send_problem",
]

log = logging.getLogger("retailconnect.gateway")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://retailconnect.dev/problems/"

_HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload_too_large", "Request body too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("invalid_input", "Invalid input"),
    429: ("rate_limited", "Too many requests"),
    500: ("internal", "Internal error"),
    503: ("unavailable", "Service unavailable"),
    504: ("timeout", "Upstream did not answer in time"),
}


def problem_body(
    status: int,
    *,
    code: str | None = None,
    title: str | None = None,
    detail: str | None = None,
    instance: str | None = None,
    correlation_id: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    default_code, default_title = _HTTP_CODES.get(status, ("error", "Error"))
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (code or default_code),
        "title": title or default_title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if correlation_id:
        body["correlation_id"] = correlation_id
    if extra:
        for k, v in extra.items():
            body.setdefault(k, v)
    return body


def _encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), default=str).encode()


def _headers_for(status: int, retry_after: float | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["Retry-After"] = str(max(0, int(retry_after + 0.999)))
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="retailconnect", ApiKey realm="retailconnect"'
    return headers


def problem_response(
    status: int,
    *,
    code: str | None = None,
    title: str | None = None,
    detail: str | None = None,
    instance: str | None = None,
    correlation_id: str | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    retry_after: float | None = None,
) -> Response:
    body = problem_body(
        status,
        code=code,
        title=title,
        detail=detail,
        instance=instance,
        correlation_id=correlation_id,
        extra=extra,
    )
    all_headers = _headers_for(status, retry_after)
    all_headers.update(headers or {})
    return Response(_encode(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=all_headers)


async def send_problem(
    send: Send,
    status: int,
    *,
    code: str | None = None,
    detail: str | None = None,
    instance: str | None = None,
    correlation_id: str | None = None,
    retry_after: float | None = None,
    title: str | None = None,
) -> None:
    """Answer a problem straight from pure ASGI middleware."""
    payload = _encode(
        problem_body(
            status, code=code, title=title, detail=detail, instance=instance, correlation_id=correlation_id
        )
    )
    raw: list[tuple[bytes, bytes]] = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(payload)).encode()),
    ]
    raw += [(k.lower().encode(), v.encode()) for k, v in _headers_for(status, retry_after).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def error_response(exc: RetailConnectError, request: Request) -> Response:
    extra: dict[str, Any] = {}
    reasons = exc.context.get("reasons")
    if isinstance(reasons, Sequence) and not isinstance(reasons, str):
        extra["reasons"] = list(reasons)
    errors = exc.context.get("errors")
    if isinstance(errors, list):
        extra["errors"] = errors
    for key in ("order_id", "workflow_id", "sku", "system"):
        if key in exc.context:
            extra[key] = exc.context[key]
    return problem_response(
        exc.http_status,
        code=exc.code,
        title=exc.title,
        detail=exc.message,
        instance=request.url.path,
        correlation_id=_cid(request),
        extra=extra,
        retry_after=exc.retry_after,
    )


def _cid(request: Request) -> str | None:
    return getattr(request.state, "correlation_id", None)


def _pointer(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        where, rest = parts[0], parts[1:]
    else:
        where, rest = "body", parts
    return f"{where}:/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in rest)


def validation_errors(raw: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for err in raw:
        out.append(
            {
                "pointer": _pointer(err.get("loc", ())),
                "detail": str(err.get("msg", "invalid")),
                "code": str(err.get("type", "invalid")),
            }
        )
    return out


def install_problem_handlers(app: FastAPI) -> None:
    async def on_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RetailConnectError)
        return error_response(exc, request)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail: str | None = exc.detail if isinstance(exc.detail, str) else None
        if detail == _HTTP_CODES.get(exc.status_code, ("", ""))[1]:
            detail = None
        return problem_response(
            exc.status_code,
            detail=detail,
            instance=request.url.path,
            correlation_id=_cid(request),
            headers=dict(exc.headers or {}),
        )

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = validation_errors(exc.errors())
        return problem_response(
            422,
            code="invalid_input",
            detail=f"The request failed validation ({len(errors)} problem{'s' if len(errors) != 1 else ''}).",
            instance=request.url.path,
            correlation_id=_cid(request),
            extra={"errors": errors},
        )

    app.add_exception_handler(RetailConnectError, on_error)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
