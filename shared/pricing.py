"""Order arithmetic: line totals, discounts, service charge, tax and rounding. Pure functions.

The one place where an order's money is computed. Rules (stated so receipts can be checked):

* ``unit_price = product price + sum(option price deltas)``, never below 0;
  ``line_total = unit_price * qty``; ``subtotal = sum(line_total)``.
* An order discount is capped at the subtotal: ``net = subtotal - discount``.
* Prices exclusive of tax: ``service = round(net * service_rate)``, then
  ``tax = round((net + service) * tax_rate)`` (Indonesian PB1 is charged on the service
  charge too), ``total = net + service + tax``.
* Prices inclusive of tax: the customer pays ``net`` exactly; it is split back in two steps,
  ``before_tax = round(net / (1 + tax_rate))``, ``tax = net - before_tax``, then
  ``base = round(before_tax / (1 + service_rate))``, ``service = before_tax - base``. Each
  step's remainder stays in that step, so no figure can go negative and they add up to net.
* Every ``round`` is half away from zero on exact integers (``shared.money``). Finally the
  total is rounded half-up to the outlet's ``rounding_unit`` and the difference is reported
  as ``rounding``.
* Discounts at the till: ``percent_of(base, p) = round(base * p / 100)`` of a line's total or
  of the order's subtotal less its line discounts; the order's ``discount`` is the sum of
  the line discounts and the order-level one, and prices as above.
* A refunded line gives back its share of what the order cost:
  ``share_of(total, line_net * qty / line_qty, sum of line nets)``, where a line's net is
  its total less its own discount: the order-level discount, service, tax and rounding
  spread over the lines in proportion.
"""

from __future__ import annotations

from msgspec import Struct

from shared.money import round_half_up_div, round_to_unit
from shared.schemas import TaxConfig

__all__ = ["OrderTotals", "PricedLine", "percent_of", "price_order", "share_of", "unit_price"]

BASIS = 10_000


class PricedLine(Struct, kw_only=True):
    base_price: int
    option_deltas: list[int] = []
    qty: int = 1


class OrderTotals(Struct, kw_only=True):
    line_totals: list[int]
    subtotal: int
    discount: int
    service_charge: int
    tax: int
    rounding: int
    total: int


def unit_price(base_price: int, option_deltas: list[int]) -> int:
    """Price of one unit with its options; a discount option cannot make it negative."""
    return max(0, base_price + sum(option_deltas))


def price_order(lines: list[PricedLine], tax: TaxConfig, discount: int = 0) -> OrderTotals:
    """Compute every money figure of an order from its lines and the outlet's tax settings."""
    line_totals = [unit_price(line.base_price, line.option_deltas) * line.qty for line in lines]
    subtotal = sum(line_totals)
    applied_discount = min(max(discount, 0), subtotal)
    net = subtotal - applied_discount
    svc, rate = tax.service_rate_bp, tax.tax_rate_bp
    if tax.prices_include_tax:
        before_tax = round_half_up_div(net * BASIS, BASIS + rate)
        tax_amount = net - before_tax
        service = before_tax - round_half_up_div(before_tax * BASIS, BASIS + svc)
        before_rounding = net
    else:
        service = round_half_up_div(net * svc, BASIS)
        tax_amount = round_half_up_div((net + service) * rate, BASIS)
        before_rounding = net + service + tax_amount
    total = round_to_unit(before_rounding, tax.rounding_unit)
    return OrderTotals(
        line_totals=line_totals,
        subtotal=subtotal,
        discount=applied_discount,
        service_charge=service,
        tax=tax_amount,
        rounding=total - before_rounding,
        total=total,
    )


def percent_of(amount: int, percent: int) -> int:
    """``percent`` % of ``amount``, rounded half up (10% of 12,345 is 1,235)."""
    return round_half_up_div(amount * percent, 100)


def share_of(total: int, part: int, whole: int) -> int:
    """The part of ``total`` that ``part`` of ``whole`` stands for, rounded half up; 0 when
    ``whole`` is 0."""
    return round_half_up_div(total * part, whole) if whole > 0 else 0
