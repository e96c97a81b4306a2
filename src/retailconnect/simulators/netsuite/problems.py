"""NetSuite-shaped error bodies (REST web services)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

_TYPES = {
    400: ("https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.1", "Bad Request"),
    401: ("https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.2", "Unauthorized"),
    403: ("https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.4", "Forbidden"),
    404: ("https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.5", "Not Found"),
    405: ("https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.6", "Method Not Allowed"),
    429: ("https://tools.ietf.org/html/rfc6585#section-4", "Too Many Requests"),
    500: ("https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.5.1", "Internal Server Error"),
    502: ("https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.5.3", "Bad Gateway"),
    503: ("https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.5.4", "Service Unavailable"),
}

DEFAULT_CODES = {
    400: ("INVALID_CONTENT", "The request could not be understood by the server due to malformed syntax."),
    401: (
        "INVALID_LOGIN",
        "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > "
        "Users/Roles > User Management > View Login Audit Trail.",
    ),
    404: ("NONEXISTENT_ID", "The record instance does not exist. Provide a valid record instance ID."),
    429: ("CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded. Request blocked."),
    500: ("UNEXPECTED_ERROR", "An unexpected error occurred. Error ID: sim-0000"),
    503: ("UNEXPECTED_ERROR", "The service is temporarily unavailable. Try again later."),
}


def error_body(
    status: int, code: str | None = None, detail: str | None = None, path: str | None = None
) -> dict[str, Any]:
    type_, title = _TYPES.get(status, _TYPES[500] if status >= 500 else _TYPES[400])
    d_code, d_detail = DEFAULT_CODES.get(status, DEFAULT_CODES[500] if status >= 500 else DEFAULT_CODES[400])
    det: dict[str, Any] = {"detail": detail or d_detail, "o:errorCode": code or d_code}
    if path:
        det["o:errorPath"] = path
    return {"type": type_, "title": title, "status": status, "o:errorDetails": [det]}


def ns_error(
    status: int, code: str | None = None, detail: str | None = None, path: str | None = None
) -> JSONResponse:
    return JSONResponse(error_body(status, code, detail, path), status_code=status)


class SimError(Exception):
    """Raised by state operations; the app turns it into a NetSuite error answer."""

    def __init__(self, status: int, code: str, detail: str, path: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.path = path

    def response(self) -> JSONResponse:
        return ns_error(self.status, self.code, self.detail, self.path)
