"""Vendor webhooks in. Authenticated by the vendor's signature over the raw body, not by API key."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel

from ..deps import State
from ._common import correlation_id

__all__ = ["router"]

router = APIRouter(prefix="/v1/channels", tags=["channels"])


class WebhookAck(BaseModel):
    accepted: bool
    duplicate: bool
    delivery_id: str
    topic: str


_RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "signature missing or invalid"},
    404: {"description": "no such system in the topology"},
}


async def _accept(
    request: Request, state: State, kind: Literal["channel", "warehouse"], channel: str, source: str
) -> WebhookAck:
    body = await request.body()
    delivery, _archive_id, is_new, tenant = await state.webhooks.accept(
        kind, channel, source, request.headers, body, correlation_id(request)
    )
    request.scope["state"]["actor"] = f"webhook:{channel}/{source}"
    request.scope["state"]["tenant"] = tenant
    return WebhookAck(
        accepted=True, duplicate=not is_new, delivery_id=delivery.delivery_id, topic=delivery.topic
    )


@router.post(
    "/shopify/{shop}/webhooks",
    response_model=WebhookAck,
    responses=_RESPONSES,
    summary="Shopify webhooks (X-Shopify-Hmac-Sha256 over the raw body; deduped on X-Shopify-Webhook-Id)",
)
async def shopify_webhook(
    shop: Annotated[str, Path(min_length=1, max_length=255)], request: Request, state: State
) -> WebhookAck:
    return await _accept(request, state, "channel", "shopify", shop)


@router.post(
    "/wms/{warehouse}/webhooks",
    response_model=WebhookAck,
    responses=_RESPONSES,
    summary="Warehouse (WMS) event webhooks, signed by the WMS",
)
async def wms_webhook(
    warehouse: Annotated[str, Path(min_length=1, max_length=255)], request: Request, state: State
) -> WebhookAck:
    return await _accept(request, state, "warehouse", "wms", warehouse)
