from retailconnect.errors import CircuitOpenError
from retailconnect.resilience import BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_opens_after_threshold_half_opens_after_cooldown_and_closes_on_probe_success():
    clock = Clock()
    changes: list[tuple[str, str]] = []
    b = CircuitBreaker("netsuite", failure_threshold=3, reset_after_s=10, clock=clock)
    b.on_change(lambda _b, old, new: changes.append((str(old), str(new))))
    for _ in range(2):
        b.before_call()
        b.record_failure()
    assert b.state == BreakerState.CLOSED
    b.before_call()
    b.record_failure()
    assert b.state == BreakerState.OPEN
    try:
        b.before_call()
        raise AssertionError("an open breaker must refuse")
    except CircuitOpenError as exc:
        assert exc.retryable and 0 < exc.retry_after <= 10
    clock.t = 10.5
    assert b.state == BreakerState.HALF_OPEN
    b.before_call()  # the single probe
    try:
        b.before_call()
        raise AssertionError("only one probe at a time")
    except CircuitOpenError:
        pass
    b.record_success()
    assert b.state == BreakerState.CLOSED
    assert changes == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
    assert b.opened_total == 1 and b.closed_total == 1


def test_failed_probe_reopens_and_success_resets_the_count():
    clock = Clock()
    b = CircuitBreaker("erp", failure_threshold=2, reset_after_s=1, clock=clock)
    b.record_failure()
    b.record_success()
    b.record_failure()
    assert b.state == BreakerState.CLOSED  # not consecutive
    b.record_failure()
    assert b.state == BreakerState.OPEN
    clock.t = 2
    b.before_call()
    b.record_failure()
    assert b.state == BreakerState.OPEN and b.opened_total == 2
    assert b.retry_in() == 1.0
