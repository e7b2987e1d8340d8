"""The compiled timeline: sorted events at exact sample positions, and chapters.

Times are integer sample positions at ``SAMPLE_RATE`` (eSpeak NG's native rate), so
the timeline is exact to the sample and every output (audition, render, run) agrees.
Seconds are derived with ``to_seconds``; totals are derived, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SAMPLE_RATE = 22050

EventKind = Literal["speech", "sound", "wait"]

# The cue sounds every routine can use; a routine may replace any of them.
SOUND_NAMES: tuple[str, ...] = ("start", "hold", "release", "rest", "switch", "tick", "finish")


def to_samples(seconds: float, rate: int = SAMPLE_RATE) -> int:
    """Seconds to the nearest sample (the one conversion used everywhere)."""
    return round(seconds * rate)


def to_seconds(samples: int, rate: int = SAMPLE_RATE) -> float:
    return samples / rate


@dataclass(frozen=True, slots=True)
class Event:
    """One cue. ``text`` is the phrase (speech), the sound name (sound) or the prompt (wait).

    A wait event is a point where the live run stops until the user presses a key;
    in audition and render it lasts ``length`` samples of silence (the estimate).
    """

    start: int
    length: int
    kind: EventKind
    text: str
    block: str
    exercise: str | None = None
    index: int = -1  # position of the exercise in the session (-1: intro/finish)
    set: int | None = None
    side: str | None = None
    rep: int | None = None

    @property
    def end(self) -> int:
        return self.start + self.length

    @property
    def t(self) -> float:
        return to_seconds(self.start)


@dataclass(frozen=True, slots=True)
class Chapter:
    """A named stretch of the session: an exercise, a rest, the welcome or the finish.

    ``parts`` holds the exercise's sets (and sides) as sub-chapters.
    """

    title: str
    start: int
    end: int
    index: int = -1  # exercise index, or -1 for chapters that are not an exercise
    parts: tuple[Chapter, ...] = ()


@dataclass(frozen=True, slots=True)
class CompileWarning:
    """Something the compiler had to change, at a line of the routine file."""

    line: int
    column: int
    message: str


@dataclass(frozen=True, slots=True)
class Timeline:
    title: str
    events: tuple[Event, ...]
    chapters: tuple[Chapter, ...]
    warnings: tuple[CompileWarning, ...] = ()
    sample_rate: int = SAMPLE_RATE
    # Per exercise index: its rep's movement and breath in full, said on resuming mid-set
    # (the timeline's faded cues assume the full one was heard a moment ago).
    reminders: tuple[str, ...] = ()

    @property
    def length(self) -> int:
        """Total length in samples: the end of the last event."""
        return max((e.end for e in self.events), default=0)

    @property
    def duration(self) -> float:
        return to_seconds(self.length, self.sample_rate)

    def phrases(self) -> tuple[str, ...]:
        """The distinct phrases spoken, in order of first use."""
        return tuple(dict.fromkeys(e.text for e in self.events if e.kind == "speech"))
