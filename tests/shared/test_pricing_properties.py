"""Property tests of shared/pricing.py (hypothesis): totals never negative, tax-inclusive and
tax-exclusive pricing agree within the stated rounding, and rounding is stable."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.money import round_to_unit
from shared.pricing import BASIS, PricedLine, price_order
from shared.schemas import TaxConfig

lines_st = st.lists(
    st.builds(PricedLine, base_price=st.integers(0, 5_000_000),
              option_deltas=st.lists(st.integers(-200_000, 200_000), max_size=4),
              qty=st.integers(1, 999)),
    min_size=1, max_size=12)
rates = st.integers(0, 3_000)
units = st.sampled_from([1, 5, 10, 50, 100, 500, 1000])
taxes = st.builds(TaxConfig, service_rate_bp=rates, tax_rate_bp=rates,
                  prices_include_tax=st.booleans(), rounding_unit=units)


@settings(max_examples=400, deadline=None)
@given(lines=lines_st, tax=taxes, discount=st.integers(-1_000_000, 10**9))
def test_totals_are_never_negative_and_add_up(lines: list[PricedLine], tax: TaxConfig,
                                              discount: int) -> None:
    t = price_order(lines, tax, discount)
    assert min(t.subtotal, t.discount, t.service_charge, t.tax, t.total, *t.line_totals) >= 0
    assert 0 <= t.discount <= t.subtotal
    net = t.subtotal - t.discount
    if tax.prices_include_tax:
        assert t.total == net + t.rounding
        assert t.service_charge + t.tax <= net
    else:
        assert t.total == net + t.service_charge + t.tax + t.rounding
    assert t.total % tax.rounding_unit == 0
    assert abs(t.rounding) * 2 <= tax.rounding_unit


@settings(max_examples=400, deadline=None)
@given(net=st.integers(0, 10**10), svc=rates, rate=rates)
def test_inclusive_and_exclusive_agree_within_rounding(net: int, svc: int, rate: int) -> None:
    exclusive = price_order([PricedLine(base_price=net)],
                            TaxConfig(service_rate_bp=svc, tax_rate_bp=rate))
    # Sell the exclusive total as a tax-inclusive price: splitting it back must give the same
    # base, service and tax up to the per-step rounding of one minor unit each.
    inclusive = price_order([PricedLine(base_price=exclusive.total)],
                            TaxConfig(service_rate_bp=svc, tax_rate_bp=rate, prices_include_tax=True))
    base = inclusive.total - inclusive.service_charge - inclusive.tax
    assert inclusive.total == exclusive.total
    assert abs(base - net) <= 1
    assert abs(inclusive.service_charge - exclusive.service_charge) <= 1 + (svc + BASIS - 1) // BASIS
    assert abs(inclusive.tax - exclusive.tax) <= 3


@settings(max_examples=400, deadline=None)
@given(lines=lines_st, tax=taxes, discount=st.integers(0, 10**6), amount=st.integers(-10**9, 10**9),
       unit=units)
def test_rounding_is_stable_and_idempotent(lines: list[PricedLine], tax: TaxConfig, discount: int,
                                           amount: int, unit: int) -> None:
    once = round_to_unit(amount, unit)
    assert round_to_unit(once, unit) == once
    assert abs(once - amount) * 2 <= unit
    first = price_order(lines, tax, discount)
    assert price_order(lines, tax, discount) == first
    assert price_order(list(reversed(lines)), tax, discount).total == first.total
    # Re-rounding an already rounded total changes nothing.
    assert round_to_unit(first.total, tax.rounding_unit) == first.total
