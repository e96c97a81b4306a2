"""The NetSuite connector's declaration."""

from __future__ import annotations

from retailconnect.connectors._kit import Capability, ConnectorSpec, RateLimitSpec

from .client import NetSuiteClient
from .mappers import order_from_netsuite, order_to_netsuite

__all__ = ["spec"]

spec = ConnectorSpec(
    system="netsuite",
    title="Oracle NetSuite (REST web services, SuiteQL, TBA)",
    capabilities=frozenset(
        {
            Capability.ORDERS_OUT,
            Capability.CUSTOMERS_OUT,
            Capability.FULFILLMENT_OUT,
            Capability.PAYMENTS_OUT,
            Capability.RETURNS_OUT,
            Capability.REFUNDS_OUT,
            Capability.CATALOG_IN,
        }
    ),
    limits=RateLimitSpec(
        kind="concurrency",
        concurrency=5,
        source="NetSuite concurrency governance: one limit per account shared by SOAP, REST and RESTlets; "
        "5 / 15 / 20 by service tier plus 10 per SuiteCloud Plus licence; read from "
        "GET /services/rest/system/v1/governanceLimits when permitted",
    ),
    webhook_verifier=None,
    client_factory=NetSuiteClient,
    mappers={"order_in": order_from_netsuite, "order_out": order_to_netsuite},
    api_version="record/v1",
    docs="https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1544787084.html",
)
