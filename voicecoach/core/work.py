"""The work of one set: reps at a tempo, holds, timed work and manual steps.

Part of the layout (``compiler``): ``WorkLayout`` places what is said while the user
works, on the ``Placer``'s cursor, so nothing overlaps.
"""

from __future__ import annotations

import itertools

from voicecoach.core import coaching as say
from voicecoach.core.model import Exercise
from voicecoach.core.placing import GAP, SEC, SOUND_GAP, Placer, shown, tenths
from voicecoach.core.timeline import to_samples


class WorkLayout(Placer):
    def next_form(self, ex: Exercise, taken: int = 1) -> int:
        """Form pointers take turns: the index of the next, counting ``taken`` more as
        offered (offered, not said: which phrases are looked up must not depend on
        their lengths, see ``Placer.candidates``)."""
        index = self.form_offered.get(ex.name, 0)
        self.form_offered[ex.name] = index + taken
        return index

    def work(self, ex: Exercise, go: int, set_no: int, side: str | None) -> int:
        if ex.manual:
            return self.manual(ex, go, set_no, side)
        if ex.kind in ("timed", "hold"):  # the start (or hold) sound on the go
            return self.timed(ex, go, side, set_no)
        # Reps: the count ends in "go", so the first rep's "One" never follows "One.",
        # and the first rep starts a moment after the count's last word (or tick).
        counted = self.events[-1].text in (*self.countdown_words, "tick") if self.events else False
        clear = self.busy + to_samples(say.COUNT_CLEAR) if counted else 0
        t = self.sound("start", self.speak(self.say(say.GO), go))
        t = max(t, clear)
        if ex.lines.start:
            t = self.speak(
                say.fill(self.m, ex.lines.start, ex, side=side, set=set_no), t + SOUND_GAP
            )
        return self.reps(ex, t, set_no, side)

    def reps(self, ex: Exercise, t: int, set_no: int, side: str | None) -> int:
        sides = ex.sides if ex.side_mode == "alternate" else (side,)
        warned = False
        first_unit = set_no == 1 and (side is None or side == ex.sides[0])
        # A set's word goes in the longest phase (where there is most room), or later.
        longest = max(range(len(ex.phases)), key=lambda k: ex.phases[k].seconds)
        # Reps that say nothing for a while (no words in their phases, no count) still
        # hear a steady word now and then: work is never silent for 20 s.
        steady = []
        if ex.verbosity != "minimal":
            steady = self.candidates([self.say(w) for w in say.STEADY["timed"]])
        quiet_for = to_samples(say.FILL_EVERY)
        for rep in range(1, ex.reps + 1):
            # A word for the set, sparingly, in the first gap of the rep where it fits.
            filler = say.set_word(ex, rep)
            filler = None if filler is None else self.say(filler)
            if filler is None and say.form_slot(ex, rep):
                filler = say.sentence(ex.form[self.next_form(ex) % len(ex.form)])
            if filler:
                self.candidates([filler])
            for alt in sides:
                self.label = {**self.label, "rep": rep, "side": alt}
                for i, phase in enumerate(ex.phases):
                    first = first_unit and rep == 1 and alt == sides[0]
                    side_word = None
                    if ex.side_mode == "alternate" and i == 0 and alt is not None:
                        side_word = say.side_word(self.m, alt)
                    variants = say.rep_cue_variants(
                        self.m,
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
                            if not warned and tenths(need) > tenths(phase.seconds):
                                self.warn(
                                    ex,
                                    f"'{text}' and the pause after it take {shown(need)} s, "
                                    f"longer than its {shown(phase.seconds)} s phase; "
                                    "the phase was made longer",
                                )
                                warned = True
                            dur = self.length(text) + SOUND_GAP
                    if text:
                        self.speak(text, t)
                    elif steady and t + dur - self.busy > quiet_for:
                        word = steady[rep % len(steady)]
                        if self.fits(word, t, t + dur - GAP // 2):
                            self.speak(word, t)
                    if filler and alt == sides[0] and i >= longest:
                        # In the middle of the free time, clear of the cues either side.
                        at, limit = max(self.busy, t) + GAP, t + dur - GAP
                        slack = limit - at - self.length(filler)
                        if slack >= 0:
                            self.speak(filler, at + slack // 2)
                            filler = None
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
        # "Keep breathing" once, in the first rep's hold. No count at the end of a hold
        # that (almost) ends the rep: the next rep's count would follow it ("One."
        # "Two, lift.").
        opening = [self.say(say.HOLD_BREATHING), self.say(say.HOLD)] if first else []
        count_down = sum(p.seconds for p in ex.phases[ex.hold_after + 1 :]) >= say.COUNT_CLEAR
        self.optional_cues(
            ex, onset, release, seconds, opening, side=side, set_no=set_no, count_down=count_down
        )
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
        first = set_no == 1 and (side is None or side == ex.sides[0])
        holding = ex.kind == "hold" and ex.verbosity != "minimal"
        opening: list[str] = []
        if ex.lines.start:
            opening = [say.fill(self.m, ex.lines.start, ex, side=side, set=set_no)]
        elif holding:  # "keep breathing" once: in the first set (or side)
            hold = self.say(say.HOLD)
            opening = [self.say(say.HOLD_BREATHING), hold] if first else [hold]
        self.optional_cues(ex, go, end, seconds, opening, side=side, set_no=set_no)
        self.sound(closer, end)
        if holding:
            self.speak(self.candidates([self.say(say.AND_RELEASE)])[0], self.busy + SOUND_GAP)
        return self.busy

    def optional_cues(
        self,
        ex: Exercise,
        onset: int,
        end: int,
        seconds: float,
        opening: list[str],
        *,
        side: str | None,
        set_no: int,
        count_down: bool = True,
    ) -> None:
        """Words inside a hold or timed work; each is said only if it fits before the next
        (the first of its candidates that fits).

        The routine's own halfway line is said whatever the verbosity (the user wrote it).
        """
        step = self.count_step()
        cues: list[tuple[int, list[str]]] = []
        if opening:
            cues.append((self.busy + SOUND_GAP, opening))
        if seconds >= 20 and (ex.verbosity != "minimal" or ex.lines.halfway):
            halfway = (
                say.fill(self.m, ex.lines.halfway, ex, side=side, set=set_no)
                if ex.lines.halfway
                else self.say(say.HALFWAY)
            )
            cues.append((onset + to_samples(seconds / 2), [halfway]))
        if seconds >= 30 and ex.verbosity != "minimal":
            cues.append((end - 10 * SEC, [self.say(say.TEN_LEFT)]))
        countdown = list(self.countdown_words)
        if seconds >= 4 and count_down:
            cues.append((end - 3 * step, countdown))
        if ex.verbosity != "minimal":  # minimal asks for quiet
            cues = self.with_fillers(ex, onset, end, cues)
        for _, words in cues:
            self.candidates(words)
        for k, (at, words) in enumerate(cues):
            limit = cues[k + 1][0] if k + 1 < len(cues) else end
            if words is countdown:  # all three or none
                if (
                    at >= self.busy
                    and all(self.length(w) <= step for w in words[:2])
                    and (at + 2 * step + self.length(words[2]) <= limit)
                ):
                    for i, w in enumerate(words):
                        self.speak(w, at + i * step)
                continue
            said = next((w for w in words if self.fits(w, at, limit - GAP // 2)), None)
            if said is not None:
                self.speak(said, at)

    def with_fillers(
        self, ex: Exercise, onset: int, end: int, cues: list[tuple[int, list[str]]]
    ) -> list[tuple[int, list[str]]]:
        """``cues`` with a form pointer (or a steady word) wherever they leave more than
        ``FILL_EVERY`` seconds of silence: evenly spaced, so work is never silent for
        20 s. Each is said only if it fits before the next cue, like the others."""
        every = to_samples(say.FILL_EVERY)
        marks = sorted([onset, end, *(at for at, _ in cues)])
        slots: list[int] = []
        for a, b in itertools.pairwise(marks):
            k = -(-(b - a) // every) - 1  # fillers this gap needs
            slots += [a + (b - a) * j // (k + 1) for j in range(1, k + 1)]
        if not slots:
            return cues
        first = self.next_form(ex, len(slots)) if ex.form else 0
        lines = say.work_fillers(self.m, ex, len(slots), first)
        filled = cues + [(at, [line]) for at, line in zip(slots, lines, strict=True)]
        return sorted(filled, key=lambda cue: cue[0])

    def manual(self, ex: Exercise, at: int, set_no: int, side: str | None) -> int:
        """Own pace: say what to do, then wait for the user (the estimate in a file)."""
        units = ex.sets * (len(ex.sides) if ex.side_mode == "each" else 1)
        press = self.say(say.PRESS_SPACE)
        prompt = say.own_pace(self.m, side, ex.reps) + " " + press
        t = self.speak(prompt, max(at, self.busy))
        t = self.wait(press, t, to_samples(ex.estimate / units))
        return self.sound("release", t)
