"""Shopify simulator: GraphQL Admin API subset (graphql-core), cost bucket, HMAC-signed webhooks with retries,
an order generator and fault injection. ``retailconnect sim shopify --port P`` runs it."""

from __future__ import annotations

from typing import Any

from retailconnect.simulators._kit import RequestLog, ServerHandle, start_in_thread

from .app import Sim as Sim
from .app import create_app as create_app
from .state import ShopState as ShopState
from .webhooks_out import hmac_b64 as hmac_b64

__all__ = ["ShopState", "ShopifySimulator", "Sim", "create_app", "hmac_b64"]


class ShopifySimulator:
    """In-process handle: ``.app`` (ASGI), ``.sim`` (everything), ``.state``, ``.log``; ``.start()`` serves it
    on a loopback port in a thread and returns the ServerHandle (``.url``)."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self.settings = dict(settings or {})
        self.app = create_app(self.settings)
        self.sim: Sim = self.app.state.sim
        self.handle: ServerHandle | None = None

    @property
    def state(self) -> ShopState:
        return self.sim.state

    @property
    def log(self) -> RequestLog:
        return self.sim.log

    @property
    def token(self) -> str:
        return self.sim.token

    @property
    def url(self) -> str:
        if self.handle is None:
            raise RuntimeError("simulator not started")
        return self.handle.url

    def start(self, port: int | None = None) -> ServerHandle:
        self.handle = start_in_thread(self.app, port=port)
        return self.handle

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.stop()
            self.handle = None
