"""The decoded-music cache: tracks kept as mono int16 at the session rate, and what
was measured of them, in ``$VOICECOACH_CACHE_DIR/music``.

Each track has up to two files named by the sha256 of its path, size, mtime and the
session rate: ``<key>.pcm`` (a header with its loudness and length, then the samples,
written by ``music._Reader`` as a track is read straight through) and ``<key>.lufs``
(its loudness and the spread of its blocks' power, ``Measured``, written as soon as it
is measured: a live run rarely plays a track to its end).

Decoded music takes about 2.6 MB a minute at 22050 Hz, and nothing else ever removed
it, so the folder is kept under ``LIMIT`` bytes (``prune``, once per opening of music):
least recently used first, a track's use being when a session opened it (its files'
mtime is set then: access times are not kept on relatime or noatime mounts). The tracks
of the session being opened are never removed, even if they alone are over the limit.
Temporary files a killed process left (older than an hour, as the clip cache's) go too.
A file another process is reading stays readable until it closes it (POSIX); one it has
not opened yet is only decoded again.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import struct
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from voicecoach.adapters.clipcache import evict

CACHE_VERSION = "2"
HEADER = struct.Struct("<8sdq")  # magic, loudness (LUFS), samples
MAGIC = b"VCMUSIC1"
LIMIT = 512 * 1024 * 1024  # bytes: about 3.3 hours of decoded music
STALE_TEMP_SECONDS = 3600.0
SUFFIXES = (".pcm", ".lufs")


@dataclass(frozen=True, slots=True)
class Measured:
    """A track's integrated loudness (LUFS) and the power of its 400 ms blocks relative
    to that loudness, as equally likely values (``makeup`` predicts a session's
    loudness with them)."""

    loudness: float
    spread: tuple[float, ...] = (1.0,)


def cache_path(folder: Path, path: Path, session_rate: int) -> Path:
    st = path.stat()
    key = f"{CACHE_VERSION}\0{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0{session_rate}"
    return folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.pcm"


def cached(cache: Path) -> tuple[float, int] | None:
    """(loudness, samples) of a complete cache file; None if there is none."""
    try:
        with open(cache, "rb") as f:
            magic, loudness, samples = HEADER.unpack(f.read(HEADER.size))
        if magic == MAGIC and cache.stat().st_size == HEADER.size + 2 * samples:
            return float(loudness), int(samples)
    except (OSError, struct.error):
        pass
    return None


def measured(cache: Path | None) -> Measured | None:
    """What was measured of a track before (measuring costs 0.2 s a track). A file of
    the form before the spread (its loudness alone) reads as none: measured again."""
    if cache is None:
        return None
    try:
        lines = cache.with_suffix(".lufs").read_text().splitlines()
        loudness = float(lines[0])
        spread = tuple(float(v) for v in lines[1].split())
    except (OSError, ValueError, IndexError):
        return None
    return Measured(loudness, spread) if spread else None


def remember(cache: Path | None, found: Measured) -> None:
    if cache is None or not math.isfinite(found.loudness):
        return
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(".tmp", "music-", cache.parent)
        with os.fdopen(fd, "w") as f:
            f.write(f"{found.loudness!r}\n{' '.join(repr(v) for v in found.spread)}\n")
        os.replace(name, cache.with_suffix(".lufs"))
    except OSError:  # no cache: measured again next time
        pass


def touch(cache: Path | None) -> None:
    """Mark a track's files used now (for ``prune``)."""
    if cache is None:
        return
    for suffix in SUFFIXES:
        with contextlib.suppress(OSError):
            os.utime(cache.with_suffix(suffix))


def prune(folder: Path, keep: Iterable[Path] = (), limit: int | None = None) -> int:
    """Remove the least recently used tracks until the folder holds at most ``limit``
    bytes (None: ``LIMIT``), never those of ``keep`` (cache paths); and stale temporary
    files. Returns the bytes removed. Best effort: a file that cannot be listed or
    removed is left."""
    limit = LIMIT if limit is None else limit
    kept = {p.with_suffix("") for p in keep}
    tracks: dict[Path, list[tuple[Path, os.stat_result]]] = {}
    removed = 0
    cutoff = time.time() - STALE_TEMP_SECONDS
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        path = Path(entry.path)
        try:
            st = entry.stat()
        except OSError:
            continue
        if path.suffix == ".tmp" and path.name.startswith("music-"):
            if st.st_mtime < cutoff:
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += st.st_size
        elif path.suffix in SUFFIXES and entry.is_file():
            tracks.setdefault(path.with_suffix(""), []).append((path, st))
    total = sum(st.st_size for files in tracks.values() for _, st in files)
    # Oldest use first: a track's use is the newest mtime of its files.
    return removed + evict((f for stem, f in tracks.items() if stem not in kept), total, limit)
