"""Persistence: bindings, idempotency keys, audit log, inbound archive, projections; Alembic migrations."""

from .archive import PayloadArchive as PayloadArchive
from .audit import AuditLog as AuditLog
from .audit import AuditVerification as AuditVerification
from .bindings import Bindings as Bindings
from .db import DEFAULT_STORE_URL as DEFAULT_STORE_URL
from .db import Store as Store
from .db import normalise_url as normalise_url
from .idempotency import Claim as Claim
from .idempotency import IdempotencyKeys as IdempotencyKeys
from .idempotency import request_hash as request_hash

__all__ = [
    "DEFAULT_STORE_URL",
    "AuditLog",
    "AuditVerification",
    "Bindings",
    "Claim",
    "IdempotencyKeys",
    "PayloadArchive",
    "Store",
    "normalise_url",
    "request_hash",
]
