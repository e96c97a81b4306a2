"""SuiteQL paging: ``limit``/``offset`` query parameters (limit at most 1000), ``hasMore`` to continue.

Every paged query must carry a stable ``ORDER BY`` (offsets over an unordered result can skip or repeat
rows); :func:`require_order_by` refuses one without. The paginator also refuses an offset that does not
advance (a loop).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from retailconnect.errors import InputError

__all__ = ["MAX_PAGE", "OffsetPaginator", "require_order_by"]

MAX_PAGE = 1000
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


def require_order_by(query: str) -> None:
    if not _ORDER_BY.search(query):
        raise InputError("a paged SuiteQL query needs a stable ORDER BY", context={"query": query})


@dataclass
class OffsetPaginator:
    limit: int = MAX_PAGE
    offset: int = 0
    done: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE:
            raise InputError(f"SuiteQL page size must be 1..{MAX_PAGE}", context={"limit": self.limit})

    def params(self) -> dict[str, str]:
        return {"limit": str(self.limit), "offset": str(self.offset)}

    def advance(self, *, count: int, has_more: bool) -> None:
        if not has_more or count == 0:
            self.done = True
            return
        self.offset += count
