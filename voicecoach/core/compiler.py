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
from voicecoach.core.model import Exercise, Routine, Verbosity
from voicecoach.core.timeline import (
    Chapter,
    CompileWarning,
    Event,
    EventKind,
    Timeline,
    to_samples,
)

SEC = to_samples(1.0)
GAP = to_samples(0.3)  # between sentences
SOUND_GAP = to_samples(0.1)  # between a sound and the words after it
INTRO_PAUSE = to_samples(1.0)  # after the welcome, before the first exercise
FINISH_PAUSE = to_samples(1.0)
AFTER_WORK = to_samples(0.5)  # a breath between the end of work and a rest or switch


class _Builder:
    def __init__(
        self,
        routine: Routine,
        lengths: Mapping[str, int],
        sound_lengths: Mapping[str, int],
        verbosity: Verbosity | None,
    ) -> None:
        self.routine = routine
        self._lengths = lengths
        self.sound_len = sound_lengths
        self.verbosity_override = verbosity
        self.events: list[Event] = []
        self.chapters: list[Chapter] = []
        self.warnings: list[CompileWarning] = []
        self._warned: dict[tuple[int, int, str], tuple[int, float]] = {}  # -> (index, need)
        self.busy = 0  # end of the last cue placed: nothing may start before it
        self.label: dict[str, object] = {"block": "", "exercise": None, "index": -1}

    # -- placing cues -------------------------------------------------------------------

    def length(self, text: str) -> int:
        try:
            return self._lengths[text]
        except KeyError:
            raise KeyError(
                f"the compiler needs the length of {text!r}, which phrases() did not list"
                " (a bug in voicecoach.core.compiler)"
            ) from None

    def candidates(self, texts: list[str]) -> list[str]:
        """Look up every candidate of a choice before choosing, so which phrases a
        layout looks up never depends on their lengths: ``phrases.phrases`` lists them
        all by looking them up once, whatever lengths it gives."""
        for text in texts:
            self.length(text)
        return texts

    def _put(self, kind: EventKind, text: str, at: int, length: int) -> int:
        if at < self.busy:
            raise AssertionError(f"{kind} {text!r} at {at} overlaps the cue ending at {self.busy}")
        self.events.append(Event(start=at, length=length, kind=kind, text=text, **self.label))  # type: ignore[arg-type]
        self.busy = at + length
        return self.busy

    def speak(self, text: str, at: int) -> int:
        return self._put("speech", text, at, self.length(text))

    def sound(self, name: str, at: int) -> int:
        return self._put("sound", name, at, self.sound_len[name])

    def wait(self, prompt: str, at: int, length: int) -> int:
        return self._put("wait", prompt, at, length)

    def fits(self, text: str, at: int, limit: int) -> bool:
        return at >= self.busy and at + self.length(text) <= limit

    def warn(self, ex: Exercise, message: str, *, topic: str = "", need: float = 0.0) -> None:
        """Record a warning once per exercise line and ``topic`` (default: the message).

        An exercise in a block of several rounds is laid out once per round, and its
        words differ a little ("First: ...", "round two"): the warning needing the most
        time (``need``) is the one kept, so it is true of every round.
        """
        key = (ex.pos.line, ex.pos.column, topic or message)
        warning = CompileWarning(ex.pos.line, ex.pos.column, f"{ex.name}: {message}")
        if key not in self._warned:
            self._warned[key] = (len(self.warnings), need)
            self.warnings.append(warning)
        elif need > self._warned[key][1]:
            index = self._warned[key][0]
            self.warnings[index] = warning
            self._warned[key] = (index, need)

    def countdown(self, go: int, step: int) -> None:
        for i, word in enumerate(say.COUNTDOWN):
            self.speak(word, go - (3 - i) * step)

    def count_step(self) -> int:
        """Spacing of 'three, two, one': a second, or more if a number takes longer to say."""
        return max(SEC, max(self.length(w) for w in say.COUNTDOWN) + to_samples(0.1))

    # -- the session --------------------------------------------------------------------

    def build(self, include_safety: bool) -> Draft:
        r = self.routine
        self.label = {"block": "", "exercise": None, "index": -1}
        t = self.speak(say.sentence("Welcome to " + r.title), 0)
        if include_safety and r.safety:
            t = self.speak(r.safety.strip(), t + GAP)
        t = self.speak(say.LETS_BEGIN, t + GAP) + INTRO_PAUSE
        self.chapters.append(Chapter("Welcome", 0, t))

        plan = [
            (block, rnd, pos, ex)
            for block in r.blocks
            for rnd in range(1, block.rounds + 1)
            for pos, ex in enumerate(block.exercises)
        ]
        gap = 0
        for index, (block, rnd, pos, ex) in enumerate(plan):
            ex = replace(ex, verbosity=self.verbosity_override or ex.verbosity)
            announce_block = None
            if pos == 0 and block.rounds > 1:
                announce_block = f"{block.name}, round {say.number_words(rnd)}"
            elif pos == 0 and len(r.blocks) > 1:
                announce_block = block.name
            title = f"{ex.name} (round {rnd})" if block.rounds > 1 else ex.name
            self.label = {"block": block.name, "exercise": ex.name, "index": index}
            start = t
            parts, t = self.exercise(ex, t + gap, first=index == 0, block=announce_block)
            gap = 0
            self.chapters.append(Chapter(title, start, t, index, tuple(parts)))
            if index + 1 < len(plan):
                nxt_block, nxt_rnd, _, nxt = plan[index + 1]
                end_of_round = nxt_block is block and nxt_rnd != rnd
                seconds = block.round_rest if end_of_round else ex.rest
                if seconds > 0:
                    # The rest belongs to the exercise, but to none of its sets or reps.
                    self.label = {"block": block.name, "exercise": ex.name, "index": index}
                    rest_start = t
                    t += AFTER_WORK
                    done = (rnd, block.rounds) if end_of_round else None
                    lines = say.rest_lines(seconds, nxt.name, ex.verbosity, done)
                    t = self.pause(ex, "rest", t, seconds, lines, what="rest")
                    self.chapters.append(Chapter("Rest", rest_start, t, index))
                else:
                    # No rest: still a breath after the last sound before the next name.
                    gap = AFTER_WORK

        self.label = {"block": "", "exercise": None, "index": -1}
        finish_start = t
        t = self.sound("finish", t + FINISH_PAUSE)
        minutes = (t / SEC) / 60
        options = say.finish_lines(r.title, len(plan), minutes)
        return Draft(
            title=r.title,
            events=tuple(self.events),
            chapters=tuple(self.chapters),
            warnings=tuple(self.warnings),
            closing=options[0],
            closing_at=t + SOUND_GAP,
            finish_start=finish_start,
        )

    # -- one exercise -------------------------------------------------------------------

    def exercise(
        self, ex: Exercise, t: int, *, first: bool, block: str | None
    ) -> tuple[list[Chapter], int]:
        units = [
            (set_no, side)
            for set_no in range(1, ex.sets + 1)
            for side in (ex.sides if ex.side_mode == "each" else (None,))
        ]
        parts: list[Chapter] = []
        for k, (set_no, side) in enumerate(units):
            self.label = {**self.label, "set": set_no, "side": side, "rep": None}
            if k == 0:
                go = self.lead_in(ex, t, first=first, block=block)
            elif units[k - 1][0] != set_no:
                t += AFTER_WORK
                lines = say.set_rest_lines(ex.set_rest, set_no, ex.sets, ex.verbosity, side)
                go = self.pause(ex, "rest", t, ex.set_rest, lines, what="rest between sets")
            else:
                t += AFTER_WORK
                lines = say.switch_lines(side or "other")
                go = self.pause(ex, "switch", t, ex.switch, lines, what="switch")
            end = self.work(ex, go, set_no, side)
            title = ", ".join(
                p
                for p in (f"Set {set_no}" if ex.sets > 1 else "", f"{side} side" if side else "")
                if p
            )
            if title:
                parts.append(Chapter(title[0].upper() + title[1:], go, end))
            t = end
        if ex.lines.end:
            self.label = {**self.label, "rep": None}
            set_no, side = units[-1]  # the set (and side) just finished
            t = self.speak(say.fill(ex.lines.end, ex, side=side, set=set_no), t + GAP)
        return parts, t

    def lead_in(self, ex: Exercise, start: int, *, first: bool, block: str | None) -> int:
        """Name, set-up and cue during the lead-in; then 'three, two, one'. Returns the go time."""
        t = start
        for line in say.announce(ex, ex.verbosity, first=first, block=block):
            t = self.speak(line, max(t, self.busy)) + GAP
        if ex.manual:
            return t
        step = self.count_step()
        nominal = start + to_samples(ex.lead_in)
        if ex.side_mode == "each":
            # Which side comes first, just before the count, where there is room for it
            # (a routine's set-up often says it already).
            line = say.first_side(ex.sides[0], only=len(ex.sides) == 1)
            at = max(t, nominal - 3 * step - GAP - self.length(line))
            if self.fits(line, at, nominal - 3 * step - GAP):
                t = self.speak(line, at) + GAP
        needed = t + 3 * step
        go = max(nominal, needed)
        need = (go - start) / SEC
        if _tenths(need) > _tenths(ex.lead_in):  # as printed: never "5.0 s ... its 5 s"
            self.warn(
                ex,
                f"the lead-in needs {_seconds(need)} s to say everything, "
                f"longer than its {_seconds(ex.lead_in)} s; it was made longer",
                topic="lead-in",
                need=need,
            )
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
            if _tenths(need) > _tenths(seconds):  # as printed
                self.warn(
                    ex,
                    f"the {what} needs {_seconds(need)} s for its words and countdown, "
                    f"longer than its {_seconds(seconds)} s; it was made longer",
                    topic=f"{what} {seconds}",
                    need=need,
                )
        self.speak(chosen, t)
        if ticks:
            for i in range(3, 0, -1):
                self.sound("tick", end - i * SEC)
        return end

    def work(self, ex: Exercise, go: int, set_no: int, side: str | None) -> int:
        if ex.manual:
            return self.manual(ex, go, set_no, side)
        if ex.kind in ("timed", "hold"):
            return self.timed(ex, go, side, set_no)
        t = self.sound("start", go)
        if ex.lines.start:
            t = self.speak(say.fill(ex.lines.start, ex, side=side, set=set_no), t + SOUND_GAP)
        return self.reps(ex, t, set_no, side)

    def reps(self, ex: Exercise, t: int, set_no: int, side: str | None) -> int:
        sides = ex.sides if ex.side_mode == "alternate" else (side,)
        warned = False
        first_unit = set_no == 1 and (side is None or side == ex.sides[0])
        for rep in range(1, ex.reps + 1):
            for alt in sides:
                self.label = {**self.label, "rep": rep, "side": alt}
                for i, phase in enumerate(ex.phases):
                    first = first_unit and rep == 1 and alt == sides[0]
                    side_word = alt if ex.side_mode == "alternate" and i == 0 else None
                    variants = say.rep_cue_variants(
                        ex,
                        rep,
                        i,
                        ex.verbosity,
                        first,
                        alt,
                        set_no,
                        side_word=side_word,
                        count=alt == sides[0],
                    )
                    variants = self.candidates([v for v in variants if v])
                    dur = to_samples(phase.seconds)
                    text = next((v for v in variants if self.length(v) <= dur), None)
                    if text is None:
                        text = min(variants, key=self.length, default="")
                        if text and self.length(text) + SOUND_GAP > dur:
                            need = (self.length(text) + SOUND_GAP) / SEC
                            if not warned and _tenths(need) > _tenths(phase.seconds):
                                self.warn(
                                    ex,
                                    f"'{text}' and the pause after it take {_seconds(need)} s, "
                                    f"longer than its {_seconds(phase.seconds)} s phase; "
                                    "the phase was made longer",
                                )
                                warned = True
                            dur = self.length(text) + SOUND_GAP
                    if text:
                        self.speak(text, t)
                    t += dur
                    if ex.hold and i == ex.hold_after:
                        t = self.hold(ex, t, ex.hold, first=first, side=alt, set_no=set_no)
        return max(t, self.busy)

    def hold(
        self,
        ex: Exercise,
        onset: int,
        seconds: float,
        *,
        first: bool,
        side: str | None,
        set_no: int,
    ) -> int:
        """A hold within a rep: hold sound, (Hold.), countdown, release sound exactly after."""
        self.sound("hold", onset)
        release = onset + to_samples(seconds)
        if release < self.busy + SOUND_GAP:
            release = self.busy + SOUND_GAP
            self.warn(ex, f"the {seconds:g} s hold is shorter than its sounds; it was made longer")
        opening = say.HOLD if first else None
        self.optional_cues(ex, onset, release, seconds, opening, side=side, set_no=set_no)
        self.sound("release", release)
        return self.busy

    def timed(self, ex: Exercise, go: int, side: str | None, set_no: int) -> int:
        """Timed work or a static hold: exactly its time from its opening to its closing sound."""
        seconds = ex.time if ex.kind == "timed" else ex.hold
        opener, closer = ("start", "release") if ex.kind == "timed" else ("hold", "release")
        self.label = {**self.label, "rep": None}
        self.sound(opener, go)
        end = go + to_samples(seconds)
        if end < self.busy + SOUND_GAP:
            end = self.busy + SOUND_GAP
            self.warn(ex, f"{seconds:g} s is shorter than its sounds; it was made longer")
        opening = (
            say.fill(ex.lines.start, ex, side=side, set=set_no)
            if ex.lines.start
            else (say.HOLD if ex.kind == "hold" and ex.verbosity != "minimal" else None)
        )
        self.optional_cues(ex, go, end, seconds, opening, side=side, set_no=set_no)
        self.sound(closer, end)
        return self.busy

    def optional_cues(
        self,
        ex: Exercise,
        onset: int,
        end: int,
        seconds: float,
        opening: str | None,
        *,
        side: str | None,
        set_no: int,
    ) -> None:
        """Words inside a hold or timed work; each is said only if it fits before the next.

        The routine's own halfway line is said whatever the verbosity (the user wrote it).
        """
        step = self.count_step()
        cues: list[tuple[int, list[str]]] = []
        if opening:
            cues.append((self.busy + SOUND_GAP, [opening]))
        if seconds >= 20 and (ex.verbosity != "minimal" or ex.lines.halfway):
            halfway = (
                say.fill(ex.lines.halfway, ex, side=side, set=set_no)
                if ex.lines.halfway
                else say.HALFWAY
            )
            cues.append((onset + to_samples(seconds / 2), [halfway]))
        if seconds >= 30 and ex.verbosity != "minimal":
            cues.append((end - 10 * SEC, [say.TEN_LEFT]))
        if seconds >= 4:
            cues.append((end - 3 * step, list(say.COUNTDOWN)))
        for _, words in cues:
            self.candidates(words)
        for k, (at, words) in enumerate(cues):
            limit = cues[k + 1][0] if k + 1 < len(cues) else end
            if len(words) == 3:  # the countdown: all three or none
                if (
                    at >= self.busy
                    and all(self.length(w) <= step for w in words[:2])
                    and (at + 2 * step + self.length(words[2]) <= limit)
                ):
                    for i, w in enumerate(words):
                        self.speak(w, at + i * step)
            elif self.fits(words[0], at, limit - GAP // 2):
                self.speak(words[0], at)

    def manual(self, ex: Exercise, at: int, set_no: int, side: str | None) -> int:
        """Own pace: say what to do, then wait for the user (the estimate in a file)."""
        units = ex.sets * (len(ex.sides) if ex.side_mode == "each" else 1)
        what = (
            f"{say.number_words(ex.reps)} reps at your own pace" if ex.reps else "At your own pace"
        )
        prompt = say.sentence(f"{side} side" if side else None, what) + " " + say.PRESS_SPACE
        t = self.speak(prompt, max(at, self.busy))
        t = self.wait(say.PRESS_SPACE, t, to_samples(ex.estimate / units))
        return self.sound("release", t)


def _tenths(seconds: float) -> float:
    """Seconds as warnings print them: compared the same way, so that a warning never
    says "needs 5.0 s ... longer than its 5 s" (a few milliseconds, not worth one)."""
    return round(seconds, 1)


def _seconds(seconds: float) -> str:
    return f"{_tenths(seconds):g}"


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

    def finish(self, length: int) -> Timeline:
        """The timeline, ending with the closing line (``length`` samples long)."""
        said = Event(
            start=self.closing_at, length=length, kind="speech", text=self.closing, block=""
        )
        end = Chapter("Finish", self.finish_start, said.end)
        return Timeline(
            title=self.title,
            events=(*self.events, said),
            chapters=(*self.chapters, end),
            warnings=self.warnings,
        )


def compile_routine(
    routine: Routine,
    lengths: Mapping[str, int],
    sound_lengths: Mapping[str, int],
    *,
    verbosity: Verbosity | None = None,
    include_safety: bool = True,
) -> Draft:
    """Lay out ``routine`` exactly, up to its closing line.

    ``lengths`` maps each phrase to its clip's length in samples; it must hold every
    phrase of ``phrases.phrases(routine)`` (same ``verbosity`` and ``include_safety``).
    A phrase missing from it is a bug in this module: it raises ``KeyError``.
    """
    return _Builder(routine, lengths, sound_lengths, verbosity).build(include_safety)
