"""Shopify's calculated query cost and leaky bucket, simplified but with Shopify's shape.

Cost (after https://shopify.dev/docs/api/usage/limits#cost-calculation): a scalar field costs 0, an object
field 1, a connection 2 plus ``first`` times the cost of one node, a mutation 10. The bucket holds
``maximum`` points and restores ``restore_rate`` points per second; a query whose requested cost exceeds
what is available is refused with a THROTTLED error; a query over the maximum single-query cost is refused
with MAX_COST_EXCEEDED. The actual cost equals the requested cost here."""

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

    def status(self) -> dict[str, Any]:
        with self._lock:
            self._refill()
            return {
                "maximumAvailable": self.maximum,
                "currentlyAvailable": int(self.available),
                "restoreRate": self.restore_rate,
            }
