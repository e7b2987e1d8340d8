"""A deterministic look-ahead peak limiter that never changes the length.

It keeps the 4x-oversampled (true) peaks of a signal under a ceiling, spreading the gain
each sample needs over +-8 ms so it moves without clicks. One limiter, in two grains:

- per sample (``limiter_gain``, ``limit``): cue sounds (``levelling.match_sound``);
- per step of ``STEP`` samples (``StepLimiter``), linear between: speech, levelled at
  several gains per clip on every cold start, where the per-step form costs a few
  operations per step rather than per sample and oversamples only the steps that can
  reach the ceiling (``step_peaks``). The tests hold it to the per-sample form.

Peaks come from ``meter`` (its 4x interpolator). numpy is imported inside functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voicecoach.audio.meter import WORK_A, WORK_B, as_float, envelope, polyphase, scratch

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]

_LIMITER_RADIUS = 0.008  # seconds: the limiter's look-ahead and its gain-smoothing reach
STEP = 16  # samples per step of the speech limiter's gain (0.73 ms at 22050 Hz)
_PEAK_ROWS = 512  # steps per pass of step_peaks (work arrays of ~70 kB: in cache)


def limiter_gain(env: Floats, rate: int, ceiling_dbfs: float) -> Floats:
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
    held = running_max(-need, 4 * half + 1)  # minus the running minimum: exact
    np.negative(held, out=held)
    for _ in range(2):
        held = running_mean(held, 2 * half + 1)
    # The bound holds mathematically; the minimum only removes rounding fuzz.
    gain: Floats = np.minimum(held, need)
    return gain


def limit(samples: npt.ArrayLike, rate: int, ceiling_dbfs: float) -> Floats:
    """Deterministic look-ahead peak limiter: same length, (true) peaks <= the ceiling.

    Returns float samples in [-1, 1].
    """
    x = as_float(samples)
    result: Floats = x * limiter_gain(envelope(x), rate, ceiling_dbfs)
    return result


class StepLimiter:
    """``limiter_gain`` worked out at one point per ``STEP`` samples, for a clip
    levelled at many gains up to ``max_scale``.

    Point k (sample k * STEP) first holds the gain that steps k - 2 reach - 1 to
    k + 2 reach all need (a running maximum of the step peaks: the per-sample
    limiter's 8 ms either side), then is smoothed by two running means of
    ``2 reach + 1`` points (``reach`` steps: just under its 4 ms). A sample in step j
    takes its gain linearly from points j and j + 1; every value averaged into
    either was held over a window that contains step j, so the gain never exceeds
    what the sample needs: the ceiling holds exactly, and the gain moves without
    clicks, as in ``limiter_gain``.
    """

    def __init__(self, x: Floats, rate: int, ceiling_dbfs: float, max_scale: float) -> None:
        import numpy as np

        reach = self._start(rate, ceiling_dbfs)
        steps = step_peaks(x, self._ceiling / max_scale)
        # The samples a point's gain reaches are in the steps on either side of the
        # points within 2 reach of it: steps k - 2 reach - 1 .. k + 2 reach for point k.
        points = np.zeros(steps.size + 1)
        points[:-1] = steps
        np.maximum(points[1:], steps, out=points[1:])
        self.peaks = running_max(points, 4 * reach + 1)

    def _start(self, rate: int, ceiling_dbfs: float) -> int:
        self._ceiling = 10.0 ** (ceiling_dbfs / 20.0)
        half = max(1, round(_LIMITER_RADIUS * rate / 2))
        reach = max(1, half // STEP)
        self._size = 2 * reach + 1
        return reach

    @classmethod
    def of_peaks(cls, peaks: Floats, rate: int, ceiling_dbfs: float) -> StepLimiter:
        """The limiter whose held peaks (``peaks``) were worked out before, e.g. kept on
        disk (``makeup``): the same gains, without the clip's samples."""
        limiter = cls.__new__(cls)
        limiter._start(rate, ceiling_dbfs)
        limiter.peaks = peaks
        return limiter

    def gain(self, scale: float) -> Floats:
        """The limiter's gain at each point for the clip times ``scale``."""
        import numpy as np

        held: Floats = self.peaks * scale
        np.maximum(held, 1e-12, out=held)
        np.divide(self._ceiling, held, out=held)
        np.minimum(held, 1.0, out=held)
        if float(np.min(held)) >= 1.0:
            return held
        smooth = running_mean(held, self._size)
        return running_mean(smooth, self._size)


def interpolate_steps(points: Floats, n: int) -> Floats:
    """``n`` per-sample values going linearly from each point (at every ``STEP``-th
    sample) to the next."""
    import numpy as np

    frac = np.arange(STEP) / STEP
    rise = np.subtract(points[1:], points[:-1])
    out = np.multiply.outer(rise, frac)
    out += points[:-1, None]
    flat: Floats = out.reshape(-1)[:n]
    return flat


def step_peaks(x: Floats, floor: float) -> Floats:
    """The largest value of ``meter.envelope(x)`` in each step of ``STEP`` samples, where
    it is over ``floor``; where it is not, some value not over ``floor`` (the step's
    largest |x|).

    A 4x-interpolated value is at most ``bound`` (the largest sum of one phase's
    |taps|) times the largest |x| within reach of it, so the interpolation runs only
    on the steps whose neighbourhood could pass ``floor``: on speech, about a third of
    them. Each step needs q from its first sample - 1 to its last (each sample's
    envelope includes the peaks on either side of it), laid out one column per step so
    every operation runs over many steps at once.
    """
    import numpy as np

    n = x.size
    steps = -(-n // STEP)
    bound, centre, pairs = polyphase()
    reach = len(pairs)
    magnitude = np.zeros(steps * STEP)
    np.abs(x, out=magnitude[:n])
    magnitude[:n] *= max(1.0, centre)  # each sample's own peak: itself or phase 0
    peaks: Floats = magnitude.reshape(steps, STEP).max(axis=1)
    # A step's first sample sees the peaks after the sample before it, which include
    # that sample itself (phase 0).
    np.maximum(peaks[1:], magnitude[STEP - 1 : -1 : STEP], out=peaks[1:])
    near = peaks.copy()  # the largest |x| within one step each side (STEP > reach)
    np.maximum(near[1:], peaks[:-1], out=near[1:])
    np.maximum(near[:-1], peaks[1:], out=near[:-1])
    candidates = np.flatnonzero(near * bound > floor)
    if candidates.size == 0:
        return peaks
    # padded[q + 1 + reach] = x[q]: step j's column c (q = j * STEP - 1 + c) finds
    # x[q + k - reach] at row c + k of window.
    padded = np.zeros(steps * STEP + 2 * reach + 1)
    padded[1 + reach : 1 + reach + n] = x
    columns = STEP + 1
    offsets = np.arange(columns + 2 * reach)[:, None]
    top = 2 * reach + 1
    for first in range(0, candidates.size, _PEAK_ROWS):
        rows = candidates[first : first + _PEAK_ROWS]
        window = padded[offsets + rows * STEP]  # (columns + 2 reach, len(rows))
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
        # q = -1 and q >= n are no sample's neighbours: the envelope leaves them out.
        if rows[0] == 0:
            best[0, 0] = 0.0
        if rows[-1] == steps - 1:
            best[n - (steps - 1) * STEP + 1 :, -1] = 0.0
        peaks[rows] = np.maximum(peaks[rows], best.max(axis=0))
    return peaks


def running_max(a: Floats, size: int) -> Floats:
    """maximum_filter1d(a, size, mode="nearest") for odd ``size``: the maximum over the
    centred window, edges repeated. Doubling (a sparse table): each pass doubles the
    span a value covers, and two overlapping power-of-two spans cover the window."""
    import numpy as np

    n = a.size
    if n == 0:
        return a.copy()
    r = size // 2
    m = scratch(WORK_A, n + 2 * r)  # a with its end values repeated r times
    m[:r] = a[0]
    m[r : r + n] = a
    m[r + n :] = a[-1]
    other = scratch(WORK_B, n + 2 * r)
    span = 1
    while span * 2 <= size:
        # m[i] = max of the padded a[i : i + 2 span]
        np.maximum(m[: m.size - span], m[span:], out=other[: m.size - span])
        m, other = other[: m.size - span], m
        span *= 2
    result: Floats = np.maximum(m[:n], m[size - span : size - span + n])
    return result


def running_mean(a: Floats, size: int) -> Floats:
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
