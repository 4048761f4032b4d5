"""Property tests of shared/split.py (hypothesis): over random bills priced by
shared.pricing (lines, line and order discounts, service and tax exclusive or inclusive,
rounding units 1/100/500) split by item and evenly in N, every figure of the parts adds up to
the bill's exactly, each part adds up by itself, nothing turns negative, and an even split
lands on the cash rounding unit."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shared.pricing import PricedLine, price_order
from shared.schemas import TaxConfig
from shared.split import (
    Figures,
    even_totals,
    largest_remainder,
    problems,
    split_by_subtotals,
    split_even,
    tax_inside,
)

units = st.sampled_from([1, 100, 500])
rates = st.sampled_from([0, 500, 1000, 1100, 2750])
taxes = st.builds(TaxConfig, service_rate_bp=rates, tax_rate_bp=rates,
                  prices_include_tax=st.booleans(), rounding_unit=units)
prices = st.one_of(st.integers(0, 300), st.integers(0, 250_000), st.integers(0, 50_000_000))
bill_lines = st.lists(st.tuples(prices, st.integers(1, 12), st.integers(0, 100)),
                      min_size=1, max_size=15)


def _bill(lines: list[tuple[int, int, int]], tax: TaxConfig,
          order_discount: int) -> tuple[Figures, list[int], list[int]]:
    """A bill priced as the edge prices one: figures, line totals, line discounts (each a
    percentage of its line; the order's discount is theirs plus an order-level amount)."""
    totals = [price * qty for price, qty, _ in lines]
    line_discounts = [total * pct // 100 // 3 for total, (_, _, pct) in zip(totals, lines)]
    priced = price_order([PricedLine(base_price=p, qty=q) for p, q, _ in lines], tax,
                         sum(line_discounts) + order_discount)
    figures = Figures(subtotal=priced.subtotal, discount=priced.discount,
                      service_charge=priced.service_charge, tax=priced.tax,
                      rounding=priced.rounding, total=priced.total)
    return figures, priced.line_totals, line_discounts


@settings(max_examples=500, deadline=None)
@given(lines=bill_lines, tax=taxes, order_discount=st.integers(0, 2_000_000),
       data=st.data())
def test_split_by_item_adds_up_exactly(lines: list[tuple[int, int, int]], tax: TaxConfig,
                                       order_discount: int, data: st.DataObject) -> None:
    parent, line_totals, line_discounts = _bill(lines, tax, order_discount)
    n = data.draw(st.integers(1, min(6, len(lines))), label="parts")
    # Every line in exactly one part, every part with a line.
    owner = [data.draw(st.integers(0, n - 1)) for _ in lines]
    owner[:n] = range(n)
    subtotals = [sum(t for t, o in zip(line_totals, owner) if o == k) for k in range(n)]
    own = [sum(d for d, o in zip(line_discounts, owner) if o == k) for k in range(n)]
    parts = split_by_subtotals(parent, subtotals, own)

    assert problems(parent, parts) == []
    assert [p.subtotal for p in parts] == subtotals
    assert sum(p.total for p in parts) == parent.total
    for part, mine in zip(parts, own):
        if sum(line_discounts) <= parent.discount:
            assert part.discount >= mine  # a line's own discount stays with the line
        assert 0 <= part.discount <= part.subtotal
        assert min(part.service_charge, part.tax, part.total) >= 0
        # The rounding is the bill's, spread: never larger than the bill's, same sign.
        assert abs(part.rounding) <= abs(parent.rounding)
        assert part.rounding * parent.rounding >= 0
        if tax_inside(parent):
            assert part.total == part.net + part.rounding
        else:
            assert part.total == (part.net + part.service_charge + part.tax + part.rounding)


@settings(max_examples=500, deadline=None)
@given(lines=bill_lines, tax=taxes, order_discount=st.integers(0, 2_000_000),
       n=st.integers(2, 20))
def test_even_split_adds_up_and_lands_on_the_rounding_unit(
        lines: list[tuple[int, int, int]], tax: TaxConfig, order_discount: int, n: int) -> None:
    parent, _, _ = _bill(lines, tax, order_discount)
    parts = split_even(parent, n, tax.rounding_unit)

    assert len(parts) == n
    assert problems(parent, parts) == []
    totals = [p.total for p in parts]
    assert sum(totals) == parent.total
    assert totals == sorted(totals, reverse=True)  # the first parts carry the extra unit
    unit = tax.rounding_unit
    if parent.total // unit >= n:
        assert all(t % unit == 0 for t in totals)
        assert max(totals) - min(totals) <= unit
    else:
        assert max(totals) - min(totals) <= 1
    for part in parts:
        assert abs(part.rounding) <= abs(parent.rounding)
        assert part.rounding * parent.rounding >= 0


@settings(max_examples=300, deadline=None)
@given(total=st.integers(0, 10**12), n=st.integers(2, 20), unit=st.sampled_from([1, 5, 100, 500, 1000]))
def test_even_totals_are_even_and_exact(total: int, n: int, unit: int) -> None:
    parts = even_totals(total, n, unit)
    assert sum(parts) == total and len(parts) == n and min(parts) >= 0
    if total // unit >= n:
        assert all(p % unit == 0 for p in parts[:-1])
        assert max(parts[:-1], default=parts[-1]) - min(parts[:-1], default=parts[-1]) <= unit
        assert parts[-1] - min(parts) <= total % unit + unit
    else:
        assert max(parts) - min(parts) <= 1


@settings(max_examples=300, deadline=None)
@given(amount=st.integers(0, 10**9),
       weights=st.lists(st.integers(0, 10**7), min_size=1, max_size=20))
def test_largest_remainder_is_exact_and_within_quota(amount: int, weights: list[int]) -> None:
    shares = largest_remainder(amount, weights)
    assert sum(shares) == amount and min(shares) >= 0
    whole = sum(weights) or len(weights)
    for share, weight in zip(shares, weights if sum(weights) else [1] * len(weights)):
        assert weight * amount // whole <= share <= -(-weight * amount // whole)
    assume(sum(weights) > 0)
    if amount <= sum(weights):
        assert all(s <= w for s, w in zip(shares, weights))


def test_awkward_total_split_three_ways_to_the_rupiah() -> None:
    """148.995 with a rounding unit of 100: the bill is 149.000 (+5 rounding); three parts pay
    49.700, 49.700 and 49.600, and the +5 is spread over their rounding lines."""
    tax = TaxConfig(service_rate_bp=0, tax_rate_bp=0, rounding_unit=100)
    priced = price_order([PricedLine(base_price=148_995)], tax)
    parent = Figures(subtotal=priced.subtotal, discount=0, service_charge=0, tax=0,
                     rounding=priced.rounding, total=priced.total)
    assert (parent.total, parent.rounding) == (149_000, 5)
    parts = split_even(parent, 3, 100)
    assert [p.total for p in parts] == [49_700, 49_700, 49_600]
    assert [p.rounding for p in parts] == [2, 2, 1]
    assert [p.subtotal for p in parts] == [49_698, 49_698, 49_599]
    assert problems(parent, parts) == []


def test_largest_remainder_ties_go_to_the_earlier_part() -> None:
    assert largest_remainder(2, [1, 1, 1]) == [1, 1, 0]
    assert largest_remainder(1, [0, 0]) == [1, 0]
    assert largest_remainder(5, [0, 3, 0]) == [0, 5, 0]


def test_inconsistent_input_is_refused() -> None:
    parent = Figures(subtotal=100, discount=0, service_charge=5, tax=10, rounding=0, total=115)
    try:
        split_by_subtotals(parent, [60, 30])
    except ValueError as exc:
        assert "add up to 90" in str(exc)
    else:
        raise AssertionError("subtotals that do not add up were accepted")
    broken = Figures(subtotal=100, discount=0, service_charge=5, tax=10, rounding=0, total=120)
    try:
        split_even(broken, 2)
    except ValueError:
        pass
    else:
        raise AssertionError("a bill whose figures do not add up was split")
