"""Dashboard sessions: log in with a consumer API key that has an ops scope; a signed cookie follows.

The cookie holds the consumer name, tenant, scopes, expiry and a CSRF token, signed with HMAC-SHA256
(``RETAILCONNECT_DASHBOARD_SECRET``; a random per-process secret when unset, so sessions end at restart
and several replicas need the variable set). The key itself is never stored. Each request re-checks that
the consumer still exists and is not revoked. Actions (POST) need ``ops:admin`` and the CSRF token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["COOKIE", "Session", "SessionSigner"]

COOKIE = "rc_dashboard"
OPS_SCOPES = frozenset({"ops:read", "ops:admin"})


@dataclass(frozen=True)
class Session:
    consumer: str
    tenant: str
    scopes: frozenset[str]
    csrf: str
    expires: float

    @property
    def is_admin(self) -> bool:
        return "ops:admin" in self.scopes

    @property
    def can_read(self) -> bool:
        return bool(self.scopes & OPS_SCOPES)

    def sees_tenant(self, tenant: str | None) -> bool:
        return self.tenant == "*" or tenant is None or tenant == self.tenant


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    def __init__(self, secret: str | bytes | None = None, *, ttl_s: float = 8 * 3600) -> None:
        raw = secret or os.environ.get("RETAILCONNECT_DASHBOARD_SECRET") or secrets.token_bytes(32)
        self._key = raw.encode() if isinstance(raw, str) else raw
        self.ttl_s = ttl_s

    def issue(self, consumer: str, tenant: str, scopes: frozenset[str] | set[str]) -> tuple[str, Session]:
        sess = Session(
            consumer, tenant, frozenset(scopes), secrets.token_urlsafe(24), time.time() + self.ttl_s
        )
        body = json.dumps(
            {
                "c": sess.consumer,
                "t": sess.tenant,
                "s": sorted(sess.scopes),
                "x": sess.csrf,
                "e": sess.expires,
            },
            separators=(",", ":"),
        ).encode()
        payload = _b64(body)
        return f"{payload}.{self._sign(payload)}", sess

    def read(self, cookie: str | None) -> Session | None:
        if not cookie or "." not in cookie:
            return None
        payload, sig = cookie.rsplit(".", 1)
        if not hmac.compare_digest(sig, self._sign(payload)):
            return None
        try:
            d: dict[str, Any] = json.loads(_unb64(payload))
            sess = Session(str(d["c"]), str(d["t"]), frozenset(d["s"]), str(d["x"]), float(d["e"]))
        except (ValueError, KeyError, TypeError):
            return None
        if sess.expires < time.time():
            return None
        return sess

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())
