"""SLA rules (``topology.slas``) evaluated continuously; alerts to a webhook and the log.

Each rule names a metric, a threshold, an optional order tier and a ``for_s`` hold time. A rule fires
once when its condition has held for ``for_s`` and sends a single *resolved* notice when it clears
(de-duplicated: a firing rule is not re-sent on every evaluation). A webhook that fails is retried on the
next evaluation; notices are kept in order per rule.

Metrics a rule can name (``value > threshold`` fires):

=============================  =====================================================================
``order_aging_s``              age of the oldest order captured and not yet posted to the ERP (tier)
``inventory_lag_p99_s``        p99 of movement-at-source to channel-updated over the recent window
``dead_letters``               events parked as dead letters (threshold 0: "any present")
``erp_circuit_open_s``         how long an ERP circuit has been open (longest)
``exceptions_open``            open exception-queue items
``failed_settlements``         settlement failures in the last 15 minutes
``webhook_signature_failures`` webhook signature failures in the last 5 minutes
=============================  =====================================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import httpx

from .logging import get_logger
from .metrics import HubMetrics
from .state import HubSnapshot

__all__ = ["AlertNotice", "RuleLike", "RuleState", "SlaEvaluator", "measure"]

SnapshotSource = Callable[[], Awaitable[HubSnapshot] | HubSnapshot]


class RuleLike(Protocol):
    """The shape of ``config.SlaRule`` (duck-typed so this layer does not import the topology)."""

    name: str
    metric: str
    threshold: float
    tier: int | None
    for_s: float
    severity: str


@dataclass
class RuleState:
    rule: Any
    value: float | None = None
    breaching_since: datetime | None = None
    firing: bool = False
    fired_at: datetime | None = None
    last_notice: str | None = None


@dataclass(frozen=True)
class AlertNotice:
    status: Literal["firing", "resolved"]
    rule: str
    metric: str
    severity: str
    value: float | None
    threshold: float
    tier: int | None
    starts_at: datetime
    ends_at: datetime | None
    hub: str
    summary: str
    fingerprint: str = field(default="")

    def to_json(self) -> dict[str, Any]:
        return {
            "version": "1",
            "status": self.status,
            "rule": self.rule,
            "metric": self.metric,
            "severity": self.severity,
            "value": self.value,
            "threshold": self.threshold,
            "tier": self.tier,
            "startsAt": self.starts_at.isoformat(),
            "endsAt": self.ends_at.isoformat() if self.ends_at else None,
            "hub": self.hub,
            "summary": self.summary,
            "fingerprint": self.fingerprint,
        }


def _tier_key(tier: int | None) -> str | None:
    return None if tier is None else str(tier)


def measure(rule: RuleLike, metrics: HubMetrics, snap: HubSnapshot, now: datetime) -> float | None:
    """The current value of the rule's metric (None: no data, which never fires)."""
    m = rule.metric
    if m == "order_aging_s":
        want = _tier_key(rule.tier)
        ages = [
            (now - p.captured_at).total_seconds()
            for p in metrics.pending_orders()
            if want is None or str(p.tier) == want
        ]
        return max(ages) if ages else 0.0
    if m == "inventory_lag_p99_s":
        return metrics.inventory_lag_p99()
    if m == "dead_letters":
        return float(snap.dead_letters)
    if m == "erp_circuit_open_s":
        return max((b.open_for_seconds(now) for b in snap.breakers), default=0.0)
    if m == "exceptions_open":
        return float(sum(snap.exceptions_open.values()))
    if m == "failed_settlements":
        return float(len(metrics.window_events.samples("settlement_failed", within_s=900)))
    if m == "webhook_signature_failures":
        return float(len(metrics.window_events.samples("webhook_signature_failed", within_s=300)))
    raise ValueError(f"unknown SLA metric {m!r}")


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else (f"{v:.0f}" if v >= 10 else f"{v:.2f}")


class SlaEvaluator:
    """Evaluates the rules every ``interval_s`` (``start()``), or on demand (``evaluate_once()``)."""

    def __init__(
        self,
        rules: Sequence[RuleLike],
        metrics: HubMetrics,
        *,
        snapshot: SnapshotSource | None = None,
        webhook_url: str | None = None,
        interval_s: float = 10.0,
        hub_name: str = "retailconnect",
        http: httpx.AsyncClient | None = None,
        on_notice: Callable[[AlertNotice], None] | None = None,
    ) -> None:
        self.rules = list(rules)
        self.metrics = metrics
        self.snapshot_source = snapshot
        self.webhook_url = webhook_url
        self.interval_s = interval_s
        self.hub_name = hub_name
        self.states: dict[str, RuleState] = {r.name: RuleState(rule=r) for r in self.rules}
        self.outbox: list[AlertNotice] = []
        self.history: list[AlertNotice] = []
        self._http = http
        self._own_http = http is None
        self._task: asyncio.Task[None] | None = None
        self._on_notice = on_notice
        self.log = get_logger("retailconnect.sla")

    async def _snapshot(self) -> HubSnapshot:
        if self.snapshot_source is None:
            return self.metrics.snapshot
        res = self.snapshot_source()
        snap = await res if inspect.isawaitable(res) else res
        self.metrics.update_snapshot(snap)
        return snap

    async def evaluate_once(self, now: datetime | None = None) -> list[AlertNotice]:
        """Evaluate every rule; returns the notices produced by this evaluation (then delivers them)."""
        now = now or datetime.now(UTC)
        snap = await self._snapshot()
        produced: list[AlertNotice] = []
        for name, st in self.states.items():
            rule = st.rule
            try:
                st.value = measure(rule, self.metrics, snap, now)
            except Exception as exc:  # a broken source must not stop the other rules
                self.log.warning("sla.measure_failed", rule=name, error=type(exc).__name__)
                continue
            breaching = st.value is not None and st.value > float(rule.threshold)
            if breaching:
                st.breaching_since = st.breaching_since or now
                held = (now - st.breaching_since).total_seconds()
                if not st.firing and held >= float(rule.for_s):
                    st.firing, st.fired_at = True, now
                    produced.append(self._notice("firing", st, now))
            else:
                st.breaching_since = None
                if st.firing:
                    st.firing = False
                    produced.append(self._notice("resolved", st, now))
        for n in produced:
            self.metrics.alert_changed(n.rule, n.status == "firing")
            log = self.log.warning if n.status == "firing" else self.log.info
            log(f"sla.{n.status}", rule=n.rule, metric=n.metric, value=n.value, threshold=n.threshold)
            if self._on_notice:
                self._on_notice(n)
        self.outbox.extend(produced)
        self.history.extend(produced)
        del self.history[:-200]
        await self._deliver()
        return produced

    def _notice(self, status: Literal["firing", "resolved"], st: RuleState, now: datetime) -> AlertNotice:
        rule = st.rule
        tier = f" (tier {rule.tier})" if rule.tier is not None else ""
        verb = "above" if status == "firing" else "back within"
        summary = (
            f"{rule.name}: {rule.metric}{tier} = {_fmt(st.value)} {verb} threshold {_fmt(rule.threshold)}"
        )
        fp = hashlib.sha256(f"{self.hub_name}|{rule.name}|{st.fired_at}".encode()).hexdigest()[:16]
        return AlertNotice(
            status=status,
            rule=rule.name,
            metric=rule.metric,
            severity=rule.severity,
            value=st.value,
            threshold=float(rule.threshold),
            tier=rule.tier,
            starts_at=st.fired_at or now,
            ends_at=now if status == "resolved" else None,
            hub=self.hub_name,
            summary=summary,
            fingerprint=fp,
        )

    async def _deliver(self) -> None:
        if not self.webhook_url:
            self.outbox.clear()
            return
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0))
        while self.outbox:
            notice = self.outbox[0]
            try:
                resp = await self._http.post(self.webhook_url, json=notice.to_json())
                if resp.status_code >= 300:
                    raise httpx.HTTPStatusError("rejected", request=resp.request, response=resp)
            except httpx.HTTPError as exc:
                self.log.warning("sla.webhook_failed", rule=notice.rule, error=type(exc).__name__)
                return  # keep it (and the ones after it) for the next evaluation
            self.outbox.pop(0)

    def active(self) -> list[RuleState]:
        return [s for s in self.states.values() if s.firing]

    async def _loop(self) -> None:
        while True:
            try:
                await self.evaluate_once()
            except Exception as exc:
                self.log.error("sla.evaluation_failed", error=type(exc).__name__)
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="sla-evaluator")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._own_http and self._http is not None:
            await self._http.aclose()
            self._http = None
