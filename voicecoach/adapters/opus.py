"""Ogg Opus through ffmpeg's libopus: the session's samples piped in, the Ogg stream
piped out into the output file (so OS errors on it are ours to report, as for every
format). The tags and chapters are written afterwards, as for Ogg Vorbis (``tagging``).

Why ffmpeg and not libsndfile, which writes the other formats: measured on the
flagship (19:21 of speech and cues, 2 cores), libsndfile's bundled libopus took
33 s of CPU for a ~21 kbps file where ffmpeg's took 12 s for 24 kbps (both at libopus's
default complexity 10: the wheel's libopus is built without the CPU-specific code),
and libsndfile sets neither a bit rate (only a 0-1 "compression level") nor the
complexity. So writing .opus needs ffmpeg on the PATH (``tools/dev`` installs it;
every distribution packages it); without it, one line says so.

The samples are resampled here with soxr, as for every format (its delay removed, so
every event keeps its time), and handed over at the output rate: ffmpeg only encodes.

Peaks: CELT only at 32 kbps, under a ceiling, in one pass, with a safety net. The
session's samples peak at -2.5 dBTP (``levelling.CEILING_DBFS``) and the file must
decode at -1 dBFS at most (``levelling.PEAK_DBFS``). Lossy codecs overshoot, and
Opus's default mode for speech (SILK or hybrid) does so erratically, not in
proportion to the level, so no margin bounds it. Measured per 20 ms block, decoded by
ffmpeg as float at 48 kHz against the source's block peak at 48 kHz (soxr), over five
routines' sessions at 24 kbps (79205 blocks; back-mobility, desk-break,
five-minute-back, lower-back-relief, SHORT_ROUTINE), the worst and the 99.9th
percentile overshoot:

    source block peak     default (hybrid)      -application lowdelay (CELT only)
    -3 .. -2 dBFS         +2.84 dB   +0.93      +1.80 dB   +1.10
    -4 .. -3              +2.12      +1.36      +1.71      +1.31
    -5 .. -4              +1.39      +1.24      +1.97      +1.32
    -8 .. -6              +5.38      +1.76      +3.49      +2.56

In hybrid mode the worst block does not move with its level: lowering every block
over -4 dBFS to -4 left desk-break's at -1.16 and the flagship's at -0.34 (one block
of another flagship's samples, alone: +0.55 dBFS at gain 0, +0.15 at -2 dB, gone at
-3; libopus's options erratic on it too: -frame_duration 60 -0.08, -application voip
-1.07, 28k +0.59, 32k +0.41, -cutoff 8000 +0.42; whole sessions: the flagship at 32k
+2.38, SHORT_ROUTINE with -vbr off +3.45). An earlier check decoded the written stream
and encoded again with gain dips where a block overshot: three times ffmpeg's time
(flagship 46.6 s vs 14.6 s) and still +0.29 dBFS on one flagship.

CELT alone (``-application lowdelay``: MDCT, energy per band kept) overshoots nearly in
proportion, so a ceiling before the encoder bounds the decoded peak, but not at
24 kbps: there a noisy onset out of silence (five-minute-back at 22.7 s) still jumps,
erratically: five-minute-back decodes at -1.14 dBFS under a ceiling of -3.0, -1.31 at
-3.25, -0.62 at -3.5, -2.41 at -3.75; at 28 kbps desk-break -0.33 under -3.0. At
32 kbps it mostly settles. Whole sessions, decoded peak (dBFS), integrated loudness of the
file (LUFS) and size, the source at about -15.9 LUFS:

                        24k hybrid   24k CELT   32k CELT   32k CELT, ceiling -3.0
    back-strength       -0.34        -1.05                 -1.45  -16.06  4.82 MB
    spine-three-stage   -1.27        -0.72                 -1.47  -16.11  4.06 MB
    back-mobility       -1.45        -1.17                 -1.46  -16.02  2.42 MB
    desk-break          -0.09        -1.21      -1.26      -1.61  -16.04  1.35 MB
    lower-back-relief   -1.43        -1.10                 -1.95  -16.03  1.20 MB
    five-minute-back    -1.11        -1.14      -1.57      -1.90  -16.09  1.52 MB
    SHORT_ROUTINE       -1.86        -1.26      -1.32      -1.98  -16.23  0.44 MB

(The hybrid at 24 kbps: the flagship 2.62 MB, -16.19 LUFS.) Those sessions were made
from one clip cache; made from the default cache (other clips: eSpeak's output moves
a little between runs) bench/encode_bench.py measured the flagship at -1.59 dBFS,
-16.09 LUFS, 4.79 MB and five-minute-back at -1.59, but desk-break at -0.68: one block
jumps by 2.4 dB, and a lower ceiling is no cure (-3.25: -1.00, -3.5: -1.07, -4.0:
-1.63 dBFS but -16.64 LUFS). So ``CEILING_DBFS`` is -3.0 and the default 32 kbps:
the files end about 0.15 LU under the session (the ceiling lowers a peak by about
0.5 dB at most; a lower one costs more: -3.5 0.3 LU, -4.0 0.6 LU), and the rare session that still
overshoots pays for itself through the safety net below (desk-break: -0.52 dB, so
-1.20 dBFS and -16.56 LUFS). ``EXPECTED_DBFS`` (-1.4) is where the ceiling alone put
the others (-1.45 to -1.98), which the tests hold real speech to. The ceiling is a
block gain (``Ceiling``): each 5 ms block whose peak (between the samples too) is over
it is brought to it, reached and left through a one-block raised cosine, so the rest
of the session is untouched. CELT alone costs bytes, not time or
quality: 1.45 times the hybrid's size at the same rate, libopus encodes it faster (the
flagship at 24 kbps 17.0 s against 52.4 s, same load), and on desk-break (SNR of the
waveform; log-spectral distance; 4-8 kHz band energy against the source) hybrid 24k
gave 14.3 dB, 9.2 dB, -3.1 dB; CELT 24k 15.4 dB, 7.9 dB, +0.0 dB; hybrid 32k 15.8 dB,
8.1 dB, -3.2 dB. Its energy per band makes the file about 0.3 LU louder than the
hybrid's, which the ceiling takes back.

The safety net, for what the measurements did not meet (another bit rate, other
sounds): the written stream is decoded once (ffmpeg, float, 48 kHz, streamed: about
1.3 s for the flagship) and, if its peak is over ``_NET_DBFS``, the OpusHead's output
gain (RFC 7845: every decoder applies it, ffmpeg exactly) is set to bring it there: a
rewrite of the first page, no second encoding. It lowers the whole file, so it is the
exception: at 24 kbps it took five-minute-back to -16.98 LUFS (ceiling -3.5, -0.59 dB).
The benchmark's 30 synthetic minutes (a pure chirp that the hybrid decodes at
+2.44 dBFS) decode at -9.04 dBFS, untouched.

With music the net was the rule, and it cost the target: the speech is made up and
limited hard (``makeup``, up to +6 dB), and more blocks at the ceiling give the rare big
overshoot more chances (not the bed: the made-up speech alone, its bed silenced, decoded
at -0.50 dBFS). SHORT_ROUTINE with real speech over generated beds (white noise, pink
noise, a chord, a tone, chords and hats) decoded at -0.04 to -1.02 dBFS, so the header
gain took the file to -16.9 .. -17.6 LUFS (from -16.4); neither a lower ceiling (white
noise: -3.5 -0.26, -4.0 -0.63 dBFS) nor more bits (48 kbps: -0.86 to -1.33; 64 kbps
-1.46 to -1.99, twice the bytes) bound it. The blocks over were few (one to four in
108 s), so when the encoder can have the samples again (``encode``'s ``seek``: a whole
render, not a split track or a pipe), each 5 ms block decoding over the net, or within
``_NEAR`` of it, is dipped, with three blocks either side (a 20 ms CELT frame), by its
excess plus ``_DIP_MARGIN``, a gain whatever its level (a dip under the ceiling alone
missed blocks whose overshoot came from a neighbour's onset), and the session is
encoded again, at most ``_DIP_PASSES`` times. Measured: one more encoding for six of
those seven beds (-1.32 to -1.43 dBFS), two for the last (-1.48), the loudness kept
(-16.42); speech-like noise over a chord and over noise (tests/test_music_formats.py)
-1.32 and -1.30 dBFS with no header gain, where the net had taken -0.40 dB. An encoding
again costs an encoding and a decoding (about 1 s for 100 s of session); a file under
the net pays nothing, so a session without music keeps its bytes. Only what the dips
leave over the net gets the header gain.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import struct
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, BinaryIO

from voicecoach.adapters import codec
from voicecoach.errors import OutputError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from voicecoach.adapters.codec import Job
    from voicecoach.audio.mix import Samples

_COPY = 1 << 16  # bytes read from ffmpeg at a time

CEILING_DBFS = -3.0  # no 5 ms block handed to libopus peaks above this (docstring)
# Where the ceiling alone puts real speech's decoded peak at 32 kbps (measured: -1.45 to
# -1.98 on seven sessions; one session from another cache -0.68: the safety net's case).
EXPECTED_DBFS = -1.4
BLOCK_SECONDS = 0.005  # the ceiling's block, and its ramp on each side
# The safety net (docstring): a file still decoding over _NET_DBFS gets the gain that
# brings its peak there, in its header.
_NET_DBFS = -1.2  # PEAK_DBFS less 0.2 dB for decoders that differ a little from ffmpeg's
_CHECK_RATE = 48000  # Opus decodes at 48 kHz: the rate players and the tests decode at
_DIP_PASSES = 2  # encodings again at most, each with the blocks still over the net dipped
_DIP_MARGIN = 0.5  # dB: a block over the net is dipped to this far under it
_NEAR = 0.1  # dB: blocks this close under the net are dipped with it


def ffmpeg() -> str:
    """The ffmpeg to encode with, or a one-line OutputError if there is none."""
    path = shutil.which("ffmpeg")
    if path is None:
        raise OutputError(
            "writing .opus needs ffmpeg, which is not installed: install it"
            " (e.g. `sudo apt install ffmpeg`), or write .ogg or .mp3 instead"
        )
    return path


_HALF = 8  # taps each side of a half-sample point: the estimate is within 0.1 dB


class Ceiling:
    """A streaming block gain: every ``block`` of samples whose peak is over ``limit``
    (int16 units) is scaled down to it, and the gain reaches that block and leaves it
    through a raised cosine one block long in each neighbour, so it never steps. Blocks
    under the limit, away from one over it, pass unchanged.

    A block's peak counts the peaks between its samples, estimated at each half-sample
    point by a windowed sinc of 16 taps: at 24 kHz the samples alone missed up to
    3.2 dB (desk-break's 20 ms blocks over -6 dBFS, against soxr's 48 kHz; the 16 taps
    are within 0.1 dB of it, 8 taps 0.4 dB, 4 taps 2.1 dB). A ceiling on the samples
    alone left desk-break decoding at -1.03 dBFS.

    ``dips`` (block index from the stream's start -> dB) lowers those blocks by that
    much whatever their peak, with the same ramps: the safety net's second encoding.

    ``push`` takes samples and returns those it has finished (it holds the last block
    back until it knows the next one's gain); ``push(..., last=True)`` returns the rest.
    Whatever the chunking, the output is the same and as long as the input."""

    def __init__(self, limit: float, block: int, dips: Mapping[int, float] | None = None) -> None:
        import numpy as np

        self._limit = limit
        self._block = block
        self._dips = dict(dips or {})  # block index -> a gain there, dB down (the net)
        self._index = 0  # the index of the first held block
        self._held = np.zeros(0, np.int16)
        self._history = np.zeros(_HALF - 1)  # the samples before the held ones
        self._before = 1.0  # the gain of the block just before the held samples
        d = np.arange(1, block + 1) / block  # distance from the neighbour, in blocks
        self._rise = 0.5 - 0.5 * np.cos(np.pi * d)  # 0 next to it, 1 a block away
        k = np.arange(-_HALF + 1, _HALF + 1) - 0.5  # the taps' offsets from the point
        taps = np.sinc(k) * np.hanning(2 * _HALF + 2)[1:-1]
        self._taps = (taps / taps.sum())[::-1]

    def push(self, samples: Samples, last: bool = False) -> Samples:
        import numpy as np

        x = np.concatenate([self._held, samples])
        b = self._block
        whole = len(x) // b
        ready = len(x) if last else max(0, whole - 1) * b  # samples finished now
        if ready == 0:
            self._held = x
            return x[:0]
        nblocks = -(-ready // b)
        size = nblocks * b + b  # one block beyond: the next block's gain
        padded = np.zeros(size + _HALF)
        padded[: min(len(x), len(padded))] = x[: len(padded)]
        # x at each half-sample point n + 1/2, from the samples n-7 .. n+8
        mid = np.convolve(np.concatenate([self._history, padded]), self._taps, "valid")
        peak = np.maximum(np.abs(padded[:size]), np.abs(mid[:size]))
        cap = np.ones(size // b)  # the dips: a gain whatever the block's peak
        for k, db in self._dips.items():
            if self._index <= k < self._index + cap.size:
                cap[k - self._index] = 10.0 ** (-db / 20.0)
        gain = np.minimum(cap, self._limit / np.maximum(peak.reshape(-1, b).max(axis=1), 1e-9))
        before = np.concatenate([[self._before], gain[:-2]])[:, None]
        after = gain[1:, None]
        here = gain[:-1, None]
        if np.all(before == 1.0) and np.all(here == 1.0) and np.all(after == 1.0):
            out = x[:ready]
        else:
            g = np.minimum(
                here,
                np.minimum(
                    before + (1.0 - before) * self._rise,  # leaving the block before
                    after + (1.0 - after) * self._rise[::-1],  # reaching the block after
                ),
            ).reshape(-1)[:ready]
            out = np.round(x[:ready] * g).astype(np.int16)
        self._before = float(gain[nblocks - 1])
        self._index += nblocks
        self._history = np.concatenate([self._history, x[:ready].astype(np.float64)])[
            -(_HALF - 1) :
        ]
        self._held = x[ready:]
        return out


def encode(
    f: BinaryIO,
    job: Job,
    source: Iterable[Samples],
    bitrate: int,
    on_input: Callable[[int], None],
    shown: str,
    again: Callable[[], Iterable[Samples]] | None = None,
) -> int:
    """Encode ``source`` (mono int16 at ``job.rate``) to Ogg Opus at ``bitrate`` kbps
    (variable: libopus's default, which spends bits where the speech is), CELT only,
    under ``CEILING_DBFS`` (module docstring), into ``f``; returns the samples written
    at ``job.out_rate``. ``again()``, if given, yields the same samples from the start:
    blocks that still decode over the net are then encoded again, lower (the dips)."""
    import numpy as np

    written, ogg = _encode_once(f, job, source, bitrate, on_input, shown, {})
    if not f.seekable():  # a pipe cannot be rewritten: its stream stays as encoded
        return written
    dips: dict[int, float] = {}
    peaks = decoded_peaks(ogg, shown)
    for _ in range(_DIP_PASSES if again is not None else 0):
        if peaks.size == 0 or peaks.max() <= _NET_DBFS:
            break
        over = np.flatnonzero(peaks > _NET_DBFS - _NEAR)  # near misses may rise: them too
        for k in over.tolist():
            # Around the block: a 20 ms CELT frame holds four, and may start off them.
            need = float(peaks[k]) - _NET_DBFS + _DIP_MARGIN + dips.get(k, 0.0)
            for j in range(k - 3, k + 4):
                dips[j] = max(dips.get(j, 0.0), need)
        assert again is not None
        f.seek(0)
        f.truncate()
        # Reporting nothing: the bar has counted the session once.
        written, ogg = _encode_once(f, job, again(), bitrate, codec.no_progress, shown, dips)
        peaks = decoded_peaks(ogg, shown)
    peak = float(peaks.max()) if peaks.size else -240.0
    if peak > _NET_DBFS:
        f.seek(0)
        head = f.read(_HEAD_PAGE)
        f.seek(0)
        f.write(with_output_gain(head, _NET_DBFS - peak))
        f.seek(0, 2)
    return written


def _encode_once(
    f: BinaryIO,
    job: Job,
    source: Iterable[Samples],
    bitrate: int,
    on_input: Callable[[int], None],
    shown: str,
    dips: Mapping[int, float],
) -> tuple[int, bytes]:
    """One encoding into ``f``: the samples written and the Ogg stream."""
    import numpy as np
    import soxr

    command = [
        ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error",
        "-f", "s16le", "-ar", str(job.out_rate), "-ac", "1", "-i", "pipe:0",
        "-c:a", "libopus", "-b:a", f"{bitrate}k", "-application", "lowdelay",
        "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
        "-f", "ogg", "pipe:1",
    ]  # fmt: skip
    # A session of its own: Ctrl-C reaches this process, which stops ffmpeg itself
    # after removing the temporary file, rather than ffmpeg dying mid-write first.
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    failure: list[OSError] = []
    errors: list[bytes] = []
    kept: list[bytes] = []  # the Ogg stream, decoded afterwards to check its peak

    def copy_out() -> None:
        out = proc.stdout
        assert out is not None
        while data := out.read(_COPY):
            kept.append(data)
            if not failure:
                try:
                    f.write(data)
                except OSError as exc:  # a full disk: stop ffmpeg, report it
                    failure.append(exc)
                    proc.kill()

    def keep_errors() -> None:
        assert proc.stderr is not None
        errors.append(proc.stderr.read())

    readers = [threading.Thread(target=t, daemon=True) for t in (copy_out, keep_errors)]
    for t in readers:
        t.start()
    written = 0
    limit = 32768 * 10.0 ** (CEILING_DBFS / 20.0)
    ceiling = Ceiling(limit, round(BLOCK_SECONDS * job.out_rate), dips)

    def put(samples: Samples) -> bool:
        """Hand ``samples`` to ffmpeg; False once it has stopped (its reason: below)."""
        nonlocal written
        assert proc.stdin is not None
        try:
            proc.stdin.write(np.ascontiguousarray(samples, "<i2").tobytes())
        except BrokenPipeError:
            return False
        written += len(samples)
        return True

    try:
        resampler = None
        if job.out_rate != job.rate:
            resampler = soxr.ResampleStream(job.rate, job.out_rate, 1, dtype="int16", quality="HQ")
        going = True
        for chunk in source:
            x = resampler.resample_chunk(chunk, last=False) if resampler else chunk
            going = put(ceiling.push(x))
            if not going:
                break
            on_input(len(chunk))
        if going:
            tail = np.zeros(0, np.int16)
            if resampler is not None:
                tail = resampler.resample_chunk(tail, last=True)
            put(ceiling.push(tail, last=True))
        proc.stdin.close()
        code = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        for t in readers:
            t.join()
    if failure:
        raise failure[0]
    if code != 0:
        reason = b"".join(errors).decode(errors="replace").strip().splitlines()
        detail = reason[-1] if reason else f"exit status {code}"
        raise OutputError(f"cannot write {shown}: ffmpeg failed to encode Opus: {detail}")
    return written, b"".join(kept)


_HEAD_PAGE = 27 + 1 + 19  # the first Ogg page: its header, one lacing value, the OpusHead


def with_output_gain(page: bytes, db: float) -> bytes:
    """The stream's first Ogg page (``_HEAD_PAGE`` bytes: the OpusHead of a mono stream)
    with ``db`` as its output gain (RFC 7845 5.1: a Q7.8 dB gain every decoder applies),
    rounded down to the next 1/256 dB, and its checksum made again."""
    if len(page) != _HEAD_PAGE or page[:4] != b"OggS" or page[28:36] != b"OpusHead":
        raise OutputError("cannot set the Opus stream's gain: its first page is not an OpusHead")
    gain = max(-32768, math.floor(db * 256))
    out = bytearray(page)
    out[28 + 16 : 28 + 18] = struct.pack("<h", gain)
    out[22:26] = bytes(4)  # the checksum is computed with its own field zeroed
    out[22:26] = struct.pack("<I", _ogg_crc(bytes(out)))
    return bytes(out)


def _ogg_crc(data: bytes) -> int:
    """Ogg's page checksum: CRC-32, polynomial 0x04C11DB7, unreflected, 0 to start."""
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def decoded_peaks(ogg: bytes, shown: str) -> npt.NDArray[np.float64]:
    """The peak (dBFS) of each ``BLOCK_SECONDS`` block of ``ogg`` decoded by ffmpeg as
    float at ``_CHECK_RATE``, as players decode it (a block's index is the ceiling's at
    the output rate: 5 ms either way): streamed, so a long session's samples never sit
    in memory (the peaks of 2 hours: 11 MB)."""
    import numpy as np

    command = [
        ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-i", "pipe:0",
        "-f", "f32le", "-ac", "1", "-ar", str(_CHECK_RATE), "pipe:1",
    ]  # fmt: skip
    proc = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert proc.stdin is not None and proc.stdout is not None

    def feed() -> None:
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write(ogg)
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    size = round(BLOCK_SECONDS * _CHECK_RATE) * 4  # bytes of one block
    peaks: list[npt.NDArray[np.float32]] = []
    rest = b""  # a read may end inside a block (or a float)
    try:
        while data := proc.stdout.read(1 << 20):
            data = rest + data
            whole = len(data) // size * size
            if whole:
                blocks = np.frombuffer(data[:whole], "<f4").reshape(-1, size // 4)
                peaks.append(np.abs(blocks).max(axis=1))
            rest = data[whole:]
        if len(rest) >= 4:
            peaks.append(
                np.abs(np.frombuffer(rest[: len(rest) // 4 * 4], "<f4")).max(keepdims=True)
            )
    except BaseException:
        proc.kill()
        raise
    finally:
        feeder.join()
        code = proc.wait()
    if code != 0:
        raise OutputError(f"cannot write {shown}: ffmpeg failed to decode the Opus it wrote")
    linear = np.concatenate(peaks) if peaks else np.zeros(0, np.float32)
    out: npt.NDArray[np.float64] = 20.0 * np.log10(np.maximum(linear.astype(np.float64), 1e-12))
    return out
