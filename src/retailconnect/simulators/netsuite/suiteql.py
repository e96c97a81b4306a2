"""A small SuiteQL matcher: exactly the queries the hub's NetSuite connector sends (regex per shape).

An unknown query gets NetSuite's 400 (``INVALID_PARAMETER``), so a connector change that sends a new
query shows up here first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .problems import SimError

_STR = r"'((?:[^']|'')*)'"


def _lit(s: str) -> str:
    return s.replace("''", "'")


Rows = list[dict[str, Any]]


def run(query: str, items: Rows, customers: Rows, sales_orders: Rows) -> Rows:
    q = " ".join(query.split())
    table: list[tuple[str, Callable[[re.Match[str]], Rows]]] = [
        (
            rf"SELECT id, itemid, displayname, isinactive FROM item WHERE itemid = {_STR} ORDER BY id",
            lambda m: [r for r in items if r["itemid"] == _lit(m.group(1))],
        ),
        (r"SELECT id, itemid, displayname, isinactive FROM item ORDER BY id", lambda m: list(items)),
        (
            rf"SELECT id FROM customer WHERE LOWER\(email\) = {_STR} ORDER BY id",
            lambda m: [
                {"id": c["id"]} for c in customers if (c.get("email") or "").lower() == _lit(m.group(1))
            ],
        ),
        (
            r"SELECT item, pricelevel, unitprice FROM pricing WHERE item = (\d+) AND pricelevel = (\d+) ORDER BY item",
            lambda m: [
                {"item": r["id"], "pricelevel": m.group(2), "unitprice": r["_price"]}
                for r in items
                if r["id"] == m.group(1) and m.group(2) == "1" and r.get("_price") is not None
            ],
        ),
        (
            r"SELECT id, tranid, externalid, otherrefnum FROM transaction WHERE type = 'SalesOrd' ORDER BY id",
            lambda m: list(sales_orders),
        ),
    ]
    for pattern, fn in table:
        m = re.fullmatch(pattern, q, flags=re.IGNORECASE)
        if m:
            rows = fn(m)
            return sorted(rows, key=lambda r: int(str(r.get("id", r.get("item", 0)))))
    raise SimError(
        400,
        "INVALID_PARAMETER",
        "Invalid search query. Detailed unprocessed description follows. Search error occurred: "
        "Invalid or unsupported search.",
    )
