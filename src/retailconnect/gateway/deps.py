"""What the routers depend on: the hub (as a narrow Protocol), the caller, scopes, rate limits.

``HubServices`` lists exactly the ``runtime.Hub`` members the gateway calls, so the gateway can be
tested against a small in-test implementation and never reaches past the hub into vendors.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Protocol
from uuid import UUID

from fastapi import Depends, Request

from retailconnect.canonical import Money, Order, Return
from retailconnect.connectors._kit.webhooks import Delivery, WebhookVerifier
from retailconnect.errors import AuthenticationError, PermissionDeniedError

from .consumers import ConsumerStore, Principal

if TYPE_CHECKING:
    from .audit import AuditWriter
    from .cache import StaleCache
    from .ratelimit import RateLimiter
    from .settings import GatewaySettings
    from .webhooks import WebhookIntake

__all__ = [
    "AvailabilityLike",
    "Caller",
    "CaptureLike",
    "GatewayState",
    "HubDep",
    "HubServices",
    "RequireScope",
    "State",
    "get_hub",
    "get_principal",
]


class CaptureLike(Protocol):
    status: str  # "accepted" | "duplicate" | "rejected"
    order_id: UUID | None
    workflow_id: str
    reasons: list[str]


class AvailabilityLike(Protocol):
    sku: str
    location: str | None
    available: int
    on_hand: int
    reserved: int
    safety_stock: int
    as_of: datetime
    stale: bool


class ExceptionQueueLike(Protocol):
    def list(self, status: str | None = None, team: str | None = None, tenant: str | None = None) -> Any: ...
    def get(self, id: Any) -> Any: ...
    def resolve(self, id: Any, action: str = "retry", actor: str = "", note: str | None = None) -> Any: ...


class DeadLettersLike(Protocol):
    async def list_dead(self, group: str | None = None, limit: int = 100) -> list[Any]: ...
    async def get_dead(self, id: str) -> Any: ...
    async def replay_dead(self, id: str, *, group: str | None = None, dry_run: bool = False) -> Any: ...


class HubServices(Protocol):
    """The slice of ``runtime.Hub`` the gateway uses (see /tmp/hub_api.md, the shared contract)."""

    topology: Any  # retailconnect.config.Topology
    store: Any  # retailconnect.store.Store
    bindings: Any  # retailconnect.store.Bindings
    archive: Any  # retailconnect.store.PayloadArchive
    audit: Any  # retailconnect.store.AuditLog
    exceptions: ExceptionQueueLike
    bus: DeadLettersLike

    def webhook_verifier(self, system_name: str) -> WebhookVerifier: ...

    async def capture_order(
        self, order: Order, *, tenant: str, correlation_id: str | None = None, source: str = "api"
    ) -> CaptureLike: ...

    async def ingest_channel_webhook(
        self, system_name: str, delivery: Delivery, payload: dict[str, Any], *, tenant: str,
        correlation_id: str | None,
    ) -> Any: ...  # fmt: skip

    async def ingest_warehouse_webhook(
        self, system_name: str, delivery: Delivery, payload: dict[str, Any], *, tenant: str,
        correlation_id: str | None,
    ) -> None: ...  # fmt: skip

    async def create_return(
        self, ret: Return, *, tenant: str, correlation_id: str | None = None
    ) -> CaptureLike: ...

    async def availability(self, sku: str, location: str | None, *, tenant: str) -> AvailabilityLike: ...

    async def price_check(
        self, sku: str, *, channel: str | None, tenant: str
    ) -> tuple[Money | None, bool]: ...

    async def customer_lookup(self, email: str, *, tenant: str) -> tuple[dict[str, Any] | None, bool]: ...

    async def list_flows(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]: ...

    async def flow_history(self, workflow_id: str) -> dict[str, Any]: ...

    async def retry_flow(self, workflow_id: str) -> None: ...

    async def cancel_flow(self, workflow_id: str) -> None: ...


@dataclass
class GatewayState:
    """Everything the app built at startup, on ``app.state.gateway``."""

    hub: HubServices
    settings: GatewaySettings
    consumers: ConsumerStore
    limiter: RateLimiter
    cache: StaleCache
    audit: AuditWriter
    webhooks: WebhookIntake


async def get_state(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    return state


async def get_hub(request: Request) -> HubServices:
    hub: HubServices = request.app.state.gateway.hub
    return hub


async def get_principal(request: Request) -> Principal:
    principal: Principal | None = request.scope.get("state", {}).get("principal")
    if principal is None:
        raise AuthenticationError(
            "send an API key (X-API-Key or Authorization: Bearer rc_...) or an OAuth2 access token"
        )
    return principal


HubDep = Annotated[HubServices, Depends(get_hub)]
State = Annotated[GatewayState, Depends(get_state)]
Caller = Annotated[Principal, Depends(get_principal)]


def RequireScope(*scopes: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Router/route dependency: the caller holds every scope, and is within its rate budget."""

    async def check(request: Request) -> Principal:
        # one dependency reading the scope directly (not Caller + State): FastAPI resolves each
        # sub-dependency per request, and this one guards every route
        principal = request.scope.get("state", {}).get("principal")
        if principal is None:
            principal = await get_principal(request)  # raises the 401
        state: GatewayState = request.app.state.gateway
        missing = [s for s in scopes if not principal.has_scope(s)]
        if missing:
            raise PermissionDeniedError(
                f"consumer {principal.consumer!r} lacks scope {' '.join(missing)}",
                context={"required": list(scopes)},
            )
        await state.limiter.enforce(request, principal)
        return principal

    check.__name__ = "require_" + "_".join(s.replace(":", "_") for s in scopes)
    return check
