"""Consumers: hashed keys, scopes checked, revoke; the CLI prints the key once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from retailconnect.cli.consumers import app as consumers_app
from retailconnect.errors import ConflictError, InputError, NotFoundError
from retailconnect.gateway import ConsumerStore
from retailconnect.gateway.consumers import hash_key
from retailconnect.gateway.tables import consumers


def test_key_is_stored_hashed_and_verifies(store):
    cs = ConsumerStore(store)
    key = cs.add("pos", tenant="brand-a", scopes=["prices:read availability:read"])
    assert key.startswith("rc_")
    with store.connect() as c:
        row = c.execute(sa.select(consumers)).one()
    assert key not in str(tuple(row)) and row.key_hash == hash_key(key)
    p = cs.verify(key)
    assert p is not None and p.tenant == "brand-a" and p.scopes == {"prices:read", "availability:read"}
    assert cs.verify(key + "x") is None
    cs.revoke("pos")
    assert cs.verify(key) is None


def test_add_rejects_bad_input(store):
    cs = ConsumerStore(store)
    with pytest.raises(InputError):
        cs.add("x", tenant="a", scopes=["orders:writ"])
    cs.add("x", tenant="a", scopes=["orders:write"])
    with pytest.raises(ConflictError):
        cs.add("x", tenant="a", scopes=["orders:write"])
    with pytest.raises(NotFoundError):
        cs.revoke("nobody")


def test_cli_add_list_revoke(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    r = runner.invoke(
        consumers_app, ["add", "shop", "--tenant", "brand-a", "--scopes", "orders:write", "returns:write"]
    )
    assert r.exit_code == 0, r.output
    key = r.output.strip().splitlines()[-1]
    assert key.startswith("rc_")
    r = runner.invoke(consumers_app, ["list", "--json"])
    assert '"scopes"' in r.output and "orders:write" in r.output and "returns:write" in r.output
    assert key not in r.output
    assert runner.invoke(consumers_app, ["revoke", "shop"]).exit_code == 0
    assert runner.invoke(consumers_app, ["revoke", "ghost"]).exit_code == 2
    r = runner.invoke(consumers_app, ["add", "bad", "--tenant", "a", "--scopes", "nope"])
    assert r.exit_code == 2
