"""Pure ASGI middleware of the policy chain (outermost first): context (correlation id, trace context,
headers, audit, last-resort 500), body size limit, authentication, idempotency."""

from .auth import AuthMiddleware as AuthMiddleware
from .body import BodyLimitMiddleware as BodyLimitMiddleware
from .context import ContextMiddleware as ContextMiddleware
from .idempotency import IdempotencyMiddleware as IdempotencyMiddleware

__all__ = ["AuthMiddleware", "BodyLimitMiddleware", "ContextMiddleware", "IdempotencyMiddleware"]
