"""Circuit breaker: closed -> open (after ``failure_threshold`` consecutive failures) -> half-open (after
``reset_after_s``, a few probe calls) -> closed again on a probe's success, or open again on its failure.

Listeners are told every state change (the ERP guard pauses the ERP's DBOS queue while open and lets it
run again after a half-open success). Only *transient* failures count: a business rejection by the vendor
says the vendor is up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from retailconnect.errors import CircuitOpenError

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class _Counts:
    consecutive_failures: int = 0
    opened_at: float = 0.0
    probes_in_flight: int = 0
    opened_total: int = 0
    closed_total: int = 0


Listener = Callable[["CircuitBreaker", BreakerState, BreakerState], None]


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_after_s: float = 15.0,
        half_open_max_calls: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self.half_open_max_calls = half_open_max_calls
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._c = _Counts()
        self._listeners: list[Listener] = []
        self.open_seconds_total = 0.0

    # -- observation -----------------------------------------------------------------------------
    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)

    @property
    def state(self) -> BreakerState:
        with self._lock:
            changed = self._maybe_half_open()
            state = self._state
        self._notify(changed)
        return state

    @property
    def opened_total(self) -> int:
        return self._c.opened_total

    @property
    def closed_total(self) -> int:
        return self._c.closed_total

    def retry_in(self) -> float:
        """Seconds until a probe may be tried (0 when calls are allowed)."""
        with self._lock:
            if self._state != BreakerState.OPEN:
                return 0.0
            return max(0.0, self._c.opened_at + self.reset_after_s - self._clock())

    # -- the call protocol -----------------------------------------------------------------------
    def before_call(self) -> None:
        """Raise :class:`CircuitOpenError` when the call must not go out now."""
        changed: tuple[BreakerState, BreakerState] | None = None
        with self._lock:
            changed = self._maybe_half_open()
            if self._state == BreakerState.OPEN:
                wait = max(0.0, self._c.opened_at + self.reset_after_s - self._clock())
                err = CircuitOpenError(
                    f"{self.name} is failing; calls paused for {wait:.1f}s",
                    context={"system": self.name},
                    retry_after=max(wait, 0.05),
                )
            elif (
                self._state == BreakerState.HALF_OPEN and self._c.probes_in_flight >= self.half_open_max_calls
            ):
                err = CircuitOpenError(
                    f"{self.name} is being probed; calls paused",
                    context={"system": self.name},
                    retry_after=0.2,
                )
            else:
                err = None
                if self._state == BreakerState.HALF_OPEN:
                    self._c.probes_in_flight += 1
        self._notify(changed)
        if err is not None:
            raise err

    def record_success(self) -> None:
        changed = None
        with self._lock:
            self._c.consecutive_failures = 0
            if self._state == BreakerState.HALF_OPEN:
                self._c.probes_in_flight = max(0, self._c.probes_in_flight - 1)
                changed = self._set(BreakerState.CLOSED)
        self._notify(changed)

    def record_failure(self) -> None:
        changed = None
        with self._lock:
            self._c.consecutive_failures += 1
            if self._state == BreakerState.HALF_OPEN:
                self._c.probes_in_flight = max(0, self._c.probes_in_flight - 1)
                changed = self._set(BreakerState.OPEN)
            elif (
                self._state == BreakerState.CLOSED and self._c.consecutive_failures >= self.failure_threshold
            ):
                changed = self._set(BreakerState.OPEN)
        self._notify(changed)

    def record_neutral(self) -> None:
        """A call that ended without telling whether the vendor is healthy (e.g. cancelled)."""
        with self._lock:
            if self._state == BreakerState.HALF_OPEN:
                self._c.probes_in_flight = max(0, self._c.probes_in_flight - 1)

    # -- internals -------------------------------------------------------------------------------
    def _maybe_half_open(self) -> tuple[BreakerState, BreakerState] | None:
        if self._state == BreakerState.OPEN and self._clock() >= self._c.opened_at + self.reset_after_s:
            return self._set(BreakerState.HALF_OPEN)
        return None

    def _set(self, new: BreakerState) -> tuple[BreakerState, BreakerState] | None:
        old = self._state
        if old == new:
            return None
        now = self._clock()
        if old == BreakerState.OPEN:
            self.open_seconds_total += now - self._c.opened_at
        self._state = new
        if new == BreakerState.OPEN:
            self._c.opened_at = now
            self._c.opened_total += 1
            self._c.probes_in_flight = 0
        elif new == BreakerState.CLOSED:
            self._c.closed_total += 1
            self._c.consecutive_failures = 0
        return (old, new)

    def _notify(self, changed: tuple[BreakerState, BreakerState] | None) -> None:
        if changed is None:
            return
        for listener in list(self._listeners):
            try:
                listener(self, changed[0], changed[1])
            except Exception:  # noqa: S112 - a listener must never break the call path
                continue
