"""Pins the public surface of the ground-floor packages: a change here is a deliberate API change."""

import importlib

import pytest

PUBLIC = {
    "retailconnect.canonical": [
        "SCHEMAS", "Address", "CanonicalModel", "CloudEvent", "Customer", "CustomerContact", "Disposition",
        "Entity", "ExternalRefs", "FinancialStatus", "FulfillmentStatus", "InventoryLevel", "ItemCondition",
        "Money", "MovementKind", "Order", "OrderLine", "OrderStatus", "OrderTotals", "Price", "Product",
        "Promotion", "PromotionKind", "Refund", "RefundKind", "RefundLine", "Return", "ReturnLine",
        "ReturnStatus", "Settlement", "SettlementFee", "SettlementLine", "Shipment", "ShipmentLine",
        "ShipmentStatus", "ShippingLine", "StockMovement", "TaxLine", "UtcDatetime", "Variant", "Weight",
        "WeightUnit", "allocate", "check_totals", "export_schemas", "is_currency", "make_event",
        "minor_units", "new_id", "refundable", "schema_for", "split_inclusive", "tax_on_net", "utcnow",
    ],
    "retailconnect.store": [
        "DEFAULT_STORE_URL", "AuditLog", "AuditVerification", "Bindings", "Claim", "IdempotencyKeys",
        "PayloadArchive", "Store", "normalise_url", "request_hash",
    ],
    "retailconnect.connectors._kit": [
        "Capability", "ChannelSystem", "ConnectorSpec", "Delivery", "ErpItem", "ErpPostResult", "ErpSystem",
        "MapContext", "MemoryRefs", "RateLimitSpec", "RefResolver", "WarehouseSystem", "WebhookVerifier",
        "classify_response", "map_transport_errors",
    ],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_exported_members(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PUBLIC[module])
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name} is listed in __all__ but missing"


def test_every_error_has_a_stable_code_and_status() -> None:
    import retailconnect.errors as errors

    codes = {}
    for name in errors.__all__:
        cls = getattr(errors, name)
        if isinstance(cls, type) and issubclass(cls, errors.RetailConnectError):
            assert cls.code not in codes, f"{name} reuses code {cls.code} of {codes.get(cls.code)}"
            codes[cls.code] = name
            assert 400 <= cls.http_status < 600


def test_errors_round_trip_through_pickle() -> None:
    import pickle

    from retailconnect.errors import RateLimitError

    err = RateLimitError("slow down", context={"system": "netsuite"}, retry_after=2.5)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is RateLimitError and back.context == {"system": "netsuite"} and back.retry_after == 2.5
