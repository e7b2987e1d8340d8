"""The level rules for the whole product: how loud speech and cue sounds are.

The target is the rendered session: about -16 LUFS integrated (ITU-R BS.1770 / EBU R128,
the usual spoken-word level), peaks at or below -1 dBFS, nothing clipping. A session is
only the distinct speech clips and sounds placed without overlap, so levelling each
clip once levels the whole session:

- ``normalize_speech`` brings a clip to ``SPEECH_LUFS`` measured *in context*: padded
  with silence as it sits in the session, so a short "two" is judged by the 400 ms
  blocks the session meter will see. Every clip measured that way gives a session at
  the target whatever the mix of counts and long sentences (levelling each clip's
  "active" loudness instead leaves a count-heavy session 2.5 LU short).
- ``match_sound`` brings a cue sound to ``SOUND_LUFS`` of *active* loudness (the sound
  alone): as loud as the speech, never louder.
- Both then limit peaks (sample and 4x-oversampled) to just under -1 dBFS with a
  deterministic look-ahead limiter that never changes the length.

``LoudnessMeter`` measures a session as it streams past (render, encode, bench) with
flat memory and the same result as pyloudnorm on the whole signal.

Arrays are mono int16 at ``SAMPLE_RATE`` unless a rate is passed; float arrays are
taken as already scaled to [-1, 1]. numpy, scipy and pyloudnorm are imported inside
functions so ``voicecoach --help`` stays instant. ``normalize_speech`` needs numpy
only: it runs on every phrase of a cold start, where importing scipy would cost more
(about 1 s and 75 MB) than the levelling itself.
"""

from __future__ import annotations

import functools
import importlib
import math
import threading
from array import array
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from voicecoach.core.timeline import SAMPLE_RATE

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.int16]
    Floats = npt.NDArray[np.float64]

# Changes whenever the level rules change what normalize_speech/match_sound return, so
# anything that caches levelled clips (the clip cache, see speech.Speech.levelled) can put
# it in its key: bump it with any change to the constants or the algorithm below.
# 2: speech levelled with the numpy-only kernels (same filters, last-bit differences).
# 3: limiter ceiling -2.5 dBTP. 4: speech limiter gain per step of _STEP samples.
LEVEL_VERSION = "4"
TARGET_LUFS = -16.0  # the whole rendered session, integrated
# Each speech clip, measured in context (speech_loudness). Half a LU over the target:
# the cue sounds (quieter, never louder than speech) and lone short words pull a
# session's integrated loudness down by about that much; measured on eSpeak sessions,
# this lands a realistic one at -16.0 and the extremes (only sentences, no sounds /
# only counts and sounds) at -15.5 / -16.6.
SPEECH_LUFS = -15.5
SOUND_LUFS = -17.0  # each cue sound, active loudness: just under the speech, never above
PEAK_DBFS = -1.0  # no sample (and no 4x-oversampled peak) above this
# The limiter aims lower so int16 rounding, the limiter's own gain modulation and,
# above all, lossy encoding cannot push a peak over PEAK_DBFS: Vorbis and Opus raise
# the peaks of eSpeak speech by up to 0.85 dB (measured: -1.2 became -0.36), so a
# decoded .ogg/.opus/.mp3 keeps its peaks under -1 dBFS too.
_CEILING_DBFS = -2.5

_BLOCK = 0.4  # BS.1770 gating block, seconds
_OVERLAP = 0.75
_ABSOLUTE_GATE = -70.0  # LUFS
_RELATIVE_GATE = -10.0  # LU below the absolutely gated loudness
_CONTEXT = 0.4  # silence on each side of a speech clip when measuring it in context
_FULL_SCALE = 32768.0
_LIMITER_RADIUS = 0.008  # seconds: the limiter's look-ahead and its gain-smoothing reach
_OVERSAMPLE = 4
_LEVEL_STEPS = 4  # secant steps when levelling a clip against its limiter
_MAX_EXTRA_GAIN = 6.0  # dB the limiter may be pushed beyond the unlimited gain


def _scipy(module: str) -> Any:
    # scipy ships no type information; importing it through importlib keeps mypy --strict
    # honest without a blanket ignore (and keeps the import lazy).
    return importlib.import_module(f"scipy.{module}")


def _as_float(samples: npt.ArrayLike) -> Floats:
    """int16 -> float64 in [-1, 1); float input is taken as already scaled."""
    import numpy as np

    arr = np.asarray(samples)
    if arr.ndim != 1:
        raise ValueError(f"expected mono (1-D) samples, got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.float64) / _FULL_SCALE
    return arr.astype(np.float64)


def _to_int16(x: Floats) -> Samples:
    import numpy as np

    return np.clip(np.round(x * _FULL_SCALE), -32768, 32767).astype(np.int16)


def _lufs(mean_square: float) -> float:
    return -0.691 + 10.0 * math.log10(mean_square) if mean_square > 0.0 else -math.inf


def _k_weighting(rate: int) -> Floats:
    """The K-weighting filter as second-order sections, with pyloudnorm's coefficients.

    pyloudnorm designs the two biquads from the RBJ cookbook (high shelf +4 dB at
    1500 Hz, Q 1/sqrt 2; high pass at 38 Hz, Q 0.5) for any rate, rather than taking
    the 48 kHz table from the standard; using the same design makes the streaming
    meter agree with it at 22050 Hz.
    """
    import numpy as np

    # A fresh (writable) array each time: scipy's sosfilt refuses read-only ones.
    return np.array(_k_sections(rate), dtype=np.float64)


@functools.cache
def _k_sections(rate: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    big_a = 10.0 ** (4.0 / 40.0)
    w0 = 2.0 * math.pi * 1500.0 / rate
    alpha = math.sin(w0) / (2.0 * (1.0 / math.sqrt(2.0)))
    cos = math.cos(w0)
    root = 2.0 * math.sqrt(big_a) * alpha
    shelf = (
        big_a * ((big_a + 1) + (big_a - 1) * cos + root),
        -2 * big_a * ((big_a - 1) + (big_a + 1) * cos),
        big_a * ((big_a + 1) + (big_a - 1) * cos - root),
        (big_a + 1) - (big_a - 1) * cos + root,
        2 * ((big_a - 1) - (big_a + 1) * cos),
        (big_a + 1) - (big_a - 1) * cos - root,
    )
    w0 = 2.0 * math.pi * 38.0 / rate
    alpha = math.sin(w0) / (2.0 * 0.5)
    cos = math.cos(w0)
    high_pass = ((1 + cos) / 2, -(1 + cos), (1 + cos) / 2, 1 + alpha, -2 * cos, 1 - alpha)
    return (
        tuple(c / shelf[3] for c in shelf),
        tuple(c / high_pass[3] for c in high_pass),
    )


def _k_weighted(x: Floats, rate: int) -> Floats:
    result: Floats = _scipy("signal").sosfilt(_k_weighting(rate), x)
    return result


def _gate(mean_squares: Floats) -> float:
    """BS.1770 gating over per-block mean squares: absolute -70 LUFS, relative -10 LU."""
    import numpy as np

    with np.errstate(divide="ignore"):
        block_lufs = -0.691 + 10.0 * np.log10(mean_squares)
    above = mean_squares[block_lufs >= _ABSOLUTE_GATE]
    if above.size == 0:
        return -math.inf
    relative = _lufs(float(np.mean(above))) + _RELATIVE_GATE
    kept = mean_squares[(block_lufs > relative) & (block_lufs > _ABSOLUTE_GATE)]
    if kept.size == 0:
        return -math.inf
    return _lufs(float(np.mean(kept)))


def _short(mean_square: float) -> float:
    # Shorter than one block: measured as one block of its own length.
    lufs = _lufs(mean_square)
    return lufs if lufs >= _ABSOLUTE_GATE else -math.inf


def _weighted_loudness(weighted: Floats, rate: int) -> float:
    """pyloudnorm's integrated loudness of an already K-weighted signal, vectorized."""
    import numpy as np

    if weighted.size == 0:
        return -math.inf
    return _Blocks(weighted.size, rate).loudness(np.square(weighted))


class _Blocks:
    """pyloudnorm's gating blocks over ``length`` samples: the loudness of any signal of
    that length from its squared samples (the boundaries are found once).

    ``extra``: more places to cut the signal at (``cuts`` holds them all), for a caller
    that sums the squares between cuts itself (``loudness_of_sums``).
    """

    def __init__(self, length: int, rate: int, extra: Any = None) -> None:
        import numpy as np

        self._length = length
        self._size = _BLOCK * rate
        self._short = length < self._size
        parts = [np.zeros(1, dtype=np.int64)]
        if not self._short:
            # pyloudnorm's block count and boundaries, with the same float expressions.
            step = 1.0 - _OVERLAP
            count = int(np.round((length / rate - _BLOCK) / (_BLOCK * step))) + 1
            j = np.arange(count, dtype=np.float64)
            starts = (_BLOCK * (j * step) * rate).astype(np.int64)
            ends = np.minimum((_BLOCK * (j * step + 1) * rate).astype(np.int64), length)
            parts += [starts, ends]
        if extra is not None:
            parts.append(np.asarray(extra, dtype=np.int64))
        cuts = np.sort(np.concatenate(parts))  # then without repeats (np.union1d hashes)
        cuts = cuts[np.concatenate([[True], cuts[1:] != cuts[:-1]])]
        # Sums between consecutive cuts (one pass, no running sum of every sample), then
        # each block's energy from the cumulated sums at its two boundaries.
        self.cuts = cuts[cuts < length]
        if not self._short:
            # energy[k] is the energy before cuts[k]; energy[-1] runs to the end.
            self._at = np.searchsorted(self.cuts, starts)
            self._to = np.where(ends >= length, self.cuts.size, np.searchsorted(self.cuts, ends))

    def loudness(self, squares: Floats) -> float:
        import numpy as np

        if squares.size == 0:
            return -math.inf
        return self.loudness_of_sums(np.add.reduceat(squares, self.cuts))

    def loudness_of_sums(self, sums: Floats) -> float:
        """The loudness from the sums of the squares between consecutive ``cuts`` (the
        last to the end)."""
        import numpy as np

        if self._length == 0:
            return -math.inf
        if self._short:
            return _short(float(np.sum(sums)) / self._length)
        energy = np.concatenate([[0.0], np.cumsum(sums)])
        return _gate((energy[self._to] - energy[self._at]) / self._size)


def _integrated(x: Floats, rate: int) -> float:
    return _weighted_loudness(_k_weighted(x, rate), rate) if x.size else -math.inf


def integrated_loudness(samples: npt.ArrayLike, rate: int = SAMPLE_RATE) -> float:
    """Integrated loudness in LUFS, as pyloudnorm measures it (-inf if silent).

    pyloudnorm refuses signals shorter than one 400 ms block; those are measured as a
    single block of their own length (their K-weighted mean square, absolute gate only).
    """
    x = _as_float(samples)
    if x.size < _BLOCK * rate:
        return _integrated(x, rate)
    import pyloudnorm

    return float(pyloudnorm.Meter(rate).integrated_loudness(x))


def _in_context(x: Floats, rate: int) -> float:
    import numpy as np

    return _integrated(np.pad(x, round(_CONTEXT * rate)), rate)


def speech_loudness(clip: npt.ArrayLike, rate: int = SAMPLE_RATE) -> float:
    """A speech clip's loudness in context: the integrated loudness of the clip with
    ``_CONTEXT`` seconds of silence on each side, as the session's meter sees it."""
    return _in_context(_as_float(clip), rate)


def sound_loudness(sound: npt.ArrayLike, rate: int = SAMPLE_RATE) -> float:
    """A cue sound's active loudness: the sound alone, gated (or as one block if short)."""
    return _integrated(_as_float(sound), rate)


def _peak_db(peak: float) -> float:
    return 20.0 * math.log10(peak) if peak > 0 else -math.inf


def peak_dbfs(samples: npt.ArrayLike) -> float:
    """Sample peak in dBFS (int16 full scale is 32768); -inf for silence or nothing."""
    import numpy as np

    x = _as_float(samples)
    return _peak_db(float(np.max(np.abs(x)))) if x.size else -math.inf


def true_peak_dbfs(samples: npt.ArrayLike) -> float:
    """Peak in dBFS including inter-sample peaks (4x oversampled), BS.1770's true peak."""
    import numpy as np

    x = _as_float(samples)
    return _peak_db(float(np.max(_envelope(x)))) if x.size else -math.inf


@functools.cache
def _interpolator() -> tuple[float, ...]:
    # A short 4x interpolation filter (49 taps, like BS.1770's 48-tap true-peak meter):
    # plenty to find inter-sample peaks, and several times cheaper than scipy's default.
    taps = _scipy("signal").firwin(12 * _OVERSAMPLE + 1, 1.0 / _OVERSAMPLE, window=("kaiser", 5.0))
    return tuple(float(t) for t in taps)


def _envelope(x: Floats) -> Floats:
    """|x| including the peaks between samples (4x oversampling), one value per sample.

    Each sample gets the largest oversampled value on either side of it, so the gain
    applied at a sample also covers the inter-sample peaks next to it.
    """
    import numpy as np

    up = np.abs(_scipy("signal").resample_poly(x, _OVERSAMPLE, 1, window=list(_interpolator())))
    groups = up[0 : x.size * _OVERSAMPLE : _OVERSAMPLE]
    for phase in range(1, _OVERSAMPLE):
        groups = np.maximum(groups, up[phase : x.size * _OVERSAMPLE : _OVERSAMPLE])
    env: Floats = np.maximum(np.abs(x), groups)
    env[1:] = np.maximum(env[1:], groups[:-1])
    return env


def _limiter_gain(env: Floats, rate: int, ceiling_dbfs: float) -> Floats:
    """Per-sample gain that keeps a signal with envelope ``env`` under the ceiling.

    The gain each sample needs is spread over +-8 ms: first a running minimum (so the
    gain is already down when a peak arrives: look-ahead), then a triangular average
    (two box filters) no wider than that minimum. Every value averaged at sample n is
    a minimum over a window containing n, so the smooth gain never exceeds what n
    needs: the ceiling holds exactly, and the gain moves without clicks.
    """
    import numpy as np

    ceiling = 10.0 ** (ceiling_dbfs / 20.0)
    need: Floats = np.minimum(1.0, ceiling / np.maximum(env, 1e-12))
    if env.size == 0 or float(np.min(need)) >= 1.0:
        return need
    half = max(1, round(_LIMITER_RADIUS * rate / 2))
    ndimage = _scipy("ndimage")
    held = ndimage.minimum_filter1d(need, size=4 * half + 1, mode="nearest")
    for _ in range(2):
        held = ndimage.uniform_filter1d(held, size=2 * half + 1, mode="nearest")
    # The bound holds mathematically; the minimum only removes rounding fuzz.
    gain: Floats = np.minimum(held, need)
    return gain


def limit(
    samples: npt.ArrayLike, rate: int = SAMPLE_RATE, ceiling_dbfs: float = _CEILING_DBFS
) -> Floats:
    """Deterministic look-ahead peak limiter: same length, (true) peaks <= the ceiling.

    Returns float samples in [-1, 1].
    """
    x = _as_float(samples)
    result: Floats = x * _limiter_gain(_envelope(x), rate, ceiling_dbfs)
    return result


def _level(x: Floats, rate: int, target: float, context: float, numpy_only: bool = False) -> Floats:
    """Gain ``x`` so its loudness (with ``context`` seconds of silence on each side) reads
    ``target`` once its peaks are limited.

    Limiting takes some loudness away (more, the more gain), so the gain is found by a
    few secant steps on "loudness after limiting". The extra gain is capped at
    ``_MAX_EXTRA_GAIN`` dB over the unlimited estimate: a clip that would need more is
    left a little quieter rather than squashed. Gains are rounded to 0.01 dB (inaudible)
    so the same input gives the same samples even if a measurement differs in its last
    bits on another machine.

    ``numpy_only``: filter with the numpy kernels (below) instead of scipy's.
    """
    import numpy as np

    if x.size == 0:
        return x.copy()
    pad = round(context * rate)
    attempt: Callable[[float], tuple[Floats, float]]
    measure: _Measure | None = None
    if numpy_only:
        measure = _Measure(x, rate, pad, target)
        loudness, attempt = measure.loudness, measure.attempt
    else:
        weighted = _k_weighted(np.pad(x, pad), rate)
        loudness = _weighted_loudness(weighted, rate)
        env = _envelope(x)  # the limiter's input is linear in the gain: find peaks once

        def attempt(gain: float) -> tuple[Floats, float]:
            scale = 10.0 ** (gain / 20.0)
            g: Floats = scale * _limiter_gain(env * scale, rate, _CEILING_DBFS)
            # K-weighting is linear and the limiter's gain moves slowly (over ~16 ms), so
            # the limited clip weighted is very nearly the gain times the clip weighted:
            # no filtering per step. (Measured on eSpeak clips: within 0.001 LU.)
            padded = np.pad(g, pad, mode="edge")
            return g, _weighted_loudness(weighted * padded, rate) - target

    if not math.isfinite(loudness):
        return x.copy()
    first = gain = round(target - loudness, 2)
    if measure is not None:
        measure.start(first + _MAX_EXTRA_GAIN)
    g, error = attempt(gain)
    best, best_error = g, error
    previous: tuple[float, float] | None = None
    for _ in range(_LEVEL_STEPS):
        if not math.isfinite(error) or abs(error) < 0.05:
            break
        # Loudness rises slower than the gain once the limiter works: start from a
        # typical slope, then use the measured one.
        slope = 0.7
        if previous is not None:
            slope = min(1.0, max(0.1, (error - previous[1]) / (gain - previous[0])))
        nxt = round(min(first + _MAX_EXTRA_GAIN, gain - error / slope), 2)
        if nxt == gain:
            break
        previous = (gain, error)
        gain = nxt
        g, error = attempt(gain)
        # Gating makes loudness jump when a block crosses a gate, so a step can land
        # in a worse spot: keep the closest attempt.
        if abs(error) < abs(best_error):
            best, best_error = g, error
    result: Floats = x * best if measure is None else measure.apply(best)
    return result


def speech_target(volume: float = 1.0) -> float:
    """The level (LUFS in context) speech is brought to at a voice ``volume`` (0 to 1).

    Volume is a gain on the speech level: 1 is ``SPEECH_LUFS``, 0.5 is 6 dB under it,
    0 is silence (-inf). Rounded to 0.01 dB, so it can be part of a cache key.
    """
    if not 0.0 <= volume <= 1.0:
        raise ValueError(f"volume {volume!r} is not between 0 and 1")
    if volume == 0.0:
        return -math.inf
    return round(SPEECH_LUFS + 20.0 * math.log10(volume), 2)


def normalize_speech(
    clip: npt.ArrayLike, rate: int = SAMPLE_RATE, target: float = SPEECH_LUFS
) -> Samples:
    """A speech clip at ``target`` LUFS in context, peaks <= -1 dBFS, same length.

    A clip that is empty or silent comes back unchanged (as int16); a ``target`` of
    -inf (volume 0) gives silence of the same length.
    """
    x = _as_float(clip)
    if target == -math.inf:
        import numpy as np

        silent: Samples = np.zeros(x.size, dtype=np.int16)
        return silent
    return _to_int16(_level(x, rate, target, _CONTEXT, numpy_only=True))


def match_sound(
    sound: npt.ArrayLike, rate: int = SAMPLE_RATE, target: float = SOUND_LUFS
) -> Samples:
    """A cue sound as loud as the speech, never louder: ``target`` LUFS of active
    loudness, peaks <= -1 dBFS, same length.

    Filters with scipy, as when the bundled sounds were made: tools/make_sounds.py must
    keep giving the committed files byte for byte.
    """
    return _to_int16(_level(_as_float(sound), rate, target, 0.0))


class LoudnessMeter:
    """Integrated loudness of a signal fed in chunks, with flat memory.

    K-weighting runs chunk by chunk with its filter state carried over; 400 ms blocks
    with 75 % overlap are formed from a running sum of squares at the very sample
    boundaries pyloudnorm uses, and only one mean square per block is kept (8 bytes per
    100 ms: under 600 kB for two hours). ``integrated()`` gates them as BS.1770 does,
    including pyloudnorm's partial last block, so the result matches pyloudnorm on the
    whole signal. The sample peak is tracked too.
    """

    def __init__(self, rate: int = SAMPLE_RATE) -> None:
        import numpy as np

        self.rate = rate
        self._sos = _k_weighting(rate)
        self._state: Floats = np.zeros((self._sos.shape[0], 2))
        self._samples = 0  # samples seen so far
        self._energy = 0.0  # running sum of squared K-weighted samples
        self._next_block = 0  # index of the next block whose start is not yet reached
        self._open: deque[tuple[int, float]] = deque()  # (block, energy at its start)
        self._blocks = array("d")  # mean square of each finished block
        self._peak = 0.0

    def _start(self, block: int) -> int:
        # The same float expressions pyloudnorm evaluates, so boundaries agree exactly.
        return int(_BLOCK * (block * (1.0 - _OVERLAP)) * self.rate)

    def _end(self, block: int) -> int:
        return int(_BLOCK * (block * (1.0 - _OVERLAP) + 1) * self.rate)

    def add(self, chunk: npt.ArrayLike) -> None:
        """Feed the next samples (int16, or float in [-1, 1])."""
        import numpy as np

        raw = np.asarray(chunk)
        if raw.size == 0:
            return
        x = _as_float(raw)
        self._peak = max(self._peak, float(np.max(np.abs(x))))
        y, self._state = _scipy("signal").sosfilt(self._sos, x, zi=self._state)
        first, last = self._samples, self._samples + x.size

        starting: list[int] = []
        while self._start(self._next_block) <= last:
            starting.append(self._next_block)
            self._next_block += 1
        ending = [b for b, _ in self._open if self._end(b) <= last]
        ending += [b for b in starting if self._end(b) <= last]
        # Energy is needed only at block boundaries: sum the squares between them
        # (cheaper than a running sum over every sample).
        cuts = sorted(
            {self._start(b) - first for b in starting} | {self._end(b) - first for b in ending}
        )
        inner = [c for c in cuts if 0 < c < x.size]
        sums = np.add.reduceat(np.square(y), [0, *inner])
        energies = self._energy + np.cumsum(sums)
        at = {0: self._energy, x.size: float(energies[-1])}
        at.update((c, float(e)) for c, e in zip(inner, energies[:-1], strict=True))

        self._open.extend((b, at[self._start(b) - first]) for b in starting)
        size = _BLOCK * self.rate
        while self._open and self._end(self._open[0][0]) <= last:
            block, at_start = self._open.popleft()
            self._blocks.append((at[self._end(block) - first] - at_start) / size)
        self._energy = float(energies[-1])
        self._samples = last

    @property
    def samples(self) -> int:
        return self._samples

    def peak_dbfs(self) -> float:
        """Sample peak so far, dBFS (-inf if nothing or silence)."""
        return _peak_db(self._peak)

    def integrated(self) -> float:
        """Integrated loudness (LUFS) of everything added so far; -inf if silent."""
        import numpy as np

        n = self._samples
        if n == 0:
            return -math.inf
        size = _BLOCK * self.rate
        if n < size:  # shorter than a block: one block of its own length
            return _short(self._energy / n)
        blocks = np.frombuffer(self._blocks, dtype=np.float64)
        # pyloudnorm counts round((T - 0.4) / 0.1) + 1 blocks, so the last may run past
        # the end of the signal: its energy so far over a full block's length.
        wanted = int(np.round((n / self.rate - _BLOCK) / (_BLOCK * (1.0 - _OVERLAP)))) + 1
        extra = [(self._energy - at) / size for block, at in self._open if block < wanted]
        extra = extra[: max(0, wanted - blocks.size)]
        if extra:
            blocks = np.concatenate([blocks, np.array(extra)])
        return _gate(blocks)


# --- numpy-only kernels (speech levelling) ---------------------------------------------
# Speech is levelled with numpy alone, at a coarser grain than ``limit``: the limiter's
# gain is worked out per step of ``_STEP`` samples and interpolated between, and each
# levelling attempt measures the loudness from the K-weighted energy per step (the gain
# moves over ~16 ms, so it is all but constant within a step of 0.7 ms). An attempt then
# costs a few operations per step, not per sample; the envelope's 4x-oversampled peaks
# are computed only where some attempt could reach the ceiling. Tests hold the pieces
# to scipy's filters and the result to the per-sample path (``_level(numpy_only=False)``).

_IIR_TAIL = 0.14  # s: the sum of the K-weighting's impulse response after this is under 1e-12
_FFT_MAX = 1 << 14  # longer signals are K-weighted in blocks of this size (overlap-add)
_STEP = 16  # samples per step of the speech limiter's gain (0.73 ms at 22050 Hz)
_PEAK_ROWS = 512  # steps per pass of _step_peaks (work arrays of ~70 kB: in cache)


class _Measure:
    """One speech clip's levelling, numpy only, with what its attempts share computed
    once: the K-weighted energy per segment, the gating blocks, the limiter's peaks.

    The padded signal (``pad`` silent samples, the clip, ``pad`` more) is cut at every
    gating-block boundary and at every step of the clip, so each segment has one gain:
    before the clip the first point's, in step j the mean of points j and j + 1 (the
    gain is linear between them), after the clip the last point's.
    """

    def __init__(self, x: Floats, rate: int, pad: int, target: float) -> None:
        import numpy as np

        n = x.size
        self._target = target
        steps = -(-n // _STEP)
        length = n + 2 * pad
        starts = pad + _STEP * np.arange(steps, dtype=np.int64)
        self._blocks = _Blocks(length, rate, np.append(starts, pad + n))
        cuts = self._blocks.cuts
        # The silence before the clip stays exactly 0 through the filter (it starts at
        # rest), and after the clip the filter rings down within _IIR_TAIL: filter only
        # the clip and that much after it.
        ring = min(pad, round(_IIR_TAIL * rate))
        weighted = _k_weighted_np(x, rate, ring)
        squares = np.square(weighted, out=weighted)
        live = (cuts >= pad) & (cuts < pad + n + ring)
        self._energy: Floats = np.zeros(cuts.size)
        self._energy[live] = np.add.reduceat(squares, cuts[live] - pad)
        seg = np.clip((cuts - pad) // _STEP + 1, 0, steps + 1)
        seg[cuts >= pad + n] = steps + 1
        self._segment_gain = seg  # index into the per-segment gains (see attempt)
        self.loudness = self._blocks.loudness_of_sums(self._energy)
        self._limiter: _StepLimiter | None = None
        self._x = x
        self._rate = rate

    def start(self, highest_gain: float) -> None:
        """Find the limiter's peaks for attempts up to ``highest_gain`` dB."""
        # 0.01 dB more: the attempts' gains are rounded to 0.01 dB.
        scale = 10.0 ** ((highest_gain + 0.01) / 20.0)
        self._limiter = _StepLimiter(self._x, self._rate, _CEILING_DBFS, scale)

    def attempt(self, gain: float) -> tuple[Floats, float]:
        """The gain at each step's point at ``gain`` dB once limited, and how far the
        loudness is from the target (LU). The K-weighted clip times the gain stands for
        the limited clip K-weighted (see ``_level``)."""
        import numpy as np

        assert self._limiter is not None
        scale = 10.0 ** (gain / 20.0)
        points = self._limiter.gain(scale) * scale
        per_segment = np.empty(points.size + 1)
        per_segment[0] = points[0]
        np.add(points[:-1], points[1:], out=per_segment[1:-1])
        per_segment[1:-1] *= 0.5
        per_segment[-1] = points[-1]
        np.square(per_segment, out=per_segment)
        sums = self._energy * per_segment[self._segment_gain]
        return points, self._blocks.loudness_of_sums(sums) - self._target

    def apply(self, points: Floats) -> Floats:
        """The clip with the gain of ``points`` (one per step boundary), linear between."""
        return self._x * _interpolate_steps(points, self._x.size)


def _interpolate_steps(points: Floats, n: int) -> Floats:
    """``n`` per-sample values going linearly from each point (at every ``_STEP``-th
    sample) to the next."""
    import numpy as np

    frac = np.arange(_STEP) / _STEP
    rise = np.subtract(points[1:], points[:-1])
    out = np.multiply.outer(rise, frac)
    out += points[:-1, None]
    flat: Floats = out.reshape(-1)[:n]
    return flat


def _fft_size(n: int) -> int:
    """The smallest 2^k or 3 * 2^k at or over ``n`` (sizes numpy's FFT transforms fast),
    at most ``_FFT_MAX``."""
    size = 1 << max(0, n - 1).bit_length()
    if size % 4 == 0 and size // 4 * 3 >= n:
        size = size // 4 * 3
    return min(size, _FFT_MAX)


def _k_weighted_np(x: Floats, rate: int, extra: int = 0) -> Floats:
    """K-weighting (sosfilt from rest) as an FFT convolution with the filters' response;
    ``extra`` more samples of output, as if ``x`` went on with that many zeros.

    Both biquads are stable with poles well inside the unit circle (the 38 Hz high pass
    decays by e per 4 ms), so their impulse response is negligible after ``_IIR_TAIL``;
    with that much room after the signal (or each block of it, added up overlapping),
    the circular convolution equals the causal filter to rounding (about 1e-13).
    """
    import numpy as np

    n = x.size
    tail = round(_IIR_TAIL * rate)
    size = _fft_size(n + extra + tail)
    response = _k_response(rate, size)
    step = size - tail
    if n + extra <= step:
        spectrum = np.fft.rfft(x, size)
        spectrum *= response
        whole: Floats = np.fft.irfft(spectrum, size)[: n + extra]
        return whole
    out = _scratch(_STEP_A, n + size)
    out[:] = 0.0
    for start in range(0, n, step):
        spectrum = np.fft.rfft(x[start : start + step], size)
        spectrum *= response
        out[start : start + size] += np.fft.irfft(spectrum, size)
    y: Floats = out[: n + extra].copy()
    return y


@functools.cache
def _k_response(rate: int, size: int) -> Any:
    """The K-weighting's frequency response at the rfft bins of ``size`` (read-only)."""
    import numpy as np

    w = np.exp(-2j * np.pi * np.arange(size // 2 + 1) / size)  # z^-1 on the unit circle
    response = np.ones(w.size, dtype=np.complex128)
    for b0, b1, b2, a0, a1, a2 in _k_sections(rate):
        response *= (b0 + w * (b1 + w * b2)) / (a0 + w * (a1 + w * a2))
    response.flags.writeable = False
    return response


@functools.cache
def _interpolator_np() -> tuple[float, ...]:
    # scipy's firwin(49, 1/4, window=("kaiser", 5.0)): windowed sinc, unit gain at DC.
    import numpy as np

    count = 12 * _OVERSAMPLE + 1
    cutoff = 1.0 / _OVERSAMPLE
    m = np.arange(count) - (count - 1) / 2
    taps = cutoff * np.sinc(cutoff * m) * np.kaiser(count, 5.0)
    return tuple(float(t) for t in taps / np.sum(taps))


@functools.cache
def _polyphase() -> tuple[float, float, tuple[tuple[float, float, float], ...]]:
    """The 4x interpolator (``_interpolator_np``) as ``_step_peaks`` uses it: a bound on
    any output over the largest |input| near it, phase 0's gain, and weights per pair
    of input offsets (below)."""
    taps = [t * _OVERSAMPLE for t in _interpolator_np()]  # resample_poly scales by ``up``
    half = (len(taps) - 1) // 2
    reach = half // _OVERSAMPLE

    def weight(p: int, k: int) -> float:
        # The weight of x[q + k - reach] in output 4q + p (resample_poly's alignment).
        i = half + p + _OVERSAMPLE * (reach - k)
        return taps[i] if 0 <= i < len(taps) else 0.0

    width = 2 * reach + 1
    bound = max(sum(abs(weight(p, k)) for k in range(width)) for p in range(_OVERSAMPLE))
    # Phase 0 is x[q] times its centre weight (1.0009: the taps are normalized to unit
    # gain; its other weights are sinc zeros, ~1e-17). The taps are
    # symmetric, so phase 2 weighs x[q + k - reach] and x[q + 1 + reach - k] alike, and
    # phase 3 is phase 1 mirrored: with sum = u + v and difference = u - v of that
    # pair, phase 1 = even + odd and phase 3 = even - odd, where even and odd sum the
    # pairs' sums and differences with these weights.
    pairs = tuple(
        (
            (weight(1, k) + weight(1, width - k)) / 2,
            (weight(1, k) - weight(1, width - k)) / 2,
            weight(2, k),
        )
        for k in range(1, reach + 1)
    )
    return bound, abs(weight(0, reach)), pairs


def _step_peaks(x: Floats, floor: float) -> Floats:
    """The largest value of ``_envelope(x)`` in each step of ``_STEP`` samples, where it
    is over ``floor``; where it is not, some value not over ``floor`` (the step's largest
    |x|).

    A 4x-interpolated value is at most ``bound`` (the largest sum of one phase's
    |taps|) times the largest |x| within reach of it, so the interpolation runs only
    on the steps whose neighbourhood could pass ``floor``: on speech, about a third of
    them. Each step needs q from its first sample - 1 to its last (each sample's
    envelope includes the peaks on either side of it), laid out one column per step so
    every operation runs over many steps at once.
    """
    import numpy as np

    n = x.size
    steps = -(-n // _STEP)
    bound, centre, pairs = _polyphase()
    reach = len(pairs)
    magnitude = np.zeros(steps * _STEP)
    np.abs(x, out=magnitude[:n])
    magnitude[:n] *= max(1.0, centre)  # each sample's own peak: itself or phase 0
    peaks: Floats = magnitude.reshape(steps, _STEP).max(axis=1)
    # A step's first sample sees the peaks after the sample before it, which include
    # that sample itself (phase 0).
    np.maximum(peaks[1:], magnitude[_STEP - 1 : -1 : _STEP], out=peaks[1:])
    near = peaks.copy()  # the largest |x| within one step each side (_STEP > reach)
    np.maximum(near[1:], peaks[:-1], out=near[1:])
    np.maximum(near[:-1], peaks[1:], out=near[:-1])
    candidates = np.flatnonzero(near * bound > floor)
    if candidates.size == 0:
        return peaks
    # padded[q + 1 + reach] = x[q]: step j's column c (q = j * _STEP - 1 + c) finds
    # x[q + k - reach] at row c + k of window.
    padded = np.zeros(steps * _STEP + 2 * reach + 1)
    padded[1 + reach : 1 + reach + n] = x
    columns = _STEP + 1
    offsets = np.arange(columns + 2 * reach)[:, None]
    top = 2 * reach + 1
    for first in range(0, candidates.size, _PEAK_ROWS):
        rows = candidates[first : first + _PEAK_ROWS]
        window = padded[offsets + rows * _STEP]  # (columns + 2 reach, len(rows))
        shape = (columns, rows.size)
        even, odd, middle = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        total, difference, term = np.empty(shape), np.empty(shape), np.empty(shape)
        for k, (a, b, c) in enumerate(pairs, 1):
            u, v = window[k : k + columns], window[top - k : top - k + columns]
            np.add(u, v, out=total)
            np.subtract(u, v, out=difference)
            even += np.multiply(total, a, out=term)
            odd += np.multiply(difference, b, out=term)
            middle += np.multiply(total, c, out=term)
        best = np.abs(middle, out=middle)
        np.maximum(best, np.abs(np.add(even, odd, out=term), out=term), out=best)
        np.maximum(best, np.abs(np.subtract(even, odd, out=term), out=term), out=best)
        # q = -1 and q >= n are no sample's neighbours: scipy's envelope leaves them out.
        if rows[0] == 0:
            best[0, 0] = 0.0
        if rows[-1] == steps - 1:
            best[n - (steps - 1) * _STEP + 1 :, -1] = 0.0
        peaks[rows] = np.maximum(peaks[rows], best.max(axis=0))
    return peaks


# Work arrays kept per thread, so levelling clip after clip reuses the same memory for
# its K-weighting and running maxima: fresh pages for every array (the kernel zeroing
# and mapping them) cost a fifth of the levelling time when it worked per sample.
_STEP_A = 1  # K-weighting's overlap-add, then the running maximum's first array
_STEP_B = 2  # the running maximum's second array
_SCRATCH = threading.local()


def _scratch(slot: int, size: int) -> Floats:
    """This thread's work array ``slot``, at least ``size`` long (see above)."""
    import numpy as np

    buffers: dict[int, Floats] = _SCRATCH.__dict__.setdefault("buffers", {})
    buffer = buffers.get(slot)
    if buffer is None or buffer.size < size:
        buffers[slot] = buffer = np.empty(size + size // 16)
    return buffer[:size]


class _StepLimiter:
    """``_limiter_gain`` worked out at one point per ``_STEP`` samples, for a clip
    levelled at many gains up to ``max_scale``.

    Point k (sample k * _STEP) first holds the gain that steps k - 2 reach - 1 to
    k + 2 reach all need (a running maximum of the step peaks: the per-sample
    limiter's 8 ms either side), then is smoothed by two running means of
    ``2 reach + 1`` points (``reach`` steps: just under its 4 ms). A sample in step j
    takes its gain linearly from points j and j + 1; every value averaged into
    either was held over a window that contains step j, so the gain never exceeds
    what the sample needs: the ceiling holds exactly, and the gain moves without
    clicks, as in ``_limiter_gain``.
    """

    def __init__(self, x: Floats, rate: int, ceiling_dbfs: float, max_scale: float) -> None:
        import numpy as np

        self._ceiling = 10.0 ** (ceiling_dbfs / 20.0)
        half = max(1, round(_LIMITER_RADIUS * rate / 2))
        reach = max(1, half // _STEP)
        self._size = 2 * reach + 1
        steps = _step_peaks(x, self._ceiling / max_scale)
        # The samples a point's gain reaches are in the steps on either side of the
        # points within 2 reach of it: steps k - 2 reach - 1 .. k + 2 reach for point k.
        points = np.zeros(steps.size + 1)
        points[:-1] = steps
        np.maximum(points[1:], steps, out=points[1:])
        self._peaks = _running_max(points, 4 * reach + 1)

    def gain(self, scale: float) -> Floats:
        """The limiter's gain at each point for the clip times ``scale``."""
        import numpy as np

        held: Floats = self._peaks * scale
        np.maximum(held, 1e-12, out=held)
        np.divide(self._ceiling, held, out=held)
        np.minimum(held, 1.0, out=held)
        if float(np.min(held)) >= 1.0:
            return held
        smooth = _running_mean(held, self._size)
        return _running_mean(smooth, self._size)


def _running_max(a: Floats, size: int) -> Floats:
    """maximum_filter1d(a, size, mode="nearest") for odd ``size``: the maximum over the
    centred window, edges repeated. Doubling (a sparse table): each pass doubles the
    span a value covers, and two overlapping power-of-two spans cover the window."""
    import numpy as np

    n = a.size
    if n == 0:
        return a.copy()
    r = size // 2
    m = _scratch(_STEP_A, n + 2 * r)  # a with its end values repeated r times
    m[:r] = a[0]
    m[r : r + n] = a
    m[r + n :] = a[-1]
    other = _scratch(_STEP_B, n + 2 * r)
    span = 1
    while span * 2 <= size:
        # m[i] = max of the padded a[i : i + 2 span]
        np.maximum(m[: m.size - span], m[span:], out=other[: m.size - span])
        m, other = other[: m.size - span], m
        span *= 2
    result: Floats = np.maximum(m[:n], m[size - span : size - span + n])
    return result


def _running_mean(a: Floats, size: int) -> Floats:
    """uniform_filter1d(a, size, mode="nearest") for odd ``size``: the mean over the
    centred window, edges repeated (running sums; rounding differs in the last bits)."""
    import numpy as np

    r, n = size // 2, a.size
    sums = np.empty(n + 2 * r + 1)
    sums[0] = 0.0
    sums[1 : r + 1] = a[0]
    sums[r + 1 : r + 1 + n] = a
    sums[r + 1 + n :] = a[-1]
    np.cumsum(sums, out=sums)
    result: Floats = np.subtract(sums[size:], sums[:-size])
    result /= size
    return result
