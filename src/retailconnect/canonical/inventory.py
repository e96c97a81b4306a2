"""InventoryLevel (per SKU per location) and StockMovement."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from .base import Entity, UtcDatetime, utcnow

__all__ = ["InventoryLevel", "MovementKind", "StockMovement"]


class InventoryLevel(Entity):
    schema_name = "inventory_level"

    sku: str = Field(min_length=1)
    location: str = Field(min_length=1)
    on_hand: int
    reserved: int = Field(default=0, ge=0)
    safety_stock: int = Field(default=0, ge=0)
    available: int | None = None
    updated_at: UtcDatetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _available(self) -> InventoryLevel:
        computed = max(0, self.on_hand - self.reserved - self.safety_stock)
        if self.available is None:
            self.__dict__["available"] = computed
        return self


class MovementKind(StrEnum):
    RECEIPT = "receipt"
    PICK = "pick"
    ADJUSTMENT = "adjustment"
    CYCLE_COUNT = "cycle_count"
    DAMAGE = "damage"
    RETURN = "return"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"


class StockMovement(Entity):
    """A change of stock at a location. ``quantity`` is signed (receipts +, picks -); a cycle count
    carries the counted absolute figure in ``counted`` instead."""

    schema_name = "stock_movement"

    sku: str = Field(min_length=1)
    location: str = Field(min_length=1)
    kind: MovementKind
    quantity: int = 0
    counted: int | None = Field(default=None, ge=0)
    occurred_at: UtcDatetime = Field(default_factory=utcnow)
    reference: str | None = None
    source_system: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> StockMovement:
        if self.kind == MovementKind.CYCLE_COUNT and self.counted is None:
            raise ValueError("a cycle_count movement needs counted")
        if self.kind != MovementKind.CYCLE_COUNT and self.quantity == 0:
            raise ValueError("quantity must not be zero")
        return self
