"""``retailconnect events`` and ``dlq`` against a real embedded store in a temporary working dir."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from retailconnect.bus import open_bus
from retailconnect.canonical.event import CloudEvent, make_event
from retailconnect.cli import dlq as dlq_cli
from retailconnect.cli import events as events_cli
from retailconnect.store import DEFAULT_STORE_URL, Store

runner = CliRunner()


@pytest.fixture
def hub_dir(tmp_path: Path) -> Iterator[Path]:
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


def _seed() -> list[CloudEvent]:
    events = [make_event("order.accepted", source="t", subject=f"SO-{i}", data={"i": i}) for i in range(4)]
    events.append(make_event("inventory.movement", source="wms", subject="SKU-1", data={"q": 1}))

    async def go() -> None:
        store = Store.open(DEFAULT_STORE_URL)
        bus = open_bus("sqlite", store=store)
        await bus.publish_many(events)

        async def erp(e: CloudEvent) -> None:
            if e.subject in ("SO-1", "SO-2"):
                raise ValueError(f"credit hold {e.subject}")

        bus.subscribe("order.*", "erp", erp, max_attempts=2, backoff=(0.001, 0.002))
        for _ in range(500):
            if len(await bus.list_dead()) == 2:
                break
            await asyncio.sleep(0.01)
        await bus.close()
        store.close()

    asyncio.run(go())
    return events


def test_no_store_is_one_line_and_exit_2(hub_dir: Path) -> None:
    r = runner.invoke(events_cli.app, ["tail"])
    assert r.exit_code == 2
    assert "no event store" in r.output


def test_tail_filters_by_type_and_prints_json(hub_dir: Path) -> None:
    events = _seed()
    r = runner.invoke(events_cli.app, ["tail", "--type", "order.*", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [x["id"] for x in rows] == [e.id for e in events[:4]]
    r = runner.invoke(events_cli.app, ["tail", "-n", "1"])
    assert r.exit_code == 0 and "inventory.movement" in r.output
    r = runner.invoke(events_cli.app, ["tail", "--type", "Order.*"])
    assert r.exit_code == 2 and "bad type pattern" in r.output


def test_replay_dry_run_lists_without_moving(hub_dir: Path) -> None:
    events = _seed()
    r = runner.invoke(events_cli.app, ["replay", "--group", "erp", "--from", "3", "--dry-run", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert res["dry_run"] is True and res["count"] == 2
    assert [i["event_id"] for i in res["items"]] == [events[2].id, events[3].id]
    assert {i["group"] for i in res["items"]} == {"erp"}
    r = runner.invoke(events_cli.app, ["replay", "--group", "erp", "--from-event", events[0].id])
    assert r.exit_code == 0 and "redelivering" in r.output and "4" in r.output
    for bad in (
        ["--group", "erp", "--from", "tomorrow"],
        ["--group", "nope", "--from", "1"],
        ["--group", "erp"],
    ):
        r = runner.invoke(events_cli.app, ["replay", *bad])
        assert r.exit_code == 2, (bad, r.output)


def test_dlq_list_show_replay_purge(hub_dir: Path) -> None:
    _seed()
    r = runner.invoke(dlq_cli.app, ["list", "--json"])
    assert r.exit_code == 0, r.output
    dead = json.loads(r.output)
    assert len(dead) == 2 and {d["subject"] for d in dead} == {"SO-1", "SO-2"}
    assert all(d["attempts"] == 2 and d["last_error"].startswith("ValueError: credit hold") for d in dead)
    first = dead[0]["id"]
    r = runner.invoke(dlq_cli.app, ["show", first])
    assert r.exit_code == 0 and "Traceback" in r.output and "credit hold" in r.output
    r = runner.invoke(dlq_cli.app, ["replay", first, "--dry-run", "--json"])
    assert json.loads(r.output)["count"] == 1
    r = runner.invoke(dlq_cli.app, ["replay", first])
    assert r.exit_code == 0 and "redelivered" in r.output
    r = runner.invoke(dlq_cli.app, ["list", "--json"])
    assert len(json.loads(r.output)) == 1
    r = runner.invoke(dlq_cli.app, ["purge", "--older-than", "7d", "--json"])
    assert json.loads(r.output)["purged"] == 0
    r = runner.invoke(dlq_cli.app, ["purge", "--older-than", "0s"])
    assert r.exit_code == 0 and "purged 1" in r.output
    for bad in (
        ["show", "999"],
        ["show", "abc"],
        ["replay"],
        ["replay", "1", "--all"],
        ["purge", "--older-than", "7x"],
    ):
        r = runner.invoke(dlq_cli.app, bad)
        assert r.exit_code == 2, (bad, r.output)
