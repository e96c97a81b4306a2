"""OAuth2 client-credentials access tokens: JWTs verified against a JWKS URL or a configured key.

Scopes come from ``scope`` (space separated, RFC 8693/9068) or ``scp`` (list or string, Azure/Okta);
the tenant from a configured claim (``tenant`` by default); the consumer from ``client_id``/``azp``/``sub``.
Verified tokens are cached until they expire (at most 5 minutes), so a busy client pays the signature
check once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

import jwt as pyjwt
from anyio import to_thread

from retailconnect.errors import AuthenticationError

from .consumers import Principal
from .settings import JwtSettings

__all__ = ["JwtVerifier"]


class JwtVerifier:
    def __init__(self, settings: JwtSettings) -> None:
        self.settings = settings
        self._jwks = pyjwt.PyJWKClient(settings.jwks_url, cache_keys=True) if settings.jwks_url else None
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    async def verify(self, token: str | None) -> Principal:
        if not token:
            raise AuthenticationError("empty bearer token")
        now = time.time()
        hit = self._cache.get(token)
        if hit is not None and hit[1] > now:
            return hit[0]
        claims = await to_thread.run_sync(self._decode, token)
        principal = self._principal(claims)
        exp = float(claims.get("exp", now + 60))
        self._cache[token] = (principal, min(exp, now + 300))
        while len(self._cache) > 10_000:
            self._cache.popitem(last=False)
        return principal

    def _decode(self, token: str) -> dict[str, Any]:
        s = self.settings
        try:
            key: Any
            if self._jwks is not None:
                key = self._jwks.get_signing_key_from_jwt(token).key
            elif s.key:
                key = s.key
            else:
                raise AuthenticationError("no key configured to verify access tokens")
            claims: dict[str, Any] = pyjwt.decode(
                token,
                key,
                algorithms=list(s.algorithms),
                audience=s.audience,
                issuer=s.issuer,
                leeway=s.leeway_s,
                options={"require": ["exp"], "verify_aud": s.audience is not None},
            )
        except AuthenticationError:
            raise
        except pyjwt.PyJWKClientError as exc:
            raise AuthenticationError(f"cannot get the signing key: {exc}") from None
        except pyjwt.InvalidTokenError as exc:
            raise AuthenticationError(f"access token rejected: {exc}") from None
        return claims

    def _principal(self, claims: dict[str, Any]) -> Principal:
        s = self.settings
        raw: Any = claims.get("scope", claims.get("scp", ""))
        scopes = frozenset(raw.split() if isinstance(raw, str) else [str(x) for x in raw])
        tenant = claims.get(s.tenant_claim)
        if not isinstance(tenant, str) or not tenant:
            raise AuthenticationError(f"access token has no {s.tenant_claim!r} claim")
        consumer = next((str(claims[c]) for c in s.consumer_claims if claims.get(c)), None)
        if consumer is None:
            raise AuthenticationError("access token names no client (client_id, azp or sub)")
        return Principal(consumer=consumer, tenant=tenant, scopes=scopes, tier="default", kind="jwt")
