"""Load the shared bus contract (``_suite.py``: not a test module, and tests are not a package) once,
as ``retailconnect_tests_bus_suite``, for the backend modules next to it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SUITE = "retailconnect_tests_bus_suite"

if SUITE not in sys.modules:
    _spec = importlib.util.spec_from_file_location(SUITE, Path(__file__).with_name("_suite.py"))
    assert _spec is not None and _spec.loader is not None
    sys.modules[SUITE] = _mod = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_mod)
