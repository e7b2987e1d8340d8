"""Speech clips as stored: trimmed PCM in a content-addressed cache on disk.

Clips are trimmed (``trim``) before they are stored, so the trimming rules are part
of the stored format: change them, bump ``FORMAT_VERSION``.

Each clip is one file named by the sha256 of everything that shapes its samples
(cache format, engine and version, voice, rate, volume, text: ``clip_key``), so a
changed setting never finds a stale clip and nothing ever needs invalidating. The same
folder holds each clip levelled for the session (``level_key``: the raw clip's key, the
level rules' version and the target level), so a warm start does no signal processing.

A file is a small header (magic, sample rate, sample count, CRC-32 of the PCM, the
key) followed by the samples as little-endian int16. A file that fails any check is
deleted and treated as missing, so a torn or corrupted entry costs one re-synthesis,
never a crash. Files are written to a temporary name in the same folder and renamed
into place, so another process never sees half a clip; no fsync is needed because a
file emptied by a power cut fails the checks like any other corruption.

The folder also keeps, as ``.cue`` sidecars, what the make-up gain of a session with
music works out of each cue (``analysis``: ``makeup.CueAnalyses``), keyed by the digest
of the cue's samples and of the settings that shape it, in the same checked header and
atomic writes: a warm start with music reads them instead of filtering every clip.

The cache is an optimisation: if its folder cannot be written, clips are still
returned, just not kept.

Every voice, rate, language, engine and routine edit adds clips, so the folder is kept
under a limit (``prune``, when a command that used it exits, at most once a day),
least recently used first: a file's use is its mtime, set again when it is read and
older than a day (``REFRESH_SECONDS``: a warm start does not write ~300 times a run;
access times are not kept on relatime or noatime mounts). A file touched within the
hour (``IN_USE_SECONDS``) is never removed: another process may have listed it and be
about to read it; one removed anyway is only a miss, made again (every reader treats a
vanished file as missing). A warm start reads levelled clips only, so the raw clips
behind them age and go first: they are needed again only at a new level or volume.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import math
import os
import struct
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach.core.timeline import SAMPLE_RATE

_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation

if TYPE_CHECKING:
    import numpy as np
    from filelock import FileLock
    from numpy.typing import NDArray

    Clip = NDArray[np.int16]

# Bump when the stored samples change meaning (trimming, format): old entries are
# then simply never looked up again.
FORMAT_VERSION = 1

# Trimming. eSpeak's silence is exact zeros, so a low threshold finds the speech;
# the margins keep soft onsets ("h", "f") and decays that sit below it.
TRIM_THRESHOLD = 32  # |sample| above this is sound (about -60 dBFS)
LEAD_MARGIN = 110  # 5 ms kept before the first sound
TAIL_MARGIN = 220  # 10 ms kept after the last sound
FADE = 44  # 2 ms ramps at both ends, so a clip never starts or stops with a click

MAGIC = b"VCCLIP\x00\x01"
# magic, sample rate, sample count, CRC-32 of the PCM bytes, sha256 digest of the key
HEADER = struct.Struct("<8sIII32s")
SUFFIX = ".clip"
# A cue's analysis for the make-up gain (``analysis``): magic, payload size, CRC-32 of the
# payload, sha256 digest of the key; the payload is the audio layer's (``makeup``).
ANALYSIS_MAGIC = b"VCCUE\x00\x00\x01"
ANALYSIS_HEADER = struct.Struct("<8sII32s")
ANALYSIS_SUFFIX = ".cue"

# How long to wait for another process synthesizing (a batch of) phrases. Past this
# we synthesize anyway: both results are valid clips, the later rename wins.
LOCK_TIMEOUT = 60.0
# Temporary files older than this were left by a killed process.
STALE_TEMP_SECONDS = 3600.0

# Pruning (``prune``). The default limit: a clip is 44 KB a second of speech, a phrase
# ~100 KB with its levelled twin and its ``.cue`` (this dev machine: 850 MB in 8965
# files), the flagship at one voice and rate 42 MB (434 files), so 1 GB keeps some 25
# routine, voice, rate and language sets warm, yet stays small beside a user cache.
LIMIT = 1024 * 1024 * 1024  # bytes
LIMIT_ENV = "VOICECOACH_CLIP_CACHE_MB"  # another limit, in MB (0: keep nothing old)
PRUNE_TO = 0.8  # of the limit, so the next scan is not due after one more session
PRUNE_EVERY = 86400.0  # seconds between scans (stat of every file: ~10k on a used cache)
PRUNED = Path(".locks", "pruned")  # marker file: its mtime is the last scan
REFRESH_SECONDS = 86400.0  # a file read is marked used if its mtime is older than this
IN_USE_SECONDS = 3600.0  # a file touched this recently is never pruned


def default_cache_dir() -> Path:
    """The clip folder: ``$VOICECOACH_CACHE_DIR/clips``, else the user cache folder's ``clips``."""
    env = os.environ.get("VOICECOACH_CACHE_DIR")
    if env:
        return Path(env) / "clips"
    import platformdirs

    return Path(platformdirs.user_cache_dir("voicecoach")) / "clips"


def clip_key(*, engine: str, voice: str, rate: int, volume: int, text: str) -> str:
    """The cache key of a clip (hex sha256). ``volume`` is in percent, as the engine gets it."""
    payload = json.dumps(
        {
            "format": FORMAT_VERSION,
            "engine": engine,
            "voice": voice,
            "rate": rate,
            "volume": volume,
            "text": text,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def level_key(raw_key: str, *, level: str, target: float) -> str:
    """The cache key of a levelled clip: the raw clip ``raw_key`` brought to ``target``
    LUFS by the level rules of version ``level`` (``levelling.LEVEL_VERSION``).

    Levelled clips live beside the raw ones in the same folder and file format, so a
    warm start reads them back without measuring loudness (or importing scipy). A new
    level rule or target simply misses, and the raw clip is levelled again: no
    re-synthesis.
    """
    payload = json.dumps(
        {
            "format": FORMAT_VERSION,
            "raw": raw_key,
            "level": level,
            # -inf (volume 0) is no JSON number: spell it.
            "target": target if math.isfinite(target) else str(target),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class ClipCache:
    """Clips on disk by key. Safe to share between processes."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._prepared = False
        self._lock: FileLock | None = None
        self.discarded = 0  # corrupt entries found and deleted, for tests and diagnostics

    @property
    def folder(self) -> Path:
        return self._folder

    def path(self, key: str) -> Path:
        return self._folder / f"{key}{SUFFIX}"

    def get(self, key: str) -> Clip | None:
        """The clip stored under ``key``, or None if missing or corrupt (then deleted)."""
        import numpy as np

        path = self.path(key)
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                data = f.read()
        except FileNotFoundError:
            return None  # never made, or pruned since it was listed
        except OSError:
            return None  # unreadable: behave as a miss, the clip is synthesized again
        if not _valid(data, key):
            self._discard(path, st.st_ino)
            return None
        _refresh(path, st)
        # A read-only view over the bytes: no copy, and nobody can alter a shared clip.
        pcm = np.frombuffer(data, dtype="<i2", offset=HEADER.size)
        clip: Clip = pcm.astype(np.int16, copy=False)
        return clip

    def keys(self) -> frozenset[str] | None:
        """The keys of the clips in the folder now (None if it cannot be listed)."""
        try:
            names = os.listdir(self._folder)
        except OSError:
            return None if self._folder.exists() else frozenset()
        return frozenset(n[: -len(SUFFIX)] for n in names if n.endswith(SUFFIX))

    def put(self, key: str, samples: Clip) -> bool:
        """Store a clip atomically. Returns False if the cache folder cannot be written."""
        import numpy as np

        pcm = np.ascontiguousarray(samples, dtype="<i2").tobytes()
        header = HEADER.pack(MAGIC, SAMPLE_RATE, len(pcm) // 2, zlib.crc32(pcm), bytes.fromhex(key))
        return self._write(key, self.path(key), header, pcm)

    def analysis(self, key: str) -> bytes | None:
        """The analysis kept under ``key`` (``makeup.CueAnalyses``: the make-up gain's
        figures of a cue, keyed by its samples), or None if missing or corrupt (then
        deleted). A sidecar beside the clips, in the same checked, atomic form."""
        path = self._folder / f"{key}{ANALYSIS_SUFFIX}"
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                data = f.read()
        except OSError:
            return None  # missing (or pruned) or unreadable: worked out again
        if len(data) < ANALYSIS_HEADER.size:
            self._discard(path, st.st_ino)
            return None
        magic, size, crc, digest = ANALYSIS_HEADER.unpack_from(data)
        payload = memoryview(data)[ANALYSIS_HEADER.size :]
        if not (
            magic == ANALYSIS_MAGIC
            and size == len(payload)
            and digest == bytes.fromhex(key)
            and zlib.crc32(payload) == crc
        ):
            self._discard(path, st.st_ino)
            return None
        _refresh(path, st)
        return bytes(payload)

    def keep_analysis(self, key: str, data: bytes) -> None:
        """Keep ``data`` under ``key`` (best effort, atomically: see ``analysis``)."""
        digest = bytes.fromhex(key)
        header = ANALYSIS_HEADER.pack(ANALYSIS_MAGIC, len(data), zlib.crc32(data), digest)
        self._write(key, self._folder / f"{key}{ANALYSIS_SUFFIX}", header, data)

    def _write(self, key: str, path: Path, header: bytes, payload: bytes) -> bool:
        """Write ``header`` and ``payload`` to ``path`` through a temporary name in the
        folder, renamed into place. False if the folder cannot be written."""
        tmp: str | None = None
        try:
            self._prepare()
            # The name is chosen before the file exists (not tempfile.mkstemp, which
            # returns it only after creating the file): a Ctrl-C between the two left a
            # stray temporary no one knew the name of (seen under load in test_faults).
            tmp = str(self._folder / f".{key[:16]}.{os.urandom(6).hex()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(header)
                f.write(payload)
            os.replace(tmp, path)
        except BaseException as err:  # Ctrl-C mid-write too: no stray temporary file
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            if isinstance(err, OSError):
                return False
            raise
        return True

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the cache's synthesis lock across processes (best effort), for a batch.

        A process synthesizing missing phrases holds it for the whole batch, checking
        the cache again for each phrase inside it: a second process wanting the same
        phrases waits, then finds them stored, so each is synthesized once and every
        process gets the same samples. One lock per batch, not per phrase: taking a
        file lock costs about as much as synthesizing a short phrase. The lock file is
        never deleted (deleting a flock'ed file lets two processes hold "the" lock).
        """
        from filelock import FileLock, Timeout

        lock: FileLock | None = None
        try:
            self._prepare()
            if self._lock is None:
                # One lock object per cache: taken again in the same thread (a phrase
                # wanted while a batch is made), it only counts up.
                path = self._folder / ".locks" / "synthesis.lock"
                self._lock = FileLock(str(path), timeout=LOCK_TIMEOUT)
            lock = self._lock
            lock.acquire()
        except (OSError, Timeout):
            lock = None  # no lock: atomic writes still keep every entry whole
        try:
            yield
        finally:
            if lock is not None:
                lock.release()

    def _prepare(self) -> None:
        if self._prepared:
            return
        (self._folder / ".locks").mkdir(parents=True, exist_ok=True)
        self._prepared = True
        self._sweep_temp_files()

    def _sweep_temp_files(self) -> None:
        """Remove temporary files a killed process left behind (once per process)."""
        cutoff = time.time() - STALE_TEMP_SECONDS
        for tmp in self._folder.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()

    def _discard(self, path: Path, inode: int) -> None:
        self.discarded += 1
        # Only delete the file we read: another process may have just renamed a
        # good clip into place.
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == inode:
                path.unlink()


def _refresh(path: Path, st: os.stat_result) -> None:
    """Mark a file read as used now (for ``prune``), if its mark is over a day old: a
    warm start then costs one comparison a file (its fstat was made anyway)."""
    if st.st_mtime < time.time() - REFRESH_SECONDS:
        with contextlib.suppress(OSError):
            os.utime(path)


def limit() -> int:
    """The clip folder's limit in bytes: ``$VOICECOACH_CLIP_CACHE_MB`` megabytes, else
    ``LIMIT`` (also for a value that is no whole number of at least 0)."""
    with contextlib.suppress(ValueError):
        megabytes = int(os.environ.get(LIMIT_ENV, ""))
        if megabytes >= 0:
            return megabytes * 1024 * 1024
    return LIMIT


def prune(folder: Path, limit_bytes: int | None = None) -> int:
    """Keep ``folder`` under ``limit_bytes`` (None: ``limit()``), at most once a day
    (``PRUNED``'s mtime): if its clips and ``.cue`` files are over it, remove the least
    recently used down to ``PRUNE_TO`` of it, never a file touched within the hour nor
    a temporary file (a write in progress). Returns the bytes removed. A folder that
    cannot be listed or written is left as it is: the cache is an optimisation."""
    marker = folder / PRUNED
    try:
        if time.time() - marker.stat().st_mtime < PRUNE_EVERY:
            return 0
    except FileNotFoundError:
        pass
    except OSError:
        return 0
    try:
        marker.parent.mkdir(exist_ok=True)  # beside the lock: the folder holds clips only
        marker.touch()  # first, so a second process starting now does not scan too
    except OSError:
        return 0
    wanted = limit() if limit_bytes is None else limit_bytes
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    total = 0
    old: list[list[tuple[Path, os.stat_result]]] = []
    in_use = time.time() - IN_USE_SECONDS
    for entry in entries:
        if not entry.name.endswith((SUFFIX, ANALYSIS_SUFFIX)):
            continue  # temporaries (".*.tmp"), ".locks"
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue  # pruned by another process meanwhile
        total += st.st_size
        if st.st_mtime < in_use:
            old.append([(Path(entry.path), st)])
    if total <= wanted:
        return 0
    return evict(old, total, int(wanted * PRUNE_TO))


def evict(groups: Iterable[Sequence[tuple[Path, os.stat_result]]], total: int, target: int) -> int:
    """Remove ``groups`` of files, least recently used first (a group's use: its newest
    mtime), while the folder's ``total`` bytes less those removed exceed ``target``.
    Returns the bytes removed; a file that cannot be removed is left (the clip cache's
    ``prune``, the music cache's: ``musiccache.prune``)."""
    removed = 0
    for group in sorted(groups, key=lambda files: max(st.st_mtime for _, st in files)):
        if total - removed <= target:
            break
        for path, st in group:
            with contextlib.suppress(OSError):
                path.unlink()
                removed += st.st_size
    return removed


_at_exit: set[Path] = set()


def prune_at_exit(folder: Path) -> None:
    """``prune(folder)`` when the process exits, after every session it made (once
    however often asked): the marker's one stat, and a day's scan. A process that ends
    by ``os._exit`` (a forked worker of a many-routine render) does not prune."""
    if folder not in _at_exit:
        _at_exit.add(folder)
        atexit.register(_prune_quietly, folder)


def _prune_quietly(folder: Path) -> None:
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C while leaving: another day
        prune(folder)


def _valid(data: bytes, key: str) -> bool:
    if len(data) < HEADER.size:
        return False
    magic, rate, count, crc, digest = HEADER.unpack_from(data)
    return bool(
        magic == MAGIC
        and rate == SAMPLE_RATE
        and len(data) == HEADER.size + 2 * count
        and digest == bytes.fromhex(key)
        and zlib.crc32(memoryview(data)[HEADER.size :]) == crc
    )


def trim(samples: Clip) -> Clip:
    """Cut leading and trailing silence, keeping small margins, with 2 ms fades at the ends.

    Deterministic: a pure function of the samples (integer arithmetic only).
    An all-silent input gives an empty clip.
    """
    import numpy as np

    # Compared both ways, not with abs(): abs(-32768) does not fit in int16.
    loud = (samples > TRIM_THRESHOLD) | (samples < -TRIM_THRESHOLD)
    first = int(np.argmax(loud)) if loud.size else 0
    if not loud.size or not loud[first]:
        return np.zeros(0, dtype=np.int16)
    last = len(samples) - 1 - int(np.argmax(loud[::-1]))
    start = max(0, first - LEAD_MARGIN)
    stop = min(len(samples), last + 1 + TAIL_MARGIN)
    out = samples[start:stop].astype(np.int32)
    n = min(FADE, len(out) // 2)
    if n:
        ramp = np.arange(n, dtype=np.int32)
        out[:n] = out[:n] * ramp // n
        out[len(out) - n :] = out[len(out) - n :] * ramp[::-1] // n
    result: Clip = out.astype(np.int16)
    return result
