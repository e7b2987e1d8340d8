"""Durations as people write them: ``45``, ``"30s"``, ``"1m30s"``, ``"2h"``, ``"0:45"``.

One grammar, used by the routine loader and (as a regular expression) by the JSON
Schema, so an editor accepts exactly the strings the loader accepts.
"""

from __future__ import annotations

import math
import re

# ASCII digits and spaces only, so Python's re and ECMA-262 (editors) agree.
_NUM = r"[0-9]+(?:\.[0-9]+)?"
# "30s", "1.5m", "1m30s", "1h 5m": units in descending order, each at most once.
_UNITS = rf"(?=[0-9])(?:(?P<h>{_NUM})h)?[ \t]*(?:(?P<m>{_NUM})m)?[ \t]*(?:(?P<s>{_NUM})s)?"
# "0:45", "1:30" (minutes:seconds) and "1:02:03" (hours:minutes:seconds).
_CLOCK = r"(?P<c1>[0-9]+):(?P<c2>[0-5][0-9])(?::(?P<c3>[0-5][0-9]))?(?P<frac>\.[0-9]+)?"
_PLAIN = rf"(?P<plain>{_NUM})"

_SPACE = r"[ \t\r\n]*"
_DURATION = re.compile(rf"{_SPACE}(?:{_PLAIN}|{_CLOCK}|{_UNITS}){_SPACE}")

# The same grammar without group names, for JSON Schema's ECMA-262 "pattern".
DURATION_PATTERN = "^" + re.sub(r"\?P<\w+>", "", _DURATION.pattern) + "$"

HINT = "use seconds, '30s', '1m30s' or '0:45'"


def _shown(value: object) -> str:
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return "'" + text.replace("'", "\\'") + "'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and abs(value) > 10**15:
        return "a huge number"
    return repr(value)


def read_seconds(value: object) -> float | None:
    """Seconds from a number or a duration string, or None if it is neither.

    Unlike ``parse_duration`` this does not judge the amount: negative numbers come
    back negative and numbers too big for a float come back infinite.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str):
        return _parse_text(value)
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # an int with hundreds of digits
            return math.inf if value > 0 else -math.inf
    return None if math.isnan(value) else value


def parse_duration(value: object) -> float:
    """Seconds from a number or a duration string; ``ValueError`` says what is wrong.

    Negative, infinite and not-a-number values are rejected; range limits (such as
    "longer than 0" or "at most 4h") are the caller's business.
    """
    seconds = read_seconds(value)
    if seconds is None:
        raise ValueError(f"{_shown(value)} is not a duration: {HINT}")
    if seconds < 0:
        raise ValueError(f"{_shown(value)} is not a duration: it cannot be negative")
    if math.isinf(seconds):
        raise ValueError(f"{_shown(value)} is not a duration: it is far too long")
    return seconds


def _parse_text(text: str) -> float | None:
    match = _DURATION.fullmatch(text)
    if match is None:
        return None
    parts = match.groupdict()
    if parts["plain"] is not None:
        return float(parts["plain"])
    if parts["c1"] is not None:
        frac = float(parts["frac"] or 0)
        if parts["c3"] is None:  # m:ss
            return float(parts["c1"]) * 60 + int(parts["c2"]) + frac
        return float(parts["c1"]) * 3600 + int(parts["c2"]) * 60 + int(parts["c3"]) + frac
    return float(parts["h"] or 0) * 3600 + float(parts["m"] or 0) * 60 + float(parts["s"] or 0)


def format_duration(seconds: float) -> str:
    """A short duration for messages: 90 -> "1m30s", 2.5 -> "2.5s", 0 -> "0s"."""
    if not math.isfinite(seconds):
        return str(seconds)
    if seconds < 0:
        return "-" + format_duration(-seconds)
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if millis or not parts:
        secs = f"{millis / 1000:.3f}".rstrip("0").rstrip(".")
        parts.append(f"{secs}s")
    return "".join(parts)
