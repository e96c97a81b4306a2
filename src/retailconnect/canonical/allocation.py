"""Money allocation rules, explicit and property-tested.

- :func:`allocate` splits an amount pro rata over weights in minor units; the rounding residue goes to
  the largest fractional remainders first, ties broken by position (earliest first), so the result is
  deterministic and always sums exactly to the amount.
- :func:`split_inclusive` splits a tax-inclusive gross into net and tax at a rate, tax rounded half up,
  net = gross - tax (so net + tax == gross, always).
- :func:`tax_on_net` computes tax on a net amount.
- :func:`refundable` tells what may still be refunded per line: never more than was paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal

from retailconnect.errors import InputError

from .money import Money, quantize

__all__ = ["allocate", "refundable", "split_inclusive", "tax_on_net"]


def allocate(total: Money, weights: Sequence[Decimal | int]) -> list[Money]:
    """Allocate ``total`` over ``weights`` (non-negative) so that the parts sum exactly to ``total``."""
    if not weights:
        raise InputError("cannot allocate over no lines")
    ws = [Decimal(w) for w in weights]
    if any(w < 0 for w in ws):
        raise InputError("allocation weights must not be negative")
    wsum = sum(ws, Decimal(0))
    cur = total.currency
    minor_total = total.minor
    if wsum == 0:
        # Nothing to weigh by: split evenly.
        ws = [Decimal(1)] * len(ws)
        wsum = Decimal(len(ws))
    sign = -1 if minor_total < 0 else 1
    magnitude = abs(minor_total)
    exact = [Decimal(magnitude) * w / wsum for w in ws]
    floors = [int(e.to_integral_value(rounding=ROUND_FLOOR)) for e in exact]
    residue = magnitude - sum(floors)
    order = sorted(range(len(ws)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:residue]:
        floors[i] += 1
    return [Money.from_minor(sign * f, cur) for f in floors]


def split_inclusive(gross: Money, rate: Decimal) -> tuple[Money, Money]:
    """Split a tax-inclusive amount into (net, tax) at ``rate`` (0.2 for 20 %)."""
    if rate < 0:
        raise InputError("tax rate must not be negative")
    tax = Money(amount=quantize(gross.amount * rate / (1 + rate), gross.currency), currency=gross.currency)
    return gross - tax, tax


def tax_on_net(net: Money, rate: Decimal) -> Money:
    if rate < 0:
        raise InputError("tax rate must not be negative")
    return Money(amount=net.amount * rate, currency=net.currency)


def refundable(paid: Money, already_refunded: Money, requested: Money) -> Money:
    """Return the amount that may be refunded now; refuse a request over what remains."""
    remaining = paid - already_refunded
    if requested.amount < 0:
        raise InputError("a refund amount must not be negative", context={"requested": str(requested)})
    if requested > remaining:
        raise InputError(
            f"refund of {requested} exceeds the {remaining} still refundable on this line",
            context={
                "paid": str(paid),
                "already_refunded": str(already_refunded),
                "requested": str(requested),
            },
        )
    return requested
