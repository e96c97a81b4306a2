"""Shipment, Return, Refund / CreditMemo and Settlement."""

from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import Field, model_validator

from .base import CanonicalModel, Entity, UtcDatetime, utcnow
from .money import Money

__all__ = [
    "Disposition",
    "ItemCondition",
    "Refund",
    "RefundKind",
    "RefundLine",
    "Return",
    "ReturnLine",
    "ReturnStatus",
    "Settlement",
    "SettlementFee",
    "SettlementLine",
    "Shipment",
    "ShipmentLine",
    "ShipmentStatus",
]


class ShipmentStatus(StrEnum):
    PENDING = "pending"
    DISPATCHED = "dispatched"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    FAILED = "failed"


class ShipmentLine(CanonicalModel):
    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0)
    order_line_id: str | None = None


class Shipment(Entity):
    schema_name = "shipment"

    order_id: uuid.UUID | None = None
    order_number: str
    channel: str | None = None
    location: str | None = None
    lines: list[ShipmentLine] = Field(min_length=1)
    carrier: str | None = None
    service: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    status: ShipmentStatus = ShipmentStatus.DISPATCHED
    shipped_at: UtcDatetime = Field(default_factory=utcnow)


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    RECEIVED = "received"
    INSPECTED = "inspected"
    CREDITED = "credited"
    REFUNDED = "refunded"
    CLOSED = "closed"
    REJECTED = "rejected"


class ItemCondition(StrEnum):
    NEW = "new"
    OPENED = "opened"
    DAMAGED = "damaged"
    DEFECTIVE = "defective"
    MISSING = "missing"


class Disposition(StrEnum):
    RESTOCK = "restock"
    WRITE_OFF = "write_off"
    REFURBISH = "refurbish"
    RETURN_TO_VENDOR = "return_to_vendor"
    REFUSED = "refused"


class ReturnLine(CanonicalModel):
    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0)
    reason: str | None = None
    order_line_id: str | None = None
    condition: ItemCondition | None = None
    disposition: Disposition | None = None
    unit_refund: Money | None = None


class Return(Entity):
    schema_name = "return"

    order_id: uuid.UUID | None = None
    order_number: str
    channel: str | None = None
    rma_number: str | None = None
    lines: list[ReturnLine] = Field(min_length=1)
    status: ReturnStatus = ReturnStatus.REQUESTED
    requested_at: UtcDatetime = Field(default_factory=utcnow)
    note: str | None = None


class RefundKind(StrEnum):
    REFUND = "refund"
    CREDIT_MEMO = "credit_memo"


class RefundLine(CanonicalModel):
    sku: str | None = None
    order_line_id: str | None = None
    quantity: int = Field(ge=0)
    amount: Money
    tax: Money | None = None
    restock: bool = False


class Refund(Entity):
    """A refund to the customer or a credit memo in the ERP."""

    schema_name = "refund"

    kind: RefundKind = RefundKind.REFUND
    order_id: uuid.UUID | None = None
    order_number: str
    channel: str | None = None
    return_id: uuid.UUID | None = None
    currency: str
    lines: list[RefundLine] = Field(default_factory=list)
    shipping: Money | None = None
    adjustments: Money | None = Field(default=None, description="order-level adjustments (signed)")
    total: Money
    reason: str | None = None
    created_at: UtcDatetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _currency(self) -> Refund:
        if self.total.currency != self.currency:
            raise ValueError(f"total is in {self.total.currency}, refund currency is {self.currency}")
        for i, ln in enumerate(self.lines):
            if ln.amount.currency != self.currency:
                raise ValueError(f"lines[{i}].amount is in {ln.amount.currency}, refund is {self.currency}")
        return self


class SettlementFee(CanonicalModel):
    kind: str
    amount: Money


class SettlementLine(CanonicalModel):
    order_number: str | None = None
    order_id: uuid.UUID | None = None
    kind: str = "charge"
    gross: Money
    fee: Money
    net: Money
    matched: bool = False


class Settlement(Entity):
    """A payout from a payment provider or marketplace, with the orders it covers."""

    schema_name = "settlement"

    provider: str
    payout_id: str
    currency: str
    payout_date: UtcDatetime
    gross: Money
    fees: list[SettlementFee] = Field(default_factory=list)
    net: Money
    lines: list[SettlementLine] = Field(default_factory=list)

    @model_validator(mode="after")
    def _net(self) -> Settlement:
        fee_total = Money.sum([f.amount for f in self.fees], self.currency)
        if self.gross - fee_total != self.net:
            raise ValueError(f"net {self.net.amount} != gross {self.gross.amount} - fees {fee_total.amount}")
        return self

    @property
    def unmatched(self) -> list[SettlementLine]:
        return [ln for ln in self.lines if not ln.matched]
