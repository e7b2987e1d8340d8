"""Joining MP3 streams that LAME encoded separately, so one file uses both cores.

MP3 encoding is the slow part of a render (LAME runs at about 200x real time on one
core), so ``encode`` cuts a long session at silent moments, encodes the pieces in
parallel and joins them here. The join is exact, not approximate:

- LAME (through libsndfile) starts every stream with an "Info" frame (the LAME tag:
  frame count, byte count, seek table, encoder delay and padding), then frames of
  ``frame_size`` samples. A stream of ``n`` samples takes ``ceil((n + SEAM) / F)``
  frames: ``DELAY`` samples of encoder delay in front and at least 576 of padding at
  the end. Measured with LAME 3.100 for every MPEG version; ``tests/test_encode.py``
  checks it.
- So a piece that must end at output sample ``C`` (a multiple of ``F``) is given
  ``C - start - SEAM`` samples: its frames then cover exactly up to ``C`` and the next
  piece's samples come out of the decoder exactly where they belong. The ``SEAM``
  samples left out must be silence, which is why cuts are made in silent gaps.
- The first piece keeps its Info frame; the others lose theirs, and the Info frame is
  rewritten for the whole stream: frame and byte counts, seek table, the last piece's
  padding, the music CRC (combined, not recomputed) and the tag's own CRC. Decoders
  (mpg123, ffmpeg) then trim delay and padding and give exactly the session's length.
"""

from __future__ import annotations

import math
import struct
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from voicecoach.adapters import codec, outfile, tagging
from voicecoach.core.timeline import Chapter

if TYPE_CHECKING:
    from voicecoach.audio.mix import Samples

Progress = Callable[[int], None]
Seek = Callable[[int, int], Iterable["Samples"]]

DELAY = 576  # the encoder delay LAME writes in its tag (decoders add their own 529)
SEAM = 1152  # DELAY plus LAME's minimum end padding: the samples a join leaves out

_BITRATES_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_BITRATES_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
# The lowest bit rate (kbps) at each sample rate whose frames are big enough for LAME
# to write its Info frame (about 170 bytes: 48 kbps at 22050 Hz makes 156-byte frames
# and gets none). Without it no decoder trims the encoder delay (every event 50 ms
# late) and pieces cannot be joined. Measured with LAME 3.100 through libsndfile.
_INFO_MIN = {
    8000: 24, 11025: 32, 12000: 32, 16000: 40, 22050: 56, 24000: 64,
    32000: 40, 44100: 56, 48000: 64,
}  # fmt: skip
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}

# Offsets inside the Info frame's tag, from the "Info"/"Xing" marker.
_FRAMES = 8
_BYTES = 12
_TOC = 16
_LAME = 120  # the LAME extension (after the 100-byte TOC and the 4-byte quality)
_PADDING = _LAME + 21  # 12 bits delay, 12 bits padding
_MUSIC_LENGTH = _LAME + 28
_MUSIC_CRC = _LAME + 32
_TAG_CRC = _LAME + 34


def bitrates(rate: int) -> tuple[int, ...]:
    """The CBR bit rates (kbps) an MP3 at ``rate`` can be written at, gapless."""
    table = _BITRATES_V1 if rate >= 32000 else _BITRATES_V2
    high = codec.mp3_span(rate)[1]
    return tuple(b for b in table[1:] if _INFO_MIN.get(rate, 64) <= b <= high)


def frame_size(rate: int) -> int:
    """Samples per Layer III frame: 1152 for MPEG-1 rates, 576 for MPEG-2 and 2.5."""
    return 1152 if rate >= 32000 else 576


def frame_length(header: bytes) -> int:
    """The byte length of the frame starting with ``header`` (Layer III, no free format)."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        raise ValueError("not an MP3 frame header")
    version = (header[1] >> 3) & 3
    layer = (header[1] >> 1) & 3
    index = header[2] >> 4
    rate_index = (header[2] >> 2) & 3
    if version == 1 or layer != 1 or index in (0, 15) or rate_index == 3:
        raise ValueError("unsupported MP3 frame header")
    padding = (header[2] >> 1) & 1
    rate = _RATES[version][rate_index]
    if version == 3:
        return 144 * _BITRATES_V1[index] * 1000 // rate + padding
    return 72 * _BITRATES_V2[index] * 1000 // rate + padding


def _frames(f: BinaryIO, start: int, end: int) -> Iterator[int]:
    """Offsets of the frames from ``start`` to ``end``, read a block at a time."""
    pos = start
    buf = b""
    buf_at = start
    while pos < end:
        if pos + 4 > buf_at + len(buf):
            f.seek(pos)
            buf = f.read(1 << 20)
            buf_at = pos
        yield pos
        pos += frame_length(buf[pos - buf_at : pos - buf_at + 4])
    if pos != end:
        raise ValueError("the MP3 stream ends inside a frame")


def _marker(frame: bytes) -> int:
    for tag in (b"Info", b"Xing"):
        at = frame.find(tag, 4, 40)
        if at >= 0:
            return at
    raise ValueError("no LAME Info frame at the start of the MP3 stream")


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes | bytearray, crc: int = 0) -> int:
    """CRC-16 (polynomial 0x8005, reflected, CRC-16/ARC), as in the LAME tag."""
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def _gf2_times(matrix: Sequence[int], vector: int) -> int:
    total = 0
    i = 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def crc16_combine(crc_a: int, crc_b: int, length_b: int) -> int:
    """The CRC of A followed by B from the CRCs of A and B (zlib's crc32_combine idea).

    The music CRC covers megabytes; recomputing it byte by byte in Python would take
    seconds, combining the pieces' CRCs takes microseconds.
    """
    # The operator that feeds one zero bit into the register, as 16 columns.
    op = [0xA001] + [1 << (n - 1) for n in range(1, 16)]
    for _ in range(3):  # one zero byte = 8 bits
        op = [_gf2_times(op, op[n]) for n in range(16)]
    register = crc_a
    n = length_b
    while n:
        if n & 1:
            register = _gf2_times(op, register)
        op = [_gf2_times(op, op[k]) for k in range(16)]
        n >>= 1
    return register ^ crc_b


def _read_info(f: BinaryIO, at: int) -> bytes:
    f.seek(at)
    header = f.read(4)
    return header + f.read(frame_length(header) - 4)


def _field(info: bytes | bytearray, marker: int, offset: int) -> int:
    value: int = struct.unpack_from(">I", info, marker + offset)[0]
    return value


def join(out: BinaryIO, base: int, parts: Sequence[Path]) -> None:
    """Append the frames of ``parts`` to the MP3 stream at ``base`` in ``out`` and rewrite
    its Info frame so the whole is one gapless stream."""
    info = bytearray(_read_info(out, base))
    marker = _marker(bytes(info))
    frames = _field(info, marker, _FRAMES)
    music_crc = struct.unpack_from(">H", info, marker + _MUSIC_CRC)[0]
    padding = bytes(info[marker + _PADDING : marker + _PADDING + 3])
    out.seek(0, 2)
    for part in parts:
        with open(part, "rb") as f:
            part_info = _read_info(f, 0)
            part_marker = _marker(part_info)
            frames += _field(part_info, part_marker, _FRAMES)
            music_crc = crc16_combine(
                music_crc,
                struct.unpack_from(">H", part_info, part_marker + _MUSIC_CRC)[0],
                f.seek(0, 2) - len(part_info),
            )
            padding = part_info[part_marker + _PADDING : part_marker + _PADDING + 3]
            f.seek(len(part_info))
            while block := f.read(1 << 20):
                out.write(block)
    end = out.seek(0, 2)
    size = end - base

    # The seek table: where each percent of the duration starts, in 256ths of the size.
    # Frame 0 is the Info frame itself, so 0 % maps to the start of the stream.
    wanted = [i * frames // 100 for i in range(100)]
    offsets: list[int] = []
    count = 0
    for offset in _frames(out, base, end):
        while len(offsets) < 100 and wanted[len(offsets)] == count:
            offsets.append(offset - base)
        count += 1
    if count != frames + 1:
        raise ValueError(f"the joined MP3 has {count - 1} frames, its pieces say {frames}")
    toc = bytes(min(255, off * 256 // size) for off in offsets)

    struct.pack_into(">II", info, marker + _FRAMES, frames, size)
    info[marker + _TOC : marker + _TOC + 100] = toc
    info[marker + _PADDING : marker + _PADDING + 3] = padding
    struct.pack_into(">I", info, marker + _MUSIC_LENGTH, size)
    struct.pack_into(">H", info, marker + _MUSIC_CRC, music_crc)
    struct.pack_into(">H", info, marker + _TAG_CRC, crc16(bytes(info[: marker + _TAG_CRC])))
    out.seek(base)
    out.write(info)


# --- encoding in pieces ---------------------------------------------------------------

PARALLEL_MIN_SECONDS = 60.0  # shorter MP3s are encoded in one piece
_GUARD_FRAMES = 2  # frames of silence kept on each side of a join (MDCT overlap)
_RESAMPLER_GUARD = 1024  # input samples: more than soxr's filter reaches


def cut_points(
    total: int, rate: int, out_rate: int, quiet: Sequence[tuple[int, int]], pieces: int
) -> list[int]:
    """Input positions where an MP3 can be cut into ``pieces`` (fewer if the silences
    do not allow): each maps to a frame boundary of the output and sits in silence
    long enough for the seam and its guards."""
    frame = frame_size(out_rate)
    unit = rate * frame
    step = unit // math.gcd(out_rate, unit)  # input samples between frame-exact points
    guard = _GUARD_FRAMES * frame
    before = math.ceil((SEAM + guard) * rate / out_rate) + _RESAMPLER_GUARD
    after = math.ceil(guard * rate / out_rate) + _RESAMPLER_GUARD
    shortest = int(PARALLEL_MIN_SECONDS * rate / (2 * pieces))
    points: list[int] = []
    for j in range(1, pieces):
        want = total * j // pieces
        best: int | None = None
        for a, b in quiet:
            lo = -(-(a + before) // step) * step
            hi = (b - after) // step * step
            if lo > hi:
                continue
            c = min(max(round(want / step) * step, lo), hi)
            if best is None or abs(c - want) < abs(best - want):
                best = c
        last = points[-1] if points else 0
        if best is not None and best - last >= shortest and total - best >= shortest:
            points.append(best)
    return points


def write_mp3(
    file: Path,
    tgt: outfile.Target,
    job: codec.Job,
    chunks: Iterable[Samples],
    total: int,
    chapters: Sequence[Chapter],
    progress: Progress | None,
    seek: Seek | None,
    quiet: Sequence[tuple[int, int]],
    threads: int,
) -> int:
    cuts: list[int] = []
    if (
        seek is not None
        and threads > 1
        and not tgt.direct
        and total >= PARALLEL_MIN_SECONDS * job.rate
    ):
        cuts = cut_points(total, job.rate, job.out_rate, quiet, threads)
    tag = tagging.id3_tag(job.tags, chapters, job.rate)
    with open(file, "r+b") as f:
        f.write(tag)
        if not cuts:
            return codec.encode_stream(
                f, len(tag), job, codec.counted(chunks, total), None, progress or codec.no_progress
            )
        assert seek is not None
        parts = [outfile.temp_name(tgt.real, f".{k}") for k in range(1, len(cuts) + 1)]
        try:
            frames = _pieces(f, len(tag), job, seek, [0, *cuts, total], parts, progress)
            join(f, len(tag), parts)
        finally:
            for part in parts:
                outfile.unlink_quietly(part)
        return frames


def _pieces(
    f: BinaryIO,
    base: int,
    job: codec.Job,
    seek: Seek,
    bounds: list[int],
    parts: list[Path],
    progress: Progress | None,
) -> int:
    """Encode the pieces between ``bounds`` in threads (libsndfile releases the GIL):
    the first into ``f``, the others into ``parts``. Progress is reported from here."""
    cancel = threading.Event()
    done = [0] * (len(bounds) - 1)

    def piece(k: int) -> int:
        start, stop = bounds[k], bounds[k + 1]
        keep = None
        if k + 1 < len(done):
            keep = (stop - start) * job.out_rate // job.rate - SEAM

        def count(n: int) -> None:
            done[k] += n

        seam = 0 if keep is None else SEAM  # the seam's frames are in the file too
        if k == 0:
            return codec.encode_stream(f, base, job, seek(start, stop), keep, count, cancel) + seam
        with open(parts[k - 1], "w+b") as pf:
            return codec.encode_stream(pf, 0, job, seek(start, stop), keep, count, cancel) + seam

    reported = 0
    with ThreadPoolExecutor(len(done), thread_name_prefix="mp3") as pool:
        futures = [pool.submit(piece, k) for k in range(len(done))]
        try:
            while True:
                finished, pending = wait(futures, timeout=0.1, return_when=FIRST_EXCEPTION)
                now = sum(done)
                if progress and now > reported:
                    progress(now - reported)
                reported = now
                if any(fu.exception() for fu in finished) or not pending:
                    break
        except BaseException:
            cancel.set()
            raise
        cancel.set()  # stop the other pieces if one failed
        for fu in futures:
            error = fu.exception() if fu.done() else None
            if error is not None and not isinstance(error, codec.Cancelled):
                raise error
    return sum(fu.result() for fu in futures)
