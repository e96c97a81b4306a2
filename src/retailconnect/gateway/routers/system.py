"""System APIs: read views per backend for internal consumers (what the hub knows about each system)."""

from __future__ import annotations

from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from retailconnect.errors import NotFoundError, PermissionDeniedError

from ..consumers import Principal
from ..deps import RequireScope, State
from ._common import plain

__all__ = ["router"]

router = APIRouter(prefix="/v1/systems", tags=["system"])

Reader = Annotated[Principal, Depends(RequireScope("systems:read"))]
Name = Annotated[str, Path(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_.-]+$")]
Kind = Annotated[str, Path(min_length=1, max_length=60, pattern=r"^[a-z_]+$")]


class SystemOut(BaseModel):
    name: str
    kind: str
    tenant: str | None = None
    mode: str | None = None


class BindingOut(BaseModel):
    system: str
    kind: str
    canonical_id: str | None
    external_id: str | None


def _systems(state: State) -> dict[str, Any]:
    topo = getattr(state.hub, "topology", None)
    systems: dict[str, Any] = dict(getattr(topo, "systems", {}) or {})
    return systems


def _visible(state: State, principal: Principal, name: str) -> Any:
    sysc = _systems(state).get(name)
    if sysc is None:
        raise NotFoundError(f"no system named {name!r}", context={"system": name})
    tenant = getattr(sysc, "tenant", None)
    if tenant is not None and not principal.sees_tenant(tenant):
        raise PermissionDeniedError(f"system {name!r} belongs to another tenant", context={"system": name})
    return sysc


@router.get("", response_model=list[SystemOut], summary="Systems in the topology this consumer may see")
async def list_systems(state: State, principal: Reader) -> list[SystemOut]:
    out = []
    for name, sysc in _systems(state).items():
        tenant = getattr(sysc, "tenant", None)
        if tenant is None or principal.sees_tenant(tenant):
            out.append(
                SystemOut(name=name, kind=str(sysc.kind), tenant=tenant, mode=getattr(sysc, "mode", None))
            )
    return out


@router.get("/{system}", response_model=SystemOut, summary="One system")
async def get_system(system: Name, state: State, principal: Reader) -> SystemOut:
    sysc = _visible(state, principal, system)
    return SystemOut(
        name=system,
        kind=str(sysc.kind),
        tenant=getattr(sysc, "tenant", None),
        mode=getattr(sysc, "mode", None),
    )


@router.get(
    "/{system}/refs/{kind}/{external_id}",
    response_model=BindingOut,
    summary="Canonical id for this system's id (cross-reference)",
)
async def to_internal(
    system: Name,
    kind: Kind,
    external_id: Annotated[str, Path(max_length=200)],
    state: State,
    principal: Reader,
) -> BindingOut:
    _visible(state, principal, system)
    got = await to_thread.run_sync(state.hub.bindings.to_internal, kind, system, external_id)
    if got is None:
        raise NotFoundError(f"{system} {kind} {external_id!r} is not bound")
    return BindingOut(system=system, kind=kind, canonical_id=str(got), external_id=external_id)


@router.get(
    "/{system}/bindings/{kind}/{canonical_id}",
    response_model=BindingOut,
    summary="This system's id for a canonical id (cross-reference)",
)
async def to_external(
    system: Name,
    kind: Kind,
    canonical_id: Annotated[str, Path(max_length=200)],
    state: State,
    principal: Reader,
) -> BindingOut:
    _visible(state, principal, system)
    got = await to_thread.run_sync(state.hub.bindings.to_external, kind, system, canonical_id)
    if got is None:
        raise NotFoundError(f"canonical {kind} {canonical_id!r} has no {system} id")
    return BindingOut(system=system, kind=kind, canonical_id=canonical_id, external_id=str(got))


class StatusOut(BaseModel):
    system: str
    status: dict[str, Any]


@router.get(
    "/{system}/status",
    response_model=StatusOut,
    summary="How the hub protects this backend right now (ERP guard: circuit, limits, queue)",
)
async def system_status(system: Name, state: State, principal: Reader) -> StatusOut:
    _visible(state, principal, system)
    probe = getattr(state.hub, "erp_status", None)
    snapshot = probe() if probe is not None else {}
    if system not in snapshot:
        raise NotFoundError(f"no guarded status for {system!r} (not an ERP)", context={"system": system})
    return StatusOut(system=system, status=plain(snapshot[system]))
