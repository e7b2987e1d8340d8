"""Music from the user's files, as samples for any ``[start, stop)`` of the session.

A file or a folder (its audio files in name order, or shuffled), looped to fill the
session with ``CROSSFADE`` equal-power crossfades. Files are read streaming with
soundfile (libsndfile 1.1+ reads WAV, FLAC, Ogg/Vorbis, Opus and MP3), mixed down to
mono and resampled to the session's rate with soxr's streaming resampler: memory holds
one block per open file, never a track.

Where each track sits in the session is laid out from the files' lengths alone, so
the samples at a position are a function of that position: a skip, a back or a split
track's thread just seeks. Reading on from where the last call stopped continues the
open reader; any other start reopens the file at that frame (the resampler's filter
restarts there: a few milliseconds differ from reading straight through).

Decoding costs: 18 minutes of 44.1 kHz stereo took 1.2 s as FLAC, 2 s as MP3, 8 s as
Opus (48 kHz, and resampled) on the 2-core machine. So a track read straight through
is also written, as it plays, to a cache (``$VOICECOACH_CACHE_DIR/music``): mono int16
at the session rate with its loudness, keyed by the file's path, size and mtime
(``musiccache``, which keeps the folder under its size limit). Warm, a track is read
from there (a seek and a read: exactly the same samples after any jump).

Each track is brought to ``TARGET_LUFS`` (its loudness measured on up to
``_MEASURE_WINDOWS`` excerpts of ``_MEASURE_SECONDS``, so a long file costs a bounded
read); the mixer sets the bed's level and its ducking on top.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voicecoach.adapters.musiccache import (
    HEADER,
    MAGIC,
    Measured,
    cache_path,
    cached,
    measured,
    prune,
    remember,
    touch,
)
from voicecoach.audio.levelling import TARGET_LUFS
from voicecoach.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float32]
    Pcm = npt.NDArray[np.int16]

EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3")
CROSSFADE = 2.0  # s between one track (or one loop of a track) and the next
_MIN_SECONDS = 1.0  # shorter files are not music beds (and could not crossfade)
_MEASURE_SECONDS = 20.0
_MEASURE_WINDOWS = 3
_BLOCK_FRAMES = 1 << 14  # source frames read at a time
_RUN_UP = 4096  # source frames decoded before a jump's position: soxr HQ settles in far less
_SPREAD = 16  # values kept of the spread of a track's block power (Measured.spread)
# What soundfile raises for a file it cannot open or decode (LibsndfileError is a
# RuntimeError; TypeError/ValueError for formats it opens but cannot read as floats).
_DECODE_ERRORS = (RuntimeError, TypeError, ValueError, OSError)


class MusicError(UsageError):
    """A music file or folder that cannot be played (said before the workout starts)."""


@dataclass(frozen=True, slots=True)
class Track:
    path: Path
    frames: int  # at the file's own rate
    rate: int
    length: int  # samples at the session's rate
    gain: float  # linear: brings the track to TARGET_LUFS
    cache: Path | None = None  # where its decoded samples are (or will be) kept
    spread: tuple[float, ...] = (1.0,)  # its blocks' power over its loudness's


@dataclass(frozen=True, slots=True)
class _Placed:
    start: int  # session sample of the track's first sample
    track: Track
    fade_in: int  # samples (0 for the very first track)
    fade_out: int


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def _mono(block: Any) -> Floats:
    import numpy as np

    out: Floats = np.mean(block, axis=1, dtype=np.float64) if block.ndim == 2 else block
    return out


def _measure(path: Path, frames: int, rate: int, session_rate: int) -> Measured:
    """Integrated loudness (LUFS) of the file, from a few excerpts spread over it, as
    played: at the session's rate (the K-weighting of a 3 kHz tone differs by 0.6 dB
    between 44.1 and 22.05 kHz). And the spread of its 400 ms blocks' power around it:
    a bed 12 LU under the speech sits near BS.1770's relative gate, so how many of its
    blocks pass depends on how they vary, not only on their average (noise swelling by
    +-6 dB: a steady-bed prediction was 0.8-1.4 LU off, this one 0.1)."""
    import numpy as np
    import soundfile

    from voicecoach.audio.meter import Blocks, k_weighted

    window = round(_MEASURE_SECONDS * rate)
    if frames <= window * _MEASURE_WINDOWS:
        starts = [0]
        window = frames
    else:
        step = frames / _MEASURE_WINDOWS
        starts = [round(step * (i + 0.5)) - window // 2 for i in range(_MEASURE_WINDOWS)]
    parts = []
    with soundfile.SoundFile(str(path)) as f:
        for s in starts:
            f.seek(s)
            parts.append(_mono(f.read(window, dtype="float32", always_2d=True)))
    x = np.concatenate(parts).astype(np.float64)
    if rate != session_rate:
        import soxr

        x = soxr.resample(x, rate, session_rate)
    blocks = Blocks(x.size, session_rate)
    sums = np.add.reduceat(np.square(k_weighted(x, session_rate)), blocks.cuts)
    loudness = blocks.loudness_of_sums(sums)
    powers = blocks.mean_squares(sums)
    if not math.isfinite(loudness) or powers.size == 0:
        return Measured(loudness)
    powers /= 10.0 ** ((loudness + 0.691) / 10.0)
    spread = np.quantile(powers, (np.arange(_SPREAD) + 0.5) / _SPREAD)
    return Measured(loudness, tuple(float(v) for v in spread))


class _Quiet:
    """fd 2 sent to /dev/null: libmpg123 prints 'Note: Illegal Audio-MPEG-Header' lines
    of its own when probing a file that is not MP3; our one line says it instead. Not
    for threads: the command line opens music only once the sound device's warm-up
    (which captures fd 2 on a thread) is done (``cli.env.music``)."""

    def __enter__(self) -> None:
        self._saved = os.dup(2)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)

    def __exit__(self, *_: object) -> None:
        os.dup2(self._saved, 2)
        os.close(self._saved)


def open_track(path: Path, session_rate: int, cache: Path | None = None) -> Track:
    """A playable track, or MusicError naming the file and why. ``cache`` is the folder
    of decoded tracks (None: decode every time)."""
    import soundfile

    if not path.is_file():
        raise MusicError(f"music {path}: no such file")
    try:
        with _Quiet():
            info = soundfile.info(str(path))
        frames = int(info.frames)
        rate = int(info.samplerate)
        if frames < _MIN_SECONDS * rate:
            raise MusicError(f"music {path}: shorter than {_MIN_SECONDS:g} s")
        where = cache_path(cache, path, session_rate) if cache is not None else None
        found = measured(where)
        if found is None:
            found = _measure(path, frames, rate, session_rate)
            remember(where, found)
        touch(where)
    except _DECODE_ERRORS as exc:
        reason = _reason(exc)
        if "Error opening" in reason:  # libsndfile's words for any unknown format
            reason = "not a WAV, FLAC, Ogg, Opus or MP3 file"
        raise MusicError(f"music {path}: cannot read it as audio ({reason})") from None
    if not math.isfinite(found.loudness):
        raise MusicError(f"music {path}: silent")
    length = frames * session_rate // rate
    gain = 10.0 ** ((TARGET_LUFS - found.loudness) / 20.0)
    return Track(path, frames, rate, length, gain, where, found.spread)


def find_tracks(
    path: Path,
    session_rate: int,
    shuffle: bool = False,
    warn: Callable[[str], None] | None = None,
    seed: int | None = None,
    cache: Path | None = None,
) -> list[Track]:
    """The tracks of a file or folder; a folder's unreadable files are skipped with one
    warning each, and a folder with none left is an error."""
    if path.is_dir():
        names = sorted(
            (p for p in path.iterdir() if p.suffix.lower() in EXTENSIONS and p.is_file()),
            key=lambda p: (p.name.casefold(), p.name),
        )
        tracks = []
        for p in names:
            try:
                tracks.append(open_track(p, session_rate, cache))
            except MusicError as exc:
                if warn is not None:
                    warn(f"{exc}; skipped")
        if not tracks:
            raise MusicError(
                f"music {path}: no playable audio files in it ({', '.join(EXTENSIONS)})"
            )
        if shuffle:
            random.Random(seed).shuffle(tracks)
        return tracks
    if not path.exists():
        raise MusicError(f"music {path}: no such file or folder")
    return [open_track(path, session_rate, cache)]


class _Reader:
    """One placed track decoded forward from a position, resampled as it goes. Read
    from its start, it also writes the track's cache file, put in place at its end."""

    def __init__(self, placed: _Placed, offset: int, rate: int) -> None:
        import numpy as np
        import soundfile

        track = placed.track
        self._file = soundfile.SoundFile(str(track.path))
        # A jump starts the resampler early, at a frame whose output lands on a whole
        # sample, and drops what comes before ``offset``: the filter is settled there,
        # so the samples are those of reading straight through (to +-1 LSB of rounding;
        # without the run-up the first 2 ms rose from silence).
        step = track.rate // math.gcd(track.rate, rate)
        start = max(0, (offset * track.rate // rate - _RUN_UP) // step * step)
        if track.rate == rate:
            start = offset
        self._file.seek(min(start, track.frames))
        self._resampler = None
        if track.rate != rate:
            import soxr

            self._resampler = soxr.ResampleStream(track.rate, rate, 1, dtype="float32")
        # Decoded as int16 into one reused block: libsndfile's native integer path is
        # the cheapest (float decoding and numpy's mean cost as much as the decoding).
        self._block = np.zeros((_BLOCK_FRAMES, self._file.channels), dtype=np.int16)
        self._scale = 1.0 / (32768.0 * self._file.channels)
        self._pieces: list[Any] = []  # int16, as the cache keeps them
        self._held = 0
        self._done = False
        self._track = track
        self._tee: Any = None
        self._teed = 0
        self.position = start * rate // track.rate
        if offset > self.position:
            self.read(offset - self.position)
        self.position = offset  # the session-rate offset of the next sample returned
        if offset == 0 and track.cache is not None:
            try:
                track.cache.parent.mkdir(parents=True, exist_ok=True)
                fd, name = tempfile.mkstemp(".tmp", "music-", track.cache.parent)
                self._tee = os.fdopen(fd, "wb")
                self._tee_name = name
                self._tee.write(HEADER.pack(MAGIC, 0.0, 0))
            except OSError:  # no cache: only slower next time
                self._tee = None

    def _decode(self) -> Any:
        import numpy as np

        got = self._file.read(_BLOCK_FRAMES, dtype="int16", always_2d=True, out=self._block)
        mono = got[:, 0].astype(np.float32)
        for c in range(1, got.shape[1]):
            mono += got[:, c]
        mono *= np.float32(self._scale)
        self._done = got.shape[0] < _BLOCK_FRAMES
        if self._resampler is not None:
            mono = self._resampler.resample_chunk(mono, last=self._done)
        # Quantized as the cache keeps it, so a cold and a warm render are the same.
        pcm = np.clip(np.round(mono * 32768.0), -32768, 32767).astype(np.int16)
        if self._tee is not None:
            self._tee_write(pcm)
        return pcm

    def _tee_write(self, pcm: Any) -> None:
        try:
            self._tee.write(pcm.tobytes())
            self._teed += pcm.size
            if self._done:
                loudness = TARGET_LUFS - 20.0 * math.log10(self._track.gain)
                self._tee.seek(0)
                self._tee.write(HEADER.pack(MAGIC, loudness, self._teed))
                self._tee.close()
                assert self._track.cache is not None
                os.replace(self._tee_name, self._track.cache)
                self._tee = None
        except OSError:
            self._drop_tee()

    def _drop_tee(self) -> None:
        if self._tee is not None:
            self._tee.close()
            self._tee = None
            with contextlib.suppress(OSError):
                os.unlink(self._tee_name)

    def read(self, n: int) -> Pcm:
        """The next ``n`` samples, int16 (zeros past the file's end)."""
        import numpy as np

        while self._held < n and not self._done:
            piece = self._decode()
            self._pieces.append(piece)
            self._held += piece.size
        out = np.zeros(n, dtype=np.int16)
        filled = 0
        while self._pieces and filled < n:
            piece = self._pieces[0]
            take = min(piece.size, n - filled)
            out[filled : filled + take] = piece[:take]
            filled += take
            if take == piece.size:
                self._pieces.pop(0)
            else:
                self._pieces[0] = piece[take:]
        self._held -= filled
        self.position += n
        return out

    def close(self) -> None:
        self._drop_tee()
        self._file.close()


class _CachedReader:
    """A track from its cache file: mono int16 at the session's rate."""

    def __init__(self, cache: Path, offset: int, samples: int) -> None:
        self._file = open(cache, "rb")  # noqa: SIM115 (closed by close())
        self._samples = samples
        self._file.seek(HEADER.size + 2 * min(offset, samples))
        self.position = offset

    def read(self, n: int) -> Pcm:
        import numpy as np

        have = max(0, min(n, self._samples - self.position))
        got: Pcm = np.fromfile(self._file, dtype="<i2", count=have)
        if got.size < n:
            got = np.concatenate([got, np.zeros(n - got.size, dtype=np.int16)])
        self.position += n
        return got

    def close(self) -> None:
        self._file.close()


class MusicBed:
    """The ``MusicSource`` port: looped, crossfaded tracks at the session's rate."""

    def __init__(self, tracks: list[Track], rate: int, crossfade: float = CROSSFADE) -> None:
        if not tracks:
            raise MusicError("no music tracks")
        self.rate = rate
        self._tracks = tracks
        self._crossfade = round(crossfade * rate)
        self._placed: list[_Placed] = []
        self._readers: dict[int, _Reader | _CachedReader] = {}
        self._lock = threading.Lock()  # split tracks render from several threads

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.path.name for t in self._tracks)

    @property
    def spread(self) -> tuple[float, ...]:
        """The tracks' spreads pooled, each value weighed by its track's length."""
        import numpy as np

        values = np.concatenate([t.spread for t in self._tracks])
        weights = np.concatenate(
            [np.full(len(t.spread), t.length / len(t.spread)) for t in self._tracks]
        )
        order = np.argsort(values, kind="stable")
        reached = np.cumsum(weights[order]) / np.sum(weights)
        at = np.searchsorted(reached, (np.arange(_SPREAD) + 0.5) / _SPREAD)
        return tuple(float(v) for v in values[order][np.minimum(at, values.size - 1)])

    def _fade(self, track: Track) -> int:
        return min(self._crossfade, track.length // 3)

    def _lay_out(self, until: int) -> None:
        """Place tracks, in their order and looping, until one ends after ``until``."""
        while not self._placed or self._placed[-1].start + self._placed[-1].track.length < until:
            i = len(self._placed)
            track = self._tracks[i % len(self._tracks)]
            if not self._placed:
                self._placed.append(_Placed(0, track, 0, self._fade(track)))
                continue
            # The previous track's fade-out is fixed only now: callers lay out a
            # crossfade beyond what they read, so it has not been read yet.
            prev = self._placed[-1]
            overlap = min(self._fade(track), self._fade(prev.track))
            self._placed[-1] = replace(prev, fade_out=overlap)
            start = prev.start + prev.track.length - overlap
            self._placed.append(_Placed(start, track, overlap, self._fade(track)))

    def samples(self, start: int, stop: int) -> Floats:
        """Music for session samples ``[start, stop)``, float, each track at TARGET_LUFS."""
        import numpy as np

        out = np.zeros(max(0, stop - start), dtype=np.float32)
        if stop <= start:
            return out
        with self._lock:
            self._lay_out(stop + self._crossfade)
            used = set()
            for i, p in enumerate(self._placed):
                end = p.start + p.track.length
                lo, hi = max(start, p.start), min(stop, end)
                if hi <= lo:
                    continue
                used.add(i)
                # float32, in as few passes as possible: this runs for every sample.
                pcm = self._read(i, p, lo - p.start, hi - lo)
                x = np.multiply(pcm, np.float32(p.track.gain / 32768.0), dtype=np.float32)
                a, b = lo - p.start, hi - p.start  # offsets in the track
                if a < p.fade_in:  # equal power: uncorrelated tracks keep their loudness
                    pos = np.arange(a, min(b, p.fade_in), dtype=np.float64)
                    x[: pos.size] *= np.sin(0.5 * np.pi * (pos + 0.5) / p.fade_in)
                fade_from = p.track.length - p.fade_out
                if p.fade_out and b > fade_from:
                    pos = np.arange(max(a, fade_from), b, dtype=np.float64)
                    left = (p.track.length - pos - 0.5) / p.fade_out
                    x[x.size - pos.size :] *= np.sin(0.5 * np.pi * left)
                if hi - lo == out.size and len(used) == 1:
                    out = x
                else:
                    out[lo - start : hi - start] += x
            for i in [i for i in self._readers if i not in used]:
                self._readers.pop(i).close()
        return out

    def _read(self, i: int, placed: _Placed, offset: int, n: int) -> Pcm:
        reader = self._readers.get(i)
        if reader is None or reader.position != offset:
            if reader is not None:
                reader.close()
            cache = placed.track.cache
            known = cached(cache) if cache is not None else None
            try:
                if cache is not None and known is not None:
                    reader = _CachedReader(cache, offset, known[1])
                else:
                    reader = _Reader(placed, offset, self.rate)
            except _DECODE_ERRORS as exc:
                raise MusicError(
                    f"music {placed.track.path}: cannot read it ({_reason(exc)})"
                ) from None
            self._readers[i] = reader
        return reader.read(n)

    def close(self) -> None:
        with self._lock:
            for reader in self._readers.values():
                reader.close()
            self._readers.clear()


def open_music(
    path: Path,
    rate: int,
    shuffle: bool = False,
    warn: Callable[[str], None] | None = None,
    seed: int | None = None,
    cache: Path | None = None,
) -> MusicBed:
    """The music bed for ``path`` (a file or folder) at the session's ``rate``, decoded
    tracks kept in the folder ``cache`` (None: none kept), pruned to its limit."""
    tracks = find_tracks(path, rate, shuffle, warn, seed, cache)
    if cache is not None:
        prune(cache, [t.cache for t in tracks if t.cache is not None])
    return MusicBed(tracks, rate)
