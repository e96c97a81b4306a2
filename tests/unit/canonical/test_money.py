from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from retailconnect.canonical import Money
from retailconnect.errors import CurrencyMismatchError


def test_serialises_amount_as_string_with_currency() -> None:
    assert Money.of("12.3", "usd").model_dump(mode="json") == {"amount": "12.30", "currency": "USD"}


def test_rounds_half_up_to_the_minor_unit_of_each_currency() -> None:
    assert Money.of("1.005", "USD").amount == Decimal("1.01")
    assert Money.of("1.5", "JPY").amount == Decimal("2")
    assert Money.of("1.0005", "KWD").amount == Decimal("1.001")


def test_unknown_currency_is_refused_with_its_code() -> None:
    with pytest.raises(ValidationError, match="XYZ"):
        Money.of("1", "XYZ")


def test_floats_are_refused() -> None:
    with pytest.raises(ValidationError, match="float"):
        Money(amount=0.1, currency="USD")  # type: ignore[arg-type]


def test_mixed_currency_arithmetic_raises() -> None:
    with pytest.raises(CurrencyMismatchError, match="USD with EUR"):
        Money.of("1", "USD") + Money.of("1", "EUR")
    with pytest.raises(CurrencyMismatchError):
        _ = Money.of("1", "USD") < Money.of("1", "EUR")


def test_minor_units_round_trip() -> None:
    assert Money.of("12.34", "USD").minor == 1234
    assert Money.from_minor(1234, "USD") == Money.of("12.34", "USD")
    assert Money.from_minor(1234, "JPY").amount == Decimal(1234)


@given(st.integers(-(10**9), 10**9), st.integers(-(10**9), 10**9))
def test_addition_is_exact_in_minor_units(a: int, b: int) -> None:
    assert (Money.from_minor(a, "EUR") + Money.from_minor(b, "EUR")).minor == a + b


def test_multiplication_by_float_is_refused() -> None:
    with pytest.raises(TypeError):
        Money.of("1", "USD") * 1.5  # type: ignore[operator]
    assert (Money.of("1.10", "USD") * 3).amount == Decimal("3.30")
