"""Price (a price-list entry) and Promotion."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import Field, model_validator

from .base import Entity, UtcDatetime
from .money import Money

__all__ = ["Price", "Promotion", "PromotionKind"]


class Price(Entity):
    schema_name = "price"

    sku: str = Field(min_length=1)
    price_list: str = "default"
    amount: Money
    compare_at: Money | None = None
    channels: list[str] = Field(default_factory=list, description="empty = every channel")
    valid_from: UtcDatetime | None = None
    valid_to: UtcDatetime | None = None
    min_quantity: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _window(self) -> Price:
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        if self.compare_at is not None and self.compare_at.currency != self.amount.currency:
            raise ValueError("compare_at must be in the same currency as amount")
        return self

    def applies(self, channel: str | None, at: UtcDatetime) -> bool:
        if self.channels and channel not in self.channels:
            return False
        if self.valid_from and at < self.valid_from:
            return False
        return not (self.valid_to and at >= self.valid_to)


class PromotionKind(StrEnum):
    PERCENTAGE = "percentage"
    FIXED_AMOUNT = "fixed_amount"
    FREE_SHIPPING = "free_shipping"
    BUY_X_GET_Y = "buy_x_get_y"


class Promotion(Entity):
    schema_name = "promotion"

    code: str | None = None
    title: str
    kind: PromotionKind
    percentage: Decimal | None = Field(default=None, ge=0, le=100)
    amount: Money | None = None
    skus: list[str] = Field(default_factory=list, description="empty = whole order")
    channels: list[str] = Field(default_factory=list)
    price_lists: list[str] = Field(default_factory=list)
    valid_from: UtcDatetime | None = None
    valid_to: UtcDatetime | None = None
    stackable: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Promotion:
        if self.kind == PromotionKind.PERCENTAGE and self.percentage is None:
            raise ValueError("a percentage promotion needs percentage")
        if self.kind == PromotionKind.FIXED_AMOUNT and self.amount is None:
            raise ValueError("a fixed_amount promotion needs amount")
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self
