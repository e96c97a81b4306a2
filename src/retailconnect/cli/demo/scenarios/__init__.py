"""The scripted retail day: one module per scenario, each with ``NAME``, ``TITLE`` and
``async run(env, ui) -> Outcome``; run in this order."""

from __future__ import annotations

import importlib
from types import ModuleType

ORDER = ["orders", "inventory", "flash_sale", "erp_outage", "returns", "exceptions", "erp_migration"]


def load(name: str) -> ModuleType:
    if name not in ORDER:
        raise KeyError(name)
    return importlib.import_module(f"{__name__}.{name}")
