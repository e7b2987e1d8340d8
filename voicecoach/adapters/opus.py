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

Peaks. The session's samples peak at -2.5 dBTP (``levelling.CEILING_DBFS``), yet Opus
at 24 kbps decodes some peaks several dB higher, and erratically: which block
overshoots, and by how much, changes with the bit rate, the rate, the resampler and the
encoder's options. Measured (decoded by ffmpeg as float at 48 kHz, the peak in dBFS):
the flagship's samples -1.48 at 24 kbps from 24 kHz (ffmpeg resampling) but -0.34 from
the same samples resampled by soxr, as here (one 10 ms block; the next worst -1.4);
24k at 48 kHz -1.14, 32k at 24 kHz +2.38, 32k at 48 kHz -0.76, 40k at 48 kHz -1.67;
SHORT_ROUTINE (tests/fakes.py) -1.86 at 24k, but +0.55 with ``-vbr constrained``,
+3.45 with ``-vbr off`` (a glitch where the source is at -10.6 dBFS), -0.35 with
``-application voip``, -1.39 with ``-frame_duration 10`` (40: unchanged); the flagship
with ``-application lowdelay`` (CELT only) -1.05 but 3.8 MB instead of 2.6. No setting
is safe, so the written stream is checked instead (``encode``): decoded by ffmpeg
(float, 48 kHz: 1.3 s for the flagship's 18 minutes, streamed, so memory stays flat),
each 10 ms block over -1.2 dBFS becomes a dip, a gain that brings that block to -1.6
dBFS (5 ms raised-cosine ramps either side), and the session is encoded again with the
dips applied to the samples handed to ffmpeg, until no block is over. A limiter
instead, with a lower ceiling on the Opus path, was measured and dropped: at -4 dBTP
it cost the flagship 0.6 LU (-16.82 LUFS before encoding) and still decoded at -1.60,
and ``limiter.limit`` over a whole session took 40 s; a plain pre-gain costs loudness
everywhere (the flagship needed 0.9 dB: -17.1 LUFS). Measured with the dips at 24 kbps
(first pass -> written, dBFS; LUFS of the file written):

    back-strength      -0.34 (1 block over) -> -1.24   -16.19 (also before the dip)
    desk-break         -0.10 (1 block)      -> -1.41   -16.23
    five-minute-back   -1.11 (1 block)      -> -1.39   -16.24
    back-mobility      -1.45                            -16.22
    lower-back-relief  -1.43                            -16.26
    spine-three-stage  -1.27                            -16.27
    SHORT_ROUTINE      -1.86                            -16.44

(That table is the flagship's speech as a cold cache makes it.) One re-encoding at
most there. Its price: a session that overshoots takes two encodings, mixing and
decoding included: bench/encode_bench.py --flagship measured 46.6 s wall, 31.8 s CPU,
against the ffmpeg command's 14.6 s / 12.7 s (2 cores under load).

NOT SOLVED: the overshoot is often not in proportion to the level, so a dip does not
always help. The flagship made from an older user cache (other clips) decodes at +0.75
(3 blocks); after one re-encoding one block is still at +0.29 and the check stops there
(``_PROGRESS``). That block's 10 s of samples, encoded alone: +0.55 dBFS at gain 0,
+0.24 at -0.5 dB, +0.46 at -1, +0.15 at -2, and -5.07 (gone) at -3; dips reaching 20 ms
past the block made it +0.53. The same 10 s through libopus options: -frame_duration 10
-1.75, 40 -1.95, 60 -0.08; -application lowdelay -1.47, voip -1.07; 28k +0.59, 32k
+0.41; -cutoff 8000 +0.42; -compression_level 5 -1.60: erratic again. The benchmark's
synthetic session has a pure chirp (1050 -> 2100 Hz) at -12 dBFS that Opus at 24 kbps
decodes at +2.2 dBFS; dipped by 3.8 dB it still decoded at +2.17. So a re-encoding that
does not bring the worst peak down by more than 0.5 dB is the last, and the file keeps
it: bounded time (two encodings), never an endless search.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from voicecoach.errors import OutputError

if TYPE_CHECKING:
    from voicecoach.adapters.codec import Job
    from voicecoach.audio.mix import Samples

_COPY = 1 << 16  # bytes read from ffmpeg at a time


def ffmpeg() -> str:
    """The ffmpeg to encode with, or a one-line OutputError if there is none."""
    path = shutil.which("ffmpeg")
    if path is None:
        raise OutputError(
            "writing .opus needs ffmpeg, which is not installed: install it"
            " (e.g. `sudo apt install ffmpeg`), or write .ogg or .mp3 instead"
        )
    return path


# The check after encoding (see the module's docstring for the measurements).
_CHECK_RATE = 48000  # Opus decodes at 48 kHz: the rate players and the tests decode at
_LIMIT_DBFS = -1.2  # a decoded sample above this is an overshoot: PEAK_DBFS less a margin
_AIM_DBFS = -1.6  # where a dip aims the overshooting peak (re-encoding moves it a little)
_AIM = 10.0 ** (_AIM_DBFS / 20.0)
_BLOCK = 0.010  # seconds: overshoots are found per block, each its own dip
_RAMP = 0.005  # seconds: a dip's raised-cosine ramp on each side of its block
_PASSES = 3  # re-encodings at most; measured: one is enough (module docstring)
# A re-encoding must bring the worst overshoot down by more than 0.5 dB to earn another.
_PROGRESS = 10.0 ** (-0.5 / 20.0)


@dataclass(frozen=True)
class Dip:
    """A gain below 1 over ``[start, stop)`` (samples at the output rate), reached and
    left through a ``_RAMP`` raised cosine outside that span."""

    start: int
    stop: int
    gain: float
    ramp: int  # samples


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
    (variable: libopus's default, which spends bits where the speech is) into ``f``;
    returns the samples written at ``job.out_rate``.

    The Ogg stream is then decoded and its peaks checked: if some decoded sample is over
    ``_LIMIT_DBFS``, the session (``again()`` gives it once more) is encoded again with
    a short gain dip on each block that overshot, until none does (at most ``_PASSES``
    times). Without ``again``, or into a file that cannot be rewritten (a pipe), the
    first pass stays, unchecked.
    """
    dips: list[list[Dip]] = []
    written, ogg = _encode_once(f, job, source, bitrate, on_input, shown, dips)
    if again is None or not f.seekable():
        return written
    worst = math.inf  # the highest decoded peak of the last pass (linear)
    for _ in range(_PASSES):
        found = overshoots(ogg, job.out_rate, shown)
        peak = _AIM / min((d.gain for d in found), default=1.0)
        if not found or peak > worst * _PROGRESS:
            break  # done, or a glitch that no gain moves (module docstring): keep it
        worst = peak
        dips.append(found)
        f.seek(0)
        f.truncate()
        written, ogg = _encode_once(f, job, again(), bitrate, _no_progress, shown, dips)
    return written


def _no_progress(_: int) -> None:
    """Progress was shown by the first pass: a re-encoding reports none."""


def overshoots(ogg: bytes, out_rate: int, shown: str) -> list[Dip]:
    """A dip for each ``_BLOCK`` of the decoded ``ogg`` (float, at ``_CHECK_RATE``, as
    ffmpeg decodes it) whose peak is over ``_LIMIT_DBFS``, bringing it to ``_AIM_DBFS``.
    Decoded as a stream: a long session's float samples never sit in memory."""
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
    block = round(_BLOCK * _CHECK_RATE)
    limit = 10.0 ** (_LIMIT_DBFS / 20.0)
    ramp = max(1, round(_RAMP * out_rate))
    found: list[Dip] = []
    seen = 0  # decoded samples before ``rest``
    rest = np.zeros(0, np.float32)
    try:
        while data := proc.stdout.read(block * 4 * 256):
            x = np.concatenate([rest, np.frombuffer(data, "<f4")])
            whole = len(x) // block * block
            peaks = np.abs(x[:whole]).reshape(-1, block).max(axis=1)
            for i in np.flatnonzero(peaks > limit):
                at = seen + int(i) * block
                gain = _AIM / float(peaks[i])
                start, stop = (
                    at * out_rate // _CHECK_RATE,
                    -(-(at + block) * out_rate // _CHECK_RATE),
                )
                found.append(Dip(start, stop, gain, ramp))
            seen += whole
            rest = x[whole:]
        if len(rest) and float(np.max(np.abs(rest))) > limit:
            at = seen * out_rate // _CHECK_RATE
            gain = _AIM / float(np.max(np.abs(rest)))
            found.append(Dip(at, at + len(rest) * out_rate // _CHECK_RATE + 1, gain, ramp))
    except BaseException:
        proc.kill()
        raise
    finally:
        feeder.join()
        code = proc.wait()
    if code != 0:
        raise OutputError(f"cannot write {shown}: ffmpeg failed to decode the Opus it wrote")
    return found


def apply_dips(samples: Samples, offset: int, passes: Sequence[Sequence[Dip]]) -> Samples:
    """``samples`` (int16, the first at ``offset``) under the ``passes``' dips: within a
    pass the lowest gain wins (neighbouring blocks' ramps overlap), passes multiply (each
    measured the samples the earlier ones had already lowered)."""
    import numpy as np

    n = len(samples)
    total = np.ones(n)
    touched = False
    for dips in passes:
        gain = np.ones(n)
        hit = False
        for dip in dips:  # a few per session: a plain loop
            ramp = dip.ramp
            lo, hi = dip.start - ramp - offset, dip.stop + ramp - offset
            if hi <= 0 or lo >= n:
                continue
            t = np.arange(max(lo, 0), min(hi, n))
            pos = t + offset
            # 0 in the block, rising to 1 over the ramp on either side
            away = np.maximum(np.maximum(dip.start - pos, pos - (dip.stop - 1)), 0) / ramp
            shape = 0.5 - 0.5 * np.cos(np.pi * np.minimum(away, 1.0))
            here = dip.gain + (1.0 - dip.gain) * shape
            gain[t] = np.minimum(gain[t], here)
            hit = True
        if hit:
            total *= gain
            touched = True
    if not touched:
        return samples
    out: Samples = np.round(samples * total).astype(np.int16)
    return out


def _encode_once(
    f: BinaryIO,
    job: Job,
    source: Iterable[Samples],
    bitrate: int,
    on_input: Callable[[int], None],
    shown: str,
    dips: Sequence[Sequence[Dip]],
) -> tuple[int, bytes]:
    """One pass of ``encode``, the ``dips`` (one list per earlier pass) applied to the
    samples at ``job.out_rate``; returns the samples written and the Ogg stream."""
    import numpy as np
    import soxr

    command = [
        ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error",
        "-f", "s16le", "-ar", str(job.out_rate), "-ac", "1", "-i", "pipe:0",
        "-c:a", "libopus", "-b:a", f"{bitrate}k",
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
    kept: list[bytes] = []  # the Ogg stream, decoded afterwards to check its peaks

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

    def put(samples: Samples) -> bool:
        """Hand ``samples`` to ffmpeg; False once it has stopped (its reason: below)."""
        nonlocal written
        assert proc.stdin is not None
        if dips:
            samples = apply_dips(samples, written, dips)
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
            going = put(resampler.resample_chunk(chunk, last=False) if resampler else chunk)
            if not going:
                break
            on_input(len(chunk))
        if going and resampler is not None:
            put(resampler.resample_chunk(np.zeros(0, np.int16), last=True))
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
