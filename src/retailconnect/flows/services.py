"""What a running flow may use: the store pieces, the guarded systems, the bus, the engine.

DBOS runs workflow functions by name after a crash, with only their (serialisable) arguments, so the
live objects a flow needs cannot be passed in; the composition root (``runtime.Hub``) installs one
:class:`FlowServices` per process with :func:`install`, and workflow code reads it with
:func:`current`. It is the only process-wide slot in the flows, and exists because DBOS itself is one
per process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from retailconnect.canonical import CloudEvent
from retailconnect.errors import ConfigError

if TYPE_CHECKING:
    from retailconnect.connectors._kit import ChannelSystem, WarehouseSystem
    from retailconnect.store import AuditLog, Bindings, Store
    from retailconnect.store.exception_queue import ExceptionQueue
    from retailconnect.store.projections.availability import AvailabilityProjection

    from .engine import Engine
    from .history import HistoryWriter
    from .steps.erp import GuardedErp

__all__ = ["FlowServices", "current", "install", "uninstall"]

Publish = Callable[[CloudEvent], Awaitable[None]]
T = TypeVar("T")


@dataclass
class FlowServices:
    store: Store
    bindings: Bindings
    audit: AuditLog
    exceptions: ExceptionQueue
    engine: Engine
    publish: Publish
    erps: dict[str, GuardedErp] = field(default_factory=dict)
    channels: dict[str, ChannelSystem] = field(default_factory=dict)
    warehouses: dict[str, WarehouseSystem] = field(default_factory=dict)
    availability: AvailabilityProjection | None = None
    default_erp: str | None = None
    default_warehouse: str | None = None
    cancellation_after_post: dict[str, str] = field(default_factory=dict)  # erp -> cancel | flag
    tax_system: str | None = None
    inspection_timeout_s: float = 14 * 24 * 3600.0
    source: str = "retailconnect/hub"
    extra: dict[str, Any] = field(default_factory=dict)
    loop: asyncio.AbstractEventLoop | None = None  # the hub's loop, where the clients live
    history: HistoryWriter | None = None  # batched step-history rows (None: each row written at once)

    async def run(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Await ``fn()`` on the hub's event loop. DBOS runs dequeued workflows on its own loop, while
        the HTTP clients, the bus and the guard's primitives belong to the loop that built them."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return await fn()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            return await fn()

        async def _call() -> T:
            return await fn()

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_call(), loop))

    def erp(self, name: str | None = None) -> GuardedErp:
        key = name or self.default_erp
        if key is None or key not in self.erps:
            raise ConfigError(f"no ERP system {key!r} in the topology", context={"system": key})
        return self.erps[key]

    def warehouse(self, name: str | None = None) -> WarehouseSystem | None:
        key = name or self.default_warehouse
        return self.warehouses.get(key) if key else None

    def channel(self, name: str) -> ChannelSystem | None:
        return self.channels.get(name)

    def erp_queue(self, name: str | None = None) -> str:
        return f"erp-{name or self.default_erp or 'none'}"


_current: FlowServices | None = None


def install(services: FlowServices) -> None:
    global _current
    _current = services


def uninstall() -> None:
    global _current
    _current = None


def current() -> FlowServices:
    if _current is None:
        raise ConfigError("flows are not running in this process (runtime.Hub.start installs them)")
    return _current
