"""WMS / 3PL REST client implementing the flows' ``WarehouseSystem`` (contract: docs/connectors/wms.md).

Creates are idempotent on our external id: it is the body's ``external_id`` and the ``Idempotency-Key``
header, so a retried POST after a timeout answers the request the first attempt made.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from retailconnect.canonical import Order, Return
from retailconnect.connectors._kit import MapContext, map_transport_errors
from retailconnect.errors import NotFoundError, VendorRejectedError
from retailconnect.resilience import RetryPolicy, run_with_retry

from .auth import WmsApiKey
from .errors import classify_wms
from .mappers import fulfillment_request_to_wms, return_to_wms

__all__ = ["WmsClient"]


class WmsClient:
    system = "wms"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | float = httpx.Timeout(10.0, connect=3.0),
        retry: RetryPolicy | None = None,
        settings: dict[str, Any] | None = None,
        event_hooks: dict[str, list[Any]] | None = None,
    ) -> None:
        self.settings = dict(settings or {})
        self._retry = retry or RetryPolicy(attempts=5, base_s=0.2, cap_s=5.0)
        self._http = httpx.AsyncClient(
            base_url=base_url,
            auth=WmsApiKey(api_key),
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json"},
            event_hooks=event_hooks,
        )

    async def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        json: Any = None,
        headers: dict[str, str] | None = None,
        context: dict[str, Any] | None = None,
    ) -> httpx.Response:
        async def once() -> httpx.Response:
            with map_transport_errors("wms", operation):
                resp = await self._http.request(method, path, json=json, headers=headers)
            err = classify_wms(resp, operation=operation, context=context)
            if err is not None:
                raise err
            return resp

        return await run_with_retry(once, self._retry)

    async def request_fulfillment(self, order: Order, *, external_id: str) -> str:
        body = fulfillment_request_to_wms(order, MapContext(settings=self.settings), external_id=external_id)
        resp = await self._call(
            "POST",
            "/v1/fulfillment-requests",
            operation="request_fulfillment",
            json=body,
            headers={"Idempotency-Key": external_id},
            context={"order_number": order.number, "external_id": external_id},
        )
        return str(resp.json()["id"])

    async def get_fulfillment(self, *, external_id: str) -> dict[str, Any] | None:
        try:
            resp = await self._call(
                "GET",
                f"/v1/fulfillment-requests/ext:{quote(external_id, safe='')}",
                operation="get_fulfillment",
            )
        except VendorRejectedError as exc:
            if exc.context.get("status") == 404:
                return None
            raise
        data: dict[str, Any] = resp.json()
        return data

    async def cancel_fulfillment(self, *, external_id: str) -> None:
        """Cancel before it ships; nothing to do if the WMS never had it; VendorRejectedError if shipped."""
        try:
            await self._call(
                "DELETE",
                f"/v1/fulfillment-requests/ext:{quote(external_id, safe='')}",
                operation="cancel_fulfillment",
                context={"external_id": external_id},
            )
        except (VendorRejectedError, NotFoundError) as exc:
            if exc.context.get("status") == 404:
                return
            raise

    async def expect_return(self, ret: Return, *, external_id: str) -> str:
        body = return_to_wms(ret, MapContext(settings=self.settings), external_id=external_id)
        resp = await self._call(
            "POST",
            "/v1/returns",
            operation="expect_return",
            json=body,
            headers={"Idempotency-Key": external_id},
            context={"order_number": ret.order_number, "external_id": external_id},
        )
        return str(resp.json()["id"])

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> WmsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
