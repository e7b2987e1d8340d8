"""Live sound output that streams: the sounddevice (PortAudio) adapter of ``AudioOut``.

Why not simpleaudio for the live run: simpleaudio plays one finished buffer per call and
opens a new device stream each time, so a session played block by block has a hole at
every seam. Measured in the test null sink (a 440 Hz tone in 8 consecutive
``play_buffer`` calls, each started the moment the one before ended): 9-20 ms of silence
at every seam, blocks of 1 s and of 2 s alike, so cues drift by about 10 ms per block.
A PortAudio callback stream asks for samples as the device needs them: one stream, no
seams, the device's sample clock keeps time (see docs in DEVELOPERS.md).

Each ``play``/``stream`` opens one output stream whose callback takes samples from a
queue the player fills a few seconds ahead (``Feed.feed``). What the callback has
handed to the device is counted exactly, so the position a stopped stream reached is a
sample count, not a clock estimate: everything handed over is heard (the device drains
it, ``stop`` waits for that), nothing after it.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from voicecoach.adapters.audio_out import NO_DEVICE, captured_stderr
from voicecoach.errors import AudioDeviceError, NoSoundDevice

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from voicecoach.app.ports import Feed, Playback

    Samples = npt.NDArray[np.int16]

# PortAudio's "high" latency for the default device (ALSA, through the sound server):
# measured in the null sink, a stopped stream is silent 0.1-0.2 s after stop(), as
# quick as simpleaudio's drain (0.3 s), and the callback never starved while the main
# thread mixed and synthesized. "low" latency saves little and risks underruns.
_LATENCY = 0.15
_DRAIN_LIMIT = 0.6  # seconds: past this, stop() no longer waits for the device to drain
_lock_import = threading.Lock()
_sd: Any = None


def _sounddevice() -> Any:
    """Import sounddevice (it initialises PortAudio, which makes ALSA list every device
    and complain on fd 2 about those that are missing: hidden, kept as a note)."""
    global _sd
    with _lock_import:
        if _sd is not None:
            return _sd
        with captured_stderr() as noise:
            try:
                import sounddevice
            except (ImportError, OSError) as exc:
                err = AudioDeviceError(
                    f"sound playback is unavailable ({exc}): install PortAudio (Debian,"
                    " Ubuntu: `apt install libportaudio2`), or use `voicecoach render"
                    " ROUTINE -o FILE.mp3` to make a file instead"
                )
                failure: BaseException = exc
            else:
                _sd = sounddevice
                return _sd
        if noise[0].strip():
            err.add_note(noise[0].rstrip())
        raise err from failure


_warming: threading.Thread | None = None


def _warm_up() -> None:
    """Start importing sounddevice on a thread, once: PortAudio's initialisation (it lists
    every ALSA device) took 0.04-0.09 s of a warm start's first sound when it waited for
    the session to be prepared; on a thread it overlaps the preparing. A failure is left
    for the first ``stream`` to raise, with its note, as before. While it runs, fd 2 is
    captured (``captured_stderr``): ``settle`` waits for it before anything is printed."""
    global _warming
    if _warming is None and _sd is None:
        _warming = threading.Thread(target=_try_import, name="portaudio-warm-up", daemon=True)
        _warming.start()


def _try_import() -> None:
    # Any failure comes again, and is said, when the first stream imports it.
    with contextlib.suppress(Exception):
        _sounddevice()


def settle() -> None:
    """Wait for the warm-up (``_warm_up``) to give fd 2 back: call before printing."""
    if _warming is not None:
        _warming.join()


class StreamOut:
    """Plays through PortAudio's default output device, one callback stream per play.
    Made, it starts PortAudio's initialisation on a thread (``_warm_up``)."""

    def __init__(self) -> None:
        _warm_up()

    def play(self, samples: Samples, rate: int) -> Playback:
        feed = self.stream(rate)
        feed.feed(samples)
        feed.end()
        return feed

    def stream(self, rate: int) -> Feed:
        return _Stream(_sounddevice(), rate)


class _Stream:
    """One output stream: the samples fed, in order, then silence until ``end``."""

    def __init__(self, sd: Any, rate: int) -> None:
        self._rate = rate
        self._lock = threading.Lock()
        self._queue: deque[Samples] = deque()
        self._offset = 0  # samples of the queue's first block already handed over
        self._fed = 0
        self._consumed = 0  # samples handed to the device (each is heard)
        self._ended = False  # no more samples will be fed
        self._stopping = False
        self._started = False
        self._padded = 0  # silence handed over since the end (or the stop)
        self._done = threading.Event()
        self.underruns = 0  # callbacks that found the queue short (before the end)
        failure: BaseException | None = None
        with captured_stderr() as noise:
            try:
                self._stream = sd.OutputStream(
                    samplerate=rate,
                    channels=1,
                    dtype="int16",
                    latency=_LATENCY,
                    callback=self._callback,
                    finished_callback=self._done.set,
                )
            except sd.PortAudioError as exc:
                failure = exc
        if failure is not None:
            err = NoSoundDevice(NO_DEVICE)
            err.add_note(f"sounddevice: {failure}")
            if noise[0].strip():
                err.add_note(noise[0].rstrip())
            raise err from failure
        self._latency = round(float(self._stream.latency) * rate)  # samples the device holds

    # -- the device's side (PortAudio's thread) ---------------------------------------------

    def _callback(self, outdata: Any, frames: int, _time: Any, _status: Any) -> None:
        out = outdata[:, 0]
        at = 0
        with self._lock:
            if not self._stopping:
                while at < frames and self._queue:
                    block = self._queue[0]
                    take = min(frames - at, len(block) - self._offset)
                    out[at : at + take] = block[self._offset : self._offset + take]
                    at += take
                    self._offset += take
                    if self._offset == len(block):
                        self._queue.popleft()
                        self._offset = 0
                self._consumed += at
            finishing = self._stopping or (self._ended and not self._queue)
            if at < frames and not finishing:
                self.underruns += 1
            if finishing:
                self._padded += frames - at
        out[at:] = 0
        if finishing and self._padded >= self._latency + frames:
            # The device drops what it still holds when the stream stops: the silence
            # fed since lets every sample handed over be heard first.
            raise _sd.CallbackStop

    # -- the player's side ----------------------------------------------------------------

    def feed(self, samples: Samples) -> None:
        import numpy as np

        data = np.ascontiguousarray(samples, dtype=np.int16)
        if len(data) == 0:
            return
        with self._lock:
            if self._ended:
                raise ValueError("feed() after end()")
            self._queue.append(data)
            self._fed += len(data)
        self._start()

    def end(self) -> None:
        with self._lock:
            self._ended = True
        self._start()

    def _start(self) -> None:
        """The device starts with the first samples (or the end: nothing to play)."""
        if not self._started:
            self._started = True
            self._stream.start()

    def queued(self) -> int:
        """Samples fed and not yet handed to the device."""
        with self._lock:
            return self._fed - self._consumed

    def fed(self) -> int:
        with self._lock:
            return self._fed

    def is_playing(self) -> bool:
        if self._done.is_set():
            self._close()
            return False
        return True

    def played(self) -> int:
        with self._lock:
            consumed = self._consumed
        if self._done.is_set():
            return consumed
        return max(0, consumed - self._latency)

    def wait(self, timeout: float) -> bool:
        if self._done.wait(max(0.0, timeout)):
            self._close()
            return True
        return False

    def stop(self, *, wait: bool = True) -> int:
        with self._lock:
            self._stopping = True
            heard = self._consumed
        if not wait:
            self._stream.abort()  # drop what the device holds: silent at once
            self._close()
            return max(0, heard - self._latency)
        self._done.wait(_DRAIN_LIMIT)
        self._close()
        return heard

    def _close(self) -> None:
        if not self._stream.closed:
            self._stream.close(ignore_errors=True)
