"""Gateway settings: the knobs of the policy chain, as one frozen value object.

Built from the topology (``GatewaySettings.from_topology``) or directly in tests and benchmarks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DeprecationNotice", "GatewaySettings", "JwtSettings", "RateLimitSettings"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class JwtSettings(_Frozen):
    """OAuth2 client-credentials access tokens (RFC 9068 style JWTs)."""

    jwks_url: str | None = None
    key: str | None = Field(default=None, description="PEM public key, or shared secret for HS256")
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    issuer: str | None = None
    audience: str | None = None
    tenant_claim: str = "tenant"
    consumer_claims: tuple[str, ...] = ("client_id", "azp", "sub")
    leeway_s: float = 30.0


class RateLimitSettings(_Frozen):
    """Budgets in the ``limits`` notation ("600/minute"); per consumer tier, per route override."""

    default: str = "100/second"
    tiers: dict[str, str] = Field(
        default_factory=dict, description="consumer name or tier -> budget (else the default)"
    )
    routes: dict[str, str] = Field(
        default_factory=dict, description='"METHOD /v1/path/{template}" or "/v1/path" -> budget'
    )
    storage_url: str | None = Field(default=None, description="redis://... shares budgets across processes")
    key_prefix: str = "retailconnect"


class DeprecationNotice(_Frozen):
    deprecated_at: datetime
    sunset_at: datetime | None = None
    link: str | None = Field(default=None, description="documentation of the migration")
    successor: str | None = None


class GatewaySettings(_Frozen):
    max_body_bytes: int = 1_048_576
    jwt: JwtSettings | None = None
    rate_limits: RateLimitSettings = Field(default_factory=RateLimitSettings)
    deprecations: dict[str, DeprecationNotice] = Field(
        default_factory=dict, description="route template (optionally 'METHOD path') -> notice"
    )
    latency_budget_ms: dict[str, float] = Field(
        default_factory=lambda: {"price_check": 300.0, "customer_lookup": 300.0, "availability": 300.0}
    )
    default_latency_budget_ms: float = 300.0
    cache_fresh_s: float = Field(default=0.0, description="serve a cached answer without asking when younger")
    cache_max_age_s: float = Field(default=86_400.0, description="oldest stale answer we still serve")
    default_tenant: str = "default"
    webhook_tenants: dict[str, str] = Field(
        default_factory=dict, description='"shopify/acme" (channel/source) -> tenant'
    )
    webhook_systems: dict[str, str] = Field(
        default_factory=dict, description='"shopify/acme" -> topology system name (default: the channel)'
    )
    key_cache_ttl_s: float = 5.0
    audit_flush_interval_s: float = 0.05
    audit_batch: int = 500

    @classmethod
    def from_topology(cls, topology: Any, *, environ: dict[str, str] | None = None) -> GatewaySettings:
        """Map ``topology.gateway``, ``topology.policies`` and ``topology.engines`` to gateway settings."""
        gw = topology.gateway
        jwt: JwtSettings | None = None
        if gw.jwt_jwks_url or gw.jwt_public_key is not None:
            key = gw.jwt_public_key.resolve(environ).get_secret_value() if gw.jwt_public_key else None
            algs: tuple[str, ...] = ("RS256", "ES256")
            if key and "BEGIN" not in key:
                algs = ("HS256",)
            jwt = JwtSettings(
                jwks_url=gw.jwt_jwks_url,
                key=key,
                algorithms=algs,
                issuer=gw.jwt_issuer,
                audience=gw.jwt_audience,
            )
        pol = topology.policies
        consumers = dict(pol.consumers)
        default = consumers.pop("default", None)
        rate_limits = RateLimitSettings(
            default=default.rate if default is not None else "100/second",
            tiers={name: p.rate for name, p in consumers.items()},
            routes={route: p.rate for route, p in pol.routes.items()},
            storage_url=topology.engines.redis_url,
        )
        deprecations: dict[str, DeprecationNotice] = {}
        for route, sunset in gw.deprecations.items():
            when = datetime.fromisoformat(sunset.replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            deprecations[route] = DeprecationNotice(deprecated_at=_EPOCH_V1, sunset_at=when)
        webhook_tenants: dict[str, str] = {}
        webhook_systems: dict[str, str] = {}
        for name, sysc in topology.systems.items():
            tenant = sysc.tenant or "default"
            ids: list[tuple[str, str]] = []
            if sysc.kind == "shopify":
                ids = [("shopify", sysc.shop_domain), ("shopify", sysc.shop_domain.split(".")[0])]
            elif sysc.kind == "wms":
                ids = [("wms", sysc.warehouse_id)]
            for channel, source in [*ids, (sysc.kind, name)]:
                webhook_tenants.setdefault(f"{channel}/{source}", tenant)
                webhook_systems.setdefault(f"{channel}/{source}", name)
        return cls(
            max_body_bytes=gw.max_body_bytes,
            jwt=jwt,
            rate_limits=rate_limits,
            deprecations=deprecations,
            default_latency_budget_ms=gw.latency_budget_ms,
            latency_budget_ms={},
            webhook_tenants=webhook_tenants,
            webhook_systems=webhook_systems,
            default_tenant=next(iter(topology.tenants), "default"),
        )


_EPOCH_V1 = datetime(2026, 1, 1, tzinfo=UTC)
