"""The real environment (``app.env.Env``): the composition root's factories.

Each factory imports its adapter when it is called, never before, so ``voicecoach
--help`` loads none of them; each looks its adapter up by module attribute at that
moment. They are module-level functions, so the environment pickles by name into the
worker processes of a many-routine render.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from voicecoach.app.env import Env
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
    from voicecoach.audio.mix import Samples
    from voicecoach.core.model import Voice
    from voicecoach.core.records import LastRun, SessionRecord


def speech(voice: Voice) -> Synth:
    from voicecoach.adapters import clipcache, speech

    made = speech.Speech(voice, warn=_warn)
    clipcache.prune_at_exit(made.cache.folder)  # the clips kept under their limit
    return made


def _warn(message: str) -> None:
    import click

    click.echo(f"warning: {message}", err=True)


def sounds(overrides: tuple[tuple[str, str], ...]) -> Mapping[str, Samples]:
    from voicecoach.adapters import sounds

    return sounds.load_sounds(overrides)


def output() -> StreamingOut:
    from voicecoach.adapters import stream_out

    return stream_out.StreamOut()


def quick_level(clip: Samples) -> Samples:
    from voicecoach.adapters import audio_out

    return audio_out.quick_level(clip)


def keys() -> AbstractContextManager[KeySource | None]:
    from voicecoach.adapters import keys

    return keys.open_keys()


def status() -> StatusSink | None:
    """The screen on stdout, if it is a terminal (nothing otherwise)."""
    if not sys.stdout.isatty():
        return None
    from voicecoach.adapters import terminal

    return terminal.TerminalStatus(sys.stdout)


def recorder() -> HistoryRecorder:
    from voicecoach.adapters.recorder import BackgroundRecorder

    return BackgroundRecorder()


def sessions() -> Sequence[SessionRecord]:
    from voicecoach.adapters import store

    return store.load_sessions(details=True)


def load_last_run(routine: str | None) -> LastRun | None:
    from voicecoach.adapters import last_run

    return last_run.load(routine)


def save_last_run(run: LastRun) -> bool:
    from voicecoach.adapters import last_run

    return last_run.save(run)


def now() -> datetime:
    return datetime.now(UTC)


def files() -> AudioFiles:
    from voicecoach.adapters.files import AudioFiles

    return AudioFiles()


def progress_bar(label: str) -> AbstractContextManager[Progress | None]:
    from voicecoach.adapters.progress import synthesis_bar

    return synthesis_bar(label)


def music(path: Path, rate: int, shuffle: bool) -> MusicSource:
    from voicecoach.adapters.clipcache import default_cache_dir
    from voicecoach.adapters.music import open_music

    # The sound device warming up on a thread may hold fd 2 (stream_out.settle): the
    # music's warnings must not go into that capture, nor its own quieting of fd 2
    # (libmpg123's notes on a file that is not MP3) interleave with it.
    if (stream_out := sys.modules.get("voicecoach.adapters.stream_out")) is not None:
        stream_out.settle()
    cache = default_cache_dir().parent / "music"  # beside the clips
    return open_music(path, rate, shuffle, warn=_warn, cache=cache)


def cue_analyses() -> CueAnalyses:
    """The make-up gain's analysis of each cue, kept beside the clips it describes."""
    from voicecoach.adapters.clipcache import ClipCache, default_cache_dir

    return ClipCache(default_cache_dir())


def real_env() -> Env:
    from voicecoach.app.env import Env

    return Env(
        speech=speech,
        sounds=sounds,
        output=output,
        quick_level=quick_level,
        keys=keys,
        status=status,
        recorder=recorder,
        sessions=sessions,
        load_last_run=load_last_run,
        save_last_run=save_last_run,
        now=now,
        files=files,
        music=music,
        progress_bar=progress_bar,
        cue_analyses=cue_analyses,
    )
