"""Sample counts as the whole milliseconds and clock times that files carry.

Chapters (ID3 CHAP frames, Vorbis ``CHAPTERnnn`` comments) and captions (WebVTT,
SubRip, LRC) all time things in whole milliseconds, so every one of them converts
with ``milliseconds`` (halves up): a caption then starts exactly when its chapter
and its phrase do.
"""

from __future__ import annotations


def minutes_seconds(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` past an hour), to the nearest second: a length as people
    read it in a listing or a player."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def milliseconds(samples: int, rate: int) -> int:
    """Samples to whole milliseconds, rounding halves up (the one rounding used)."""
    return (samples * 2000 + rate) // (2 * rate)


def clock_ms(ms: int, sep: str = ".") -> str:
    """``HH:MM:SS.mmm`` (``sep`` is "," for SubRip)."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{sep}{millis:03d}"
