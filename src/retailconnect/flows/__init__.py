"""Durable processes on DBOS: order to cash, returns, scheduled batch sync; the toolkit they share.

``engine.py`` is the only module that imports DBOS. ``runtime.Hub`` installs the services a flow uses
(:mod:`.services`) and starts the engine.
"""

from .engine import Engine as Engine
from .engine import EngineClient as EngineClient
from .engine import dbos_url_for as dbos_url_for
from .ingest import CaptureResult as CaptureResult
from .ingest import FlowExceptions as FlowExceptions
from .order_to_cash import order_workflow_id as order_workflow_id
from .returns import return_workflow_id as return_workflow_id
from .services import FlowServices as FlowServices
from .steps.erp import GuardedErp as GuardedErp
from .toolkit import FlowContext as FlowContext
from .toolkit import FlowParked as FlowParked
from .toolkit import StepPolicy as StepPolicy
from .toolkit import checkpoint as checkpoint

__all__ = [
    "CaptureResult",
    "Engine",
    "EngineClient",
    "FlowContext",
    "FlowExceptions",
    "FlowParked",
    "FlowServices",
    "GuardedErp",
    "StepPolicy",
    "checkpoint",
    "dbos_url_for",
    "order_workflow_id",
    "return_workflow_id",
]
