"""Splitting a session into tracks: which stretch goes in which track, its file name,
and the playlist. Pure functions of the timeline (the writing is in ``render``).

One track per exercise, because "next track" should mean "next exercise": the welcome
opens the first track, each rest closes the track of the exercise before it (you rest
after it; the next track starts with the next exercise's name and set-up), and the
finish closes the last track.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

from voicecoach.core import lines as L
from voicecoach.core.messages import ENGLISH, Messages, say
from voicecoach.core.timeline import Chapter, Timeline

# Windows (and so FAT/exFAT cards and many phones) refuse these in file names.
_BAD_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(10)}


@dataclass(frozen=True, slots=True)
class Track:
    number: int
    title: str
    start: int  # samples
    end: int
    chapters: tuple[Chapter, ...]  # the chapters inside, timed from the track's start


def safe_filename(title: str, limit: int = 120) -> str:
    """``title`` as a file name every system accepts (no / \\ : * ? " < > |, no
    trailing dot or space, not a reserved Windows name, at most ``limit`` characters)."""
    name = unicodedata.normalize("NFC", title)
    name = " ".join(_BAD_CHARS.sub(" ", name).split())[:limit]
    name = name.strip(" .")
    if not name:
        return "Untitled"
    if name.split(".")[0].upper() in _RESERVED:
        name += "_"
    return name


def named_chapters(chapters: Sequence[Chapter], m: Messages = ENGLISH) -> tuple[Chapter, ...]:
    """The chapters as a player lists them: each rest named for what it leads to ("Rest
    before Leg lift"), since a list of identical "Rest" entries says nothing.

    A rest is a chapter whose index an earlier chapter already has (the exercise it
    follows: see ``plan_tracks``); the chapter after it is the exercise it leads to.
    """
    seen: set[int] = set()
    out = []
    for i, c in enumerate(chapters):
        after = chapters[i + 1] if i + 1 < len(chapters) else None
        if c.index >= 0 and c.index in seen and after is not None and after.index >= 0:
            c = replace(c, title=say(m, L.REST_BEFORE, exercise=after.title))
        seen.add(c.index)
        out.append(c)
    return tuple(out)


def plan_tracks(timeline: Timeline) -> list[Track]:
    """One track per exercise chapter; welcome, rests and finish folded in (see above).

    An exercise's chapter is the first one with its index: the rest after it carries
    the same index (and other chapters -1), so either way they fold into its track.
    """
    seen: set[int] = set()
    exercises = []
    for c in timeline.chapters:
        if c.index >= 0 and c.index not in seen:
            seen.add(c.index)
            exercises.append(c)
    if not exercises:
        return [Track(1, timeline.title, 0, timeline.length, tuple(timeline.chapters))]
    tracks = []
    for i, chapter in enumerate(exercises):
        start = 0 if i == 0 else chapter.start
        end = exercises[i + 1].start if i + 1 < len(exercises) else timeline.length
        inside = tuple(
            replace(c, start=max(c.start, start) - start, end=min(c.end, end) - start, parts=())
            for c in timeline.chapters
            if c.start < end and c.end > start
        )
        tracks.append(Track(i + 1, chapter.title, start, end, inside))
    return tracks


def track_name(track: Track, count: int, ext: str) -> str:
    width = max(2, len(str(count)))
    return f"{track.number:0{width}d} {safe_filename(track.title)}.{ext}"


def playlist(tracks: Sequence[Track], names: Sequence[str], rate: int, title: str) -> str:
    """An extended M3U playlist (``.m3u8``: UTF-8 by definition, where a plain ``.m3u``
    is read in the player's local code page), durations in whole seconds, paths relative
    to it."""
    lines = ["#EXTM3U", f"#PLAYLIST:{' '.join(title.split())}"]
    for track, name in zip(tracks, names, strict=True):
        seconds = round((track.end - track.start) / rate)
        lines += [f"#EXTINF:{seconds},{' '.join(track.title.split())}", name]
    return "\n".join(lines) + "\n"
