"""Shared pieces every connector uses: its declaration, webhook verification, error classification,
the bindings lookup protocol for mappers."""

from .classify import classify_response as classify_response
from .classify import map_transport_errors as map_transport_errors
from .refs import MapContext as MapContext
from .refs import MemoryRefs as MemoryRefs
from .refs import RefResolver as RefResolver
from .spec import Capability as Capability
from .spec import ConnectorSpec as ConnectorSpec
from .spec import RateLimitSpec as RateLimitSpec
from .systems import ChannelSystem as ChannelSystem
from .systems import ErpItem as ErpItem
from .systems import ErpPostResult as ErpPostResult
from .systems import ErpSystem as ErpSystem
from .systems import WarehouseSystem as WarehouseSystem
from .webhooks import Delivery as Delivery
from .webhooks import WebhookVerifier as WebhookVerifier

__all__ = [
    "Capability",
    "ChannelSystem",
    "ConnectorSpec",
    "Delivery",
    "ErpItem",
    "ErpPostResult",
    "ErpSystem",
    "MapContext",
    "MemoryRefs",
    "RateLimitSpec",
    "RefResolver",
    "WarehouseSystem",
    "WebhookVerifier",
    "classify_response",
    "map_transport_errors",
]
