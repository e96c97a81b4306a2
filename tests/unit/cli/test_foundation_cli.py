"""The foundation commands, run as a user would (a real subprocess of the console script)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
EXE = [sys.executable, "-m", "retailconnect.cli"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXE, *args], capture_output=True, text=True, cwd=cwd or ROOT, timeout=120)


def test_version() -> None:
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("retailconnect ")


def test_config_validate_ok_and_bad(tmp_path: Path) -> None:
    assert run("config", "validate", "examples/retail.yaml").returncode == 0
    bad = tmp_path / "retail.yaml"
    bad.write_text("version: 1\nsystems:\n  netsuite:\n    kind: netsuite\n    mode: simulator\n")
    r = run("config", "validate", str(bad))
    assert r.returncode == 2
    assert f"{bad}:3: systems.netsuite.account_id: field required" in r.stderr


def test_schema_export_writes_versioned_schemas(tmp_path: Path) -> None:
    r = run("schema", "export", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    order = json.loads((tmp_path / "out" / "order.schema.json").read_text())
    assert order["version"] == "1.0.0" and "totals" in order["properties"]
    assert len(list((tmp_path / "out").glob("*.schema.json"))) == 12


def test_audit_verify_reports_tampering(tmp_path: Path) -> None:
    from retailconnect.store import AuditLog, Store
    from retailconnect.store.tables import audit_log

    url = f"sqlite:///{tmp_path / 'a.db'}"
    s = Store.open(url)
    log = AuditLog(s)
    for i in range(3):
        log.append("ops", "act", None, {"i": i})
    assert run("audit", "verify", "--store", url).returncode == 0
    with s.begin() as c:
        c.execute(audit_log.update().where(audit_log.c.id == 2).values(actor="mallory"))
    s.close()
    r = run("audit", "verify", "--store", url)
    assert r.returncode == 1 and "id=2" in r.stderr
