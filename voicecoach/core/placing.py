"""Placing cues on the timeline against one cursor: the layout's primitives.

``Placer`` holds what the layout has placed so far (events, warnings) and the cursor
``busy``: the end of the last cue placed, before which nothing may start. That cursor
is what guarantees that no phrase overlaps another phrase or a sound. Phrase lengths
come from a plain mapping (see ``compiler``); every choice looks all its candidates up
first, so ``phrases.phrases`` can list them by running the layout.
"""

from __future__ import annotations

from collections.abc import Mapping

from voicecoach.core import coaching as say
from voicecoach.core.ending import Progression
from voicecoach.core.messages import ENGLISH, Messages
from voicecoach.core.model import Exercise, Routine, Verbosity
from voicecoach.core.timeline import Chapter, CompileWarning, Event, EventKind, to_samples

SEC = to_samples(1.0)
GAP = to_samples(0.3)  # between sentences
SOUND_GAP = to_samples(0.1)  # between a sound and the words after it


class Placer:
    def __init__(
        self,
        routine: Routine,
        lengths: Mapping[str, int],
        sound_lengths: Mapping[str, int],
        verbosity: Verbosity | None,
        messages: Messages = ENGLISH,
    ) -> None:
        self.routine = routine
        self.m = messages  # the language every line is said in
        # The count into work, in that language (the layout compares events with it).
        self.countdown_words = tuple(messages.gettext(w) for w in say.COUNTDOWN)
        self._lengths = lengths
        self.sound_len = sound_lengths
        self.verbosity_override = verbosity
        self.events: list[Event] = []
        self.chapters: list[Chapter] = []
        self.warnings: list[CompileWarning] = []
        self._warned: dict[tuple[int, int, str], tuple[int, float]] = {}  # -> (index, need)
        self.busy = 0  # end of the last cue placed: nothing may start before it
        self.form_offered: dict[str, int] = {}  # per exercise: form pointers offered so far
        self.progression: Progression | None = None  # the history's tip, for the closing
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

    def say(self, message: str) -> str:
        """A message (a line with no placeholders) in the session's language."""
        return self.m.gettext(message)

    def countdown(self, go: int, step: int) -> None:
        for i, word in enumerate(self.countdown_words):
            self.speak(word, go - (3 - i) * step)

    def count_step(self) -> int:
        """Spacing of 'three, two, one': a second, or more if a number takes longer to say."""
        return max(SEC, max(self.length(w) for w in self.countdown_words) + to_samples(0.1))


def tenths(seconds: float) -> float:
    """Seconds as warnings print them: compared the same way, so that a warning never
    says "needs 5.0 s ... longer than its 5 s" (a few milliseconds, not worth one)."""
    return round(seconds, 1)


def shown(seconds: float) -> str:
    return f"{tenths(seconds):g}"
