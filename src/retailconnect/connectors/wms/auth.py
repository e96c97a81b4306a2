"""WMS API key auth: ``Authorization: Bearer <api key>``."""

from __future__ import annotations

from collections.abc import Generator

import httpx

__all__ = ["WmsApiKey"]


class WmsApiKey(httpx.Auth):
    def __init__(self, api_key: str) -> None:
        self._key = api_key

    def __repr__(self) -> str:
        return "WmsApiKey(***)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._key}"
        yield request
