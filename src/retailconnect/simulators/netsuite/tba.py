"""Server-side check of NetSuite TBA signatures, written from RFC 5849 (independent of oauthlib, which the
connector signs with, so the tests prove two implementations agree)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote

_PARAM = re.compile(r'([A-Za-z0-9_]+)="([^"]*)"')


def pct(value: str) -> str:
    return quote(value, safe="-._~")


def parse_header(header: str) -> dict[str, str] | None:
    if not header.startswith("OAuth "):
        return None
    return {k: unquote(v) for k, v in _PARAM.findall(header[6:])}


def base_string(method: str, base_uri: str, query: str, oauth: dict[str, str]) -> str:
    params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True)]
    params += [(k, v) for k, v in oauth.items() if k not in ("oauth_signature", "realm")]
    norm = "&".join(f"{k}={v}" for k, v in sorted((pct(k), pct(v)) for k, v in params))
    return "&".join((method.upper(), pct(base_uri), pct(norm)))


def sign(base: str, consumer_secret: str, token_secret: str) -> str:
    key = f"{pct(consumer_secret)}&{pct(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base.encode(), hashlib.sha256).digest()).decode()


@dataclass
class TbaVerifier:
    realm: str
    consumer_key: str
    consumer_secret: str
    token_id: str
    token_secret: str
    window_s: float = 300.0
    _nonces: dict[str, float] = field(default_factory=dict)

    def check(self, method: str, base_uri: str, query: str, header: str | None) -> str | None:
        """None when the request is properly signed, else the reason (for the simulator's log)."""
        oauth = parse_header(header or "")
        if oauth is None:
            return "no OAuth Authorization header"
        if oauth.get("realm", "").upper() != self.realm.upper():
            return "wrong realm"
        if oauth.get("oauth_signature_method") != "HMAC-SHA256":
            return "signature method must be HMAC-SHA256"
        if oauth.get("oauth_consumer_key") != self.consumer_key or oauth.get("oauth_token") != self.token_id:
            return "unknown consumer key or token"
        try:
            ts = int(oauth.get("oauth_timestamp", ""))
        except ValueError:
            return "bad timestamp"
        now = time.time()
        if abs(now - ts) > self.window_s:
            return "timestamp outside the allowed window"
        nonce = oauth.get("oauth_nonce", "")
        if not nonce:
            return "missing nonce"
        expected = sign(base_string(method, base_uri, query, oauth), self.consumer_secret, self.token_secret)
        if not hmac.compare_digest(expected, oauth.get("oauth_signature", "")):
            return "signature mismatch"
        key = f"{nonce}:{ts}"
        if key in self._nonces:
            return "nonce already used"
        if len(self._nonces) > 50_000:
            cutoff = now - self.window_s
            self._nonces = {k: t for k, t in self._nonces.items() if t >= cutoff}
        self._nonces[key] = now
        return None
