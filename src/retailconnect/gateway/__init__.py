"""The gateway: governed experience, process, system and ops APIs behind one policy chain."""

from .app import create_app as create_app
from .consumers import ALL_SCOPES as ALL_SCOPES
from .consumers import Consumer as Consumer
from .consumers import ConsumerStore as ConsumerStore
from .consumers import Principal as Principal
from .deps import HubServices as HubServices
from .settings import DeprecationNotice as DeprecationNotice
from .settings import GatewaySettings as GatewaySettings
from .settings import JwtSettings as JwtSettings
from .settings import RateLimitSettings as RateLimitSettings

__all__ = [
    "ALL_SCOPES",
    "Consumer",
    "ConsumerStore",
    "DeprecationNotice",
    "GatewaySettings",
    "HubServices",
    "JwtSettings",
    "Principal",
    "RateLimitSettings",
    "create_app",
]
