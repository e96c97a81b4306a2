"""The web dashboard (server-rendered, live over SSE) and the wiring of observability to a hub."""

from .routes import create_dashboard_router as create_dashboard_router
from .wiring import OrderWatcher as OrderWatcher
from .wiring import observability_for as observability_for

__all__ = ["OrderWatcher", "create_dashboard_router", "observability_for"]
