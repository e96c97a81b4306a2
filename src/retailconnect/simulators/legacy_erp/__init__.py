"""Legacy ERP simulator: a flat-file drop (CSV in, ack files out), processed in batches."""

from .app import LegacyErpSimulator as LegacyErpSimulator
from .app import create_app as create_app

__all__ = ["LegacyErpSimulator", "create_app"]
