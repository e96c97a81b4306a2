"""Product and Variant."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator

from .base import CanonicalModel, Entity
from .money import Money

__all__ = ["Product", "Variant", "Weight", "WeightUnit"]


class WeightUnit(StrEnum):
    G = "g"
    KG = "kg"
    LB = "lb"
    OZ = "oz"


class Weight(CanonicalModel):
    value: Decimal = Field(ge=0)
    unit: WeightUnit = WeightUnit.KG


def _gtin_ok(code: str) -> bool:
    digits = [int(c) for c in code]
    check = digits[-1]
    body = digits[:-1][::-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
    return (10 - total % 10) % 10 == check


class Variant(CanonicalModel):
    sku: str = Field(min_length=1, max_length=255)
    title: str | None = None
    gtin: str | None = None
    options: dict[str, str] = Field(default_factory=dict)
    weight: Weight | None = None
    price: Money | None = None
    compare_at_price: Money | None = None
    requires_shipping: bool = True
    taxable: bool = True
    external_refs: dict[str, str] = Field(default_factory=dict)

    @field_validator("gtin", mode="before")
    @classmethod
    def _gtin(cls, v: Any) -> Any:
        if v in (None, ""):
            return None
        s = str(v).strip()
        if not s.isdigit() or len(s) not in (8, 12, 13, 14):
            raise ValueError("gtin must be 8, 12, 13 or 14 digits")
        if not _gtin_ok(s):
            raise ValueError(f"gtin {s} has a wrong check digit")
        return s


class Product(Entity):
    schema_name = "product"

    title: str = Field(min_length=1)
    handle: str | None = None
    description: str | None = None
    vendor: str | None = None
    product_type: str | None = None
    status: str = "active"
    tags: list[str] = Field(default_factory=list)
    options: list[str] = Field(default_factory=list)
    variants: list[Variant] = Field(default_factory=list)

    @field_validator("variants")
    @classmethod
    def _unique_skus(cls, v: list[Variant]) -> list[Variant]:
        skus = [x.sku for x in v]
        dup = {s for s in skus if skus.count(s) > 1}
        if dup:
            raise ValueError(f"duplicate SKU(s) in variants: {sorted(dup)}")
        return v
