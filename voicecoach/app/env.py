"""The environment the use cases run in, injected: factories for the outside world.

The command line (the composition root, ``voicecoach.cli.env``) builds the real one,
whose factories import their adapter only when called, so ``voicecoach --help`` loads
none of them; tests hand in fakes (fake speech and sounds, a recording output, a fixed
clock, a history in a temporary folder) instead of replacing modules' attributes.

Worker processes (``batch``) get the environment pickled: the real factories are
module-level functions, which pickle by name.

Also here: ``VoiceOptions`` (the command line's voice and verbosity overrides) and
``prepare_ref``, how every command turns a routine reference into a session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach.app.ports import (
    AudioFiles,
    CueAnalyses,
    HistoryRecorder,
    KeySource,
    MusicSource,
    Progress,
    StatusSink,
    StreamingOut,
    Synth,
)
from voicecoach.core.ending import Progression
from voicecoach.core.model import Routine, Verbosity, Voice
from voicecoach.core.records import LastRun, SessionRecord

if TYPE_CHECKING:
    from voicecoach.app.session import Making, Session
    from voicecoach.audio.mix import Music, Samples


@dataclass(frozen=True, slots=True)
class Env:
    """Factories for the adapters; each is called when a command needs it."""

    speech: Callable[[Voice], Synth]  # the speech engine for a voice
    sounds: Callable[[tuple[tuple[str, str], ...]], Mapping[str, Samples]]  # cue sounds,
    # with a routine's own (cue name, file) overrides
    output: Callable[[], StreamingOut]  # the sound device
    quick_level: Callable[[Samples], Samples]  # a notice's level, before loudness loads
    keys: Callable[[], AbstractContextManager[KeySource | None]]  # None: no terminal
    status: Callable[[], StatusSink | None]  # the status line; None: no terminal
    recorder: Callable[[], HistoryRecorder]  # saves a live run to the history
    sessions: Callable[[], Sequence[SessionRecord]]  # the history, with details
    load_last_run: Callable[[str | None], LastRun | None]  # ``--resume``'s record of a
    # routine file (its resolved path), or None: the latest unfinished one
    save_last_run: Callable[[LastRun], bool]  # False: it could not be saved
    now: Callable[[], datetime]  # timezone-aware
    files: Callable[[], AudioFiles]  # encoders and atomic output files (render)
    # The music bed from a file or folder at a sample rate, shuffled or not (None: this
    # environment plays no music).
    music: Callable[[Path, int, bool], MusicSource] | None = None
    # A bar counting the clips a cold session makes, labelled (None from it: not shown,
    # e.g. not a terminal; None here: never).
    progress_bar: Callable[[str], AbstractContextManager[Progress | None]] | None = None
    # Where a session with music keeps its cues' analyses between runs (None: nowhere).
    cue_analyses: Callable[[], CueAnalyses] | None = None

    def bar(self, label: str) -> AbstractContextManager[Progress | None]:
        """``progress_bar(label)``, or nothing shown."""
        from contextlib import nullcontext

        return nullcontext() if self.progress_bar is None else self.progress_bar(label)


@dataclass(frozen=True, slots=True)
class VoiceOptions:
    """The options that change what is heard (None: the routine's own)."""

    verbosity: Verbosity | None = None
    voice: str | None = None
    rate: int | None = None
    volume: float | None = None
    engine: str | None = None
    music: str | None = None  # a file or folder (None: the routine's music, if any)
    music_level: float | None = None  # LU under the speech (None: the routine's, else 12)
    shuffle: bool = False
    language: str | None = None  # BCP 47 (None: the routine's)

    def apply(self, routine: Routine) -> Voice:
        """The routine's voice settings with these overrides. Another engine than the
        routine's drops the routine's voice (an eSpeak id names no Piper voice), and so
        does another language (the routine's voice was chosen for its own language).

        Raises UsageError if no catalogue speaks ``language``."""
        v = routine.voice
        language = self.checked_language()
        if language is not None and language != v.language:
            v = replace(v, voice=None, language=language)
            if v.engine == "espeak":
                v = replace(v, voice=language)  # eSpeak maps a language to its voice
        engine = self.engine if self.engine is not None else v.engine
        kept = v.voice if engine == v.engine else None
        if engine == "espeak" and v.engine != "espeak":
            kept = v.language  # eSpeak maps a language to a voice, as the routine reader
        return replace(
            v,
            voice=self.voice if self.voice is not None else kept,
            rate=self.rate if self.rate is not None else v.rate,
            volume=self.volume if self.volume is not None else v.volume,
            engine=engine,
        )

    def checked_language(self) -> str | None:
        """``language`` as stored ("en-gb"), if a catalogue speaks it; None: not given."""
        if self.language is None:
            return None
        from voicecoach.errors import UsageError
        from voicecoach.routine import languages

        try:
            languages.catalogue_for(self.language)
        except languages.UnknownLanguage as err:
            raise UsageError(f"--language: {err}") from None
        return languages.normal(self.language)


def prepare_ref(
    env: Env,
    ref: str,
    options: VoiceOptions | None = None,
    *,
    include_safety: bool = True,
    progress: Progress | None = None,
) -> Session:
    """Load a routine (path or bundled name) and prepare its session in ``env``."""
    from voicecoach.routine import loader

    return prepare_loaded(
        env, loader.load(ref), options, include_safety=include_safety, progress=progress
    )


def prepare_loaded(
    env: Env,
    routine: Routine,
    options: VoiceOptions | None = None,
    *,
    include_safety: bool = True,
    speech: Synth | None = None,
    progress: Progress | None = None,
    progression: Progression | None = None,
) -> Session:
    """Prepare a loaded routine's session with ``env``'s speech (or ``speech``, made for
    the same voice) and sounds; ``progression``: the history's tip (the live run)."""
    from voicecoach.app import session

    routine, voice, options, music = _settled(env, routine, options)
    return session.prepare(
        routine,
        voice=voice,
        verbosity=options.verbosity,
        include_safety=include_safety,
        speech=speech if speech is not None else env.speech(voice),
        sounds=env.sounds(routine.sounds),
        progress=progress,
        progression=progression,
        music=music,
    )


def prepare_live(
    env: Env,
    routine: Routine,
    options: VoiceOptions | None = None,
    *,
    include_safety: bool = True,
    speech: Synth | None = None,
    progress: Progress | None = None,
    progression: Progression | None = None,
) -> Session | Making:
    """``prepare_loaded`` for the live run: a cold session comes as a ``session.Making``,
    whose start can play while the rest is made (``progress`` is called from its thread)."""
    from voicecoach.app import session

    routine, voice, options, music = _settled(env, routine, options)
    return session.prepare_live(
        routine,
        voice=voice,
        verbosity=options.verbosity,
        include_safety=include_safety,
        speech=speech if speech is not None else env.speech(voice),
        sounds=env.sounds(routine.sounds),
        progress=progress,
        progression=progression,
        music=music,
    )


def _settled(
    env: Env, routine: Routine, options: VoiceOptions | None
) -> tuple[Routine, Voice, VoiceOptions, Music | None]:
    """The routine in the options' language, its voice with the options' overrides, the
    options, and the music bed opened (a bad file fails before any speech is made)."""
    options = options or VoiceOptions()
    voice = options.apply(routine)
    if options.language is not None:
        routine = replace(routine, language=options.checked_language())
    return routine, voice, options, _music(env, routine, options)


def _music(env: Env, routine: Routine, options: VoiceOptions) -> Music | None:
    """The music bed the options (or the routine) ask for, opened; None: no music."""
    from voicecoach.audio.mix import Music
    from voicecoach.core.model import MUSIC_LEVEL
    from voicecoach.core.timeline import SAMPLE_RATE
    from voicecoach.errors import UsageError

    chosen = routine.music  # its path is absolute: the loader resolved it
    path = options.music if options.music is not None else chosen.path if chosen else None
    if path is None:
        return None
    if env.music is None:
        raise UsageError("music cannot be played here")
    level = options.music_level
    if level is None:
        level = chosen.level if chosen is not None and chosen.level is not None else MUSIC_LEVEL
    kept = env.cue_analyses() if env.cue_analyses is not None else None
    return Music(env.music(Path(path), SAMPLE_RATE, options.shuffle), level, kept)
