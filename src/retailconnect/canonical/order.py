"""Order: the canonical contract every channel maps to and every ERP maps from.

Totals rule (checked on construction, to the currency's minor unit)::

    grand_total = subtotal - discount_total + shipping_total + (tax_total if not taxes_included else 0)

where ``subtotal`` is the sum of ``unit_price * quantity`` over lines (before discounts),
``discount_total`` the sum of line discounts (goods only), ``shipping_total`` the sum of shipping
``price - discount_total`` and ``tax_total`` the sum of line and shipping tax. Each line's
``line_total`` is ``unit_price * quantity - discount_total``. When a vendor's own figures do not add up,
a mapper keeps them and sets ``totals_mismatch`` to a description of the difference; the order is then
accepted as flagged (never silently corrected).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator, model_validator

from retailconnect.errors import TotalsMismatchError

from .base import CanonicalModel, Entity, UtcDatetime, utcnow
from .currency import minor_units
from .money import Money
from .party import Address, CustomerContact

__all__ = [
    "FinancialStatus",
    "FulfillmentStatus",
    "Order",
    "OrderLine",
    "OrderStatus",
    "OrderTotals",
    "ShippingLine",
    "TaxLine",
    "check_totals",
]


class OrderStatus(StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"
    CLOSED = "closed"


class FinancialStatus(StrEnum):
    PENDING = "pending"
    AUTHORIZED = "authorized"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"
    EXPIRED = "expired"


class FulfillmentStatus(StrEnum):
    UNFULFILLED = "unfulfilled"
    PARTIAL = "partial"
    FULFILLED = "fulfilled"
    RESTOCKED = "restocked"


class TaxLine(CanonicalModel):
    title: str
    rate: Decimal | None = None
    amount: Money


class OrderLine(CanonicalModel):
    id: str | None = Field(default=None, description="the line's id in the source system")
    sku: str | None = Field(
        default=None,
        description="None when the source line has no SKU (custom item); external_refs then keep the "
        "product/variant ids so the flow can resolve it or raise an exception naming the line",
    )
    title: str
    quantity: int = Field(ge=0)
    unit_price: Money
    discount_total: Money
    tax_total: Money
    line_total: Money
    tax_lines: list[TaxLine] = Field(default_factory=list)
    requires_shipping: bool = True
    gift_card: bool = False
    external_refs: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _line(self) -> OrderLine:
        cur = self.unit_price.currency
        for name in ("discount_total", "tax_total", "line_total"):
            if getattr(self, name).currency != cur:
                raise ValueError(f"{name} currency differs from unit_price currency {cur}")
        return self

    @property
    def gross(self) -> Money:
        return self.unit_price * self.quantity


class ShippingLine(CanonicalModel):
    code: str | None = None
    title: str
    price: Money
    discount_total: Money
    tax_total: Money
    tax_lines: list[TaxLine] = Field(default_factory=list)


class OrderTotals(CanonicalModel):
    subtotal: Money
    discount_total: Money
    shipping_total: Money
    tax_total: Money
    grand_total: Money


def check_totals(order: Order) -> list[str]:
    """Every way the order's figures fail to reconcile, as readable sentences (empty when they do)."""
    cur = order.currency
    problems: list[str] = []
    z = Money.zero(cur)
    t = order.totals
    for name in ("subtotal", "discount_total", "shipping_total", "tax_total", "grand_total"):
        if getattr(t, name).currency != cur:
            problems.append(f"totals.{name} is in {getattr(t, name).currency}, order currency is {cur}")
    if problems:
        return problems
    for i, line in enumerate(order.lines):
        if line.unit_price.currency != cur:
            problems.append(f"lines[{i}] is in {line.unit_price.currency}, order currency is {cur}")
            continue
        expect = line.gross - line.discount_total
        if expect != line.line_total:
            problems.append(
                f"lines[{i}].line_total {line.line_total.amount} != unit_price*quantity - discount_total "
                f"{expect.amount}"
            )
    if problems:
        return problems
    subtotal = sum((ln.gross for ln in order.lines), z)
    discounts = sum((ln.discount_total for ln in order.lines), z)
    shipping = sum((s.price - s.discount_total for s in order.shipping_lines), z)
    tax = sum((ln.tax_total for ln in order.lines), z) + sum((s.tax_total for s in order.shipping_lines), z)
    for name, computed in (
        ("subtotal", subtotal),
        ("discount_total", discounts),
        ("shipping_total", shipping),
        ("tax_total", tax),
    ):
        if getattr(t, name) != computed:
            problems.append(f"totals.{name} {getattr(t, name).amount} != sum over lines {computed.amount}")
    grand = t.subtotal - t.discount_total + t.shipping_total + (z if order.taxes_included else t.tax_total)
    if grand != t.grand_total:
        rule = "subtotal - discount_total + shipping_total" + ("" if order.taxes_included else " + tax_total")
        problems.append(
            f"totals.grand_total {t.grand_total.amount} != {rule} = {grand.amount} "
            f"(off by {(t.grand_total - grand).amount} {cur})"
        )
    return problems


class Order(Entity):
    schema_name = "order"

    number: str = Field(min_length=1)
    channel: str = Field(min_length=1)
    tenant: str | None = None
    currency: str
    placed_at: UtcDatetime
    updated_at: UtcDatetime = Field(default_factory=utcnow)
    customer: CustomerContact = Field(default_factory=CustomerContact)
    billing_address: Address | None = None
    shipping_address: Address | None = None
    lines: list[OrderLine] = Field(min_length=1)
    shipping_lines: list[ShippingLine] = Field(default_factory=list)
    totals: OrderTotals
    taxes_included: bool = False
    status: OrderStatus = OrderStatus.OPEN
    financial_status: FinancialStatus = FinancialStatus.PENDING
    fulfillment_status: FulfillmentStatus = FulfillmentStatus.UNFULFILLED
    cancelled_at: UtcDatetime | None = None
    tags: list[str] = Field(default_factory=list)
    note: str | None = None
    presentment_currency: str | None = None
    presentment_totals: OrderTotals | None = None
    totals_mismatch: str | None = Field(
        default=None, description="set by a mapper that kept a vendor's figures which do not reconcile"
    )
    extra: dict[str, Any] = Field(default_factory=dict, description="source data kept for audit/replay")

    @field_validator("currency", "presentment_currency", mode="before")
    @classmethod
    def _cur(cls, v: Any) -> Any:
        if v is None:
            return v
        if not isinstance(v, str):
            raise ValueError("currency must be an ISO 4217 code")
        code = v.strip().upper()
        minor_units(code)
        return code

    @model_validator(mode="after")
    def _reconcile(self) -> Order:
        if self.totals_mismatch is None:
            problems = check_totals(self)
            if problems:
                raise TotalsMismatchError(
                    "order totals do not reconcile: " + "; ".join(problems),
                    context={"order_number": self.number, "problems": problems},
                )
        return self

    @property
    def skus(self) -> list[str]:
        return [ln.sku for ln in self.lines if ln.sku]
