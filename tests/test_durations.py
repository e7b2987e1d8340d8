"""Durations: parsing, formatting, and the schema's pattern agreeing with the parser."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicecoach.core.durations import (
    DURATION_PATTERN,
    format_duration,
    parse_duration,
    read_seconds,
)

HINT = "use seconds, '30s', '1m30s' or '0:45'"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0.0), (45, 45.0), (1.5, 1.5), ("30", 30.0), ("30s", 30.0), ("1.5s", 1.5),
        ("1m", 60.0), ("1.5m", 90.0), ("1m30s", 90.0), ("1m 30s", 90.0), ("2h", 7200.0),
        ("1h2m3s", 3723.0), ("1h 30m", 5400.0), ("0:45", 45.0), ("1:30", 90.0),
        ("90:00", 5400.0), ("1:02:03", 3723.0), ("0:00.5", 0.5), ("  20s ", 20.0), ("0s", 0.0),
    ],
)  # fmt: skip
def test_parse(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1x", f"'1x' is not a duration: {HINT}"),
        ("", f"'' is not a duration: {HINT}"),
        ("s", f"'s' is not a duration: {HINT}"),
        ("1:3", f"'1:3' is not a duration: {HINT}"),
        ("1:60", f"'1:60' is not a duration: {HINT}"),
        ("30s1m", f"'30s1m' is not a duration: {HINT}"),
        ("1m30", f"'1m30' is not a duration: {HINT}"),
        ("-5s", f"'-5s' is not a duration: {HINT}"),
        ("1,5s", f"'1,5s' is not a duration: {HINT}"),
        ("٣s", f"'٣s' is not a duration: {HINT}"),  # non-ASCII digits, as JSON Schema sees them
        (True, f"true is not a duration: {HINT}"),
        (None, f"None is not a duration: {HINT}"),
        ([30], f"[30] is not a duration: {HINT}"),
        (math.nan, f"nan is not a duration: {HINT}"),
        (-5, "-5 is not a duration: it cannot be negative"),
        (math.inf, "inf is not a duration: it is far too long"),
        (10**400, "a huge number is not a duration: it is far too long"),
        ("9" * 400 + "s", f"'{'9' * 37}...' is not a duration: it is far too long"),
    ],
)  # fmt: skip
def test_parse_errors(value: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(value)
    assert str(info.value) == message


def test_read_seconds_keeps_negative_and_infinite_amounts() -> None:
    assert read_seconds(-5) == -5.0
    assert read_seconds(-(10**400)) == -math.inf
    assert read_seconds("1x") is None
    assert read_seconds(False) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.5, "0.5s"), (45, "45s"), (90, "1m30s"), (90.1, "1m30.1s"), (3600, "1h"),
     (3723, "1h2m3s"), (7200.5, "2h0.5s"), (-90, "-1m30s"), (86400 + 60, "24h1m")],
)  # fmt: skip
def test_format(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(min_value=0, max_value=10**7).map(lambda ms: ms / 1000))
def test_format_parses_back(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, abs=1e-6)


_PATTERN = re.compile(DURATION_PATTERN)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789:.hms \t\n-x", max_size=12))
def test_schema_pattern_accepts_what_the_parser_accepts(text: str) -> None:
    # jsonschema applies "pattern" with re.search; the parser uses its own regex.
    assert (_PATTERN.search(text) is not None) == (read_seconds(text) is not None)
