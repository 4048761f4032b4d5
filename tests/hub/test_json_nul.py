"""The push's fast path finds a NUL character in its rows' JSON text (``\\u0000`` after an even
number of backslashes) instead of scanning every decoded event; a typed backslash before
"u0000" must not count, a real NUL after typed backslashes must."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.ingest.store import _JSON_NUL


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(["\\", "u", "0", "\x00", "a", '"']), max_size=12),
                max_size=4))
def test_a_nul_is_found_in_json_text_exactly_when_the_text_holds_one(texts: list[str]) -> None:
    encoded = msgspec.json.encode([["id", text, 0] for text in texts]).decode()
    assert bool(_JSON_NUL.search(encoded)) == any("\x00" in text for text in texts)
