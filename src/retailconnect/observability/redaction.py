"""Redaction of secrets before anything is logged, traced or shown on the dashboard.

Header names and mapping keys that look like credentials have their values replaced by ``[redacted]``;
free text is scanned for bearer tokens and ``key=value`` credentials. Bodies of webhooks that failed
signature verification are never passed here: they are not logged at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["REDACTED", "is_secret_key", "redact", "redact_headers", "redact_text"]

REDACTED = "[redacted]"

_SECRET_KEY = re.compile(
    r"(authorization|api[-_]?key|apikey|secret|password|passwd|token|signature|hmac|cookie|session"
    r"|private[-_]?key|client[-_]?secret|x-shopify-access-token|card[-_]?number|cvv|iban)",
    re.IGNORECASE,
)
_TEXT_PATTERNS = [
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"),
    re.compile(
        r"(?i)\b(api[-_]?key|token|secret|password|access[-_]?token|client[-_]?secret)"
        r"(\s*[=:]\s*)(\"?)[^\s\"&,;]+"
    ),
]


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def redact_text(text: str) -> str:
    out = _TEXT_PATTERNS[0].sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _TEXT_PATTERNS[1].sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{REDACTED}", out)


def redact(value: Any, *, _depth: int = 0) -> Any:
    """A copy of ``value`` (nested dicts/lists/strings) with credentials replaced."""
    if _depth > 20:
        return value
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if isinstance(k, str) and is_secret_key(k) else redact(v, _depth=_depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, _depth=_depth + 1) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: (REDACTED if is_secret_key(k) else v) for k, v in headers.items()}
