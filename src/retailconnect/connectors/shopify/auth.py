"""Shopify Admin API auth: the app's access token in X-Shopify-Access-Token (never logged)."""

from __future__ import annotations

from collections.abc import Generator

import httpx

__all__ = ["ShopifyAccessToken"]


class ShopifyAccessToken(httpx.Auth):
    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("a Shopify access token is required")
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-Shopify-Access-Token"] = self._token
        yield request

    def __repr__(self) -> str:
        return "ShopifyAccessToken(***)"
