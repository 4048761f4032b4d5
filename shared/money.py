"""Money: integer minor units with a currency code. No float ever touches an amount.

Rounding lives here (and only here): ``round_half_up_div`` divides integers the way a
receipt does, and ``round_to_unit`` applies an outlet's cash rounding unit.
"""

from __future__ import annotations

__all__ = ["CURRENCY_EXPONENT", "DEFAULT_CURRENCY", "MAX_AMOUNT", "format_money", "round_half_up_div",
           "round_to_unit"]

DEFAULT_CURRENCY = "IDR"

# The largest amount anywhere on the wire (shared.schemas.Amount): 10 trillion minor units.
# Sums the edge keeps (an order's subtotal and total, a shift's cash figures) must stay
# within it too, or a record could be stored that no reader can decode.
MAX_AMOUNT = 10**13

# Minor-unit exponent as used at the till. IDR is priced in whole rupiah in practice.
CURRENCY_EXPONENT: dict[str, int] = {"IDR": 0, "JPY": 0, "VND": 0, "KRW": 0, "USD": 2, "EUR": 2,
                                     "SGD": 2, "MYR": 2, "THB": 2, "PHP": 2, "AUD": 2, "GBP": 2}


def round_half_up_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero, in exact integer arithmetic."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return sign * quotient


def round_to_unit(amount: int, unit: int) -> int:
    """Round an amount half-up to a multiple of ``unit`` (1 means no rounding)."""
    if unit <= 1:
        return amount
    return round_half_up_div(amount, unit) * unit


def format_money(amount: int, currency: str = DEFAULT_CURRENCY) -> str:
    """Human format: IDR as 'Rp 25.000', others as 'USD 12.50'."""
    exponent = CURRENCY_EXPONENT.get(currency, 2)
    sign = "-" if amount < 0 else ""
    whole, minor = divmod(abs(amount), 10**exponent) if exponent else (abs(amount), 0)
    if currency == "IDR":
        return f"{sign}Rp {whole:,}".replace(",", ".")
    if exponent == 0:
        return f"{sign}{currency} {whole:,}"
    return f"{sign}{currency} {whole:,}.{minor:0{exponent}d}"
