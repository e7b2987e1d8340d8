"""The work of one set: reps at a tempo, holds, timed work and manual steps.

Part of the layout (``compiler``): ``WorkLayout`` places what is said while the user
works, on the ``Placer``'s cursor, so nothing overlaps.
"""

from __future__ import annotations

from voicecoach.core import coaching as say
from voicecoach.core.model import Exercise
from voicecoach.core.placing import GAP, SEC, SOUND_GAP, Placer, shown, tenths
from voicecoach.core.timeline import to_samples


class WorkLayout(Placer):
    def work(self, ex: Exercise, go: int, set_no: int, side: str | None) -> int:
        if ex.manual:
            return self.manual(ex, go, set_no, side)
        if ex.kind in ("timed", "hold"):  # the start (or hold) sound on the go
            return self.timed(ex, go, side, set_no)
        # Reps: the count ends in "go", so the first rep's "One" never follows "One."
        t = self.sound("start", self.speak(say.GO, go))
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
        # that ends the rep: the next rep's count would follow it ("One." "Two, lift.").
        opening = [say.HOLD_BREATHING, say.HOLD] if first else []
        count_down = ex.hold_after + 1 < len(ex.phases)
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
            opening = [say.fill(ex.lines.start, ex, side=side, set=set_no)]
        elif holding:  # "keep breathing" once: in the first set (or side)
            opening = [say.HOLD_BREATHING, say.HOLD] if first else [say.HOLD]
        self.optional_cues(ex, go, end, seconds, opening, side=side, set_no=set_no)
        self.sound(closer, end)
        if holding:
            self.speak(self.candidates([say.AND_RELEASE])[0], self.busy + SOUND_GAP)
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
                say.fill(ex.lines.halfway, ex, side=side, set=set_no)
                if ex.lines.halfway
                else say.HALFWAY
            )
            cues.append((onset + to_samples(seconds / 2), [halfway]))
        if seconds >= 30 and ex.verbosity != "minimal":
            cues.append((end - 10 * SEC, [say.TEN_LEFT]))
        if seconds >= 4 and count_down:
            cues.append((end - 3 * step, list(say.COUNTDOWN)))
        for _, words in cues:
            self.candidates(words)
        for k, (at, words) in enumerate(cues):
            limit = cues[k + 1][0] if k + 1 < len(cues) else end
            if words == list(say.COUNTDOWN):  # all three or none
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
