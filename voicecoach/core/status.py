"""Where we are in a session: for the status line, the ``?`` key, skips and restarts.

``Guide`` answers questions about a timeline position (which exercise, which set, what
comes next, how long is left) from the timeline's chapters and event labels. What the
screen shows is ``Guide.glance``: a ``Glance``, plain data (exercise, side, set, reps,
the time left in the current hold, rest or timed work, what is next, the session's
elapsed and remaining time) that the terminal (adapters/terminal.py) lays out, or gives
as one line (``Glance.line``) where there is no room.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from typing import Literal

from voicecoach.core import live_lines as LL
from voicecoach.core import screen_lines as SL
from voicecoach.core.coaching import side_phrase, side_word
from voicecoach.core.messages import ENGLISH, Count, Messages, nsay, say
from voicecoach.core.timeline import Chapter, Event, Timeline

ChapterKind = Literal["welcome", "exercise", "rest", "finish"]
Phase = Literal["welcome", "exercise", "rest", "finish", "note"]
Timer = Literal["hold", "rest", "work"]
# The sounds that end a hold or a stretch of timed work (the one that starts it is
# "hold" or "start").
_ENDS = frozenset({"release", "rest", "switch", "finish"})


def clock(seconds: float) -> str:
    """m:ss (h:mm:ss past an hour), rounded up so "0:00 left" means done."""
    total = max(0, int(-(-seconds // 1)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def spoken_time_left(seconds: float, m: Messages = ENGLISH) -> str:
    if seconds >= 90:
        return nsay(m, LL.MINUTES_LEFT, round(seconds / 60))
    if seconds >= 50:
        return say(m, LL.A_MINUTE_LEFT)
    if seconds >= 10:
        return nsay(m, LL.SECONDS_LEFT, round(seconds / 10) * 10)
    return say(m, LL.ALMOST_DONE)


@dataclass(frozen=True, slots=True)
class Glance:
    """Where the session is, for the screen: what a glance from the mat should catch.

    ``number`` and ``count``: the exercise (1-based) and how many there are; ``set`` of
    ``sets``; ``rep`` of ``reps`` (reps 0: not counted in reps); ``timer`` and
    ``left``: the hold, rest or timed work going on and its seconds left (None: none);
    ``next``: the exercise after this one ("Finish" after the last); ``elapsed`` and
    ``remaining``: seconds of the session's timeline. ``state`` is what the player is
    doing if not just playing ("Paused (space: resume, q: stop)"); a ``note`` phase
    carries only a ``state`` (a question, a preview's line). ``words``: the session's
    language, in which the screen shows it (``line``, the terminal's panel).
    """

    phase: Phase
    state: str | None = None
    exercise: str | None = None
    number: int = 0
    count: int = 0
    side: str | None = None
    set: int | None = None
    sets: int = 1
    rep: int | None = None
    reps: int = 0
    timer: Timer | None = None
    left: float | None = None
    next: str | None = None
    elapsed: float = 0.0
    remaining: float = 0.0
    words: Messages = field(default=ENGLISH, compare=False, repr=False)

    @classmethod
    def note(cls, text: str) -> Glance:
        """A line of text and nothing else (the check-in's question, a preview)."""
        return cls("note", state=text)

    @property
    def rep_count(self) -> str | None:
        """ "7 / 12", or None where reps are not counted."""
        if self.rep is None or not self.reps:
            return None
        return f"{self.rep} / {self.reps}"

    def line(self) -> str:
        """One line: "2/5 Bird-dog · set 2/3 · left · rep 4/10 · 6:12 left"."""
        m = self.words
        fields: list[str] = [self.state] if self.state else []
        left = SL.show(m, SL.TIME_LEFT, time=clock(self.remaining))
        if self.phase == "note":
            pass
        elif self.phase == "finish":
            fields.append(SL.show(m, SL.FINISH))
        elif self.phase == "welcome":
            fields += [SL.show(m, SL.WELCOME), left]
        elif self.phase == "rest":
            fields.append(SL.show(m, SL.REST))
            if self.next is not None and self.next != FINISH:
                fields.append(SL.show(m, SL.LINE_NEXT, exercise=self.next))
            fields.append(left)
        else:
            fields.append(f"{self.number}/{self.count} {self.exercise}")
            if self.set is not None and self.sets > 1:
                fields.append(SL.show(m, SL.LINE_SET, set=self.set, sets=self.sets))
            if self.side:
                fields.append(side_word(m, self.side))
            if self.rep is not None and self.reps:
                fields.append(SL.show(m, SL.LINE_REP, rep=self.rep, reps=self.reps))
            fields.append(left)
        return " · ".join(fields)


FINISH = "Finish"  # what comes after the last exercise (``Glance.next``; never shown)


@dataclass(frozen=True, slots=True)
class Part:
    """A set (and side) of an exercise: it is done once playback passes ``end``."""

    index: int
    set: int
    side: str | None
    end: int


class Guide:
    """Position -> chapter, exercise, set, side, rep, targets for skip and restart."""

    def __init__(self, timeline: Timeline, messages: Messages = ENGLISH) -> None:
        self.timeline = timeline
        self.m = messages  # the session's language: what ``where`` and the keys say
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
        if index in self.names:
            return self.names[index]
        return say(self.m, LL.EXERCISE_NUMBER, number=index + 1)

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
        m = self.m
        found = self.chapter_at(pos)
        left = spoken_time_left(max(0, self.length - pos) / self.rate, m)
        if found is None or pos >= self.length or found[1] == "finish":
            return say(m, LL.WHERE_FINISHING)
        chapter, kind = found
        if kind == "welcome":
            if not self.count:
                return f"{say(m, LL.WHERE_STARTING)} {left}"
            return f"{say(m, LL.WHERE_STARTING_FIRST, exercise=self.name(0))} {left}"
        if kind == "rest":
            nxt = chapter.index + 1
            if nxt >= self.count:
                return f"{say(m, LL.WHERE_RESTING)} {left}"
            resting = say(m, LL.WHERE_RESTING_NEXT, exercise=self.name(nxt))
            return f"{resting} {self._nth(nxt)} {left}"
        index = chapter.index
        set_no, side, _ = self._set_side(index, pos)
        sets = self.sets.get(index, 1)
        words: dict[str, object] = {"exercise": self.name(index)}
        if set_no is not None and sets > 1:
            words.update(set=Count(set_no), sets=Count(sets))
        if side:
            words["side"] = side_phrase(m, side)
        message = {
            ("exercise",): LL.WHERE_EXERCISE,
            ("exercise", "set", "sets"): LL.WHERE_EXERCISE_SET,
            ("exercise", "side"): LL.WHERE_EXERCISE_SIDE,
            ("exercise", "set", "sets", "side"): LL.WHERE_EXERCISE_SET_SIDE,
        }[tuple(words)]
        return f"{say(m, message, **words)} {self._nth(index)} {left}"

    def _nth(self, index: int) -> str:
        m = self.m
        return say(m, LL.WHERE_NTH, number=Count(index + 1), count=Count(self.count))

    def line(self, pos: int, state: str | None = None) -> str:
        """The status line: "2/5 Bird-dog · set 2/3 · left · rep 4/10 · 6:12 left"."""
        return self.glance(pos, state).line()

    def glance(self, pos: int, state: str | None = None) -> Glance:
        """What the screen shows at ``pos`` (``state``: paused, waiting for a key…)."""
        rate = self.rate
        at = Glance(
            "finish", state=state, count=self.count, elapsed=min(pos, self.length) / rate,
            remaining=max(0, self.length - pos) / rate, words=self.m,
        )  # fmt: skip
        found = self.chapter_at(pos)
        if found is None or pos >= self.length or found[1] == "finish":
            return replace(at, remaining=0.0)
        chapter, kind = found
        if kind == "welcome":
            return replace(at, phase="welcome", next=self.name(0) if self.count else None)
        following = chapter.index + 1
        nxt = self.name(following) if following < self.count else FINISH
        if kind == "rest":
            left = max(0, chapter.end - pos) / rate
            return replace(at, phase="rest", next=nxt, timer="rest", left=left)
        index = chapter.index
        set_no, side, rep = self._set_side(index, pos)
        timer, until = self._timer(index, pos)
        return replace(
            at, phase="exercise", exercise=self.name(index), number=index + 1, side=side,
            set=set_no, sets=self.sets.get(index, 1), rep=rep, reps=self.reps.get(index, 0),
            timer=timer, left=None if until is None else max(0, until - pos) / rate, next=nxt,
        )  # fmt: skip

    def _timer(self, index: int, pos: int) -> tuple[Timer | None, int | None]:
        """The hold or timed work going on at ``pos`` in exercise ``index``, and where it
        ends: a hold runs from its hold sound to the release; timed work (an exercise
        not counted in reps) from the start sound to the next release, rest or switch
        sound, else the end of its set. Reps, lead-ins and set-ups have no timer."""
        i = bisect.bisect_right(self._starts, pos) - 1
        while i >= 0:
            e = self._events[i]
            if e.index != index:
                return None, None
            if e.kind == "sound":
                break
            i -= 1
        else:
            return None, None
        cue = self._events[i]
        if cue.text == "hold":
            timer: Timer = "hold"
        elif cue.text == "start" and not self.reps.get(index):
            timer = "work"
        else:
            return None, None
        part_end = next((p.end for p in self.parts.get(index, ()) if p.end > pos), None)
        for e in self._events[i + 1 :]:
            if e.index != index or (part_end is not None and e.start >= part_end):
                break
            if e.kind == "sound" and e.text in _ENDS:
                return timer, e.start
        if part_end is None:
            part_end = self._exercise_chapters[index].end
        return timer, part_end
