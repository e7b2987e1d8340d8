"""Captions: every spoken line with its start and end, so a player shows what is said.

WebVTT (``.vtt``), SubRip (``.srt``) or LRC (``.lrc``), chosen by the extension.
Times come straight from the timeline's speech events, rounded to the millisecond
(halves up, the same rounding as the chapters), so a caption starts exactly when its
phrase does in the rendered audio. LRC has no end times: each line is followed by an
empty timestamp at its end (unless the next line starts right then), which players
show as clearing the line; its timestamps are ``[mm:ss.mmm]``, minutes uncapped.

Only the text is made here; ``adapters.captions_file`` writes it to a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from voicecoach import __version__
from voicecoach.core.timefmt import clock_ms, milliseconds
from voicecoach.core.timeline import Timeline
from voicecoach.errors import UsageError

CAPTION_FORMATS = ("vtt", "srt", "lrc")


@dataclass(frozen=True, slots=True)
class Cue:
    start: int  # milliseconds
    end: int
    text: str


def caption_format(path: Path) -> str:
    """The caption format ``path``'s extension names (UsageError if none)."""
    ext = path.suffix.lower().lstrip(".")
    if ext not in CAPTION_FORMATS:
        raise UsageError(f"cannot tell the caption format of {path}: name it .vtt, .srt or .lrc")
    return ext


def cues(timeline: Timeline, start: int = 0, stop: int | None = None) -> list[Cue]:
    """The speech events between samples ``start`` and ``stop``, timed from ``start``."""
    stop = timeline.length if stop is None else stop
    rate = timeline.sample_rate
    out = []
    for e in timeline.events:
        if e.kind != "speech" or e.end <= start or e.start >= stop:
            continue
        text = " ".join(e.text.split())  # one line: captions break lines themselves
        if text:
            a = milliseconds(max(e.start, start) - start, rate)
            b = milliseconds(min(e.end, stop) - start, rate)
            out.append(Cue(a, b, text))
    return out


def _vtt_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webvtt(items: Sequence[Cue], title: str = "") -> str:
    title = " ".join(title.replace("-->", "->").split())  # a header may not hold "-->"
    head = "WEBVTT" + (f" - {title}" if title else "")
    blocks = [head]
    for i, c in enumerate(items, 1):
        blocks.append(f"{i}\n{clock_ms(c.start)} --> {clock_ms(c.end)}\n{_vtt_text(c.text)}")
    return "\n\n".join(blocks) + "\n"


def subrip(items: Sequence[Cue]) -> str:
    blocks = [
        f"{i}\n{clock_ms(c.start, ',')} --> {clock_ms(c.end, ',')}\n{c.text}"
        for i, c in enumerate(items, 1)
    ]
    return "\n\n".join(blocks) + "\n" if blocks else ""


def _lrc_time(ms: int) -> str:
    minutes, rest = divmod(ms, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"[{minutes:02d}:{seconds:02d}.{millis:03d}]"


def lrc(items: Sequence[Cue], title: str = "", length_ms: int = 0) -> str:
    lines = []
    if title:
        lines.append(f"[ti:{' '.join(title.split())}]")
    lines.append("[ar:voicecoach]")
    if length_ms:
        lines.append(f"[length:{length_ms // 60_000:02d}:{length_ms // 1000 % 60:02d}]")
    lines.append(f"[re:voicecoach {__version__}]")
    for i, c in enumerate(items):
        lines.append(f"{_lrc_time(c.start)}{c.text}")
        following = items[i + 1].start if i + 1 < len(items) else None
        if following != c.end:
            lines.append(_lrc_time(c.end))
    return "\n".join(lines) + "\n"


def render_captions(timeline: Timeline, fmt: str, start: int = 0, stop: int | None = None) -> str:
    """The captions of ``timeline`` (samples ``start`` to ``stop``) as text in ``fmt``."""
    items = cues(timeline, start, stop)
    stop = timeline.length if stop is None else stop
    if fmt == "vtt":
        return webvtt(items, timeline.title)
    if fmt == "srt":
        return subrip(items)
    if fmt == "lrc":
        return lrc(items, timeline.title, milliseconds(stop - start, timeline.sample_rate))
    raise UsageError(f"unknown caption format '{fmt}': use vtt, srt or lrc")
