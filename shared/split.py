"""Splitting a bill's money into parts. Pure functions, integers only, no I/O.

A split bill's parts are not re-priced: every money figure of the parent (subtotal, discount,
service charge, tax, rounding, total) is *allocated* to the parts, so that

* for every figure, the parts add up to the parent's figure exactly;
* each part satisfies the parent's own identity: ``total = subtotal - discount + service +
  tax + rounding`` (prices exclusive of tax), or ``total = subtotal - discount + rounding``
  with ``service + tax <= subtotal - discount`` (prices inclusive of tax: they are inside
  the net). Which one is read off the parent's figures, not the outlet's current settings;
* no figure of a part is negative unless the parent's is (only rounding can be);
* rounding is done once, on the parent: its rounding is distributed, never recomputed.

Allocation is by largest remainder (Hamilton): each part gets the floor of its exact quota,
the units left go to the largest remainders, ties to the earlier part. Figures are allocated
hierarchically so the identity holds without a fix-up: a part's net (subtotal - discount)
first, then service + tax together in proportion to it, then the tax in proportion to that.
An allocation never exceeds its weight, which is what keeps every figure non-negative.

By item / by seat (``split_by_subtotals``): a part's subtotal is the sum of its lines; its
discount is its lines' own discounts plus a share of the order-level discount (in proportion
to what is left of its subtotal); service and tax follow its net; the rounding follows what
it costs before rounding.

Even split in N (``split_even``), and the cash rounding unit: the parts' *totals* are chosen
first. With a rounding unit ``u`` (IDR outlets use 100 or 500) the parent's total is a multiple
of ``u``; it is dealt out in whole units, the first parts taking one unit more, so every part
is a multiple of ``u`` (a customer paying cash needs no coins the outlet does not use) and
parts differ by at most ``u``. A total that is not a multiple of ``u`` (priced before the unit
changed) leaves its remainder on the last part. When ``u`` is 1, or the total is too small to
give every part a whole unit, parts differ by at most 1 minor unit. Then the parent's rounding
is distributed in proportion to those totals, so each part's rounding line has the parent's
sign and is at most the parent's in size: that is the visible line that makes each part's
items, service and tax land on its cash-friendly total.
"""

from __future__ import annotations

from collections.abc import Sequence

from msgspec import Struct

__all__ = ["MAX_PARTS", "MIN_PARTS", "Figures", "even_totals", "largest_remainder",
           "part_label", "problems", "split_by_subtotals", "split_even", "tax_inside"]

MIN_PARTS = 2
MAX_PARTS = 20


class Figures(Struct, kw_only=True, frozen=True):
    """The money figures of a bill (the ones ``shared.pricing.OrderTotals`` computes)."""

    subtotal: int
    discount: int
    service_charge: int
    tax: int
    rounding: int
    total: int

    @property
    def net(self) -> int:
        return self.subtotal - self.discount


_FIELDS = ("subtotal", "discount", "service_charge", "tax", "rounding", "total")


def largest_remainder(amount: int, weights: Sequence[int]) -> list[int]:
    """``amount`` (>= 0) in parts proportional to ``weights`` (>= 0), adding up exactly; the
    units left after the floors go to the largest remainders, ties to the earlier part. All
    weights zero: equal weights. No part gets more than ``ceil(amount * w / sum(w))``, so
    never more than its weight when ``amount <= sum(weights)``."""
    if amount < 0 or any(w < 0 for w in weights):
        raise ValueError("amount and weights must not be negative")
    if not weights:
        if amount:
            raise ValueError("an amount needs at least one part")
        return []
    whole = sum(weights)
    if whole == 0:
        weights, whole = [1] * len(weights), len(weights)
    shares, remainders = [], []
    for weight in weights:
        share, remainder = divmod(amount * weight, whole)
        shares.append(share)
        remainders.append(remainder)
    left = amount - sum(shares)
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        shares[i] += 1
    return shares


def _signed(amount: int, weights: Sequence[int]) -> list[int]:
    """``largest_remainder`` for an amount of either sign (a rounding line)."""
    shares = largest_remainder(abs(amount), weights)
    return [-s for s in shares] if amount < 0 else shares


def tax_inside(parent: Figures) -> bool:
    """Whether the parent's service and tax are inside its net (prices inclusive of tax),
    read off its figures; ValueError when they satisfy neither identity."""
    outside = parent.net + parent.service_charge + parent.tax + parent.rounding
    if parent.total == outside:
        return False
    if parent.total == parent.net + parent.rounding:
        return True
    raise ValueError("the bill's figures do not add up: total is neither net + service + tax"
                     " + rounding nor net + rounding")


def _check_parent(parent: Figures) -> bool:
    if min(parent.subtotal, parent.discount, parent.service_charge, parent.tax, parent.total) < 0:
        raise ValueError("a bill's figures other than rounding are never negative")
    if parent.discount > parent.subtotal:
        raise ValueError("the discount is larger than the subtotal")
    inside = tax_inside(parent)
    if inside and parent.service_charge + parent.tax > parent.net:
        raise ValueError("service and tax inside the price exceed the net")
    return inside


def _finish(parent: Figures, inside: bool, nets: list[int], discounts: list[int],
            extras: list[int] | None = None, roundings: list[int] | None = None) -> list[Figures]:
    """Parts from their nets and discounts: service + tax (given, or in proportion to the
    net), the tax in proportion to service + tax, then the rounding (given, or in proportion
    to the cost before rounding)."""
    if extras is None:
        extras = largest_remainder(parent.service_charge + parent.tax, nets)
    taxes = largest_remainder(parent.tax, extras)
    pres = nets if inside else [n + e for n, e in zip(nets, extras)]
    if roundings is None:
        roundings = _signed(parent.rounding, pres)
    return [Figures(subtotal=net + discount, discount=discount, service_charge=extra - tax,
                    tax=tax, rounding=rounding, total=pre + rounding)
            for net, discount, extra, tax, pre, rounding
            in zip(nets, discounts, extras, taxes, pres, roundings)]


def split_by_subtotals(parent: Figures, subtotals: Sequence[int],
                       own_discounts: Sequence[int] | None = None) -> list[Figures]:
    """Parts whose subtotals are given (the sum of each part's lines: by item, by seat).

    ``own_discounts`` are the parts' lines' own discounts (they go with their lines); the
    rest of the parent's discount is shared in proportion to what the parts' subtotals leave.
    """
    inside = _check_parent(parent)
    if len(subtotals) < 1 or any(s < 0 for s in subtotals):
        raise ValueError("subtotals must be at least one and not negative")
    if sum(subtotals) != parent.subtotal:
        raise ValueError(f"the parts' subtotals add up to {sum(subtotals)},"
                         f" not the bill's {parent.subtotal}")
    own = list(own_discounts) if own_discounts is not None else [0] * len(subtotals)
    if (len(own) != len(subtotals) or sum(own) > parent.discount
            or any(not 0 <= o <= s for o, s in zip(own, subtotals))):
        own = [0] * len(subtotals)  # not consistent with the bill: share the whole discount
    rest = largest_remainder(parent.discount - sum(own),
                             [s - o for s, o in zip(subtotals, own)])
    discounts = [o + r for o, r in zip(own, rest)]
    nets = [s - d for s, d in zip(subtotals, discounts)]
    return _finish(parent, inside, nets, discounts)


def even_totals(total: int, n: int, unit: int = 1) -> list[int]:
    """``total`` in ``n`` parts: whole multiples of ``unit``, the first parts one unit more,
    the last also taking what is not a multiple of ``unit``; in steps of 1 when ``unit`` is
    1 or the total has fewer units than parts."""
    if not MIN_PARTS <= n <= MAX_PARTS:
        raise ValueError(f"a bill splits into {MIN_PARTS} to {MAX_PARTS} parts")
    if total < 0:
        raise ValueError("a total is never negative")
    if unit < 1 or total // unit < n:
        unit = 1
    units, odd = divmod(total, unit)
    each, extra = divmod(units, n)
    parts = [(each + (1 if i < extra else 0)) * unit for i in range(n)]
    parts[-1] += odd
    return parts


def split_even(parent: Figures, n: int, rounding_unit: int = 1) -> list[Figures]:
    """The parent in ``n`` even parts (module docstring: totals first, in whole rounding
    units; then the parent's rounding, then service and tax, then the discount)."""
    inside = _check_parent(parent)
    totals = even_totals(parent.total, n, rounding_unit)
    roundings = _signed(parent.rounding, totals)
    pres = [t - r for t, r in zip(totals, roundings)]
    extra = parent.service_charge + parent.tax
    # Inclusive: service and tax are inside the net, which is the whole cost before rounding.
    extras = largest_remainder(extra, pres)
    nets = pres if inside else [p - e for p, e in zip(pres, extras)]
    discounts = largest_remainder(parent.discount, nets)
    return _finish(parent, inside, nets, discounts, extras, roundings)


def part_label(k: int, n: int) -> str:
    """The part's name on the bill: "2/3"."""
    return f"{k}/{n}"


def problems(parent: Figures, parts: Sequence[Figures]) -> list[str]:
    """What is wrong with ``parts`` as a split of ``parent`` (empty: nothing). The checks
    the module promises, for tests and as a last guard before a split is stored."""
    found: list[str] = []
    inside = tax_inside(parent)
    for name in _FIELDS:
        got = sum(getattr(p, name) for p in parts)
        if got != getattr(parent, name):
            found.append(f"{name}: parts add up to {got}, the bill has {getattr(parent, name)}")
    for i, p in enumerate(parts, 1):
        expected = p.net + p.rounding + (0 if inside else p.service_charge + p.tax)
        if p.total != expected:
            found.append(f"part {i}: total {p.total} is not {expected}")
        if inside and p.service_charge + p.tax > p.net:
            found.append(f"part {i}: service and tax exceed its net")
        for name in _FIELDS:
            value, whole = getattr(p, name), getattr(parent, name)
            if value < 0 <= whole or (name == "rounding" and value > 0 > whole):
                found.append(f"part {i}: {name} is {value} where the bill's is {whole}")
        if p.discount > p.subtotal:
            found.append(f"part {i}: discount {p.discount} above subtotal {p.subtotal}")
    return found
