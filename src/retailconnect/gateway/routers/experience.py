"""Experience APIs shaped for a channel: storefront availability, POS lookups.

``GET /v1/channels/{channel}/stock/{sku}`` is the first storefront stock route, kept for existing
clients and deprecated in favour of ``/v1/channels/{channel}/availability`` (answers carry
``Deprecation``, ``Sunset`` and ``Link`` headers).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel

from retailconnect.errors import NotFoundError

from ..consumers import Principal
from ..deps import RequireScope, State
from ..settings import DeprecationNotice
from .process import AvailabilityOut, PriceOut, availability_answer, price_answer

__all__ = ["DEPRECATIONS", "router"]

router = APIRouter(prefix="/v1/channels", tags=["experience"])

DEPRECATIONS: dict[str, DeprecationNotice] = {
    "GET /v1/channels/{channel}/stock/{sku}": DeprecationNotice(
        deprecated_at=datetime(2026, 6, 1, tzinfo=UTC),
        sunset_at=datetime(2027, 6, 1, tzinfo=UTC),
        link="https://retailconnect.dev/docs/api/deprecations#channel-stock",
        successor="/v1/channels/{channel}/availability",
    )
}

Channel = Annotated[str, Path(min_length=1, max_length=60, pattern=r"^[a-z0-9_-]+$")]


class StorefrontAvailability(BaseModel):
    sku: str
    channel: str
    location: str | None = None
    available: int
    in_stock: bool
    stale: bool


class PosLookup(BaseModel):
    sku: str
    store: str
    price: PriceOut | None
    availability: AvailabilityOut
    stale: bool


@router.get(
    "/{channel}/availability",
    response_model=StorefrontAvailability,
    summary="What a storefront may show as available",
)
async def storefront_availability(
    channel: Channel,
    sku: Annotated[str, Query(min_length=1, max_length=120, pattern=r"^[^\s]+$")],
    response: Response,
    state: State,
    principal: Annotated[Principal, Depends(RequireScope("availability:read"))],
    location: Annotated[str | None, Query(max_length=120)] = None,
) -> StorefrontAvailability:
    view = await availability_answer(state, principal, sku, location, response)
    return StorefrontAvailability(
        sku=sku,
        channel=channel,
        location=view.location,
        available=max(0, view.available),
        in_stock=view.available > 0,
        stale=view.stale,
    )


@router.get(
    "/{channel}/stock/{sku}",
    response_model=StorefrontAvailability,
    deprecated=True,
    summary="Deprecated: use /v1/channels/{channel}/availability?sku=",
)
async def storefront_stock(
    channel: Channel,
    sku: Annotated[str, Path(min_length=1, max_length=120)],
    response: Response,
    state: State,
    principal: Annotated[Principal, Depends(RequireScope("availability:read"))],
) -> StorefrontAvailability:
    return await storefront_availability(channel, sku, response, state, principal, None)


@router.get(
    "/pos/{store}/lookup",
    response_model=PosLookup,
    summary="POS lookup: price and stock at the store for one SKU",
)
async def pos_lookup(
    store: Annotated[str, Path(min_length=1, max_length=120)],
    sku: Annotated[str, Query(min_length=1, max_length=120, pattern=r"^[^\s]+$")],
    response: Response,
    state: State,
    principal: Annotated[Principal, Depends(RequireScope("prices:read", "availability:read"))],
) -> PosLookup:
    avail = await availability_answer(state, principal, sku, store, response)
    price: PriceOut | None
    try:
        price = await price_answer(state, principal, sku, "pos", response)
    except NotFoundError:
        price = None  # a POS still sells without a list price
    return PosLookup(
        sku=sku,
        store=store,
        price=price,
        availability=avail,
        stale=avail.stale or bool(price and price.stale),
    )
