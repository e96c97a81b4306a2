"""The legacy ERP connector's declaration."""

from retailconnect.connectors._kit import Capability, ConnectorSpec, RateLimitSpec

from .client import LegacyErpClient

spec = ConnectorSpec(
    system="legacy_erp",
    title="Legacy ERP (flat-file CSV drop)",
    capabilities=frozenset({Capability.ORDERS_OUT, Capability.FULFILLMENT_OUT}),
    limits=RateLimitSpec(kind="rps", rps=5.0, source="one file upload per flush interval"),
    client_factory=LegacyErpClient,
    docs="CSV files in an inbound drop folder, acknowledged by files in an outbound folder.",
)
