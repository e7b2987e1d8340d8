"""Where we are in a session: for the status line, the ``?`` key, skips and restarts.

``Guide`` answers questions about a timeline position (which exercise, which set, what
comes next, how long is left) from the timeline's chapters and event labels; the
terminal's status line (adapters/terminal.py) shows ``Guide.line``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Literal

from voicecoach.core.coaching import number_words
from voicecoach.core.timeline import Chapter, Event, Timeline

ChapterKind = Literal["welcome", "exercise", "rest", "finish"]


def clock(seconds: float) -> str:
    """m:ss (h:mm:ss past an hour), rounded up so "0:00 left" means done."""
    total = max(0, int(-(-seconds // 1)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def spoken_time_left(seconds: float) -> str:
    if seconds >= 90:
        return f"About {number_words(round(seconds / 60))} minutes left."
    if seconds >= 50:
        return "About a minute left."
    if seconds >= 10:
        return f"About {number_words(round(seconds / 10) * 10)} seconds left."
    return "Almost done."


@dataclass(frozen=True, slots=True)
class Part:
    """A set (and side) of an exercise: it is done once playback passes ``end``."""

    index: int
    set: int
    side: str | None
    end: int


class Guide:
    """Position -> chapter, exercise, set, side, rep, targets for skip and restart."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.length = timeline.length
        self.rate = timeline.sample_rate
        self._events = timeline.events
        self._starts = [e.start for e in self._events]
        self.chapters: tuple[Chapter, ...] = timeline.chapters
        self._chapter_starts = [c.start for c in self.chapters]
        # The first chapter of an index is the exercise; later ones (index kept) are its rest.
        kinds: list[ChapterKind] = []
        seen: set[int] = set()
        for chapter in self.chapters:
            if chapter.index >= 0:
                kinds.append("rest" if chapter.index in seen else "exercise")
                seen.add(chapter.index)
            else:
                kinds.append("finish" if seen else "welcome")
        self._kinds = tuple(kinds)
        self.names: dict[int, str] = {}
        self.sets: dict[int, int] = {}
        self.reps: dict[int, int] = {}
        for e in self._events:
            if e.index < 0:
                continue
            if e.exercise:
                self.names.setdefault(e.index, e.exercise)
            self.sets[e.index] = max(self.sets.get(e.index, 1), e.set or 1)
            self.reps[e.index] = max(self.reps.get(e.index, 0), e.rep or 0)
        self._exercise_chapters: dict[int, Chapter] = {}
        for chapter, kind in zip(self.chapters, self._kinds, strict=True):
            if kind == "exercise":
                self._exercise_chapters[chapter.index] = chapter
                self.names.setdefault(chapter.index, chapter.title)
        self.count = max(self._exercise_chapters, default=-1) + 1
        self.parts: dict[int, tuple[Part, ...]] = {
            i: tuple(self._part(i, p) for p in c.parts) for i, c in self._exercise_chapters.items()
        }

    def _part(self, index: int, chapter: Chapter) -> Part:
        lo = bisect.bisect_left(self._starts, chapter.start)
        hi = bisect.bisect_left(self._starts, chapter.end)
        labelled = next((e for e in self._events[lo:hi] if e.set is not None), None)
        if labelled is None:
            return Part(index, 1, None, chapter.end)
        return Part(index, labelled.set or 1, labelled.side, chapter.end)

    # -- where ---------------------------------------------------------------------------

    def chapter_at(self, pos: int) -> tuple[Chapter, ChapterKind] | None:
        i = bisect.bisect_right(self._chapter_starts, pos) - 1
        if i < 0:
            return None
        return self.chapters[i], self._kinds[i]

    def exercise_at(self, pos: int) -> int | None:
        """The exercise being played at ``pos`` (None in the welcome, a rest or the finish)."""
        found = self.chapter_at(pos)
        if found is None or found[1] != "exercise" or pos >= self.length:
            return None
        return found[0].index

    def resume_index(self, pos: int) -> int:
        """The exercise to start again from: this one, or the next one during its rest."""
        found = self.chapter_at(pos)
        if found is None:
            return 0
        chapter, kind = found
        if pos >= self.length or kind == "finish":
            return self.count
        if kind == "welcome":
            return 0
        return chapter.index + (1 if kind == "rest" else 0)

    def start_of(self, index: int) -> int:
        """Where exercise ``index`` starts (its name is the first thing said)."""
        chapter = self._exercise_chapters.get(index)
        if chapter is None:
            raise IndexError(f"no exercise {index} (the session has {self.count})")
        return chapter.start

    def name(self, index: int) -> str:
        return self.names.get(index, f"exercise {index + 1}")

    def reminder(self, pos: int) -> str:
        """The movement line of the exercise whose reps are playing at ``pos`` ("" elsewhere)."""
        index = self.exercise_at(pos)
        event = self.event_at(pos)
        if index is None or event is None or event.index != index or event.rep is None:
            return ""
        reminders = self.timeline.reminders
        return reminders[index] if index < len(reminders) else ""

    def event_at(self, pos: int) -> Event | None:
        """The last cue that started at or before ``pos``."""
        i = bisect.bisect_right(self._starts, pos) - 1
        return self._events[i] if i >= 0 else None

    # -- targets -------------------------------------------------------------------------

    def next_target(self, pos: int) -> tuple[int | None, int] | None:
        """(exercise, position) to skip to: the next exercise, else the finish; None at the end."""
        upcoming = self.resume_index(pos)
        if self.exercise_at(pos) is not None:
            upcoming += 1
        if upcoming < self.count:
            return upcoming, self.start_of(upcoming)
        found = self.chapter_at(pos)
        finish = next(
            (c for c, k in zip(self.chapters, self._kinds, strict=True) if k == "finish"), None
        )
        if finish is None or (found is not None and found[1] == "finish"):
            return None
        return None, finish.start

    def back_target(self, pos: int) -> tuple[int | None, int]:
        """(exercise, position) to restart from: this exercise, or the one just done."""
        found = self.chapter_at(pos)
        if found is None or found[1] == "welcome" or self.count == 0:
            return None, 0
        chapter, kind = found
        index = self.count - 1 if kind == "finish" else chapter.index
        return index, self.start_of(index)

    # -- words ---------------------------------------------------------------------------

    def _set_side(self, index: int, pos: int) -> tuple[int | None, str | None, int | None]:
        event = self.event_at(pos)
        if event is None or event.index != index:
            return None, None, None
        return event.set, event.side, event.rep

    def where(self, pos: int) -> str:
        """The ``?`` answer: "Bird-dog, set two of three. Exercise three of five. About
        six minutes left." """
        found = self.chapter_at(pos)
        left = spoken_time_left(max(0, self.length - pos) / self.rate)
        if found is None or pos >= self.length or found[1] == "finish":
            return "Finishing. Well done."
        chapter, kind = found
        if kind == "welcome":
            first = f" First up: {self.name(0)}." if self.count else ""
            return f"Starting.{first} {left}"
        if kind == "rest":
            nxt = chapter.index + 1
            if nxt >= self.count:
                return f"Resting. {left}"
            return f"Resting. Next up: {self.name(nxt)}. {self._nth(nxt)} {left}"
        index = chapter.index
        set_no, side, _ = self._set_side(index, pos)
        words = [self.name(index)]
        sets = self.sets.get(index, 1)
        if set_no is not None and sets > 1:
            words.append(f"set {number_words(set_no)} of {number_words(sets)}")
        if side:
            words.append(f"{side} side")
        return ", ".join(words) + f". {self._nth(index)} {left}"

    def _nth(self, index: int) -> str:
        return f"Exercise {number_words(index + 1)} of {number_words(self.count)}."

    def line(self, pos: int, state: str | None = None) -> str:
        """The status line: "2/5 Bird-dog · set 2/3 · left · rep 4/10 · 6:12 left"."""
        found = self.chapter_at(pos)
        left = f"{clock(max(0, self.length - pos) / self.rate)} left"
        fields: list[str] = [state] if state else []
        if found is None or pos >= self.length or found[1] == "finish":
            fields.append("Finish")
        elif found[1] == "welcome":
            fields += ["Welcome", left]
        elif found[1] == "rest":
            nxt = found[0].index + 1
            fields.append("Rest")
            if nxt < self.count:
                fields.append(f"next: {self.name(nxt)}")
            fields.append(left)
        else:
            index = found[0].index
            set_no, side, rep = self._set_side(index, pos)
            fields.append(f"{index + 1}/{self.count} {self.name(index)}")
            sets = self.sets.get(index, 1)
            if set_no is not None and sets > 1:
                fields.append(f"set {set_no}/{sets}")
            if side:
                fields.append(side)
            if rep is not None and self.reps.get(index):
                fields.append(f"rep {rep}/{self.reps[index]}")
            fields.append(left)
        return " · ".join(fields)
