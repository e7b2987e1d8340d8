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
functions so ``voicecoach --help`` stays instant.
"""

from __future__ import annotations

import functools
import importlib
import math
from array import array
from collections import deque
from typing import TYPE_CHECKING, Any

from voicecoach.timeline import SAMPLE_RATE

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.int16]
    Floats = npt.NDArray[np.float64]

# Changes whenever the level rules change what normalize_speech/match_sound return, so
# anything that caches levelled clips can put it in its key.
LEVEL_VERSION = "1"
TARGET_LUFS = -16.0  # the whole rendered session, integrated
# Each speech clip, measured in context (speech_loudness). Half a LU over the target:
# the cue sounds (quieter, never louder than speech) and lone short words pull a
# session's integrated loudness down by about that much; measured on eSpeak sessions,
# this lands a realistic one at -16.0 and the extremes (only sentences, no sounds /
# only counts and sounds) at -15.5 / -16.6.
SPEECH_LUFS = -15.5
SOUND_LUFS = -17.0  # each cue sound, active loudness: just under the speech, never above
PEAK_DBFS = -1.0  # no sample (and no 4x-oversampled peak) above this
# The limiter aims a little lower so int16 rounding and the limiter's own gain
# modulation cannot push a peak over PEAK_DBFS.
_CEILING_DBFS = -1.2

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
    squares = np.square(weighted)
    size = _BLOCK * rate
    if weighted.size < size:
        return _short(float(np.mean(squares)))
    # pyloudnorm's block count and boundaries, evaluated with the same float expressions.
    step = 1.0 - _OVERLAP
    count = int(np.round((weighted.size / rate - _BLOCK) / (_BLOCK * step))) + 1
    j = np.arange(count, dtype=np.float64)
    starts = (_BLOCK * (j * step) * rate).astype(np.int64)
    ends = np.minimum((_BLOCK * (j * step + 1) * rate).astype(np.int64), weighted.size)
    # Sums between consecutive boundaries (one pass, no running sum of every sample),
    # then each block's energy from the cumulated sums at its two boundaries.
    cuts = np.union1d(starts, ends)
    inner = cuts[cuts < weighted.size]
    energy = np.concatenate([[0.0], np.cumsum(np.add.reduceat(squares, inner))])
    # energy[k] is the energy before inner[k]; energy[-1] runs to the end of the signal.
    at = np.searchsorted(inner, starts)
    to = np.where(ends >= weighted.size, inner.size, np.searchsorted(inner, ends))
    return _gate((energy[to] - energy[at]) / size)


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


def _level(x: Floats, rate: int, target: float, context: float) -> Floats:
    """Gain ``x`` so its loudness (with ``context`` seconds of silence on each side) reads
    ``target`` once its peaks are limited.

    Limiting takes some loudness away (more, the more gain), so the gain is found by a
    few secant steps on "loudness after limiting". The extra gain is capped at
    ``_MAX_EXTRA_GAIN`` dB over the unlimited estimate: a clip that would need more is
    left a little quieter rather than squashed. Gains are rounded to 0.01 dB (inaudible)
    so the same input gives the same samples even if a measurement differs in its last
    bits on another machine.
    """
    import numpy as np

    if x.size == 0:
        return x.copy()
    pad = round(context * rate)
    weighted = _k_weighted(np.pad(x, pad), rate)
    loudness = _weighted_loudness(weighted, rate)
    if not math.isfinite(loudness):
        return x.copy()
    env = _envelope(x)  # the limiter's input is linear in the gain: find peaks once

    def attempt(gain: float) -> tuple[Floats, float]:
        scale = 10.0 ** (gain / 20.0)
        g: Floats = scale * _limiter_gain(env * scale, rate, _CEILING_DBFS)
        # K-weighting is linear and the limiter's gain moves slowly (over ~16 ms), so the
        # limited clip weighted is very nearly the gain times the clip weighted: no
        # filtering per step. (Measured on eSpeak clips: within 0.001 LU.)
        return g, _weighted_loudness(weighted * np.pad(g, pad, mode="edge"), rate) - target

    first = gain = round(target - loudness, 2)
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
    result: Floats = x * best
    return result


def normalize_speech(
    clip: npt.ArrayLike, rate: int = SAMPLE_RATE, target: float = SPEECH_LUFS
) -> Samples:
    """A speech clip at ``target`` LUFS in context, peaks <= -1 dBFS, same length.

    A clip that is empty or silent comes back unchanged (as int16).
    """
    return _to_int16(_level(_as_float(clip), rate, target, _CONTEXT))


def match_sound(
    sound: npt.ArrayLike, rate: int = SAMPLE_RATE, target: float = SOUND_LUFS
) -> Samples:
    """A cue sound as loud as the speech, never louder: ``target`` LUFS of active
    loudness, peaks <= -1 dBFS, same length."""
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
