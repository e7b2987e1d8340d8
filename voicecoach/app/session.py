"""Assemble a session: routine -> speech clips + sounds -> exact timeline -> mixer.

This is where the adapters meet the pure compiler. Every phrase the layout may consider
(``phrases.phrases``) is synthesized (or read from the cache) first; the compiler then
lays the session out once from their real lengths.

Speech is played levelled (``levelling.normalize_speech`` at the voice's volume). The real
speech adapter keeps levelled clips in its cache (``LevelledSynth``), so a warm prepare
only reads files: no loudness measuring, no scipy. Any other synth (a test's fake) is
levelled here, in process.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from voicecoach.app.ports import LevelledSynth, Progress, Synth
from voicecoach.audio.levelling import speech_target
from voicecoach.audio.mix import Mixer, Music
from voicecoach.core.compiler import compile_routine
from voicecoach.core.ending import Progression
from voicecoach.core.model import Routine, Verbosity, Voice
from voicecoach.core.phrases import phrases
from voicecoach.core.timeline import Timeline

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
    speech: Synth,
    sounds: Mapping[str, Samples],
    progress: Progress | None = None,
    progression: Progression | None = None,
) -> Session:
    """Synthesize what the routine says and lay it out exactly.

    ``progression``: the history's suggestion for next time (the live run), said in
    the closing line; None (render, audition) leaves it out.

    ``progress(done, total)`` counts the clips that must be made (synthesized or
    levelled) before the layout: all but the closing line, made after it (see
    ``compiler.Draft``); it is not called when every levelled clip is cached.
    """
    levels: LevelledSynth
    if isinstance(speech, LevelledSynth):
        levels = speech
    else:
        levels = InProcessLevels(speech, speech_target((voice or routine.voice).volume))
    sound_lengths = {name: len(s) for name, s in sounds.items()}

    texts = phrases(routine, verbosity=verbosity, include_safety=include_safety)
    made = levels.levelled(texts, progress)
    lengths = {text: len(made[text]) for text in texts}
    draft = compile_routine(
        routine,
        lengths,
        sound_lengths,
        verbosity=verbosity,
        include_safety=include_safety,
        progression=progression,
    )
    # The closing line says how long the session took: known only now.
    closing = levels.levelled([draft.closing])
    timeline = draft.finish(len(closing[draft.closing]))
    used = {e.text for e in timeline.events if e.kind == "speech"} - closing.keys()
    # The mixer holds only the clips it plays.
    mixer = Mixer(timeline, {**{text: made[text] for text in used}, **closing}, sounds)
    return Session(routine, timeline, mixer, speech, levels)


def with_music(session: Session, music: Music) -> Session:
    """The session with a music bed under it, ducked under its every cue."""
    return replace(session, mixer=session.mixer.with_music(music))
