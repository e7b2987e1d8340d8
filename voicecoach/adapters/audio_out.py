"""Live sound output: the simpleaudio adapter of the ``AudioOut`` port.

(Its recording fake, for unit tests, is ``RecordingOut`` in tests/fakes.py.)

Timing comes from the sound device: the player hands over one contiguous buffer per
stretch of the session and the device's sample clock plays it out, so cues land exactly
where the timeline puts them. The monotonic clock is used only for bookkeeping (where
in a buffer we are now, for the status line, and where a stopped buffer really ended).

simpleaudio lets a buffer play out after ``stop()``: it drains ALSA's buffer (and the
sound server's, about 0.3 s in all), so the position a stopped buffer reached is
measured when the sound has actually ended, not when ``stop()`` was called. Resuming
from there neither repeats nor skips what the user heard.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from voicecoach.app.ports import Playback
from voicecoach.errors import AudioDeviceError, NoSoundDevice

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.int16]

Clock = Callable[[], float]

NO_DEVICE = (
    "no sound device found: use `voicecoach render ROUTINE -o FILE.mp3` to make a file instead"
)
# After stop(), simpleaudio lets ALSA drain what it holds (its 100 ms buffer, and the
# sound server's share): about 0.3 s more is heard, and the call ends when it has been.
# Some servers keep a stream "draining" for seconds after its sound has gone (a
# PulseAudio sink with no low-latency client): past _DRAIN_LIMIT we stop waiting and
# take the usual drain, so a pause is neither slow to answer nor skips seconds.
_DRAIN_LIMIT = 0.6
_USUAL_DRAIN = 0.3
_POLL = 0.005
# The sound reaches the speaker a little after play_buffer() returns (ALSA, then the
# sound server, start up). Measured with PulseAudio: 8-13 ms. Without this, a resumed
# buffer would skip that much of what was not yet heard; erring small makes a repeat of
# a few milliseconds at worst, inaudible after "Resuming." and a pause.
_START_LATENCY = 0.010


# -- simpleaudio --------------------------------------------------------------------------


def _simpleaudio() -> Any:
    """Import simpleaudio, refusing the build known to crash (1.0.4 on Python 3.12+)."""
    if sys.version_info >= (3, 12):
        from importlib import metadata

        try:
            metadata.version("simpleaudio-patched")
        except metadata.PackageNotFoundError:
            try:
                metadata.version("simpleaudio")
            except metadata.PackageNotFoundError:
                pass
            else:  # the unpatched 1.0.4 segfaults on 3.12+: fail cleanly instead
                raise AudioDeviceError(
                    "simpleaudio 1.0.4 does not work on Python 3.12+: "
                    "`pip install simpleaudio-patched` (or reinstall voicecoach)"
                ) from None
    try:
        import simpleaudio
    except ImportError as exc:
        raise AudioDeviceError(
            f"sound playback is unavailable ({exc}): use `voicecoach render ROUTINE"
            " -o FILE.mp3` to make a file instead"
        ) from exc
    return simpleaudio


@contextmanager
def captured_stderr() -> Iterator[list[str]]:
    """Send file descriptor 2 to a temporary file for the block; the text lands in the list.

    ALSA writes its complaints ("ALSA lib confmisc.c: cannot find card '0'") straight to
    fd 2, below Python, when a device fails to open. The user must not see them; they are
    kept as a note on the error, for debugging.
    """
    captured: list[str] = []
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 at all: nothing to hide
        yield captured
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.append(sink.read().decode("utf-8", "replace"))


class SimpleaudioOut:
    """Plays through simpleaudio (ALSA on Linux; PulseAudio/PipeWire via ALSA's default)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock

    def play(self, samples: Samples, rate: int) -> Playback:
        import numpy as np

        sa = _simpleaudio()
        data = np.ascontiguousarray(samples, dtype=np.int16)
        if len(data) == 0:
            return _Finished()
        error_type: type[BaseException] = sa._simpleaudio.SimpleaudioError
        failure: BaseException | None = None
        with captured_stderr() as noise:
            try:
                obj = sa.play_buffer(data, 1, 2, rate)
            except error_type as exc:
                failure = exc
        if failure is not None:
            err = NoSoundDevice(NO_DEVICE)
            # Kept for whoever debugs it (tracebacks show notes); the user sees one line.
            err.add_note(f"simpleaudio: {failure}")
            if noise[0].strip():
                err.add_note(noise[0].rstrip())
            raise err from failure
        return _SimpleaudioPlayback(obj, data, rate, self._clock)


class _SimpleaudioPlayback:
    def __init__(self, obj: Any, data: Samples, rate: int, clock: Clock) -> None:
        self._obj = obj
        self._data = data  # simpleaudio reads this memory while it plays: keep it alive
        self._rate = rate
        self._clock = clock
        self._started = clock()
        self._end: int | None = None  # samples played, once the sound has ended

    def _elapsed(self, at: float | None = None) -> int:
        now = self._clock() if at is None else at
        heard = (now - self._started - _START_LATENCY) * self._rate
        return min(len(self._data), max(0, round(heard)))

    def is_playing(self) -> bool:
        if self._end is not None:
            return False
        if self._obj.is_playing():
            return True
        self._end = len(self._data)
        return False

    def played(self) -> int:
        return self._elapsed() if self.is_playing() else (self._end or 0)

    def wait(self, timeout: float) -> bool:
        deadline = self._clock() + timeout
        while self.is_playing():
            left = deadline - self._clock()
            if left <= 0:
                return False
            time.sleep(min(_POLL, left))
        return True

    def stop(self, *, wait: bool = True) -> int:
        if self._end is not None:
            return self._end
        stopped = self._clock()
        self._obj.stop()
        if not wait:
            return self._elapsed(stopped)
        deadline = stopped + _DRAIN_LIMIT
        while self._obj.is_playing() and self._clock() < deadline:
            time.sleep(_POLL / 5)
        if self._obj.is_playing():
            self._end = self._elapsed(stopped + _USUAL_DRAIN)
        else:
            # The drain has ended: what was written to the device has been heard, so the
            # time since the start is where the sound really stopped.
            self._end = self._elapsed()
        return self._end


class _Finished:
    """An empty buffer: nothing to play."""

    def is_playing(self) -> bool:
        return False

    def played(self) -> int:
        return 0

    def wait(self, timeout: float) -> bool:
        return True

    def stop(self, *, wait: bool = True) -> int:
        return 0


def quick_level(clip: Samples) -> Samples:
    """About the session's speech level (RMS near -15 dBFS, peaks under -1 dBFS), with
    numpy alone: for the "Preparing your session…" notice, which must be heard before
    the levelling modules are loaded. Never louder than the session's speech."""
    import numpy as np

    x = clip.astype(np.float64)
    active = x[np.abs(x) > 100]
    if len(active) == 0:
        return clip
    rms = float(np.sqrt(np.mean(active * active)))
    peak = float(np.max(np.abs(x)))
    gain = min(0.17 * 32768 / rms, 0.89 * 32768 / peak)
    return np.clip(np.round(x * gain), -32768, 32767).astype(np.int16)
