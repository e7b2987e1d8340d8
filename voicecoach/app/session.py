"""Assemble a session: routine -> speech clips + sounds -> exact timeline -> mixer.

This is where the adapters meet the pure compiler. Every phrase the layout may consider
(``phrases.phrases``) is synthesized (or read from the cache) first; the compiler then
lays the session out once from their real lengths.

On a warm cache the listing pass is skipped: the layout runs once, reading each levelled
clip as it looks the phrase up (``CachedLevels``); the first phrase not ready stops it,
and the session is made the two-pass way, synthesizing in one batch. Listing the
phrases was a whole layout with stand-in lengths: 0.05-0.07 s of a warm start on the
bench's 2-hour routine (two cores under load). It looks up the same phrases as the real
layout (every choice looks all its candidates up first), so both ways give the same
clips, lengths and timeline.

Speech is played levelled (``levelling.normalize_speech`` at the voice's volume). The real
speech adapter keeps levelled clips in its cache (``LevelledSynth``), so a warm prepare
only reads files: no loudness measuring, no scipy. Any other synth (a test's fake) is
levelled here, in process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from voicecoach.app.ports import CachedLevels, LevelledSynth, Progress, Synth
from voicecoach.audio.levelling import speech_target
from voicecoach.audio.mix import Mixer, Music
from voicecoach.core.compiler import Draft, compile_routine
from voicecoach.core.ending import Progression
from voicecoach.core.messages import ENGLISH, Messages
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


class _NotReady(Exception):
    """A phrase's levelled clip is not ready: the one-pass layout gives up."""


class _ReadyLengths(Mapping[str, int]):
    """Phrase -> length of its levelled clip, read when the layout first looks it up;
    raises ``_NotReady`` (no KeyError: the layout must not take it for a missing key)
    for a clip that would have to be made."""

    def __init__(self, levels: CachedLevels) -> None:
        self._levels = levels
        self.clips: dict[str, Samples] = {}

    def __getitem__(self, text: str) -> int:
        clip = self.clips.get(text)
        if clip is None:
            clip = self._levels.cached_levelled(text)
            if clip is None:
                raise _NotReady(text)
            self.clips[text] = clip
        return len(clip)

    def __iter__(self) -> Iterator[str]:
        return iter(self.clips)

    def __len__(self) -> int:
        return len(self.clips)


@dataclass(frozen=True)
class Session:
    routine: Routine
    timeline: Timeline
    mixer: Mixer
    synth: Synth
    levels: LevelledSynth
    messages: Messages = ENGLISH  # the language it is said in (its words for the keys)

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
    messages: Messages | None = None,
) -> Session:
    """Synthesize what the routine says and lay it out exactly.

    ``messages``: the coach's words (None: the catalogue of the routine's ``language``).

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
    if messages is None:
        from voicecoach.routine.catalogues import messages as catalogue

        messages = catalogue(routine.language)
    words = messages

    def layout(lengths: Mapping[str, int]) -> Draft:
        return compile_routine(
            routine,
            lengths,
            sound_lengths,
            verbosity=verbosity,
            include_safety=include_safety,
            progression=progression,
            messages=words,
        )

    draft: Draft | None = None
    if isinstance(levels, CachedLevels):
        ready = _ReadyLengths(levels)
        with contextlib.suppress(_NotReady):  # a cold clip: list, then make them in a batch
            draft = layout(ready)
        made = ready.clips
    if draft is None:
        texts = phrases(routine, verbosity=verbosity, include_safety=include_safety, messages=words)
        made = levels.levelled(texts, progress)
        draft = layout({text: len(made[text]) for text in texts})
    # The closing line says how long the session took: known only now.
    closing = levels.levelled([draft.closing])
    timeline = draft.finish(len(closing[draft.closing]))
    used = {e.text for e in timeline.events if e.kind == "speech"} - closing.keys()
    # The mixer holds only the clips it plays.
    mixer = Mixer(timeline, {**{text: made[text] for text in used}, **closing}, sounds)
    return Session(routine, timeline, mixer, speech, levels, words)


def with_music(session: Session, music: Music) -> Session:
    """The session with a music bed under it, ducked under its every cue."""
    return replace(session, mixer=session.mixer.with_music(music))
