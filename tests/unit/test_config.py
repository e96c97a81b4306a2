from pathlib import Path

import pytest

from retailconnect.config import load_topology, parse_topology
from retailconnect.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_example_topology_is_valid() -> None:
    topo = load_topology(ROOT / "examples" / "retail.yaml")
    assert topo.erp_name() == "netsuite"
    assert topo.engines.bus.backend == "sqlite"
    assert topo.systems["netsuite"].credentials["token_secret"].env == "NETSUITE_TOKEN_SECRET"


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_topology(text, "retail.yaml")
    return exc.value.problems


def test_missing_field_names_file_line_and_path() -> None:
    text = "version: 1\nsystems:\n  netsuite:\n    kind: netsuite\n    mode: simulator\n"
    assert problems(text) == ["retail.yaml:3: systems.netsuite.account_id: field required"]


def test_unknown_field_and_bad_value_are_each_reported() -> None:
    text = (
        "systems:\n"
        "  shop:\n"
        "    kind: shopify\n"
        "    mode: simulator\n"
        "    shop_domain: acme.myshopify.com\n"
        "    colour: blue\n"
        "engines:\n"
        "  store_url: mysql://x\n"
    )
    out = problems(text)
    assert "retail.yaml:6: systems.shop.colour: unknown field" in out
    assert any(p.startswith("retail.yaml:8: engines.store_url:") for p in out)


def test_dangling_references_point_at_the_flow() -> None:
    text = (
        "systems:\n  shop:\n    kind: shopify\n    mode: simulator\n    shop_domain: a.myshopify.com\n"
        "flows:\n  - name: order_to_cash\n    source: shop\n    targets: [nowhere]\n"
    )
    assert problems(text) == ["retail.yaml:9: flows.0.targets.0: unknown system 'nowhere'"]


def test_secret_values_are_never_accepted_inline() -> None:
    text = (
        "systems:\n  shop:\n    kind: shopify\n    mode: simulator\n    shop_domain: a.myshopify.com\n"
        "    credentials:\n      access_token: shpat_123\n"
    )
    assert problems(text)[0].startswith("retail.yaml:7: systems.shop.credentials.access_token:")


def test_invalid_yaml_reports_the_line() -> None:
    assert problems("systems:\n  a: [1, 2\n")[0].startswith("retail.yaml:")


def test_secret_ref_resolves_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    topo = load_topology(ROOT / "examples" / "retail.yaml")
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", "shpat_secret")
    secret = topo.systems["shopify"].secret("access_token")
    assert secret is not None and secret.get_secret_value() == "shpat_secret"
    assert "shpat_secret" not in repr(secret)
