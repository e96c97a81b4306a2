"""Shared pieces every connector uses: its declaration, webhook verification, error classification,
the bindings lookup protocol for mappers."""

from .classify import classify_response as classify_response
from .classify import map_transport_errors as map_transport_errors
from .spec import Capability as Capability
from .spec import ConnectorSpec as ConnectorSpec
from .spec import RateLimitSpec as RateLimitSpec
from .webhooks import Delivery as Delivery
from .webhooks import WebhookVerifier as WebhookVerifier
from .refs import MapContext as MapContext
from .refs import RefResolver as RefResolver
from .refs import MemoryRefs as MemoryRefs

__all__ = [
    "Capability",
    "ConnectorSpec",
    "Delivery",
    "MapContext",
    "MemoryRefs",
    "RateLimitSpec",
    "RefResolver",
    "WebhookVerifier",
    "classify_response",
    "map_transport_errors",
]
