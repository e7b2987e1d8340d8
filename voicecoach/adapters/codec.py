"""The encoding loop shared by every format: libsndfile through a sink that keeps OS
errors, soxr's streaming resampler, and the session's samples a chunk at a time."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from voicecoach import __version__
from voicecoach.core.tags import Tags

if TYPE_CHECKING:
    from voicecoach.audio.mix import Samples


@dataclass(frozen=True, slots=True)
class Format:
    ext: str  # without the dot
    container: str  # libsndfile's major format
    subtype: str
    rates: tuple[int, ...] = ()  # the only output rates the codec takes; () = any
    default_rate: int | None = None  # None: keep the session's rate


# Vorbis at libsndfile's default quality lets eSpeak speech peak up to 1.7 dB over the
# limiter's ceiling once decoded; at 0.4 the overshoot is about 0.6 dB, so decoded peaks
# stay under -1 dBFS, for 25 kbps instead of 20 (mono, 22050 Hz; measured on a real session).
VORBIS_LEVEL = 0.4
# With music the speech is made up and limited hard (``makeup``: up to +6 dB), and at 0.4
# it overshot more. Decoded by ffmpeg as float: SHORT_ROUTINE with real speech over a
# generated bed gave -0.94 dBFS (a tone), -0.95 (a chord), -1.20 (white noise), -1.64
# (pink), -1.20 (chords and hats), where the same session without music gives -1.67; at
# 0.2 the same gave -1.88, -1.90, -1.98, -1.71, -1.73 (-2.11 without music), for about
# 25% more bytes. Speech-like noise bursts (tests/test_music_formats.py, 57 s) over a
# chord and over noise gave -0.79 and -0.18 dBFS at 0.4, -1.18 and -1.47 at 0.2, -1.51
# and -1.30 at 0.1, -1.58 and -1.59 at 0.0 (31.6 kbps on the flagship, 20.5 at 0.4).
# So a Vorbis file decoding over the net is encoded again at these levels in turn until
# it does not (``encode``); a session that needs none keeps its bytes. The check decodes
# the file once: 0.4 s of CPU for 20 minutes of speech, whose encoding took 2.2 s.
VORBIS_DENSE_LEVELS = (0.2, 0.0)
VORBIS_NET_DBFS = -1.2  # as Opus's net: -1 dBFS less 0.2 dB for other decoders


def mp3_level(rate: int) -> float:
    # libsndfile maps a compression level to a CBR bit rate per MPEG version;
    # these give 96 kbps (MPEG-1), 64 kbps (MPEG-2) and 32 kbps (MPEG-2.5), mono.
    return 0.8 if rate >= 32000 else 0.6 if rate >= 16000 else 0.5


def mp3_span(rate: int) -> tuple[int, int]:
    """The lowest and highest CBR bit rates (kbps) of the MPEG version ``rate`` uses."""
    return (32, 320) if rate >= 32000 else (8, 160) if rate >= 16000 else (8, 64)


def mp3_level_for(kbps: int, rate: int) -> float:
    """The compression level that makes libsndfile ask LAME for ``kbps``: it maps level
    0..1 linearly onto the MPEG version's highest..lowest bit rate (measured at 22050 Hz:
    0 -> 160, 0.5 -> 80, 0.9 -> 24 kbps), and LAME takes the nearest standard rate."""
    low, high = mp3_span(rate)
    return (high - kbps) / (high - low)


# Vorbis has no bit rate to set through libsndfile, only a quality (the compression
# level): the average bit rate each level gave on the flagship (19:21 of eSpeak speech
# and cues, mono, 22050 Hz). Level 0 (libsndfile's best) averages only 31.6 kbps there,
# so that is the top of the range. --bitrate takes the level between the two nearest;
# the real rate follows the content (speech with long pauses takes less).
VORBIS_KBPS = (
    (0.95, 10.2), (0.9, 11.0), (0.8, 12.5), (0.7, 14.2), (0.6, 16.2), (0.5, 18.2),
    (0.4, 20.5), (0.3, 23.0), (0.2, 25.7), (0.1, 28.6), (0.0, 31.6),
)  # fmt: skip


def vorbis_level_for(kbps: float) -> float:
    """The level whose measured average bit rate is nearest ``kbps``, interpolated."""
    points = sorted(VORBIS_KBPS, key=lambda p: p[1])
    if kbps <= points[0][1]:
        return points[0][0]
    for (l0, k0), (l1, k1) in itertools.pairwise(points):
        if kbps <= k1:
            return max(0.0, l0 + (l1 - l0) * (kbps - k0) / (k1 - k0))
    return points[-1][0]


# Written bytes between two requests to the disk to start writing them (Sink).
WRITEBACK_BYTES = 16 << 20


class Sink:
    """A file for libsndfile's virtual I/O. libsndfile reports a failed write without
    its cause (and soundfile may not notice at all), so the first OS error is kept here
    and raised by the caller. ``base`` shifts every position (room for an ID3 tag)."""

    def __init__(self, f: BinaryIO, base: int = 0) -> None:
        self.f = f
        self.base = base
        self.error: OSError | None = None
        self._written = 0  # bytes since the disk was last asked to start writing
        self._kick = hasattr(os, "posix_fadvise")

    def write(self, data: bytes) -> int:
        if self.error is not None:
            return 0
        try:
            n = self.f.write(data)
        except OSError as exc:
            self.error = exc
            return 0
        self._written += n
        if self._written >= WRITEBACK_BYTES and self._kick:
            self._start_writeback()
        return n

    def _start_writeback(self) -> None:
        """Have the disk start writing what is written so far, while the rest is made:
        the fsync before the final rename then waits for the last part only (a 2-hour
        WAV: 0.12 s of fsync at the end otherwise). Pages written out are dropped from
        the page cache, which a file played elsewhere does not need."""
        self._written = 0
        try:
            self.f.flush()
            os.posix_fadvise(self.f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        except (OSError, ValueError, AttributeError):
            self._kick = False  # not a regular file (a pipe, a device): never mind

    def read(self, size: int) -> bytes:
        try:
            return self.f.read(size)
        except OSError as exc:
            self.error = self.error or exc
            return b""

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        try:
            if whence == os.SEEK_SET:
                offset += self.base
            return self.f.seek(offset, whence) - self.base
        except OSError as exc:
            self.error = self.error or exc
            return self.tell()

    def tell(self) -> int:
        try:
            return self.f.tell() - self.base
        except OSError as exc:
            self.error = self.error or exc
            return 0


def riff_info(snd: Any, tags: Tags) -> None:
    strings = {
        "title": tags.title,
        "artist": tags.artist,
        "album": tags.album,
        "comment": tags.comment,
        "software": f"voicecoach {__version__}",
        "tracknumber": str(tags.track[0]) if tags.track else "",
    }
    for key, value in strings.items():
        if value:
            setattr(snd, key, value)


class Cancelled(Exception):
    """Another piece failed or the user interrupted: stop this one."""


@dataclass(frozen=True, slots=True)
class Job:
    fmt: Format
    rate: int
    out_rate: int
    tags: Tags
    bitrate: int | None = None  # kbps, for the lossy formats; None: the format's default
    level: float | None = None  # libsndfile's compression level, if not the bit rate's


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[Callable[[], None]]:
    """Hold Ctrl-C (SIGINT) back to the points where ``check()`` is called.

    libsndfile calls back into Python (the ``Sink``) for every write, and an exception
    raised inside a cffi callback is printed and swallowed: a KeyboardInterrupt landing
    there would be lost and the file silently truncated. So while encoding in the main
    thread, the signal only sets a flag; ``check()`` (between chunks) and the end of the
    block then run the handler that was installed, at a safe point.
    """
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield _nothing
        return
    pending: list[tuple[int, Any]] = []

    def hold(signum: int, frame: Any) -> None:
        pending.append((signum, frame))

    def check() -> None:
        if pending:
            signum, frame = pending.pop()
            pending.clear()
            previous(signum, frame)

    signal.signal(signal.SIGINT, hold)
    try:
        yield check
    finally:
        signal.signal(signal.SIGINT, previous)
    check()


def _nothing() -> None:
    pass


def encode_stream(
    f: BinaryIO,
    base: int,
    job: Job,
    source: Iterable[Samples],
    keep: int | None,
    on_input: Callable[[int], None],
    cancel: threading.Event | None = None,
) -> int:
    """Encode ``source`` into ``f`` from ``base`` on; returns the samples written.

    ``keep``: write exactly this many output samples (an MP3 piece: the rest is the
    silent seam), else everything including the resampler's tail.
    """
    import numpy as np
    import soundfile as sf

    fmt = job.fmt
    options: dict[str, Any] = {}
    if fmt.ext == "mp3":
        level = mp3_level(job.out_rate)
        if job.bitrate is not None:
            level = mp3_level_for(job.bitrate, job.out_rate)
        options = {"bitrate_mode": "CONSTANT", "compression_level": level}
    elif fmt.ext == "ogg":
        level = VORBIS_LEVEL if job.bitrate is None else vorbis_level_for(job.bitrate)
        level = level if job.level is None else job.level
        options = {"compression_level": level}
    sink = Sink(f, base)
    written = 0
    try:
        with (
            deferred_interrupts() as check,
            sf.SoundFile(
                sink,
                "w",
                samplerate=job.out_rate,
                channels=1,
                format=fmt.container,
                subtype=fmt.subtype,
                **options,
            ) as snd,
        ):
            if fmt.ext == "wav":  # RIFF INFO; the other formats are tagged afterwards
                riff_info(snd, job.tags)

            def put(samples: Samples) -> None:
                nonlocal written
                if keep is not None:
                    samples = samples[: keep - written]
                if len(samples):
                    snd.write(samples)
                    written += len(samples)
                if sink.error is not None:
                    raise sink.error

            resampler = None
            if job.out_rate != job.rate:
                import soxr

                resampler = soxr.ResampleStream(
                    job.rate, job.out_rate, 1, dtype="int16", quality="HQ"
                )
            for chunk in source:
                check()
                if cancel is not None and cancel.is_set():
                    raise Cancelled
                put(resampler.resample_chunk(chunk, last=False) if resampler else chunk)
                on_input(len(chunk))
            if resampler is not None:
                put(resampler.resample_chunk(np.zeros(0, np.int16), last=True))
            if keep is not None and written < keep:
                put(np.zeros(keep - written, np.int16))
    except (sf.SoundFileRuntimeError, AssertionError):
        if sink.error is not None:
            raise sink.error from None
        raise
    if sink.error is not None:
        raise sink.error
    return written


def no_progress(n: int) -> None:
    pass


def counted(chunks: Iterable[Samples], total: int) -> Iterable[Samples]:
    seen = 0
    for chunk in chunks:
        seen += len(chunk)
        yield chunk
    if seen != total:
        raise ValueError(f"the chunks hold {seen} samples, not total={total}")


def decoded_peak(path: Path) -> float:
    """The peak (dBFS) of the file at ``path`` decoded by libsndfile as float (a lossy
    codec's overshoot kept, not clipped), a block at a time."""
    import math

    import numpy as np
    import soundfile as sf

    peak = 0.0
    with sf.SoundFile(str(path)) as snd:
        for block in snd.blocks(1 << 16, dtype="float32"):
            if len(block):
                peak = max(peak, float(np.max(np.abs(block))))
    return 20.0 * math.log10(max(peak, 1e-12))
