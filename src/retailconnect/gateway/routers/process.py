"""Process APIs: order capture, availability, returns, price check, customer lookup."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from retailconnect.canonical import Money, Order, Return, check_totals
from retailconnect.errors import InputError, NotFoundError

from ..consumers import Principal
from ..deps import GatewayState, RequireScope, State
from ..routing import KeepParsed, ParsedBodyRoute
from ._common import budget_s, correlation_id, mark_stale, plain, tenant_for

__all__ = ["AvailabilityOut", "CaptureOut", "router"]

# order and return bodies are decoded and validated in one pass (see ..routing)
router = APIRouter(prefix="/v1", tags=["process"], route_class=ParsedBodyRoute)


class CaptureOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["accepted", "duplicate"]
    id: UUID | None = Field(description="canonical id")
    workflow_id: str
    correlation_id: str | None = None


class AvailabilityOut(BaseModel):
    sku: str
    location: str | None = None
    available: int
    on_hand: int
    reserved: int
    safety_stock: int
    as_of: datetime
    stale: bool


class PriceOut(BaseModel):
    sku: str
    channel: str | None = None
    price: Money
    stale: bool


class CustomerOut(BaseModel):
    customer: dict[str, Any]
    stale: bool


_REJECTED: dict[int | str, dict[str, Any]] = {
    422: {"description": "rejected (problem+json with `reasons`), or invalid input (with `errors`)"},
}


def _capture_answer(result: Any, response: Response | None, request: Request, what: str) -> CaptureOut:
    if result.status == "rejected":
        raise InputError(
            f"the {what} was rejected: " + "; ".join(result.reasons or ["no reason given"]),
            context={"reasons": list(result.reasons or []), "workflow_id": result.workflow_id},
        )
    if response is not None:
        response.status_code = 202 if result.status == "accepted" else 200
    return CaptureOut(
        status=result.status,
        id=result.order_id,
        workflow_id=result.workflow_id,
        correlation_id=correlation_id(request),
    )


@router.post(
    "/orders",
    status_code=202,
    response_model=CaptureOut,
    responses={200: {"model": CaptureOut, "description": "already captured (duplicate)"}, **_REJECTED},
    summary="Capture an order (canonical Order JSON); answers accepted with the canonical id, or rejected",
)
async def capture_order(
    order: Annotated[Order, KeepParsed],
    request: Request,
    principal: Annotated[Principal, Depends(RequireScope("orders:write"))],
) -> Response:
    # the hot path: the state from the app (no dependency), the answer rendered here (no sub-response
    # and no second validation of CaptureOut); the OpenAPI document still says CaptureOut
    state: GatewayState = request.app.state.gateway
    tenant = tenant_for(principal, state, order.tenant)
    result = await state.hub.capture_order(
        order, tenant=tenant, correlation_id=correlation_id(request), source=f"api:{principal.consumer}"
    )
    answer = _capture_answer(result, None, request, "order")
    return Response(
        answer.model_dump_json(),
        status_code=202 if answer.status == "accepted" else 200,
        media_type="application/json",
    )


class LineCheck(BaseModel):
    sku: str | None
    quantity: int
    available: int | None
    enough: bool | None


class ValidationOut(BaseModel):
    valid: bool
    problems: list[str]
    lines: list[LineCheck]
    customer_known: bool | None
    stale: bool


@router.post(
    "/orders/validate",
    response_model=ValidationOut,
    summary="Validate an order without capturing it: totals, stock per line, customer (cached answers when "
    "the ERP is slow, marked stale)",
)
async def validate_order(
    order: Annotated[Order, KeepParsed],
    response: Response,
    state: State,
    principal: Annotated[Principal, Depends(RequireScope("orders:write"))],
) -> ValidationOut:
    tenant = tenant_for(principal, state, order.tenant)
    problems = [] if order.totals_mismatch else check_totals(order)
    budget = budget_s(state, "order_validation")
    stale = False
    checks: list[LineCheck] = []
    for i, line in enumerate(order.lines):
        if line.sku is None:
            problems.append(f"lines[{i}] has no SKU")
            checks.append(LineCheck(sku=None, quantity=line.quantity, available=None, enough=None))
            continue
        sku = line.sku

        async def fetch(sku: str = sku) -> tuple[Any, bool]:
            view = await state.hub.availability(sku, None, tenant=tenant)
            return view, bool(getattr(view, "stale", False))

        try:
            answer = await state.cache.get(f"avail|{tenant}|{sku}|None", fetch, budget_s=budget)
        except NotFoundError:
            problems.append(f"lines[{i}] SKU {sku} is unknown")
            checks.append(LineCheck(sku=sku, quantity=line.quantity, available=None, enough=False))
            continue
        stale = stale or answer.stale or bool(getattr(answer.value, "stale", False))
        available = int(getattr(answer.value, "available", 0))
        enough = available >= line.quantity
        if not enough:
            problems.append(f"lines[{i}] SKU {sku}: {line.quantity} ordered, {available} available")
        checks.append(LineCheck(sku=sku, quantity=line.quantity, available=available, enough=enough))
    known: bool | None = None
    email = order.customer.email
    if email:
        norm = email.strip().lower()

        async def fetch_customer() -> tuple[Any, bool]:
            return await state.hub.customer_lookup(norm, tenant=tenant)

        c = await state.cache.get(f"customer|{tenant}|{norm}", fetch_customer, budget_s=budget)
        stale = stale or c.stale
        known = c.value is not None
    if stale:
        response.headers["X-RetailConnect-Stale"] = "true"
    return ValidationOut(
        valid=not problems, problems=problems, lines=checks, customer_known=known, stale=stale
    )


@router.post(
    "/returns", status_code=202, response_model=CaptureOut, responses=_REJECTED, summary="Request a return"
)
async def create_return(
    ret: Annotated[Return, KeepParsed],
    request: Request,
    response: Response,
    state: State,
    principal: Annotated[Principal, Depends(RequireScope("returns:write"))],
) -> CaptureOut:
    tenant = tenant_for(principal, state)
    result = await state.hub.create_return(ret, tenant=tenant, correlation_id=correlation_id(request))
    return _capture_answer(result, response, request, "return")


Sku = Annotated[str, Query(min_length=1, max_length=120, pattern=r"^[^\s]+$")]


@router.get("/availability", response_model=AvailabilityOut, summary="Available to sell, per location")
async def availability(
    sku: Sku,
    response: Response,
    state: State,
    principal: Annotated[Principal, Depends(RequireScope("availability:read"))],
    location: Annotated[str | None, Query(max_length=120)] = None,
) -> AvailabilityOut:
    return await availability_answer(state, principal, sku, location, response)


async def availability_answer(
    state: State, principal: Principal, sku: str, location: str | None, response: Response
) -> AvailabilityOut:
    tenant = tenant_for(principal, state)

    async def fetch() -> tuple[Any, bool]:
        view = await state.hub.availability(sku, location, tenant=tenant)
        return view, bool(getattr(view, "stale", False))

    answer = await state.cache.get(
        f"avail|{tenant}|{sku}|{location}", fetch, budget_s=budget_s(state, "availability")
    )
    mark_stale(response, answer)
    data = plain(answer.value)
    data["stale"] = bool(data.get("stale")) or answer.stale
    return AvailabilityOut.model_validate(data)


@router.get(
    "/prices/{sku}",
    response_model=PriceOut,
    responses={404: {"description": "no price for this SKU"}},
    summary="Price check (answers from cache, marked stale, when the ERP is slow or down)",
)
async def price_check(
    sku: Annotated[str, Path(min_length=1, max_length=120)],
    response: Response,
    state: State,
    principal: Annotated[Principal, Depends(RequireScope("prices:read"))],
    channel: Annotated[str | None, Query(max_length=120)] = None,
) -> PriceOut:
    return await price_answer(state, principal, sku, channel, response)


async def price_answer(
    state: State, principal: Principal, sku: str, channel: str | None, response: Response
) -> PriceOut:
    tenant = tenant_for(principal, state)

    async def fetch() -> tuple[Any, bool]:
        return await state.hub.price_check(sku, channel=channel, tenant=tenant)

    answer = await state.cache.get(
        f"price|{tenant}|{sku}|{channel}", fetch, budget_s=budget_s(state, "price_check")
    )
    if answer.value is None:
        raise NotFoundError(f"no price for SKU {sku!r}", context={"sku": sku})
    mark_stale(response, answer)
    return PriceOut(sku=sku, channel=channel, price=answer.value, stale=answer.stale)


@router.get(
    "/customers",
    response_model=CustomerOut,
    responses={404: {"description": "no customer with this e-mail"}},
    summary="Customer lookup by e-mail",
)
async def customer_lookup(
    email: Annotated[str, Query(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")],
    response: Response,
    state: State,
    principal: Annotated[Principal, Depends(RequireScope("customers:read"))],
) -> CustomerOut:
    tenant = tenant_for(principal, state)
    norm = email.strip().lower()

    async def fetch() -> tuple[Any, bool]:
        return await state.hub.customer_lookup(norm, tenant=tenant)

    answer = await state.cache.get(
        f"customer|{tenant}|{norm}", fetch, budget_s=budget_s(state, "customer_lookup")
    )
    if answer.value is None:
        raise NotFoundError("no customer with this e-mail address")
    mark_stale(response, answer)
    return CustomerOut(customer=plain(answer.value), stale=answer.stale)
