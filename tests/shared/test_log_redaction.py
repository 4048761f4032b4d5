"""``shared.logs.redact`` skips a pattern when the line lacks its literal: the shortcut must
never let a secret through, so the redacted line always equals every pattern applied in turn."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.logs import _SECRETS, redact

SECRETS = [
    "GET /api/v1/stream?token=abc.def-123",
    "GET /x?a=1&access_token=SeCrEt99",
    '"authorization": "Bearer dev_abcdefgh12345"',
    "Authorization: Basic dXNlcjpwYXNz",
    "AUTHORIZATION=xyz",
    "device dev_ABCDEFGH_ijkl",
    "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
    "?TOKEN=UpperCase",
    "?to\u212aen=kelvin-sign",  # U+212A folds onto k under (?i): a non-ASCII line is scanned
]


def every_pattern(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def test_known_secrets_are_redacted_as_by_every_pattern() -> None:
    for secret in SECRETS:
        line = f'{{"msg": "request", "path": {secret!r}, "n": 0}}'
        assert redact(line) == every_pattern(line)
        assert redact(line) != line, secret


def test_a_line_without_secrets_is_unchanged() -> None:
    line = ('{"ts":"2026-12-01T00:44:12.123+00:00","level":"info","logger":"hub.ingest",'
            '"msg":"push applied","outlet_id":"0193a7c2","entries":20,"group":12}')
    assert redact(line) == line


_pieces = st.sampled_from(["token=", "TOKEN=", "access_token=", "?", "&", ";", "authorization",
                           "Authorization", ":", "=", " ", "\\\"", "\"", "'", "Bearer ",
                           "basic ", "dev_", "eyJ", ".", "abcDEF12", "_-", "\u212a", "\u0130",
                           "\u017f", "x"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_pieces, st.text(max_size=6)), max_size=14))
def test_redact_equals_every_pattern_applied(parts: list[str]) -> None:
    line = "".join(parts)
    assert redact(line) == every_pattern(line)
