"""Ops APIs: the exception queue (resolve), durable flows (retry, cancel), dead letters (replay).

Reading needs ``ops:read``; acting needs ``ops:admin``. A tenant-bound consumer only sees and touches its
own tenant's items (exceptions by their tenant, flows by the tenant in their workflow id
``<kind>:<tenant>:...``, dead letters by the event's ``tenant`` extension).
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any, Literal

from anyio import to_thread
from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from retailconnect.errors import NotFoundError

from ..consumers import Principal
from ..deps import RequireScope, State
from ._common import plain

__all__ = ["router"]

router = APIRouter(prefix="/v1/ops", tags=["ops"])

Reader = Annotated[Principal, Depends(RequireScope("ops:read"))]
Admin = Annotated[Principal, Depends(RequireScope("ops:admin"))]
Limit = Annotated[int, Query(ge=1, le=1000)]
Id = Annotated[str, Path(min_length=1, max_length=300)]


class Items(BaseModel):
    items: list[dict[str, Any]]
    count: int


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["retry", "skip", "cancel"] = "retry"
    note: str | None = Field(default=None, max_length=2000)


class ActionOut(BaseModel):
    id: str
    action: str
    result: Any = None


async def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    if inspect.iscoroutinefunction(fn):
        return await fn(*args, **kwargs)
    return await to_thread.run_sync(lambda: fn(*args, **kwargs))


def _tenant_of(item: dict[str, Any]) -> str | None:
    t = item.get("tenant")
    if t is None and isinstance(item.get("context"), dict):
        t = item["context"].get("tenant")
    if t is None and isinstance(item.get("event"), dict):
        t = item["event"].get("tenant")
    return t if isinstance(t, str) else None


def _flow_tenant(workflow_id: str) -> str | None:
    parts = workflow_id.split(":")
    return parts[1] if len(parts) >= 3 else None


def _own(principal: Principal, tenant: str | None, what: str) -> None:
    # a tenant-bound consumer cannot tell another tenant's item from a missing one
    if tenant is not None and not principal.sees_tenant(tenant):
        raise NotFoundError(f"no {what} with this id")


# -- exceptions -------------------------------------------------------------------------------------
@router.get("/exceptions", response_model=Items, summary="Exception queue")
async def list_exceptions(
    state: State,
    principal: Reader,
    status: Annotated[str | None, Query(max_length=40)] = None,
    team: Annotated[str | None, Query(max_length=120)] = None,
    limit: Limit = 100,
) -> Items:
    tenant = None if principal.tenant == "*" else principal.tenant
    items = [
        plain(x) for x in await _call(state.hub.exceptions.list, status=status, team=team, tenant=tenant)
    ]
    items = [x for x in items if principal.sees_tenant(_tenant_of(x))][:limit]
    return Items(items=items, count=len(items))


@router.get("/exceptions/{exception_id}", response_model=dict[str, Any], summary="One exception")
async def get_exception(exception_id: Id, state: State, principal: Reader) -> dict[str, Any]:
    item = await _call(state.hub.exceptions.get, _maybe_int(exception_id))
    if item is None:
        raise NotFoundError("no exception with this id")
    data: dict[str, Any] = plain(item)
    _own(principal, _tenant_of(data), "exception")
    return data


@router.post("/exceptions/{exception_id}/resolve", response_model=ActionOut, summary="Resolve an exception")
async def resolve_exception(exception_id: Id, body: ResolveIn, state: State, principal: Admin) -> ActionOut:
    await get_exception(exception_id, state, principal)
    result = await _call(
        state.hub.exceptions.resolve,
        _maybe_int(exception_id),
        action=body.action,
        actor=principal.consumer,
        note=body.note,
    )
    return ActionOut(id=exception_id, action=body.action, result=plain(result))


def _maybe_int(value: str) -> Any:
    return int(value) if value.isdigit() else value


# -- flows ------------------------------------------------------------------------------------------
@router.get("/flows", response_model=Items, summary="Durable flows")
async def list_flows(
    state: State,
    principal: Reader,
    status: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 100,
) -> Items:
    flows = [plain(f) for f in await state.hub.list_flows(status=status, limit=limit)]
    mine = [
        f
        for f in flows
        if principal.sees_tenant(_tenant_of(f) or _flow_tenant(str(f.get("workflow_id", f.get("id", "")))))
    ]
    return Items(items=mine, count=len(mine))


@router.get("/flows/{workflow_id}", response_model=dict[str, Any], summary="One flow with its steps")
async def flow_history(workflow_id: Id, state: State, principal: Reader) -> dict[str, Any]:
    _own(principal, _flow_tenant(workflow_id), "flow")
    data: dict[str, Any] = plain(await state.hub.flow_history(workflow_id))
    return data


@router.post(
    "/flows/{workflow_id}/retry", response_model=ActionOut, summary="Resume a flow from its failed step"
)
async def retry_flow(workflow_id: Id, state: State, principal: Admin) -> ActionOut:
    _own(principal, _flow_tenant(workflow_id), "flow")
    await state.hub.retry_flow(workflow_id)
    return ActionOut(id=workflow_id, action="retry")


@router.post("/flows/{workflow_id}/cancel", response_model=ActionOut, summary="Cancel a flow")
async def cancel_flow(workflow_id: Id, state: State, principal: Admin) -> ActionOut:
    _own(principal, _flow_tenant(workflow_id), "flow")
    await state.hub.cancel_flow(workflow_id)
    return ActionOut(id=workflow_id, action="cancel")


# -- dead letters -----------------------------------------------------------------------------------
@router.get("/dlq", response_model=Items, summary="Dead letters")
async def list_dead(
    state: State,
    principal: Reader,
    group: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 100,
) -> Items:
    items = [plain(d) for d in await state.hub.bus.list_dead(group=group, limit=limit)]
    mine = [d for d in items if principal.sees_tenant(_tenant_of(d))]
    return Items(items=mine, count=len(mine))


@router.get("/dlq/{dead_id}", response_model=dict[str, Any], summary="One dead letter")
async def get_dead(dead_id: Id, state: State, principal: Reader) -> dict[str, Any]:
    data: dict[str, Any] = plain(await state.hub.bus.get_dead(dead_id))
    _own(principal, _tenant_of(data), "dead letter")
    return data


@router.post("/dlq/{dead_id}/replay", response_model=ActionOut, summary="Redeliver a dead letter")
async def replay_dead(dead_id: Id, state: State, principal: Admin) -> ActionOut:
    await get_dead(dead_id, state, principal)
    result = await state.hub.bus.replay_dead(dead_id)
    return ActionOut(id=dead_id, action="replay", result=plain(result))
