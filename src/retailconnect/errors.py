"""One error tree for the whole hub.

Every error has a stable ``code`` (used in problem+json ``type`` and in the exception queue), an
``http_status``, whether it is ``retryable``, an optional ``retry_after`` (seconds) and a ``context`` of
business facts (order number, SKU, system...). Retrying is decided by ``retryable`` only.

    RetailConnectError
    ├── ConfigError                          startup only; file:line: field: message
    ├── InputError                           bad request -> 400/422
    │   ├── CurrencyMismatchError            arithmetic across two currencies
    │   └── TotalsMismatchError              order totals do not reconcile
    ├── NotFoundError                        -> 404
    ├── AuthenticationError                  -> 401
    ├── PermissionDeniedError                -> 403
    ├── ConflictError                        idempotency key in flight -> 409
    │   └── IdempotencyKeyReusedError        same key, other body -> 422
    ├── RequestRateLimitedError              gateway consumer over budget -> 429
    ├── WebhookSignatureError                -> 401; body never logged
    ├── ConnectorError                       anything that crossed a vendor boundary
    │   ├── TransientError        retryable  timeouts, resets, 5xx
    │   │   ├── RateLimitError    retryable  429 / cost exhausted; retry_after set
    │   │   └── CircuitOpenError  retryable  the breaker refuses calls for now
    │   ├── AuthError                        401/403 from the vendor
    │   └── VendorRejectedError              business 4xx: unknown SKU, credit hold, ERP validation
    ├── MappingError                         vendor <-> canonical conversion failed
    │   └── UnresolvedReferenceError retryable  binding not there yet
    ├── StoreError                           persistence problem
    │   └── AuditTamperedError               the hash chain is broken
    ├── BusError                             event backbone problem
    │   └── EnvelopeError                    an event failed envelope validation
    └── FlowError
        └── CompensationFailedError
    FlowCancelled(BaseException)             outside the tree on purpose: ``except Exception`` can't eat it
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "AuditTamperedError",
    "AuthError",
    "AuthenticationError",
    "BusError",
    "CircuitOpenError",
    "CompensationFailedError",
    "ConfigError",
    "ConflictError",
    "ConnectorError",
    "CurrencyMismatchError",
    "EnvelopeError",
    "FlowCancelled",
    "FlowError",
    "IdempotencyKeyReusedError",
    "InputError",
    "MappingError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestRateLimitedError",
    "RetailConnectError",
    "StoreError",
    "TotalsMismatchError",
    "TransientError",
    "UnresolvedReferenceError",
    "VendorRejectedError",
    "WebhookSignatureError",
]


class RetailConnectError(Exception):
    """Root of every error the hub raises on purpose."""

    code: ClassVar[str] = "internal"
    http_status: ClassVar[int] = 500
    retryable: ClassVar[bool] = False
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        message: str,
        *,
        context: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = dict(context or {})
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        # Round-trips through pickling (DBOS step/workflow error serialisation).
        return (_rebuild, (type(self), self.message, self.context, self.retry_after))

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "retryable": self.retryable,
            "retry_after": self.retry_after,
            "context": self.context,
        }


def _rebuild(
    cls: type[RetailConnectError], message: str, context: dict[str, Any], retry_after: float | None
) -> RetailConnectError:
    obj = cls.__new__(cls)
    RetailConnectError.__init__(obj, message, context=context, retry_after=retry_after)
    return obj


class ConfigError(RetailConnectError):
    code = "config_invalid"
    title = "Invalid configuration"

    def __init__(self, message: str, *, problems: list[str] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.problems = list(problems or [message])


class InputError(RetailConnectError):
    code = "invalid_input"
    http_status = 422
    title = "Invalid input"


class CurrencyMismatchError(InputError):
    code = "currency_mismatch"
    title = "Currencies do not match"


class TotalsMismatchError(InputError):
    code = "totals_mismatch"
    title = "Order totals do not reconcile"


class NotFoundError(RetailConnectError):
    code = "not_found"
    http_status = 404
    title = "Not found"


class AuthenticationError(RetailConnectError):
    code = "unauthenticated"
    http_status = 401
    title = "Authentication required"


class PermissionDeniedError(RetailConnectError):
    code = "forbidden"
    http_status = 403
    title = "Forbidden"


class ConflictError(RetailConnectError):
    code = "conflict"
    http_status = 409
    title = "Conflict"


class IdempotencyKeyReusedError(ConflictError):
    code = "idempotency_key_reused"
    http_status = 422
    title = "Idempotency key reused with a different request"


class RequestRateLimitedError(RetailConnectError):
    code = "rate_limited"
    http_status = 429
    title = "Too many requests"


class WebhookSignatureError(RetailConnectError):
    code = "webhook_signature_invalid"
    http_status = 401
    title = "Webhook signature invalid"


class ConnectorError(RetailConnectError):
    code = "connector_error"
    http_status = 502
    title = "Connector error"


class TransientError(ConnectorError):
    code = "vendor_unavailable"
    http_status = 503
    retryable = True
    title = "Vendor temporarily unavailable"


class RateLimitError(TransientError):
    code = "vendor_rate_limited"
    title = "Vendor rate limit reached"


class CircuitOpenError(TransientError):
    code = "circuit_open"
    title = "Circuit open"


class AuthError(ConnectorError):
    code = "vendor_auth_failed"
    title = "Vendor refused our credentials"


class VendorRejectedError(ConnectorError):
    code = "vendor_rejected"
    http_status = 422
    title = "Vendor rejected the request"


class MappingError(RetailConnectError):
    code = "mapping_failed"
    http_status = 422
    title = "Mapping failed"


class UnresolvedReferenceError(MappingError):
    code = "unresolved_reference"
    retryable = True
    title = "Reference not resolved yet"


class StoreError(RetailConnectError):
    code = "store_error"
    title = "Store error"


class AuditTamperedError(StoreError):
    code = "audit_tampered"
    title = "Audit log tampered"


class BusError(RetailConnectError):
    code = "bus_error"
    title = "Event backbone error"


class EnvelopeError(BusError):
    code = "invalid_event"
    http_status = 422
    title = "Invalid event envelope"


class FlowError(RetailConnectError):
    code = "flow_failed"
    title = "Flow failed"


class CompensationFailedError(FlowError):
    code = "compensation_failed"
    title = "Compensation failed"


class FlowCancelled(BaseException):
    """Raised inside a flow when an operator cancelled it."""
