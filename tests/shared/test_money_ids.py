"""Money arithmetic, UUIDv7 ids and the error shape: the foundations every app relies on."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from shared.errors import Forbidden, IdempotencyConflict, NotFound, PosError, error_body
from shared.ids import id_time_ms, new_id
from shared.money import format_money, round_half_up_div, round_to_unit


def test_format_money_idr_uses_dot_thousands_and_no_decimals():
    assert format_money(25000) == "Rp 25.000"
    assert format_money(1250000, "IDR") == "Rp 1.250.000"
    assert format_money(-500) == "-Rp 500"


def test_format_money_two_decimal_currency():
    assert format_money(1250, "USD") == "USD 12.50"
    assert format_money(5, "SGD") == "SGD 0.05"


def test_round_half_up_div_rounds_halves_away_from_zero():
    assert round_half_up_div(5, 2) == 3
    assert round_half_up_div(-5, 2) == -3
    assert round_half_up_div(4, 3) == 1
    assert round_half_up_div(1050, 100) == 11


@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(min_value=1, max_value=10**6))
def test_round_half_up_div_is_nearest(numerator, denominator):
    result = round_half_up_div(numerator, denominator)
    # |numerator - result*denominator| <= denominator/2
    assert abs(numerator - result * denominator) * 2 <= denominator


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from([1, 50, 100, 500, 1000]))
def test_round_to_unit_is_a_multiple_and_idempotent(amount, unit):
    rounded = round_to_unit(amount, unit)
    assert rounded % unit == 0
    assert abs(rounded - amount) * 2 <= unit
    assert round_to_unit(rounded, unit) == rounded


def test_new_id_is_uuid7_and_sorts_by_creation():
    ids = [new_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    parsed = uuid.UUID(ids[0])
    assert parsed.version == 7
    assert id_time_ms(ids[-1]) >= id_time_ms(ids[0])


def test_error_classes_carry_status_and_code():
    assert (NotFound.status, NotFound.code) == (404, "not_found")
    assert (Forbidden.status, Forbidden.code) == (403, "forbidden")
    assert (IdempotencyConflict.status, IdempotencyConflict.code) == (409, "idempotency_conflict")
    assert issubclass(IdempotencyConflict, PosError)
    assert error_body("x", "msg", {"a": 1}) == {"error": {"code": "x", "message": "msg", "details": {"a": 1}}}
