import json

from typer.testing import CliRunner

from retailconnect.cli.exceptions import app as exceptions_app
from retailconnect.store import Store
from retailconnect.store.exception_queue import ExceptionQueue


def _topology(tmp_path, store_url):
    p = tmp_path / "t.yaml"
    p.write_text(
        f"version: 1\nengines:\n  store_url: {store_url}\nexception_routing:\n  - {{code: vendor_rejected, team: finance-ops}}\n"
    )
    return str(p)


def test_exceptions_list_show_and_resolve_without_a_worker(tmp_path, sqlite_url):
    cfg = _topology(tmp_path, sqlite_url)
    store = Store.open(sqlite_url)
    q = ExceptionQueue(store, rules=[])
    rec = q.open(code="vendor_rejected", error_class="VendorRejectedError", message="credit hold",
                 suggested_action="release the hold", context={"order_number": "#77", "amount": "99.00 USD"},
                 tenant="acme", team="finance-ops")  # fmt: skip
    store.close()
    runner = CliRunner()
    res = runner.invoke(exceptions_app, ["list", "--json", "-c", cfg])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert rows[0]["id"] == rec.id and rows[0]["context"]["order_number"] == "#77"
    res = runner.invoke(exceptions_app, ["show", str(rec.id), "-c", cfg])
    assert res.exit_code == 0 and "release the hold" in res.output
    res = runner.invoke(exceptions_app, ["resolve", str(rec.id), "-c", cfg])
    assert res.exit_code == 2 and "exactly one" in res.output
    res = runner.invoke(
        exceptions_app, ["resolve", str(rec.id), "--skip", "--note", "done by hand", "-c", cfg]
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(exceptions_app, ["resolve", "999", "--retry", "-c", cfg])
    assert res.exit_code == 2 and "999" in res.output
    res = runner.invoke(exceptions_app, ["list", "--status", "resolved", "--json", "-c", cfg])
    assert json.loads(res.output)[0]["resolution"] == "skip"
