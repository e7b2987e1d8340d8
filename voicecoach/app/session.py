"""Assemble a session: routine -> speech clips + sounds -> exact timeline -> mixer.

This is where the adapters meet the pure compiler. Every phrase is synthesized (or read
from the cache) before the final layout, so each cue's real length is known.

Speech is played levelled (``levelling.normalize_speech`` at the voice's volume). The real
speech adapter keeps levelled clips in its cache (``LevelledSynth``), so a warm prepare
only reads files: no loudness measuring, no scipy. On a cold cache it levels in the
background (``LevelsLater``): levelling keeps a clip's length, so the session is laid
out from the raw clips and the mixer waits for a levelled clip only when it first
plays it. Any other synth (a test's fake) is levelled here, in process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from voicecoach.adapters.speech import LevelledClips
from voicecoach.app.ports import LevelledSynth, LevelsLater, Progress, Synth
from voicecoach.audio.levelling import speech_target
from voicecoach.audio.mix import Mixer
from voicecoach.core.compiler import compile_routine
from voicecoach.core.model import Routine, Verbosity, Voice
from voicecoach.core.timeline import SAMPLE_RATE, Timeline

if TYPE_CHECKING:
    from voicecoach.audio.mix import Samples


class InProcessLevels:
    """Levels a plain synth's clips in this process (each phrase once), for synths
    without a levelled cache."""

    def __init__(self, synth: Synth, target: float) -> None:
        self._synth = synth
        self._target = target
        self._done: dict[str, Samples] = {}

    def levelled(
        self, texts: Iterable[str], progress: Progress | None = None
    ) -> dict[str, Samples]:
        from voicecoach.audio.levelling import normalize_speech

        wanted = list(dict.fromkeys(texts))
        todo = [t for t in wanted if t not in self._done]
        if todo:
            for text, clip in self._synth.clips(todo, progress).items():
                self._done[text] = normalize_speech(clip, target=self._target)
        return {t: self._done[t] for t in wanted}


def _estimate(text: str) -> int:
    # A rough length, only used to discover which phrases the layout may ask for.
    return int((0.3 + 0.065 * len(text)) * SAMPLE_RATE)


@dataclass(frozen=True)
class Session:
    routine: Routine
    timeline: Timeline
    mixer: Mixer
    synth: Synth
    levels: LevelledSynth

    def say(self, text: str) -> Samples:
        """An extra phrase (e.g. "Paused.") in the session's voice and level: from the
        same levelled clips as the timeline's (cached on disk with the real engine)."""
        return self.levels.levelled([text])[text]


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
    """Synthesize what the routine says and lay it out exactly.

    ``progress(done, total)`` counts the clips that must be made (synthesized or
    levelled); it is not called when every levelled clip is cached.
    """
    if speech is None:
        from voicecoach.adapters.speech import Speech

        speech = Speech(voice or routine.voice)
    levels: LevelledSynth
    if isinstance(speech, LevelledSynth):
        levels = speech
    else:
        levels = InProcessLevels(speech, speech_target((voice or routine.voice).volume))
    if sounds is None:
        from voicecoach.adapters.sounds import load_sounds

        sounds = load_sounds(routine.sounds)
    sound_lengths = {name: len(s) for name, s in sounds.items()}

    # Pass 1 finds every phrase the layout may consider (cue variants included), so
    # they can be made in one batch with progress; pass 2 uses the real lengths.
    wanted: dict[str, None] = {}

    def record(text: str) -> int:
        wanted[text] = None
        return _estimate(text)

    compile_routine(
        routine, record, sound_lengths, verbosity=verbosity, include_safety=include_safety
    )
    batch: Mapping[str, Samples]
    lengths: Callable[[str], int]
    if isinstance(levels, LevelsLater):
        # The real speech adapter: levelling goes on while the session is laid out and
        # written; a clip is waited for only when it is first mixed.
        later = levels.levelled_later(list(wanted), progress)
        batch, lengths = later, later.length
    else:
        batch = levels.levelled(list(wanted), progress)
        lengths = lambda text: len(batch[text])  # noqa: E731
    extra: dict[str, Samples] = {}  # variants pass 1 did not reach

    def length(text: str) -> int:
        if text in batch:
            return lengths(text)
        if text not in extra:
            extra.update(levels.levelled([text]))
        return len(extra[text])

    timeline = compile_routine(
        routine, length, sound_lengths, verbosity=verbosity, include_safety=include_safety
    )
    used = {e.text for e in timeline.events if e.kind == "speech"}
    clips: Mapping[str, Samples]
    if isinstance(batch, LevelledClips) and not extra.keys() & used:
        clips = batch.only(used)  # still levelling in the background, maybe
    else:
        clips = {t: extra[t] if t in extra else batch[t] for t in used}
    mixer = Mixer(timeline, clips, sounds)
    return Session(routine, timeline, mixer, speech, levels)
