"""Resilience: retry policies (retry.py); breakers and the ERP guard are added beside it."""

from .breaker import BreakerState as BreakerState
from .breaker import CircuitBreaker as CircuitBreaker
from .cache import CacheResult as CacheResult
from .cache import TTLCache as TTLCache
from .erp_guard import ErpGuard as ErpGuard
from .erp_guard import GuardLimits as GuardLimits
from .governor import Governor as Governor
from .governor import MemoryGovernorBackend as MemoryGovernorBackend
from .governor import RedisGovernorBackend as RedisGovernorBackend
from .governor import SqlGovernorBackend as SqlGovernorBackend
from .retry import RetryPolicy as RetryPolicy
from .retry import backoff_seconds as backoff_seconds
from .retry import is_retryable as is_retryable
from .retry import retry_transient as retry_transient
from .retry import run_with_retry as run_with_retry

__all__ = [
    "BreakerState",
    "CacheResult",
    "CircuitBreaker",
    "ErpGuard",
    "Governor",
    "GuardLimits",
    "MemoryGovernorBackend",
    "RedisGovernorBackend",
    "RetryPolicy",
    "SqlGovernorBackend",
    "TTLCache",
    "backoff_seconds",
    "is_retryable",
    "retry_transient",
    "run_with_retry",
]
