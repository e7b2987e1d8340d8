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

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from voicecoach.app.ports import CachedLevels, LevelledSynth, Progress, Synth
from voicecoach.audio.levelling import speech_target
from voicecoach.audio.mix import Mixer, Music
from voicecoach.core.compiler import Draft, NotMade, Prefix, compile_prefix
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


class _ReadyLengths(Mapping[str, int]):
    """Phrase -> length of its levelled clip, read when the layout first looks it up;
    raises ``NotMade`` (no KeyError: the layout must not take it for a missing key)
    for a clip that would have to be made."""

    def __init__(self, levels: CachedLevels) -> None:
        self._levels = levels
        self.clips: dict[str, Samples] = {}

    def __getitem__(self, text: str) -> int:
        clip = self.clips.get(text)
        if clip is None:
            clip = self._levels.cached_levelled(text)
            if clip is None:
                raise NotMade(text)
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


@dataclass(frozen=True)
class _Plan:
    """What a session is made of, before its clips: the routine, how it is said, and the
    layout of it from phrase lengths."""

    routine: Routine
    speech: Synth
    levels: LevelledSynth
    sounds: Mapping[str, Samples]
    verbosity: Verbosity | None
    include_safety: bool
    progression: Progression | None
    messages: Messages

    def layout(self, lengths: Mapping[str, int]) -> Draft | Prefix:
        sound_lengths = {name: len(s) for name, s in self.sounds.items()}
        return compile_prefix(
            self.routine,
            lengths,
            sound_lengths,
            verbosity=self.verbosity,
            include_safety=self.include_safety,
            progression=self.progression,
            messages=self.messages,
        )

    def texts(self) -> tuple[str, ...]:
        """Every phrase the layout may look up, in the order it first does."""
        return phrases(
            self.routine,
            verbosity=self.verbosity,
            include_safety=self.include_safety,
            messages=self.messages,
        )

    def warm(self) -> tuple[Draft, Mapping[str, Samples]] | None:
        """The one-pass layout of a warm session, reading each levelled clip as it is
        looked up; None if a clip would have to be made (or the synth keeps none)."""
        if not isinstance(self.levels, CachedLevels):
            return None
        ready = _ReadyLengths(self.levels)
        draft = self.layout(ready)
        return (draft, ready.clips) if isinstance(draft, Draft) else None

    def whole(self, made: Mapping[str, Samples]) -> Draft:
        """The layout from the clips of every phrase ``texts`` lists: the one truth,
        whatever played before."""
        draft = self.layout({text: len(clip) for text, clip in made.items()})
        assert isinstance(draft, Draft), "every phrase was made"
        return draft

    def finish(self, draft: Draft, made: Mapping[str, Samples]) -> Session:
        # The closing line says how long the session took: known only now.
        closing = self.levels.levelled([draft.closing])
        timeline = draft.finish(len(closing[draft.closing]))
        used = {e.text for e in timeline.events if e.kind == "speech"} - closing.keys()
        # The mixer holds only the clips it plays.
        clips = {**{text: made[text] for text in used}, **closing}
        mixer = Mixer(timeline, clips, self.sounds)
        return Session(self.routine, timeline, mixer, self.speech, self.levels, self.messages)


def _plan(
    routine: Routine,
    voice: Voice | None,
    verbosity: Verbosity | None,
    include_safety: bool,
    speech: Synth,
    sounds: Mapping[str, Samples],
    progression: Progression | None,
    messages: Messages | None,
) -> _Plan:
    levels: LevelledSynth
    if isinstance(speech, LevelledSynth):
        levels = speech
    else:
        levels = InProcessLevels(speech, speech_target((voice or routine.voice).volume))
    if messages is None:
        from voicecoach.routine.catalogues import messages as catalogue

        messages = catalogue(routine.language)
    return _Plan(routine, speech, levels, sounds, verbosity, include_safety, progression, messages)


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
    music: Music | None = None,
    messages: Messages | None = None,
) -> Session:
    """Synthesize what the routine says and lay it out exactly (with ``music``: its bed
    mixed under it, see ``with_music``).

    ``messages``: the coach's words (None: the catalogue of the routine's ``language``).

    ``progression``: the history's suggestion for next time (the live run), said in
    the closing line; None (render, audition) leaves it out.

    ``progress(done, total)`` counts the clips that must be made (synthesized or
    levelled) before the layout: all but the closing line, made after it (see
    ``compiler.Draft``); it is not called when every levelled clip is cached.
    """
    plan = _plan(routine, voice, verbosity, include_safety, speech, sounds, progression, messages)
    return _finished(plan, plan.warm(), progress, music)


def prepare_live(
    routine: Routine,
    *,
    voice: Voice | None = None,
    verbosity: Verbosity | None = None,
    include_safety: bool = True,
    speech: Synth,
    sounds: Mapping[str, Samples],
    progress: Progress | None = None,
    progression: Progression | None = None,
    music: Music | None = None,
    messages: Messages | None = None,
) -> Session | Making:
    """``prepare`` for the live run: a warm session at once; a cold one as a ``Making``,
    its clips made on a thread while its start plays (``Making.made`` counts them).
    Prepared the whole way first, counted by ``progress`` as ``prepare`` does: with a
    synth that keeps no levelled cache (a test's fake), and with music, whose make-up
    gain is solved over the whole session (``mix.Mixer``), so no start of it is final
    before every clip is made."""
    plan = _plan(routine, voice, verbosity, include_safety, speech, sounds, progression, messages)
    warm = plan.warm()
    if warm is None and isinstance(plan.levels, CachedLevels) and music is None:
        return Making(plan, plan.levels)
    return _finished(plan, warm, progress, music)


def _finished(
    plan: _Plan,
    warm: tuple[Draft, Mapping[str, Samples]] | None,
    progress: Progress | None,
    music: Music | None,
) -> Session:
    """The session of ``plan``: from ``warm`` (``plan.warm()``), else with its cold clips
    made first, in a batch counted by ``progress``; ``music`` mixed under it."""
    if warm is None:
        made = plan.levels.levelled(plan.texts(), progress)
        warm = (plan.whole(made), made)
    prepared = plan.finish(*warm)
    return prepared if music is None else with_music(prepared, music)


GUESS_SECONDS = (0.3, 0.065)  # a phrase not made yet: 0.3 s and 65 ms a character


class _Guessed(Mapping[str, int]):
    """Phrase -> the length of its clip if made (``_ReadyLengths``), else a guess: a
    layout from it is the whole one before the horizon (the guesses are read only
    after it) and a likely one after, for the screen's time left."""

    def __init__(self, ready: _ReadyLengths) -> None:
        self._ready = ready
        self._past = False  # a phrase was not made: what follows is guessed anyway

    def __getitem__(self, text: str) -> int:
        clip = self._ready.clips.get(text)
        if clip is not None:
            return len(clip)
        if not self._past:  # the cache is looked at only up to the horizon (no I/O after)
            try:
                return self._ready[text]
            except NotMade:
                self._past = True
        return guess(text)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ready)

    def __len__(self) -> int:
        return len(self._ready)


def guess(text: str) -> int:
    """A guessed clip length for ``text`` (samples), before it is made."""
    from voicecoach.core.timeline import to_samples

    base, per_char = GUESS_SECONDS
    return to_samples(base + per_char * len(text))


class _Stopped(Exception):
    """The live run gave up on a session being made (Ctrl-C, an error)."""


class Making:
    """A cold session being made: its phrases are synthesized on a thread, in the order
    the layout first looks them up (the timeline's order), while what is laid out so far
    plays (``ready``).

    What plays early is exact. ``ready`` lays the session out from the clips made so far
    (``compiler.compile_prefix``): the samples before its horizon are final, those the
    whole session has there (``compiler.Prefix`` says why). The whole layout, made once
    every clip is (``session``), stays the one truth: the live run goes on with it, and
    the samples it fed early are the whole session's own.
    """

    def __init__(
        self,
        plan: _Plan,
        levels: CachedLevels,
    ) -> None:
        import threading

        self._plan = plan
        self._ready = _ReadyLengths(levels)  # read on the caller's thread only
        self._texts = plan.texts()
        self._made: Mapping[str, Samples] | None = None
        self._error: BaseException | None = None
        self._stop = False
        self._count = 0  # clips made so far, of ``_total`` to make
        self._total = 0
        self._seen = -1  # the count ``ready`` last laid out from
        self._prefix: tuple[Mixer, int] | None = None
        self._known: tuple[int, Session] | None = None  # (count, ``known`` from it)
        self._done = threading.Event()
        self._more = threading.Event()  # set as each clip is made
        self._thread = threading.Thread(target=self._make, name="voicecoach-speech", daemon=True)
        self._thread.start()

    def _make(self) -> None:
        def made(done: int, total: int) -> None:
            if self._stop:
                raise _Stopped
            self._count, self._total = done, total
            self._more.set()

        try:
            self._made = self._plan.levels.levelled(self._texts, made)
        except BaseException as err:  # given to the caller by ``session``
            self._error = err
        finally:
            self._done.set()
            self._more.set()

    @property
    def routine(self) -> Routine:
        return self._plan.routine

    def made(self) -> tuple[int, int]:
        """(clips made, clips to make) so far."""
        return self._count, self._total

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every clip; True when they are made."""
        return self._done.wait(timeout)

    def ready(self) -> tuple[Mixer, int]:
        """A mixer of the session laid out so far, and the timeline position before
        which its samples are final (0: nothing yet)."""
        count = self._count
        if self._prefix is None or count != self._seen:
            self._seen = count
            laid = self._plan.layout(self._ready)
            if isinstance(laid, Draft):  # all but the closing line, made last
                events, horizon = laid.events, laid.closing_at
            else:
                events, horizon = laid.events, laid.horizon
            timeline = Timeline(self._plan.routine.title, events, ())
            self._prefix = (Mixer(timeline, self._ready.clips, self._plan.sounds), horizon)
        return self._prefix

    def wait_more(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for another clip (or the end); True if one came."""
        came = self._more.wait(timeout)
        self._more.clear()
        return came

    def known(self) -> tuple[Session, int]:
        """The session as far as it is known, and its horizon (``ready``). Its timeline
        is laid out with a guess for each phrase not made yet (``guess``): before the
        horizon it is the whole session's own, every cue, chapter, set and wait; after
        it, the routine's whole shape (its exercises, their names and sets) at guessed
        times. Its mixer plays what is made, up to the horizon."""
        mixer, horizon = self.ready()
        count = self._seen
        if self._known is None or self._known[0] != count:
            plan = self._plan
            draft = plan.layout(_Guessed(self._ready))
            assert isinstance(draft, Draft), "a guessed layout never stops"
            timeline = draft.finish(guess(draft.closing))
            found = Session(plan.routine, timeline, mixer, plan.speech, plan.levels, plan.messages)
            self._known = (count, found)
        return self._known[1], horizon

    def session(self) -> Session:
        """The whole session, once every clip is made (waits for them); raises what
        making them raised."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._made is not None
        return self._plan.finish(self._plan.whole(self._made), self._made)

    def stop(self) -> None:
        """Give up: the thread stops after the clip it is making (each made clip is
        kept in the cache)."""
        self._stop = True
        self._done.wait(_STOP_WAIT)


_STOP_WAIT = 10.0  # seconds: at most this long for the clip being made when a run stops


def with_music(session: Session, music: Music) -> Session:
    """The session with a music bed under it, ducked under its every cue."""
    return replace(session, mixer=session.mixer.with_music(music))
