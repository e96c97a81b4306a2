"""NetSuite simulator: REST record API v1, SuiteQL, governance, TBA verification, fault injection.

``retailconnect sim netsuite --port P [--set concurrency_limit=5]``."""

from .app import NetSuiteSimulator as NetSuiteSimulator
from .app import create_app as create_app

__all__ = ["NetSuiteSimulator", "create_app"]
