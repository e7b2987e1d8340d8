"""Routine + clip lengths -> Timeline. Pure: no audio, no I/O.

``phrases.phrases(routine)`` lists every phrase the layout may consider (shorter
variants included); the caller makes those clips, then ``compile_routine`` lays the session out
once from a plain mapping phrase -> length in samples, each cue at an exact sample
(``Draft.finish`` then adds the closing line, which says how long the session took).
Cues are placed in time order against one cursor (``busy``), which is what guarantees
that no phrase overlaps another phrase or a sound. Fixed points (start, hold, release,
rest sounds) sit at their stated times; optional words are dropped when they don't fit,
and where even the essential words don't fit, the compiler makes room (a longer
lead-in, phase or rest) and records a warning with the routine's line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from voicecoach.core import coaching as say
from voicecoach.core import ending
from voicecoach.core import lines as L
from voicecoach.core.ending import Progression
from voicecoach.core.messages import ENGLISH, Count, Messages, capital
from voicecoach.core.messages import say as t_
from voicecoach.core.model import Exercise, Routine, Verbosity
from voicecoach.core.placing import GAP, SEC, SOUND_GAP, shown, tenths
from voicecoach.core.timeline import Chapter, CompileWarning, Event, Timeline, to_samples
from voicecoach.core.work import WorkLayout

__all__ = ["GAP", "SEC", "SOUND_GAP", "Draft", "compile_routine"]

INTRO_PAUSE = to_samples(1.0)  # after the welcome, before the first exercise
FINISH_PAUSE = to_samples(1.0)
AFTER_WORK = to_samples(0.5)  # a breath between the end of work and a rest or switch


class _Builder(WorkLayout):
    # -- the session --------------------------------------------------------------------

    def build(self, include_safety: bool) -> Draft:
        r, m = self.routine, self.m
        self.label = {"block": "", "exercise": None, "index": -1}
        t = self.speak(say.sentence(t_(m, L.WELCOME, title=r.title)), 0)
        if include_safety and r.safety:
            t = self.speak(r.safety.strip(), t + GAP)
        t = self.speak(self.say(say.LETS_BEGIN), t + GAP) + INTRO_PAUSE
        self.chapters.append(Chapter(self.say(L.CHAPTER_WELCOME), 0, t))

        plan = [
            (block, rnd, pos, ex)
            for block in r.blocks
            for rnd in range(1, block.rounds + 1)
            for pos, ex in enumerate(block.exercises)
        ]
        gap = 0
        rested: tuple[int, float] | None = None  # (rest sound, seconds) just before
        for index, (block, rnd, pos, ex) in enumerate(plan):
            ex = replace(ex, verbosity=self.verbosity_override or ex.verbosity)
            announce_block = None
            if pos == 0 and block.rounds > 1:
                announce_block = t_(m, L.BLOCK_ROUND, block=block.name, round=Count(rnd))
            elif pos == 0 and len(r.blocks) > 1:
                announce_block = block.name
            title = (
                t_(m, L.CHAPTER_ROUND, exercise=ex.name, round=rnd) if block.rounds > 1 else ex.name
            )
            block_name = self.say(L.MAIN_BLOCK) if block.implicit else block.name
            self.label = {"block": block_name, "exercise": ex.name, "index": index}
            start = t
            parts, t = self.exercise(
                ex, t + gap, first=index == 0, block=announce_block, rested=rested
            )
            gap, rested = 0, None
            self.chapters.append(Chapter(title, start, t, index, tuple(parts)))
            if index + 1 < len(plan):
                nxt_block, nxt_rnd, _, nxt = plan[index + 1]
                end_of_round = nxt_block is block and nxt_rnd != rnd
                seconds = block.round_rest if end_of_round else ex.rest
                if seconds > 0:
                    # The rest belongs to the exercise, but to none of its sets or reps.
                    self.label = {"block": block_name, "exercise": ex.name, "index": index}
                    rest_start = t
                    t += AFTER_WORK
                    done = (rnd, block.rounds) if end_of_round else None
                    if nxt.manual:  # no count to lead into: the rest, then its lead-in
                        lines = say.rest_lines(m, seconds, nxt.name, ex.verbosity, done)
                        t = self.pause(ex, "rest", t, seconds, lines, what="rest")
                    else:
                        # The rest is where the next exercise is set up: its name,
                        # position and cue follow the rest line (in its own chapter, so
                        # skipping to it hears them), and the rest's ticks lead into it.
                        rested = (t, seconds)
                        self.sound("rest", t)
                        lines = self.candidates(
                            say.rest_lines(m, seconds, None, ex.verbosity, done)
                        )
                        t = self.speak(lines[0], self.busy + SOUND_GAP)
                    self.chapters.append(Chapter(self.say(L.CHAPTER_REST), rest_start, t, index))
                else:
                    # No rest: still a breath after the last sound before the next name.
                    gap = AFTER_WORK

        self.label = {"block": "", "exercise": None, "index": -1}
        finish_start = t
        # A cool-down line and, lying down, how to get up; then what was done and a tip.
        quiet = (self.verbosity_override or plan[-1][3].verbosity) == "minimal"
        lines = ([] if quiet else [self.say(ending.COOL_DOWN)]) + (
            [self.say(ending.GET_UP)] if ending.ends_lying(m, r) else []
        )
        pause = FINISH_PAUSE
        for line in lines:
            t = self.speak(line, t + pause)
            pause = GAP
        t = self.sound("finish", t + FINISH_PAUSE)
        minutes = (t / SEC) / 60
        options = ending.finish_lines(m, len(plan), minutes, ending.tip(m, r, self.progression))
        return Draft(
            title=r.title,
            events=tuple(self.events),
            chapters=tuple(self.chapters),
            warnings=tuple(self.warnings),
            closing=options[0],
            closing_at=t + SOUND_GAP,
            finish_start=finish_start,
            finish_title=self.say(L.CHAPTER_FINISH),
            reminders=tuple(
                ""
                if (self.verbosity_override or ex.verbosity) == "minimal"
                else say.movement_line(m, ex)
                for _, _, _, ex in plan
            ),
        )

    # -- one exercise -------------------------------------------------------------------

    def exercise(
        self,
        ex: Exercise,
        t: int,
        *,
        first: bool,
        block: str | None,
        rested: tuple[int, float] | None = None,
    ) -> tuple[list[Chapter], int]:
        units = [
            (set_no, side)
            for set_no in range(1, ex.sets + 1)
            for side in (ex.sides if ex.side_mode == "each" else (None,))
        ]
        parts: list[Chapter] = []
        m = self.m
        for k, (set_no, side) in enumerate(units):
            self.label = {**self.label, "set": set_no, "side": side, "rep": None}
            if k == 0:
                go = self.lead_in(ex, t, first=first, block=block, rested=rested)
            elif units[k - 1][0] != set_no:
                t += AFTER_WORK
                lines = say.set_rest_lines(m, ex.set_rest, set_no, ex.sets, ex.verbosity, side)
                go = self.pause(ex, "rest", t, ex.set_rest, lines, what="rest between sets")
            else:
                t += AFTER_WORK
                lines = say.switch_lines(m, side or "other")
                go = self.pause(ex, "switch", t, ex.switch, lines, what="switch")
            end = self.work(ex, go, set_no, side)
            title = self.part_title(set_no if ex.sets > 1 else None, side)
            if title:
                parts.append(Chapter(title, go, end))
            t = end
        if ex.lines.end:
            self.label = {**self.label, "rep": None}
            set_no, side = units[-1]  # the set (and side) just finished
            t = self.speak(say.fill(m, ex.lines.end, ex, side=side, set=set_no), t + GAP)
        return parts, t

    def part_title(self, set_no: int | None, side: str | None) -> str:
        """A set's (and side's) chapter title: "Set 2, left side", "Left side", "Set 2"."""
        m = self.m
        if set_no is not None and side:
            return t_(m, L.CHAPTER_SET_SIDE, set=set_no, side=say.side_phrase(m, side))
        if set_no is not None:
            return t_(m, L.CHAPTER_SET, set=set_no)
        return capital(say.side_phrase(m, side)) if side else ""

    def lead_in(
        self,
        ex: Exercise,
        start: int,
        *,
        first: bool,
        block: str | None,
        rested: tuple[int, float] | None = None,
    ) -> int:
        """Name, set-up and cue during the lead-in; then 'three, two, one'. Returns the go time.

        ``rested``: (the rest sound, its seconds) when a rest came just before: the words
        follow its rest line ("Next up: ..."), the rest's ticks are the count, and rest and
        lead-in run together: the go is its lead-in after the name, and never before the
        rest is over.
        """
        t = start
        next_up = bool(rested) and ex.verbosity != "minimal"
        lines = say.announce(self.m, ex, ex.verbosity, first=first, block=block, next_up=next_up)
        for line in lines:
            t = self.speak(line, max(t, self.busy)) + GAP
        if ex.manual:
            return t
        step = SEC if rested else self.count_step()
        nominal = start + to_samples(ex.lead_in)
        if rested:
            nominal = max(nominal, rested[0] + to_samples(rested[1]))
        if ex.side_mode == "each":
            # Which side comes first, just before the count, where there is room for it
            # (a routine's set-up often says it already).
            line = say.first_side(self.m, ex.sides[0], only=len(ex.sides) == 1)
            at = max(t, nominal - 3 * step - GAP - self.length(line))
            if self.fits(line, at, nominal - 3 * step - GAP):
                t = self.speak(line, at) + GAP
        needed = t + 3 * step
        go = max(nominal, needed)
        need = (go - start) / SEC
        if go > nominal and tenths(need) > tenths(
            ex.lead_in
        ):  # as printed: never "5.0 s ... its 5 s"
            self.warn(
                ex,
                f"the lead-in needs {shown(need)} s to say everything, "
                f"longer than its {shown(ex.lead_in)} s; it was made longer",
                topic="lead-in",
                need=need,
            )
        if rested:
            for i in range(3, 0, -1):
                self.sound("tick", go - i * SEC)
        else:
            self.countdown(go, step)
        return go

    def pause(
        self, ex: Exercise, opener: str, at: int, seconds: float, options: list[str], *, what: str
    ) -> int:
        """A rest or switch: its sound, what is said, ticks in the last three seconds.

        Returns the end, exactly ``seconds`` after the opening sound unless the words
        cannot fit (then longer, with a warning).
        """
        self.sound(opener, at)
        t = self.busy + SOUND_GAP
        end = at + to_samples(seconds)
        # The most helpful words first; ticks only where they fit after the words.
        # Knowing which side is next matters more to a person with closed eyes.
        can_tick = seconds >= 5
        options = self.candidates(options)
        tries = [(o, tk) for o in options for tk in ((True, False) if can_tick else (False,))]
        chosen, ticks = next(
            ((o, tk) for o, tk in tries if self.fits(o, t, end - (3 * SEC if tk else 0) - GAP)),
            (None, False),
        )
        if chosen is None:
            chosen, ticks = options[-1], True
            end = t + self.length(chosen) + GAP + 3 * SEC
            need = (end - at) / SEC
            if tenths(need) > tenths(seconds):  # as printed
                self.warn(
                    ex,
                    f"the {what} needs {shown(need)} s for its words and countdown, "
                    f"longer than its {shown(seconds)} s; it was made longer",
                    topic=f"{what} {seconds}",
                    need=need,
                )
        self.speak(chosen, t)
        if ticks:
            for i in range(3, 0, -1):
                self.sound("tick", end - i * SEC)
        return end


@dataclass(frozen=True, slots=True)
class Draft:
    """A session laid out up to its closing line, whose words depend on the layout
    ("... in about nineteen minutes"), so no listing made before it can know them:
    the caller makes the ``closing`` clip, then ``finish`` adds it at its place."""

    title: str
    events: tuple[Event, ...]
    chapters: tuple[Chapter, ...]
    warnings: tuple[CompileWarning, ...]
    closing: str
    closing_at: int
    finish_start: int
    finish_title: str = "Finish"  # the last chapter's title, in the session's language
    reminders: tuple[str, ...] = ()

    def finish(self, length: int) -> Timeline:
        """The timeline, ending with the closing line (``length`` samples long)."""
        said = Event(
            start=self.closing_at, length=length, kind="speech", text=self.closing, block=""
        )
        end = Chapter(self.finish_title, self.finish_start, said.end)
        return Timeline(
            title=self.title,
            events=(*self.events, said),
            chapters=(*self.chapters, end),
            warnings=self.warnings,
            reminders=self.reminders,
        )


def compile_routine(
    routine: Routine,
    lengths: Mapping[str, int],
    sound_lengths: Mapping[str, int],
    *,
    verbosity: Verbosity | None = None,
    include_safety: bool = True,
    progression: Progression | None = None,
    messages: Messages = ENGLISH,
) -> Draft:
    """Lay out ``routine`` exactly, up to its closing line.

    ``lengths`` maps each phrase to its clip's length in samples; it must hold every
    phrase of ``phrases.phrases(routine)`` (same ``verbosity`` and ``include_safety``).
    A phrase missing from it is a bug in this module: it raises ``KeyError``.
    ``progression``: what the history suggests for next time, said in the closing line
    (made after the layout, so ``phrases`` needs no history). ``messages``: the language
    the coach speaks (the app builds it for the routine's language).
    """
    builder = _Builder(routine, lengths, sound_lengths, verbosity, messages)
    builder.progression = progression
    return builder.build(include_safety)


class NotMade(Exception):
    """Raised by a ``lengths`` mapping for a phrase whose clip is not made yet: the
    layout stops there (``compile_prefix``). Not a KeyError: a missing key is a bug."""


@dataclass(frozen=True, slots=True)
class Prefix:
    """The start of a layout that stopped at a phrase not made yet.

    Exact: every cue is placed at or after the cursor (``Placer.busy``, the end of the
    last cue placed; it only moves forward), and the layout is a pure function of the
    lengths it has read so far. So ``events`` are the whole layout's first events, the
    same, and every cue placed later starts at or after ``horizon``: the session's
    samples before ``horizon`` are final."""

    events: tuple[Event, ...]
    horizon: int


def compile_prefix(
    routine: Routine,
    lengths: Mapping[str, int],
    sound_lengths: Mapping[str, int],
    *,
    verbosity: Verbosity | None = None,
    include_safety: bool = True,
    progression: Progression | None = None,
    messages: Messages = ENGLISH,
) -> Draft | Prefix:
    """``compile_routine``, for lengths that may not all be known yet: the Draft if
    ``lengths`` has every phrase, else the ``Prefix`` laid out before the first one it
    raised ``NotMade`` for (the live run plays it while the rest is synthesized)."""
    builder = _Builder(routine, lengths, sound_lengths, verbosity, messages)
    builder.progression = progression
    try:
        return builder.build(include_safety)
    except NotMade:
        return Prefix(tuple(builder.events), builder.busy)
