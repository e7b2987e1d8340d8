"""The ports: what the use cases (app/) need of the outside world, as Protocols.

The adapters (voicecoach.adapters) implement them; the command line builds the real ones
and hands them in, and tests hand in fakes (tests/fakes.py). Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

# The music bed's port (the user's files: adapters.music) is declared beside the mixer
# that takes it, audio.mix, a layer under this one; named here with the other ports. So
# is where the make-up gain keeps its cues' analyses (the clip cache: audio.makeup).
from voicecoach.audio.makeup import CueAnalyses as CueAnalyses
from voicecoach.audio.mix import MusicSource as MusicSource

if TYPE_CHECKING:
    from voicecoach.audio.mix import Samples
    from voicecoach.core.model import Routine
    from voicecoach.core.records import Summary
    from voicecoach.core.status import Glance
    from voicecoach.core.tags import Tags
    from voicecoach.core.timeline import Chapter, Timeline
    from voicecoach.errors import OutputError

Progress = Callable[[int, int], None]
DIGITS: tuple[str, ...] = ("1", "2", "3", "4", "5")  # the effort keys, 1 (easy) to 5


# -- audio output ------------------------------------------------------------------------


class Playback(Protocol):
    """One buffer being played."""

    def is_playing(self) -> bool: ...

    def played(self) -> int:
        """Samples of the buffer heard so far (an estimate while playing, exact once done)."""
        ...

    def wait(self, timeout: float) -> bool:
        """Block until the buffer has ended or ``timeout`` seconds passed; True if it ended."""
        ...

    def stop(self, *, wait: bool = True) -> int:
        """Stop the sound. With ``wait``, let the device finish what it already holds and
        return how many samples were really played; without, return at once (Ctrl-C)."""
        ...


class AudioOut(Protocol):
    def play(self, samples: Samples, rate: int) -> Playback:
        """Start playing mono int16 ``samples`` at ``rate`` Hz; returns at once."""
        ...


class Feed(Playback, Protocol):
    """A stream being played: samples are fed a little ahead of the device, which plays
    them back to back, without a gap; it ends once ``end`` was called and all is heard."""

    def feed(self, samples: Samples) -> None:
        """Queue mono int16 ``samples`` after those fed before."""
        ...

    def queued(self) -> int:
        """Samples fed and not yet handed to the device."""
        ...

    def end(self) -> None:
        """Nothing more will be fed."""
        ...


class StreamingOut(AudioOut, Protocol):
    """A sound output that can also stream (the live run's)."""

    def stream(self, rate: int) -> Feed:
        """Open a stream at ``rate`` Hz; it starts with the first samples fed."""
        ...


# -- keys --------------------------------------------------------------------------------


class KeySource(Protocol):
    def get(self, timeout: float) -> str | None:
        """The next key pressed, waiting at most ``timeout`` seconds; None if none."""
        ...


# -- the screen ---------------------------------------------------------------------------


class StatusSink(Protocol):
    """The screen during a live run (or a preview): a courtesy, never needed."""

    def show(self, status: Glance) -> None:
        """Show where the session is now (drawn again in place)."""
        ...

    def clear(self) -> None:
        """Remove the live display (before anything else is printed, and at the end)."""
        ...

    def summary(self, summary: Summary) -> None:
        """The end of a workout: what was done, left on the screen."""
        ...


# -- history recorder --------------------------------------------------------------------


class RecordedSession(Protocol):
    """What the history needs of a session (``app.session.Session`` is one): the
    routine and its timeline."""

    @property
    def routine(self) -> Routine: ...

    @property
    def timeline(self) -> Timeline: ...


class Recorder(Protocol):
    """What the player reports as it goes (the session history implements it)."""

    def started(self, session: RecordedSession) -> None: ...

    def exercise_started(self, index: int) -> None:
        """Exercise ``index`` began to play (or playback started inside it)."""
        ...

    def exercise_done(
        self, index: int, seconds: float, skipped: bool, restarted: bool, stopped: bool = False
    ) -> None:
        """A play of exercise ``index`` ended after ``seconds`` (pauses and pain rests
        excluded): at its end, by a skip (``skipped``), by a restart (``restarted``: it
        plays again and is reported again), or because the session stopped in it
        (``stopped``: q, or Ctrl-C)."""
        ...

    def set_done(self, index: int, set_no: int, side: str | None = None) -> None: ...

    def paused(self) -> None: ...

    def resumed(self) -> None: ...

    def pain(self, index: int | None) -> None:
        """The pain key, in exercise ``index`` (in a rest: the one just done; None before
        the first). What follows until the next report is a rest, not exercise time."""
        ...

    def finished(self, completed: bool) -> None: ...


class HistoryRecorder(Recorder, Protocol):
    """The history as a live run uses it (``adapters.recorder.BackgroundRecorder``)."""

    @property
    def warning(self) -> str | None:
        """The one line to print if the session could not be saved (final after ``close``)."""
        ...

    def has_run(self, digest: str) -> bool:
        """Was a routine with this digest run before (a quick look, never an error)?"""
        ...

    def checkin(self, effort: int) -> None:
        """The end-of-session effort, 1 (easy) to 5."""
        ...

    def close(self) -> None:
        """Wait (briefly) for the last writes."""
        ...


# -- speech ------------------------------------------------------------------------------


class Synth(Protocol):
    """What the session needs of a speech engine (voicecoach.adapters.speech.Speech, or a fake):
    raw clips (trimmed, not levelled)."""

    def clip(self, text: str) -> Samples: ...

    def clips(
        self, texts: Iterable[str], progress: Progress | None = None
    ) -> dict[str, Samples]: ...


@runtime_checkable
class LevelledSynth(Protocol):
    """A speech engine that levels (and caches) its own clips: voicecoach.adapters.speech.Speech."""

    def levelled(
        self, texts: Iterable[str], progress: Progress | None = None
    ) -> dict[str, Samples]: ...


@runtime_checkable
class CachedLevels(LevelledSynth, Protocol):
    """A levelled synth that can say, without making anything, whether a phrase's
    levelled clip is ready (in memory or its cache): the session then lays a warm
    session out in one pass (``session.prepare``)."""

    def cached_levelled(self, text: str) -> Samples | None:
        """The levelled clip if it is ready; None (nothing synthesized) if not."""
        ...


# -- output files (render) ---------------------------------------------------------------


class WrittenAudio(Protocol):
    """An audio file written (``adapters.encode.Written``)."""

    @property
    def format(self) -> str:
        """The extension, without the dot."""
        ...

    @property
    def sample_rate(self) -> int: ...

    @property
    def size(self) -> int:
        """Bytes."""
        ...

    @property
    def duration(self) -> float:
        """Seconds."""
        ...


class AudioFiles(Protocol):
    """Files written for the user (``adapters.files.AudioFiles``: the encoders and atomic
    output files): each appears only when complete, and fails in one line (OutputError,
    or UsageError for a format it cannot tell)."""

    def format_ext(self, path: Path, name: str | None = None) -> str:
        """The format named ``name`` ("mp3"), else the one ``path``'s extension names."""
        ...

    def write_audio(
        self,
        path: Path,
        chunks: Iterable[Samples],
        *,
        total: int,
        rate: int,
        out_rate: int | None = None,
        chapters: Sequence[Chapter] = (),
        tags: Tags | None = None,
        progress: Callable[[int], None] | None = None,
        fmt: str | None = None,
        seek: Callable[[int, int], Iterable[Samples]] | None = None,
        quiet: Sequence[tuple[int, int]] = (),
        threads: int | None = None,
        bitrate: int | None = None,
    ) -> WrittenAudio:
        """Encode ``chunks`` (mono int16 at ``rate``, ``total`` samples) into ``path``."""
        ...

    def check_target(self, path: Path) -> None:
        """Fail now if ``path`` cannot be written (no folder, or it is a folder)."""
        ...

    def check_writable(self, folder: Path, shown: str, where: str | None = None) -> None:
        """Fail now if nothing can be created in ``folder``."""
        ...

    def output_error(self, shown: str, exc: OSError, folder: str | None = None) -> OutputError:
        """An OS error writing ``shown`` as the one-line error to raise."""
        ...

    def alive(self, pid: int) -> bool:
        """Is process ``pid`` running (its temporary files are not stale)?"""
        ...

    def atomic(self, path: Path) -> AbstractContextManager[Path]:
        """The temporary to write; it replaces ``path`` when the block ends cleanly and is
        removed otherwise."""
        ...

    def write_text(self, path: Path, text: str) -> Path:
        """A small text file (a playlist), atomically, UTF-8, LF endings."""
        ...
