"""Scaffolding shared by the vendor simulators: request log, fault injection, the ``/_sim`` admin endpoints
for both (:class:`SimulatorBase`), running a server on a loopback port (in-process thread or its own
process)."""

from .admin import SimulatorBase as SimulatorBase
from .faults import FaultMiddleware as FaultMiddleware
from .faults import FaultPlan as FaultPlan
from .reqlog import RequestLog as RequestLog
from .reqlog import RequestLogMiddleware as RequestLogMiddleware
from .server import ServerHandle as ServerHandle
from .server import free_port as free_port
from .server import start_in_thread as start_in_thread

__all__ = [
    "FaultMiddleware",
    "FaultPlan",
    "RequestLog",
    "RequestLogMiddleware",
    "ServerHandle",
    "SimulatorBase",
    "free_port",
    "start_in_thread",
]
