"""The demo's checks: computed from simulator records, so they must catch what they claim to catch."""

from __future__ import annotations

from retailconnect.cli.demo.checks import (
    Outcome,
    erp_ledger,
    expected_levels,
    inventory_lags,
    max_rps,
    norm_number,
    percentile,
    quiet_gaps,
)


def so(ref: str, created: int = 1, updated: int = 0, eid: str | None = None) -> dict[str, object]:
    return {"otherRefNum": ref, "externalId": eid or f"shopify-{ref.lstrip('#')}", "created_count": created,
            "updated_count": updated}  # fmt: skip


def test_ledger_finds_missing_duplicated_and_recreated_orders() -> None:
    ledger = erp_ledger(
        ["#1001", "#1002", "#1003", "#1004"],
        [so("#1001"), so("#1002"), so("#1002", eid="other-1002"), so("#1003", created=2, updated=3)],
    )
    assert ledger.missing == ["1004"]
    assert ledger.duplicates == ["1002"]
    assert ledger.recreated == ["1003"]
    assert ledger.updates == 3
    assert not ledger.ok
    assert erp_ledger(["1001"], [so("#1001", updated=1)]).ok


def test_ledger_matches_on_the_external_id_when_other_ref_is_absent() -> None:
    ledger = erp_ledger(["#1007"], [{"externalId": "order:acme:shopify:1007", "created_count": 1}])
    assert ledger.ok and "1007" in ledger.found


def test_norm_number() -> None:
    assert norm_number("#1001") == norm_number("1001") == "1001"
    assert norm_number(None) == ""


def test_max_rps_counts_the_busiest_second_inside_the_window() -> None:
    items = [{"path": "/services/rest/x", "started": 100.0 + i * 0.1, "status": 200} for i in range(25)]
    items += [{"path": "/_sim/requests", "started": 100.05, "status": 200}]
    assert max_rps(items, 100.0, 110.0) == 10
    assert max_rps(items, 101.55, 110.0) == 9  # only the starts inside the window count
    assert max_rps(items, 200.0, 210.0) == 0


def test_quiet_gaps_measures_the_longest_silence() -> None:
    items = [{"path": "/services/a", "started": t} for t in (10.0, 11.0, 17.5, 18.0)]
    assert quiet_gaps(items, 9.0, 20.0) == 6.5
    assert quiet_gaps([], 0.0, 5.0) == 5.0


def test_expected_levels_rebuild_stock_from_the_wms_log() -> None:
    moves = [
        {"sku": "A", "kind": "cycle_count", "counted": 10, "occurred_at": "2026-01-01T00:00:00+00:00"},
        {"sku": "A", "kind": "pick", "quantity": -1, "occurred_at": "2026-01-01T00:00:01+00:00"},
        {"sku": "A", "kind": "receipt", "quantity": 5, "occurred_at": "2026-01-01T00:00:02Z"},
    ]
    levels = expected_levels(moves, safety_stock=2)
    assert [q for _, q in levels["A"]] == [8, 7, 12]


def test_inventory_lags_accept_coalesced_updates_and_flag_unreflected_movements() -> None:
    expected = {"A": [(0.0, 8), (1.0, 7), (2.0, 12)]}
    # the storefront skipped 7 (coalesced) and showed 12 at t=2.5
    lags, unmatched = inventory_lags(expected, {"A": [(0.4, 8), (2.5, 12)]})
    assert unmatched == 0
    assert sorted(lags) == [0.4, 0.5, 1.5]
    # a storefront that never showed the last level leaves that movement unreflected
    lags, unmatched = inventory_lags(expected, {"A": [(0.4, 8)]})
    assert unmatched == 2


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([float(i) for i in range(100)], 99) == 98.0


def test_outcome_passes_only_with_checks_all_passed_and_no_error() -> None:
    o = Outcome("x", "X")
    assert not o.passed  # no check is no pass
    o.check("a", True)
    assert o.passed
    o.check("b", False, "why")
    assert not o.passed
    d = o.as_dict()
    assert d["passed"] is False and d["checks"][1] == {"name": "b", "passed": False, "detail": "why"}
    ok = Outcome("y", "Y")
    ok.check("a", True)
    ok.error = "boom"
    assert not ok.passed


def test_ledger_resolves_aliases_such_as_the_channel_order_id() -> None:
    rows = [{"externalId": "order:acme:shopify:1000026", "created_count": 1}]
    ledger = erp_ledger(["#1004", "#1005"], rows, {"1000026": "#1004"})
    assert set(ledger.found) == {"1004"}
    assert ledger.missing == ["1005"]
    assert erp_ledger(["#1004"], [{"externalId": "order_acme_shopify_1000026"}], {"1000026": "#1004"}).ok


def test_outage_request_allowance_is_threshold_in_flight_and_one_probe_round_per_reset() -> None:
    from retailconnect.cli.demo.scenarios.erp_outage import request_allowance

    # the full run: 5 failures open the circuit, 5 may already be on their way, 30 s / 4 s -> 8 probe rounds
    assert request_allowance(30, failure_threshold=5, concurrency=5, reset_after_s=4.0) == 18
    assert request_allowance(10, failure_threshold=5, concurrency=5, reset_after_s=4.0, probes=2) == 16
