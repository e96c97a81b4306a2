"""The reduced demo (``retailconnect demo --orders 50``) as CI runs it: exit 0 and every scenario passed in
the JSON, every check computed from the simulators' own state."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.timeout(420), pytest.mark.xdist_group("e2e-demo")]

SCENARIOS = {"orders", "inventory", "flash_sale", "erp_outage", "returns", "exceptions", "erp_migration"}
REPO = Path(__file__).resolve().parents[2]


def test_reduced_demo_passes_every_check(tmp_path: Path) -> None:
    out = tmp_path / "demo.json"
    r = subprocess.run(
        [sys.executable, "-m", "retailconnect.cli", "demo", "--orders", "50", "--json", str(out),
         "--workdir", str(tmp_path / "work")],
        cwd=REPO, capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    report = json.loads(out.read_text()) if out.is_file() else {}
    failed = {
        name: [c for c in s["checks"] if not c["passed"]] or s.get("error")
        for name, s in report.get("scenarios", {}).items()
        if not s["passed"]
    }
    assert r.returncode == 0, f"failed: {failed}\n{r.stdout[-4000:]}\n{r.stderr[-2000:]}"
    assert set(report["scenarios"]) == SCENARIOS
    assert report["passed"] is True
    for name, s in report["scenarios"].items():
        assert s["passed"] is True, name
        assert s["checks"], f"{name} ran no checks"
        assert all(c["passed"] for c in s["checks"]), name
    orders = report["scenarios"]["orders"]
    assert orders["orders"] == 50
    assert orders["erp_429s"] == 0 and orders["erp_sustained_rps"] <= orders["erp_limit_rps"]
    assert orders["erp_max_in_flight"] <= orders["erp_concurrency_limit"]
    inventory = report["scenarios"]["inventory"]
    assert inventory["lag_p99_s"] is not None and inventory["lag_p99_s"] < inventory["polling_s"]
