"""Money: a Decimal amount in an ISO 4217 currency. Never a float.

Serialised as ``{"amount": "12.34", "currency": "USD"}``. Amounts are quantised to the currency's minor
unit with ROUND_HALF_UP (the usual retail and tax rounding); arithmetic across currencies raises
:class:`~retailconnect.errors.CurrencyMismatchError`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, field_serializer, field_validator

from retailconnect.errors import CurrencyMismatchError

from .currency import minor_units

__all__ = ["Money", "quantize"]


def quantize(amount: Decimal, currency: str) -> Decimal:
    exp = Decimal(1).scaleb(-minor_units(currency))
    return amount.quantize(exp, rounding=ROUND_HALF_UP)


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError("amount must be a decimal string or integer, not a boolean")
    if isinstance(value, float):
        raise ValueError("amount must be a decimal string, not a float (floats lose cents)")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"amount {value!r} is not a decimal number") from None
        if not d.is_finite():
            raise ValueError(f"amount {value!r} is not finite")
        return d
    raise ValueError(f"amount must be a decimal string, got {type(value).__name__}")


class Money(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Decimal
    currency: str

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, v: Any) -> str:
        if not isinstance(v, str):
            raise ValueError("currency must be an ISO 4217 code")
        code = v.strip().upper()
        minor_units(code)  # raises ValueError naming the code
        return code

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, v: Any) -> Decimal:
        return _to_decimal(v)

    def model_post_init(self, __context: Any) -> None:
        object.__setattr__(self, "amount", quantize(self.amount, self.currency))

    @field_serializer("amount")
    def _ser_amount(self, v: Decimal) -> str:
        return format(v, "f")

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        return cls(amount=_to_decimal(amount), currency=currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(amount=Decimal(0), currency=currency)

    @classmethod
    def sum(cls, items: list[Money] | tuple[Money, ...], currency: str) -> Money:
        total = cls.zero(currency)
        for m in items:
            total = total + m
        return total

    # -- arithmetic ----------------------------------------------------------------------------
    def _check(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                f"cannot combine {self.currency} with {other.currency}",
                context={"left": self.currency, "right": other.currency},
            )

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, float | Money) or isinstance(factor, bool):
            raise TypeError("Money can only be multiplied by a Decimal or an int")
        return Money(amount=self.amount * Decimal(factor), currency=self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._check(other)
        return self.amount >= other.amount

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))

    @property
    def minor(self) -> int:
        """Amount in minor units (cents)."""
        return int(self.amount.scaleb(minor_units(self.currency)))

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        return cls(amount=Decimal(minor).scaleb(-minor_units(currency)), currency=currency)

    def is_zero(self) -> bool:
        return self.amount == 0

    def __str__(self) -> str:
        return f"{format(self.amount, 'f')} {self.currency}"
