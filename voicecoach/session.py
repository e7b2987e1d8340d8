"""Assemble a session: routine -> speech clips + sounds -> exact timeline -> mixer.

This is where the adapters meet the pure compiler. Every phrase is synthesized (or read
from the cache) before the final layout, so each cue's real length is known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from voicecoach.compiler import compile_routine
from voicecoach.mix import Mixer
from voicecoach.model import Routine, Verbosity, Voice
from voicecoach.timeline import SAMPLE_RATE, Timeline

if TYPE_CHECKING:
    from voicecoach.mix import Samples

Progress = Callable[[int, int], None]


class Synth(Protocol):
    """What the session needs of a speech engine (voicecoach.speech.Speech, or a fake)."""

    def clip(self, text: str) -> Samples: ...

    def clips(
        self, texts: Iterable[str], progress: Progress | None = None
    ) -> dict[str, Samples]: ...


def _estimate(text: str) -> int:
    # A rough length, only used to discover which phrases the layout may ask for.
    return int((0.3 + 0.065 * len(text)) * SAMPLE_RATE)


@dataclass(frozen=True)
class Session:
    routine: Routine
    timeline: Timeline
    mixer: Mixer
    synth: Synth
    _said: dict[str, Samples] = field(default_factory=dict, repr=False, compare=False)

    def say(self, text: str) -> Samples:
        """An extra phrase (e.g. "Paused.") in the session's voice and level."""
        if text not in self._said:
            self._said[text] = _level(self.synth.clip(text))
        return self._said[text]


def _level(clip: Samples) -> Samples:
    from voicecoach.loudness import normalize_speech

    return normalize_speech(clip)


def prepare(
    routine: Routine,
    *,
    voice: Voice | None = None,
    verbosity: Verbosity | None = None,
    include_safety: bool = True,
    speech: Synth | None = None,
    sounds: Mapping[str, Samples] | None = None,
    progress: Progress | None = None,
) -> Session:
    """Synthesize what the routine says and lay it out exactly."""
    if speech is None:
        from voicecoach.speech import Speech

        speech = Speech(voice or routine.voice)
    if sounds is None:
        from voicecoach.sounds import load_sounds

        sounds = load_sounds(routine.sounds)
    sound_lengths = {name: len(s) for name, s in sounds.items()}

    # Pass 1 finds every phrase the layout may consider (cue variants included), so
    # they can be synthesized in one batch with progress; pass 2 uses the real lengths.
    wanted: dict[str, None] = {}

    def record(text: str) -> int:
        wanted[text] = None
        return _estimate(text)

    compile_routine(
        routine, record, sound_lengths, verbosity=verbosity, include_safety=include_safety
    )
    clips = {t: _level(c) for t, c in speech.clips(list(wanted), progress).items()}

    def length(text: str) -> int:
        if text not in clips:  # a variant pass 1 did not reach
            clips[text] = _level(speech.clip(text))
        return len(clips[text])

    timeline = compile_routine(
        routine, length, sound_lengths, verbosity=verbosity, include_safety=include_safety
    )
    used = {e.text for e in timeline.events if e.kind == "speech"}
    mixer = Mixer(timeline, {t: c for t, c in clips.items() if t in used}, sounds)
    return Session(routine, timeline, mixer, speech)
