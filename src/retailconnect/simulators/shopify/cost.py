"""Shopify's calculated query cost and leaky bucket, simplified but with Shopify's shape.

Cost (after https://shopify.dev/docs/api/usage/limits#cost-calculation): a scalar field costs 0, an object
field 1, a connection 2 plus ``first`` times the cost of one node, a mutation 10. The bucket holds
``maximum`` points and restores ``restore_rate`` points per second; a query whose requested cost exceeds
what is available is refused with a THROTTLED error; a query over the maximum single-query cost is refused
with MAX_COST_EXCEEDED.

Requested and actual cost (https://shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits): before
execution the bucket must hold the *requested* cost, computed from the query alone (every connection as if it
returned ``first`` nodes); after execution the bucket is refunded the difference between the requested and the
*actual* cost, computed the same way from what the query returned (the nodes a connection really returned, an
object field that came back null costing its own point only). A mutation's actual cost is its requested cost."""

from __future__ import annotations

import threading
import time
from typing import Any

from graphql import FieldNode, IntValueNode, OperationDefinitionNode, VariableNode
from graphql.language import DocumentNode, SelectionSetNode

TRANSPARENT = {"edges", "pageInfo"}


def _first(field: FieldNode, variables: dict[str, Any]) -> int | None:
    for arg in field.arguments or ():
        if arg.name.value in ("first", "last"):
            v = arg.value
            if isinstance(v, IntValueNode):
                return int(v.value)
            if isinstance(v, VariableNode):
                val = variables.get(v.name.value)
                return int(val) if isinstance(val, int) else None
    return None


def _cost(sel: SelectionSetNode | None, variables: dict[str, Any]) -> int:
    if sel is None:
        return 0
    total = 0
    for node in sel.selections:
        if not isinstance(node, FieldNode) or node.selection_set is None:
            continue
        inner = _cost(node.selection_set, variables)
        n = _first(node, variables)
        if n is not None:
            total += 2 + n * max(1, inner)
        elif node.name.value in TRANSPARENT:
            total += inner
        else:
            total += 1 + inner
    return total


def requested_cost(doc: DocumentNode, variables: dict[str, Any]) -> int:
    total = 0
    for op in doc.definitions:
        if isinstance(op, OperationDefinitionNode):
            if op.operation.value == "mutation":
                total += 10 * sum(1 for s in op.selection_set.selections if isinstance(s, FieldNode))
            else:
                total += _cost(op.selection_set, variables)
    return max(1, total)


def _fields(sel: SelectionSetNode | None) -> list[FieldNode]:
    if sel is None:
        return []
    return [n for n in sel.selections if isinstance(n, FieldNode) and n.selection_set is not None]


def _key(field: FieldNode) -> str:
    return field.alias.value if field.alias else field.name.value


def _actual_value(sel: SelectionSetNode | None, value: Any) -> int:
    if isinstance(value, list):
        return sum(_actual(sel, v) for v in value)
    if isinstance(value, dict):
        return _actual(sel, value)
    return 0


def _items(field: FieldNode, value: Any) -> list[int]:
    """The actual cost of each node a paginated field returned (a list, or a connection's edges / nodes)."""
    if isinstance(value, list):
        return [_actual(field.selection_set, v) if isinstance(v, dict) else 0 for v in value]
    if not isinstance(value, dict):
        return []
    per: list[int] = []
    for sub in _fields(field.selection_set):
        got = value.get(_key(sub))
        if sub.name.value == "edges" and isinstance(got, list):
            costs = [_actual(sub.selection_set, e) if isinstance(e, dict) else 0 for e in got]
        elif sub.name.value == "nodes" and isinstance(got, list):
            costs = [1 + (_actual(sub.selection_set, n) if isinstance(n, dict) else 0) for n in got]
        else:
            continue
        per = [a + b for a, b in zip(per, costs, strict=False)] + costs[len(per) :]
    return per


def _actual(sel: SelectionSetNode | None, data: dict[str, Any]) -> int:
    total = 0
    for field in _fields(sel):
        value = data.get(_key(field))
        if _has_page_arg(field):
            total += 2 + sum(max(1, c) for c in _items(field, value))
        elif field.name.value in TRANSPARENT:
            total += _actual_value(field.selection_set, value)
        else:
            total += 1 + _actual_value(field.selection_set, value)
    return total


def _has_page_arg(field: FieldNode) -> bool:
    return any(arg.name.value in ("first", "last") for arg in field.arguments or ())


def actual_cost(doc: DocumentNode, data: dict[str, Any] | None, requested: int) -> int:
    """What the query cost once run: connections charged for the nodes they returned (never above ``requested``)."""
    if data is None:
        return 1
    total = 0
    for op in doc.definitions:
        if isinstance(op, OperationDefinitionNode):
            if op.operation.value == "mutation":
                return requested
            total += _actual(op.selection_set, data)
    return max(1, min(requested, total))


class Bucket:
    def __init__(self, maximum: float = 1000.0, restore_rate: float = 100.0) -> None:
        self.maximum = float(maximum)
        self.restore_rate = float(restore_rate)
        self.available = float(maximum)
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.available = min(self.maximum, self.available + (now - self._at) * self.restore_rate)
        self._at = now

    def try_take(self, cost: float) -> bool:
        with self._lock:
            self._refill()
            if cost > self.available:
                return False
            self.available -= cost
            return True

    def refund(self, points: float) -> None:
        """Give back what a query was charged above its actual cost."""
        if points <= 0:
            return
        with self._lock:
            self._refill()
            self.available = min(self.maximum, self.available + points)

    def status(self) -> dict[str, Any]:
        with self._lock:
            self._refill()
            return {
                "maximumAvailable": self.maximum,
                "currentlyAvailable": int(self.available),
                "restoreRate": self.restore_rate,
            }
