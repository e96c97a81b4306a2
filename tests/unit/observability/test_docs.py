"""The snippets in docs/observability.md are real: the YAML validates as topology, the Python parses and
names functions that exist, the alert JSON has the keys the evaluator sends."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import yaml

from retailconnect.config import Topology
from retailconnect.observability.sla import AlertNotice

DOC = (Path(__file__).resolve().parents[3] / "docs" / "observability.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC, re.S)


def test_yaml_snippet_is_a_valid_topology_fragment() -> None:
    [snippet] = blocks("yaml")
    topo = Topology.model_validate(yaml.safe_load(snippet))
    assert [r.name for r in topo.slas] == ["tier1-order-aging", "inventory-lag", "dead-letters", "erp-down"]
    assert topo.alerts.webhook_url and topo.alerts.evaluate_every_s == 10


def test_python_snippet_names_real_functions() -> None:
    [snippet] = blocks("python")
    ast.parse(snippet)
    import retailconnect.dashboard as dashboard
    import retailconnect.gateway as gateway

    assert callable(dashboard.observability_for) and callable(dashboard.create_dashboard_router)
    assert callable(gateway.create_app)


def test_alert_json_matches_the_notices_sent() -> None:
    [snippet] = blocks("json")
    documented = json.loads(snippet.replace('"9c1d..."', '"x"'))
    from datetime import UTC, datetime

    sent = AlertNotice(
        "firing", "r", "order_aging_s", "critical", 1.0, 0.5, 1, datetime.now(UTC), None, "h", "s", "f"
    )
    assert set(documented) == set(sent.to_json())
