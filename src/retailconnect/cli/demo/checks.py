"""Checks computed from the simulators' own records. Pure functions over the JSON the simulators' admin
endpoints return, so they are unit-tested without a hub."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "Check",
    "ErpLedger",
    "Outcome",
    "erp_ledger",
    "expected_levels",
    "inventory_lags",
    "max_rps",
    "norm_number",
    "percentile",
    "quiet_gaps",
]


@dataclass
class Check:
    name: str
    passed: bool
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


@dataclass
class Outcome:
    """One scenario's verdict: its checks and the figures it measured."""

    name: str
    title: str
    checks: list[Check] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    duration_s: float = 0.0

    def check(self, name: str, passed: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, bool(passed), detail))
        return bool(passed)

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.checks) and all(c.passed for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "title": self.title,
            "duration_s": round(self.duration_s, 2),
            **self.figures,
            "checks": [c.as_dict() for c in self.checks],
            "notes": list(self.notes),
            **({"error": self.error} if self.error else {}),
        }


def norm_number(value: Any) -> str:
    """An order number as the channel shows it, without the '#' ("#1001" -> "1001")."""
    return str(value or "").strip().lstrip("#")


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    data = sorted(values)
    k = min(len(data) - 1, max(0, round(p / 100 * (len(data) - 1))))
    return data[k]


def parse_ts(value: Any) -> float:
    """ISO 8601 (with offset or Z) or epoch seconds -> epoch seconds."""
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


@dataclass
class ErpLedger:
    """What the ERP holds for a set of channel order numbers."""

    found: dict[str, list[dict[str, Any]]]  # number -> sales orders holding it
    missing: list[str]
    duplicates: list[str]  # numbers with more than one sales order
    recreated: list[str]  # numbers whose sales order was created more than once
    updates: int  # upserts that updated an existing order (a retried post)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.duplicates and not self.recreated


def erp_ledger(
    numbers: list[str] | set[str], sales_orders: list[dict[str, Any]], aliases: dict[str, str] | None = None
) -> ErpLedger:
    """Match channel order numbers to ERP sales orders (``otherRefNum``, else the external id's trailing
    part; ``aliases`` maps other keys, such as the channel's order id, to the number) and count duplicates
    and re-creations (``created_count`` > 1)."""
    wanted = {norm_number(n) for n in numbers}
    alias = {norm_number(k): norm_number(v) for k, v in (aliases or {}).items()}
    found: dict[str, list[dict[str, Any]]] = {}
    for so in sales_orders:
        keys = {norm_number(so.get("otherRefNum"))}
        eid = str(so.get("externalId") or "")
        if eid:
            for sep in ("-", ":", "_"):
                keys.add(norm_number(eid.rsplit(sep, 1)[-1]))
        keys |= {alias[k] for k in keys if k in alias}
        for k in sorted(keys & wanted):
            found.setdefault(k, []).append(so)
            break
    missing = sorted(wanted - set(found), key=_numkey)
    duplicates = sorted((k for k, v in found.items() if len(v) > 1), key=_numkey)
    recreated = sorted(
        (k for k, v in found.items() if any(int(so.get("created_count", 1)) > 1 for so in v)), key=_numkey
    )
    updates = sum(int(so.get("updated_count", 0)) for v in found.values() for so in v)
    return ErpLedger(found, missing, duplicates, recreated, updates)


def _numkey(s: str) -> tuple[int, str]:
    return (int(s), s) if s.isdigit() else (10**12, s)


def max_rps(items: list[dict[str, Any]], start: float, end: float, path_prefix: str = "/services/",
            window_s: float = 1.0) -> float:  # fmt: skip
    """Highest number of requests started in any sliding ``window_s`` inside [start, end]."""
    starts = sorted(
        float(r["started"])
        for r in items
        if str(r.get("path", "")).startswith(path_prefix) and start <= float(r["started"]) <= end
    )
    best, j = 0, 0
    for i, t in enumerate(starts):
        while starts[j] < t - window_s + 1e-9:
            j += 1
        best = max(best, i - j + 1)
    return best / window_s


def quiet_gaps(
    items: list[dict[str, Any]], start: float, end: float, path_prefix: str = "/services/"
) -> float:
    """The longest stretch inside [start, end] in which the system received no request (seconds)."""
    starts = sorted(
        float(r["started"])
        for r in items
        if str(r.get("path", "")).startswith(path_prefix) and start <= float(r["started"]) <= end
    )
    points = [start, *starts, end]
    return max((b - a for a, b in itertools.pairwise(points)), default=end - start)


def expected_levels(movements: list[dict[str, Any]], safety_stock: int) -> dict[str, list[tuple[float, int]]]:
    """Per SKU, the available-to-sell after each WMS movement: (occurred_at, on hand - safety stock),
    on hand rebuilt from the WMS's own movement log (cycle counts set it, other movements add)."""
    on_hand: dict[str, int] = {}
    out: dict[str, list[tuple[float, int]]] = {}
    for mv in sorted(movements, key=lambda m: parse_ts(m["occurred_at"])):
        sku = str(mv["sku"])
        if mv.get("kind") == "cycle_count":
            on_hand[sku] = int(mv.get("counted", 0))
        else:
            on_hand[sku] = on_hand.get(sku, 0) + int(mv.get("quantity", 0))
        out.setdefault(sku, []).append((parse_ts(mv["occurred_at"]), max(0, on_hand[sku] - safety_stock)))
    return out


def inventory_lags(
    expected: dict[str, list[tuple[float, int]]], updates: dict[str, list[tuple[float, int]]]
) -> tuple[list[float], int]:
    """Lag of each movement: from its time at the WMS to the first storefront update (same SKU) that
    shows the level after it or after a later movement (coalescing skips intermediate levels).
    Returns (lags in seconds, movements never reflected)."""
    lags: list[float] = []
    unmatched = 0
    for sku, exp in expected.items():
        ups = sorted(updates.get(sku, []))
        for i, (t, _) in enumerate(exp):
            later_values = {v for _, v in exp[i:]}
            hit = next((ut for ut, uv in ups if ut >= t - 0.001 and uv in later_values), None)
            if hit is None:
                unmatched += 1
            else:
                lags.append(max(0.0, hit - t))
    return lags, unmatched


def counts(values: list[Any]) -> dict[Any, int]:
    return dict(Counter(values))
