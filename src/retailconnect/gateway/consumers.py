"""API consumers: named clients with a tenant, scopes, a rate-limit tier and one hashed key.

Keys look like ``rc_<prefix>_<secret>`` (32 random bytes, base32). Only the SHA-256 of the whole key is
stored: the secret has 256 bits of entropy, so a slow password hash buys nothing and would cost the
benchmark. The prefix is shown in listings so an operator can tell keys apart. Verified keys are cached
in memory for ``cache_ttl_s`` (a revocation takes effect within that time on every process).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa

from retailconnect.errors import ConflictError, InputError, NotFoundError

from .tables import consumers

__all__ = ["ALL_SCOPES", "Consumer", "ConsumerStore", "Principal", "hash_key"]

ALL_SCOPES: frozenset[str] = frozenset(
    {
        "orders:write",
        "orders:read",
        "availability:read",
        "returns:write",
        "prices:read",
        "customers:read",
        "systems:read",
        "ops:read",
        "ops:admin",
    }
)
ALL_TENANTS = "*"


@dataclass(frozen=True)
class Principal:
    """Who is calling: from an API key or a verified access token."""

    consumer: str
    tenant: str
    scopes: frozenset[str]
    tier: str = "default"
    kind: Literal["api_key", "jwt", "webhook"] = "api_key"

    def has_scope(self, scope: str) -> bool:
        if scope in self.scopes:
            return True
        # ops:admin implies ops:read; "x:write" does not imply "x:read"
        return scope == "ops:read" and "ops:admin" in self.scopes

    def sees_tenant(self, tenant: str | None) -> bool:
        return self.tenant == ALL_TENANTS or tenant is None or tenant == self.tenant


@dataclass(frozen=True)
class Consumer:
    name: str
    tenant: str
    scopes: tuple[str, ...]
    tier: str
    key_prefix: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def principal(self) -> Principal:
        return Principal(self.name, self.tenant, frozenset(self.scopes), self.tier, "api_key")

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tenant": self.tenant,
            "scopes": list(self.scopes),
            "tier": self.tier,
            "key_prefix": self.key_prefix,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> tuple[str, str]:
    prefix = secrets.token_hex(4)
    secret = base64.b32encode(secrets.token_bytes(32)).decode().rstrip("=").lower()
    return f"rc_{prefix}_{secret}", prefix


def _row(r: Any) -> Consumer:
    def aware(d: datetime | None) -> datetime | None:
        if d is None:
            return None
        return d if d.tzinfo else d.replace(tzinfo=UTC)

    created = aware(r.created_at)
    assert created is not None
    return Consumer(
        name=r.name,
        tenant=r.tenant,
        scopes=tuple(s for s in r.scopes.split() if s),
        tier=r.tier,
        key_prefix=r.key_prefix,
        created_at=created,
        revoked_at=aware(r.revoked_at),
    )


@dataclass
class _Cached:
    principal: Principal | None
    until: float


@dataclass
class ConsumerStore:
    """Consumers in the hub's store (``store.engine``)."""

    store: Any
    cache_ttl_s: float = 5.0
    cache_size: int = 10_000
    _cache: OrderedDict[str, _Cached] = field(default_factory=OrderedDict, repr=False)

    @property
    def _engine(self) -> sa.Engine:
        engine: sa.Engine = self.store.engine
        return engine

    def add(
        self, name: str, *, tenant: str, scopes: list[str] | tuple[str, ...], tier: str = "default"
    ) -> str:
        """Create a consumer; return its key (shown once, never stored)."""
        name = name.strip()
        if not name or len(name) > 120:
            raise InputError("consumer name must be 1-120 characters")
        if not tenant.strip():
            raise InputError("tenant must not be empty")
        flat = sorted({s for item in scopes for s in item.replace(",", " ").split() if s})
        unknown = [s for s in flat if s not in ALL_SCOPES]
        if unknown:
            raise InputError(
                f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(sorted(ALL_SCOPES))}",
                context={"unknown": unknown},
            )
        if not flat:
            raise InputError("give at least one scope")
        key, prefix = _new_key()
        with self._engine.begin() as conn:
            exists = conn.execute(sa.select(consumers.c.id).where(consumers.c.name == name)).first()
            if exists is not None:
                raise ConflictError(f"consumer {name!r} already exists", context={"consumer": name})
            conn.execute(
                consumers.insert().values(
                    name=name,
                    tenant=tenant.strip(),
                    scopes=" ".join(flat),
                    tier=tier,
                    key_prefix=prefix,
                    key_hash=hash_key(key),
                    created_at=datetime.now(UTC),
                )
            )
        return key

    def list(self, *, include_revoked: bool = True) -> list[Consumer]:
        q = sa.select(consumers).order_by(consumers.c.name)
        if not include_revoked:
            q = q.where(consumers.c.revoked_at.is_(None))
        with self._engine.connect() as conn:
            return [_row(r) for r in conn.execute(q)]

    def get(self, name: str) -> Consumer:
        with self._engine.connect() as conn:
            r = conn.execute(sa.select(consumers).where(consumers.c.name == name)).first()
        if r is None:
            raise NotFoundError(f"no consumer named {name!r}", context={"consumer": name})
        return _row(r)

    def revoke(self, name: str) -> Consumer:
        with self._engine.begin() as conn:
            res = conn.execute(
                consumers.update()
                .where(consumers.c.name == name, consumers.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
        if res.rowcount == 0:
            self.get(name)  # raises NotFoundError when it does not exist
        self._cache.clear()
        return self.get(name)

    def verify(self, key: str) -> Principal | None:
        """The principal for a key, or None (unknown or revoked). Cached for ``cache_ttl_s``."""
        digest = hash_key(key)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit.until > now:
            return hit.principal
        with self._engine.connect() as conn:
            r = conn.execute(sa.select(consumers).where(consumers.c.key_hash == digest)).first()
        principal = None
        if r is not None and r.revoked_at is None and hmac.compare_digest(r.key_hash, digest):
            principal = _row(r).principal()
        self._cache[digest] = _Cached(principal, now + self.cache_ttl_s)
        self._cache.move_to_end(digest)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return principal

    def cached(self, key: str) -> _Cached | None:
        hit = self._cache.get(hash_key(key))
        if hit is not None and hit.until > time.monotonic():
            return hit
        return None
