from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retailconnect.canonical import Money, allocate, refundable, split_inclusive
from retailconnect.errors import InputError

currencies = st.sampled_from(["USD", "EUR", "JPY", "KWD", "GBP"])


@given(
    st.integers(-(10**7), 10**7),
    st.lists(st.integers(0, 10**6), min_size=1, max_size=30),
    currencies,
)
def test_allocation_sums_exactly_and_stays_proportional(
    total_minor: int, weights: list[int], cur: str
) -> None:
    total = Money.from_minor(total_minor, cur)
    parts = allocate(total, weights)
    assert len(parts) == len(weights)
    assert sum(p.minor for p in parts) == total_minor
    wsum = sum(weights) or len(weights)
    eff = weights if sum(weights) else [1] * len(weights)
    for p, w in zip(parts, eff, strict=True):
        exact = Decimal(abs(total_minor)) * w / wsum
        assert abs(abs(p.minor) - exact) < 1  # never more than one minor unit off the exact share


@given(st.integers(0, 10**6), st.lists(st.integers(1, 1000), min_size=1, max_size=10))
def test_allocation_is_deterministic(total_minor: int, weights: list[int]) -> None:
    total = Money.from_minor(total_minor, "USD")
    assert allocate(total, weights) == allocate(total, weights)


def test_residue_goes_to_largest_remainder_then_first_line() -> None:
    parts = allocate(Money.of("10.00", "USD"), [1, 1, 1])
    assert [p.amount for p in parts] == [Decimal("3.34"), Decimal("3.33"), Decimal("3.33")]


@given(st.integers(0, 10**8), st.sampled_from(["0", "0.05", "0.07", "0.2", "0.21", "0.25"]), currencies)
def test_inclusive_split_recomposes_the_gross(gross_minor: int, rate: str, cur: str) -> None:
    gross = Money.from_minor(gross_minor, cur)
    net, tax = split_inclusive(gross, Decimal(rate))
    assert net + tax == gross
    assert tax.amount >= 0 and net.amount >= 0


def test_inclusive_split_vat_example() -> None:
    net, tax = split_inclusive(Money.of("12.00", "GBP"), Decimal("0.2"))
    assert (net.amount, tax.amount) == (Decimal("10.00"), Decimal("2.00"))


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6))
def test_refund_never_exceeds_what_was_paid(paid: int, already: int, requested: int) -> None:
    p, a, r = (Money.from_minor(x, "USD") for x in (paid, already, requested))
    if already + requested <= paid:
        assert refundable(p, a, r) == r
    else:
        with pytest.raises(InputError, match="exceeds"):
            refundable(p, a, r)
