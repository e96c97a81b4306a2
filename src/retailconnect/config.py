"""The topology file: tenants and brands, systems, flows, policies, SLAs, engines.

One YAML file selects everything; the code above ``bus/`` and ``store/`` does not change with it.
Secrets are referenced by environment-variable name (``{env: SHOPIFY_TOKEN}``) or file path, never by
value. :func:`load_topology` raises :class:`~retailconnect.errors.ConfigError` whose ``problems`` are
lines ``FILE:LINE: dotted.path: message``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from retailconnect.errors import ConfigError

__all__ = [
    "AlertsConfig",
    "BusEngine",
    "CircuitPolicy",
    "ConsumerPolicy",
    "Engines",
    "ErpPolicy",
    "ExceptionRoute",
    "FlowConfig",
    "GatewayConfig",
    "Policies",
    "SecretRef",
    "SlaRule",
    "SystemConfig",
    "Tenant",
    "Topology",
    "load_topology",
    "parse_topology",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Frozen):
    """Where a secret lives: an environment variable or a file. Never the value itself."""

    env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]*$")
    file: str | None = None

    @model_validator(mode="after")
    def _one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env or file")
        return self

    def resolve(self, environ: dict[str, str] | None = None) -> SecretStr:
        env = os.environ if environ is None else environ
        if self.env is not None:
            if self.env not in env:
                raise ConfigError(f"environment variable {self.env} is not set", context={"env": self.env})
            return SecretStr(env[self.env])
        assert self.file is not None
        try:
            return SecretStr(Path(self.file).read_text().strip())
        except OSError as exc:
            raise ConfigError(f"secret file {self.file}: {exc.strerror}") from None

    def available(self, environ: dict[str, str] | None = None) -> bool:
        env = os.environ if environ is None else environ
        return (self.env in env) if self.env else Path(str(self.file)).is_file()


class Tenant(_Frozen):
    name: str | None = None
    brands: list[str] = Field(default_factory=list)
    currency: str = "USD"
    region: str | None = None


class _SystemBase(_Frozen):
    mode: Literal["live", "simulator"] = "live"
    tenant: str | None = None
    base_url: str | None = None
    credentials: dict[str, SecretRef] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)
    timeout_s: float = Field(default=10.0, gt=0)

    def secret(self, name: str) -> SecretStr | None:
        ref = self.credentials.get(name)
        return ref.resolve() if ref else None

    @model_validator(mode="after")
    def _url(self) -> _SystemBase:
        if self.mode == "live" and not self.base_url:
            raise ValueError("base_url is required for a live system (or set mode: simulator)")
        return self


class ShopifySystem(_SystemBase):
    kind: Literal["shopify"]
    shop_domain: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
    api_version: str = "2025-01"
    location_map: dict[str, str] = Field(
        default_factory=dict, description="our location -> Shopify location id"
    )


class NetSuiteSystem(_SystemBase):
    kind: Literal["netsuite"]
    account_id: str = Field(pattern=r"^[0-9A-Za-z_-]+$")
    subsidiary: str | None = None
    location: str | None = None
    department: str | None = None
    class_: str | None = Field(default=None, alias="class")
    currency_map: dict[str, str] = Field(default_factory=dict)
    shipping_item: str | None = None
    discount_item: str | None = None
    concurrency_limit: int | None = Field(default=None, ge=1)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class WmsSystem(_SystemBase):
    kind: Literal["wms"]
    warehouse_id: str = "main"
    locations: list[str] = Field(default_factory=list)


class LegacyErpSystem(_SystemBase):
    kind: Literal["legacy_erp"]
    drop_dir: str | None = None


class GenericSystem(_SystemBase):
    kind: Literal[
        "adobe_commerce", "business_central", "sap_s4", "oracle_fusion", "tax", "payments", "crm", "pim"
    ]


SystemConfig = Annotated[
    ShopifySystem | NetSuiteSystem | WmsSystem | LegacyErpSystem | GenericSystem, Field(discriminator="kind")
]


class FlowConfig(_Frozen):
    name: Literal[
        "order_to_cash", "inventory_sync", "returns", "catalog", "pricing", "settlement", "fulfillment"
    ]
    source: str
    targets: list[str] = Field(min_length=1)
    enabled: bool = True
    tenant: str | None = None


class CircuitPolicy(_Frozen):
    failure_threshold: int = Field(default=5, ge=1)
    reset_after_s: float = Field(default=15.0, gt=0)
    half_open_max_calls: int = Field(default=1, ge=1)


class ErpPolicy(_Frozen):
    concurrency: int = Field(default=5, ge=1)
    rps: float = Field(default=10.0, gt=0)
    headroom: float = Field(default=0.9, gt=0, le=1, description="share of the vendor limit we use")
    tier_shares: dict[int, float] = Field(default_factory=lambda: {1: 0.6, 2: 0.3, 3: 0.1})
    circuit: CircuitPolicy = Field(default_factory=CircuitPolicy)
    cache_ttl_s: float = Field(default=300.0, ge=0)
    cancellation_after_post: Literal["cancel", "flag"] = "cancel"


class ConsumerPolicy(_Frozen):
    rate: str = Field(default="100/second", pattern=r"^\d+\s*(/|per)\s*\d*\s*(second|minute|hour|day)s?$")
    burst: int | None = None


class Policies(_Frozen):
    erp: dict[str, ErpPolicy] = Field(default_factory=dict)
    consumers: dict[str, ConsumerPolicy] = Field(default_factory=lambda: {"default": ConsumerPolicy()})
    routes: dict[str, ConsumerPolicy] = Field(default_factory=dict)
    safety_stock: int = Field(default=0, ge=0)
    stale_buffer: int = Field(default=2, ge=0, description="units held back when availability is stale")
    reservation_ttl_s: float = Field(default=3600.0, gt=0)


class SlaRule(_Frozen):
    name: str
    metric: Literal[
        "order_aging_s",
        "inventory_lag_p99_s",
        "dead_letters",
        "erp_circuit_open_s",
        "exceptions_open",
        "failed_settlements",
        "webhook_signature_failures",
    ]
    threshold: float
    tier: int | None = None
    for_s: float = Field(default=0.0, ge=0)
    severity: Literal["info", "warning", "critical"] = "warning"


class AlertsConfig(_Frozen):
    webhook_url: str | None = None
    evaluate_every_s: float = Field(default=10.0, gt=0)


class ExceptionRoute(_Frozen):
    team: str
    code: str | None = None
    error_class: str | None = None
    system: str | None = None
    tenant: str | None = None


class BusEngine(_Frozen):
    backend: Literal["sqlite", "postgres", "nats"] = "sqlite"
    url: str | None = None
    stream: str = "retailconnect"
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _url(self) -> BusEngine:
        if self.backend == "nats" and not self.url:
            raise ValueError("the nats bus needs url (e.g. nats://127.0.0.1:4222)")
        return self


class Engines(_Frozen):
    store_url: str = "sqlite:///.retailconnect/retailconnect.db"
    dbos_url: str | None = Field(default=None, description="DBOS system database; default beside the store")
    bus: BusEngine = Field(default_factory=BusEngine)
    redis_url: str | None = None
    executor_id: str | None = None

    @field_validator("store_url")
    @classmethod
    def _store(cls, v: str) -> str:
        if not v.startswith(("sqlite", "postgresql")):
            raise ValueError("store_url must be a sqlite:/// or postgresql:// URL")
        return v


class GatewayConfig(_Frozen):
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    jwt_jwks_url: str | None = None
    jwt_public_key: SecretRef | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    latency_budget_ms: float = Field(default=800.0, gt=0)
    deprecations: dict[str, str] = Field(default_factory=dict, description="route -> sunset date (RFC 3339)")


class Topology(_Frozen):
    version: Literal[1] = 1
    name: str = "retailconnect"
    tenants: dict[str, Tenant] = Field(default_factory=lambda: {"default": Tenant()})
    systems: dict[str, SystemConfig] = Field(default_factory=dict)
    flows: list[FlowConfig] = Field(default_factory=list)
    policies: Policies = Field(default_factory=Policies)
    slas: list[SlaRule] = Field(default_factory=list)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    exception_routing: list[ExceptionRoute] = Field(default_factory=list)
    engines: Engines = Field(default_factory=Engines)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)

    @model_validator(mode="after")
    def _references(self) -> Topology:
        problems: list[str] = []
        for name, sysc in self.systems.items():
            if sysc.tenant is not None and sysc.tenant not in self.tenants:
                problems.append(f"systems.{name}.tenant: unknown tenant {sysc.tenant!r}")
        for i, flow in enumerate(self.flows):
            for j, ref in enumerate([flow.source, *flow.targets]):
                if ref not in self.systems:
                    where = "source" if j == 0 else f"targets.{j - 1}"
                    problems.append(f"flows.{i}.{where}: unknown system {ref!r}")
        for erp in self.policies.erp:
            if erp not in self.systems:
                problems.append(f"policies.erp.{erp}: unknown system {erp!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # -- lookups ---------------------------------------------------------------------------------
    def systems_of(self, *kinds: str) -> dict[str, Any]:
        return {n: s for n, s in self.systems.items() if s.kind in kinds}

    def erp_name(self) -> str | None:
        erps = self.systems_of("netsuite", "legacy_erp", "business_central", "sap_s4", "oracle_fusion")
        return next(iter(erps), None)

    def erp_policy(self, name: str) -> ErpPolicy:
        return self.policies.erp.get(name, ErpPolicy())


# -- loading with line numbers --------------------------------------------------------------------


def _line_index(node: yaml.Node, path: tuple[str, ...], out: dict[tuple[str, ...], int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = (*path, str(key.value))
            out[k] = key.start_mark.line + 1
            _line_index(value, k, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            k = (*path, str(i))
            out[k] = item.start_mark.line + 1
            _line_index(item, k, out)


def _clean_loc(loc: tuple[Any, ...], raw: Any) -> tuple[str, ...]:
    """Drop the discriminator tag Pydantic inserts for tagged unions (systems.<name>.<kind>.field)."""
    parts = [str(p) for p in loc]
    if len(parts) >= 3 and parts[0] == "systems" and isinstance(raw, dict):
        system = (raw.get("systems") or {}).get(parts[1])
        if isinstance(system, dict) and system.get("kind") == parts[2]:
            del parts[2]
    return tuple(parts)


def _message(err: Any) -> str:
    msg = str(err["msg"])
    if err["type"] == "missing":
        return "field required"
    if err["type"] == "extra_forbidden":
        return "unknown field"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg[:1].lower() + msg[1:]


def parse_topology(text: str, filename: str = "<topology>") -> Topology:
    try:
        node = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"{filename}:{line}: invalid YAML: {problem}",
            problems=[f"{filename}:{line}: invalid YAML: {problem}"],
        ) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{filename}:1: the topology must be a mapping")
    lines: dict[tuple[str, ...], int] = {}
    if node is not None:
        _line_index(node, (), lines)
    try:
        return Topology.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = _clean_loc(tuple(err["loc"]), raw)
            msg = _message(err)
            if not loc and "; " in msg:
                # cross-reference problems carry their own dotted paths
                for part in msg.split("; "):
                    path, _, text_ = part.partition(": ")
                    key = tuple(path.split("."))
                    line = _nearest_line(lines, key)
                    problems.append(f"{filename}:{line}: {path}: {text_}")
                continue
            if not loc and ": " in msg and "." in msg.split(": ", 1)[0]:
                path, _, text_ = msg.partition(": ")
                problems.append(f"{filename}:{_nearest_line(lines, tuple(path.split('.')))}: {path}: {text_}")
                continue
            line = _nearest_line(lines, loc)
            problems.append(f"{filename}:{line}: {'.'.join(loc) or '(top)'}: {msg}")
        raise ConfigError(
            f"{filename}: invalid topology ({len(problems)} problem(s))", problems=problems
        ) from None


def _nearest_line(lines: dict[tuple[str, ...], int], loc: tuple[str, ...]) -> int:
    key = loc
    while key:
        if key in lines:
            return lines[key]
        key = key[:-1]
    return 1


def load_topology(path: str | Path) -> Topology:
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such file", problems=[f"{p}:0: (file): no such file"]) from None
    return parse_topology(text, str(p))
