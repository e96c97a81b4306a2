"""The WMS contract has no list endpoints the hub pages through (the WMS pushes events), so there is no
paginator here; kept so every connector has the same file set (STYLE.md B5)."""

from __future__ import annotations

__all__: list[str] = []
