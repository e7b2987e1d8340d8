"""Loudness and peaks as ITU-R BS.1770 / EBU R128 define them: the package's one meter.

One implementation, numpy only, used by everything that measures: the speech and sound
levelling (``levelling``), the limiter's peak detection (``limiter``), and whoever
measures a whole session (``integrated_loudness``, or ``LoudnessMeter`` as it streams
past). It gives pyloudnorm's integrated loudness and scipy's 4x ``resample_poly`` true
peak without importing either (the tests hold it to both):

- K-weighting (``k_weighted``): pyloudnorm's two biquads, applied as an FFT convolution
  with their frequency response, equal to scipy's ``sosfilt`` from rest to rounding
  (about 1e-13). ``LoudnessMeter`` runs the same convolution chunk by chunk, carrying
  the filter's ring-down over (overlap-add), so there is no second, recursive form.
- Gating (``Blocks``, ``gate``): 400 ms blocks with 75 % overlap at the very sample
  boundaries pyloudnorm uses, an absolute gate at -70 LUFS and a relative one 10 LU
  below the absolutely gated loudness.
- True peak (``envelope``, ``polyphase``): a 49-tap 4x interpolator, like BS.1770's
  48-tap true-peak meter.

Arrays are mono int16 at ``SAMPLE_RATE`` unless a rate is passed; float arrays are
taken as already scaled to [-1, 1]. numpy is imported inside functions so
``voicecoach --help`` stays instant, and nothing here imports scipy: speech levelling
runs on every phrase of a cold start, where importing scipy would cost more (about 1 s
and 75 MB) than the levelling itself.
"""

from __future__ import annotations

import functools
import math
import threading
from array import array
from collections import deque
from typing import TYPE_CHECKING, Any

from voicecoach.core.timeline import SAMPLE_RATE

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]

_BLOCK = 0.4  # BS.1770 gating block, seconds
_OVERLAP = 0.75
ABSOLUTE_GATE = -70.0  # LUFS
RELATIVE_GATE = -10.0  # LU below the absolutely gated loudness
FULL_SCALE = 32768.0
OVERSAMPLE = 4
IIR_TAIL = 0.14  # s: the sum of the K-weighting's impulse response after this is under 1e-12
_FFT_MAX = 1 << 14  # longer signals are K-weighted in blocks of this size (overlap-add)
# Signals up to this many samples are K-weighted in this thread's work array (below);
# longer ones (a whole session) get an array of their own, not kept afterwards.
_SCRATCH_MAX = 1 << 20


def as_float(samples: npt.ArrayLike) -> Floats:
    """int16 -> float64 in [-1, 1); float input is taken as already scaled."""
    import numpy as np

    arr = np.asarray(samples)
    if arr.ndim != 1:
        raise ValueError(f"expected mono (1-D) samples, got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.float64) / FULL_SCALE
    return arr.astype(np.float64)


def lufs(mean_square: float) -> float:
    return -0.691 + 10.0 * math.log10(mean_square) if mean_square > 0.0 else -math.inf


# --- K-weighting ------------------------------------------------------------------------


@functools.cache
def k_sections(rate: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The K-weighting filter as two second-order sections (b0 b1 b2 a0 a1 a2, a0 = 1),
    with pyloudnorm's coefficients.

    pyloudnorm designs the two biquads from the RBJ cookbook (high shelf +4 dB at
    1500 Hz, Q 1/sqrt 2; high pass at 38 Hz, Q 0.5) for any rate, rather than taking
    the 48 kHz table from the standard; using the same design makes this meter agree
    with it at 22050 Hz.
    """
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


def _fft_size(n: int) -> int:
    """The smallest 2^k or 3 * 2^k at or over ``n`` (sizes numpy's FFT transforms fast),
    at most ``_FFT_MAX``."""
    size = 1 << max(0, n - 1).bit_length()
    if size % 4 == 0 and size // 4 * 3 >= n:
        size = size // 4 * 3
    return min(size, _FFT_MAX)


def k_weighted(x: Floats, rate: int, extra: int = 0) -> Floats:
    """K-weighting (sosfilt from rest) as an FFT convolution with the filters' response;
    ``extra`` more samples of output, as if ``x`` went on with that many zeros.

    Both biquads are stable with poles well inside the unit circle (the 38 Hz high pass
    decays by e per 4 ms), so their impulse response is negligible after ``IIR_TAIL``;
    with that much room after the signal (or each block of it, added up overlapping),
    the circular convolution equals the causal filter to rounding (about 1e-13).
    """
    import numpy as np

    n = x.size
    tail = round(IIR_TAIL * rate)
    size = _fft_size(n + extra + tail)
    response = _k_response(rate, size)
    step = size - tail
    if n + extra <= step:
        spectrum = np.fft.rfft(x, size)
        spectrum *= response
        whole: Floats = np.fft.irfft(spectrum, size)[: n + extra]
        return whole
    out = scratch(WORK_A, n + size) if n + size <= _SCRATCH_MAX else np.empty(n + size)
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
    for b0, b1, b2, a0, a1, a2 in k_sections(rate):
        response *= (b0 + w * (b1 + w * b2)) / (a0 + w * (a1 + w * a2))
    response.flags.writeable = False
    return response


# --- gating -----------------------------------------------------------------------------


def gate(mean_squares: Floats) -> float:
    """BS.1770 gating over per-block mean squares: absolute -70 LUFS, relative -10 LU."""
    import numpy as np

    with np.errstate(divide="ignore"):
        block_lufs = -0.691 + 10.0 * np.log10(mean_squares)
    above = mean_squares[block_lufs >= ABSOLUTE_GATE]
    if above.size == 0:
        return -math.inf
    relative = lufs(float(np.mean(above))) + RELATIVE_GATE
    kept = mean_squares[(block_lufs > relative) & (block_lufs > ABSOLUTE_GATE)]
    if kept.size == 0:
        return -math.inf
    return lufs(float(np.mean(kept)))


def _short(mean_square: float) -> float:
    # Shorter than one block: measured as one block of its own length.
    level = lufs(mean_square)
    return level if level >= ABSOLUTE_GATE else -math.inf


def weighted_loudness(weighted: Floats, rate: int) -> float:
    """pyloudnorm's integrated loudness of an already K-weighted signal, vectorized."""
    import numpy as np

    if weighted.size == 0:
        return -math.inf
    return Blocks(weighted.size, rate).loudness(np.square(weighted))


class Blocks:
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
        return gate(self.mean_squares(sums))

    def mean_squares(self, sums: Floats) -> Floats:
        """Each block's mean square, from sums as ``loudness_of_sums`` takes them (none
        for a signal shorter than one block)."""
        import numpy as np

        energy: Floats = np.concatenate([[0.0], np.cumsum(sums)])
        return energy[:0] if self._short else (energy[self._to] - energy[self._at]) / self._size


def integrated(x: Floats, rate: int) -> float:
    """``integrated_loudness`` of float samples."""
    return weighted_loudness(k_weighted(x, rate), rate) if x.size else -math.inf


def integrated_loudness(samples: npt.ArrayLike, rate: int = SAMPLE_RATE) -> float:
    """Integrated loudness in LUFS, as pyloudnorm measures it (-inf if silent).

    pyloudnorm refuses signals shorter than one 400 ms block; those are measured as a
    single block of their own length (their K-weighted mean square, absolute gate only).
    """
    return integrated(as_float(samples), rate)


# --- peaks ------------------------------------------------------------------------------


def peak_db(peak: float) -> float:
    return 20.0 * math.log10(peak) if peak > 0 else -math.inf


def peak_dbfs(samples: npt.ArrayLike) -> float:
    """Sample peak in dBFS (int16 full scale is 32768); -inf for silence or nothing."""
    import numpy as np

    x = as_float(samples)
    return peak_db(float(np.max(np.abs(x)))) if x.size else -math.inf


def true_peak_dbfs(samples: npt.ArrayLike) -> float:
    """Peak in dBFS including inter-sample peaks (4x oversampled), BS.1770's true peak."""
    import numpy as np

    x = as_float(samples)
    return peak_db(float(np.max(envelope(x)))) if x.size else -math.inf


@functools.cache
def _interpolator() -> tuple[float, ...]:
    # A short 4x interpolation filter (49 taps, like BS.1770's 48-tap true-peak meter):
    # plenty to find inter-sample peaks, and several times cheaper than scipy's default.
    # It is scipy's firwin(49, 1/4, window=("kaiser", 5.0)): windowed sinc, unit gain
    # at DC (equal to 1e-15).
    import numpy as np

    count = 12 * OVERSAMPLE + 1
    cutoff = 1.0 / OVERSAMPLE
    m = np.arange(count) - (count - 1) / 2
    taps = cutoff * np.sinc(cutoff * m) * np.kaiser(count, 5.0)
    return tuple(float(t) for t in taps / np.sum(taps))


@functools.cache
def _phases() -> tuple[tuple[float, ...], ...]:
    """The interpolator per output phase: output 4q + p is the sum over k of
    ``_phases()[p][k] * x[q + k - reach]`` (``reach`` = 6), aligned as scipy's
    ``resample_poly(x, 4, 1, window=taps)``, which scales the taps by ``up``."""
    taps = [t * OVERSAMPLE for t in _interpolator()]
    half = (len(taps) - 1) // 2
    reach = half // OVERSAMPLE

    def weight(p: int, k: int) -> float:
        i = half + p + OVERSAMPLE * (reach - k)
        return taps[i] if 0 <= i < len(taps) else 0.0

    return tuple(tuple(weight(p, k) for k in range(2 * reach + 1)) for p in range(OVERSAMPLE))


def envelope(x: Floats) -> Floats:
    """|x| including the peaks between samples (4x oversampling), one value per sample.

    Each sample gets the largest oversampled value on either side of it, so the gain
    applied at a sample also covers the inter-sample peaks next to it.
    """
    import numpy as np

    phases = _phases()
    reach = (len(phases[0]) - 1) // 2
    padded = np.zeros(x.size + 2 * reach)
    padded[reach : reach + x.size] = x
    groups = np.zeros(x.size)  # the largest oversampled value from x[q] to x[q + 1]
    for weights in phases:
        np.maximum(groups, np.abs(np.correlate(padded, weights, mode="valid")), out=groups)
    env: Floats = np.maximum(np.abs(x), groups)
    env[1:] = np.maximum(env[1:], groups[:-1])
    return env


@functools.cache
def polyphase() -> tuple[float, float, tuple[tuple[float, float, float], ...]]:
    """The 4x interpolator as ``limiter.step_peaks`` uses it: a bound on any output over
    the largest |input| near it, phase 0's gain, and weights per pair of input offsets
    (below)."""
    phases = _phases()
    width = len(phases[0])
    reach = (width - 1) // 2
    bound = max(sum(abs(w) for w in phase) for phase in phases)
    # Phase 0 is x[q] times its centre weight (1.0009: the taps are normalized to unit
    # gain; its other weights are sinc zeros, ~1e-17). The taps are
    # symmetric, so phase 2 weighs x[q + k - reach] and x[q + 1 + reach - k] alike, and
    # phase 3 is phase 1 mirrored: with sum = u + v and difference = u - v of that
    # pair, phase 1 = even + odd and phase 3 = even - odd, where even and odd sum the
    # pairs' sums and differences with these weights.
    pairs = tuple(
        (
            (phases[1][k] + phases[1][width - k]) / 2,
            (phases[1][k] - phases[1][width - k]) / 2,
            phases[2][k],
        )
        for k in range(1, reach + 1)
    )
    return bound, abs(phases[0][reach]), pairs


# --- work arrays ------------------------------------------------------------------------
# Work arrays kept per thread, so levelling clip after clip reuses the same memory for
# its K-weighting and the limiter's running maxima: fresh pages for every array (the
# kernel zeroing and mapping them) cost a fifth of the levelling time when it worked per
# sample.
WORK_A = 1  # K-weighting's overlap-add, then the running maximum's first array
WORK_B = 2  # the running maximum's second array
_SCRATCH = threading.local()


def scratch(slot: int, size: int) -> Floats:
    """This thread's work array ``slot``, at least ``size`` long (see above)."""
    import numpy as np

    buffers: dict[int, Floats] = _SCRATCH.__dict__.setdefault("buffers", {})
    buffer = buffers.get(slot)
    if buffer is None or buffer.size < size:
        buffers[slot] = buffer = np.empty(size + size // 16)
    return buffer[:size]


# --- streaming --------------------------------------------------------------------------


class LoudnessMeter:
    """Integrated loudness of a signal fed in chunks, with flat memory.

    K-weighting runs chunk by chunk (``k_weighted`` with ``IIR_TAIL`` more samples of
    output, whose ring-down is added to the start of the next chunk: the same filter
    as on the whole signal); 400 ms blocks with 75 % overlap are formed from a running
    sum of squares at the very sample boundaries pyloudnorm uses, and only one mean
    square per block is kept (8 bytes per 100 ms: under 600 kB for two hours).
    ``integrated()`` gates them as BS.1770 does, including pyloudnorm's partial last
    block, so the result matches pyloudnorm on the whole signal. The sample peak is
    tracked too.
    """

    def __init__(self, rate: int = SAMPLE_RATE) -> None:
        import numpy as np

        self.rate = rate
        self._ring: Floats = np.zeros(round(IIR_TAIL * rate))  # the filter's carry-over
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

    def _filter(self, x: Floats) -> Floats:
        """``x`` K-weighted, as the continuation of everything added before."""
        ring = self._ring.size
        out = k_weighted(x, self.rate, ring)
        out[:ring] += self._ring
        self._ring = out[x.size :].copy()
        y: Floats = out[: x.size]
        return y

    def add(self, chunk: npt.ArrayLike) -> None:
        """Feed the next samples (int16, or float in [-1, 1])."""
        import numpy as np

        raw = np.asarray(chunk)
        if raw.size == 0:
            return
        x = as_float(raw)
        self._peak = max(self._peak, float(np.max(np.abs(x))))
        y = self._filter(x)
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
        return peak_db(self._peak)

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
        return gate(blocks)
