"""Canonical business objects: every system maps once, to these."""

from .allocation import allocate as allocate
from .allocation import refundable as refundable
from .allocation import split_inclusive as split_inclusive
from .allocation import tax_on_net as tax_on_net
from .base import CanonicalModel as CanonicalModel
from .base import Entity as Entity
from .base import UtcDatetime as UtcDatetime
from .base import utcnow as utcnow
from .currency import is_currency as is_currency
from .currency import minor_units as minor_units
from .event import CloudEvent as CloudEvent
from .event import make_event as make_event
from .fulfilment import Disposition as Disposition
from .fulfilment import ItemCondition as ItemCondition
from .fulfilment import Refund as Refund
from .fulfilment import RefundKind as RefundKind
from .fulfilment import RefundLine as RefundLine
from .fulfilment import Return as Return
from .fulfilment import ReturnLine as ReturnLine
from .fulfilment import ReturnStatus as ReturnStatus
from .fulfilment import Settlement as Settlement
from .fulfilment import SettlementFee as SettlementFee
from .fulfilment import SettlementLine as SettlementLine
from .fulfilment import Shipment as Shipment
from .fulfilment import ShipmentLine as ShipmentLine
from .fulfilment import ShipmentStatus as ShipmentStatus
from .ids import ExternalRefs as ExternalRefs
from .ids import new_id as new_id
from .inventory import InventoryLevel as InventoryLevel
from .inventory import MovementKind as MovementKind
from .inventory import StockMovement as StockMovement
from .money import Money as Money
from .order import FinancialStatus as FinancialStatus
from .order import FulfillmentStatus as FulfillmentStatus
from .order import Order as Order
from .order import OrderLine as OrderLine
from .order import OrderStatus as OrderStatus
from .order import OrderTotals as OrderTotals
from .order import ShippingLine as ShippingLine
from .order import TaxLine as TaxLine
from .order import check_totals as check_totals
from .party import Address as Address
from .party import Customer as Customer
from .party import CustomerContact as CustomerContact
from .pricing import Price as Price
from .pricing import Promotion as Promotion
from .pricing import PromotionKind as PromotionKind
from .product import Product as Product
from .product import Variant as Variant
from .product import Weight as Weight
from .product import WeightUnit as WeightUnit
from .schema import SCHEMAS as SCHEMAS
from .schema import export_schemas as export_schemas
from .schema import schema_for as schema_for

__all__ = [
    "SCHEMAS", "Address", "CanonicalModel", "CloudEvent", "Customer", "CustomerContact", "Disposition",
    "Entity", "ExternalRefs", "FinancialStatus", "FulfillmentStatus", "InventoryLevel", "ItemCondition",
    "Money", "MovementKind", "Order", "OrderLine", "OrderStatus", "OrderTotals", "Price", "Product",
    "Promotion", "PromotionKind", "Refund", "RefundKind", "RefundLine", "Return", "ReturnLine",
    "ReturnStatus", "Settlement", "SettlementFee", "SettlementLine", "Shipment", "ShipmentLine",
    "ShipmentStatus", "ShippingLine", "StockMovement", "TaxLine", "UtcDatetime", "Variant", "Weight",
    "WeightUnit", "allocate", "check_totals", "export_schemas", "is_currency", "make_event",
    "minor_units", "new_id", "refundable", "schema_for", "split_inclusive", "tax_on_net", "utcnow",
]  # fmt: skip
