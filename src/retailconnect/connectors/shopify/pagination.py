"""Cursor pagination for GraphQL connections (``pageInfo { hasNextPage endCursor }``), loop-safe."""

from __future__ import annotations

from typing import Any

from retailconnect.errors import TransientError

__all__ = ["CursorPager"]


class CursorPager:
    """Tracks the cursor of one connection; refuses a cursor seen before (a vendor loop)."""

    def __init__(self) -> None:
        self.after: str | None = None
        self.done = False
        self._seen: set[str] = set()
        self.pages = 0

    def advance(self, connection: dict[str, Any]) -> None:
        self.pages += 1
        info = connection.get("pageInfo") or {}
        cursor = info.get("endCursor")
        if not info.get("hasNextPage") or not cursor:
            self.done = True
            return
        if cursor in self._seen:
            raise TransientError("shopify pagination loop: cursor repeated", context={"cursor": cursor})
        self._seen.add(cursor)
        self.after = cursor
