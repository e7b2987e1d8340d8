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
- Both then limit peaks (sample and 4x-oversampled) to just under -1 dBFS with the
  deterministic look-ahead limiter (``limiter``), which never changes the length.

Loudness is measured by ``meter`` (the one BS.1770 implementation). Arrays are mono
int16 at ``SAMPLE_RATE`` unless a rate is passed; float arrays are taken as already
scaled to [-1, 1]. numpy is imported inside functions so ``voicecoach --help`` stays
instant; nothing here needs scipy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from voicecoach.audio.limiter import STEP, StepLimiter, interpolate_steps, limiter_gain
from voicecoach.audio.meter import (
    FULL_SCALE,
    IIR_TAIL,
    Blocks,
    as_float,
    envelope,
    integrated,
    k_weighted,
    weighted_loudness,
)
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
# 3: limiter ceiling -2.5 dBTP. 4: speech limiter gain per step of limiter.STEP samples.
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
CEILING_DBFS = -2.5

_CONTEXT = 0.4  # silence on each side of a speech clip when measuring it in context
_LEVEL_STEPS = 4  # secant steps when levelling a clip against its limiter
_MAX_EXTRA_GAIN = 6.0  # dB the limiter may be pushed beyond the unlimited gain


def to_int16(x: Floats) -> Samples:
    import numpy as np

    return np.clip(np.round(x * FULL_SCALE), -32768, 32767).astype(np.int16)


def speech_loudness(clip: npt.ArrayLike, rate: int = SAMPLE_RATE) -> float:
    """A speech clip's loudness in context: the integrated loudness of the clip with
    ``_CONTEXT`` seconds of silence on each side, as the session's meter sees it."""
    import numpy as np

    return integrated(np.pad(as_float(clip), round(_CONTEXT * rate)), rate)


def sound_loudness(sound: npt.ArrayLike, rate: int = SAMPLE_RATE) -> float:
    """A cue sound's active loudness: the sound alone, gated (or as one block if short)."""
    return integrated(as_float(sound), rate)


def level(x: Floats, rate: int, target: float, context: float, per_step: bool = False) -> Floats:
    """Gain ``x`` so its loudness (with ``context`` seconds of silence on each side) reads
    ``target`` once its peaks are limited.

    Limiting takes some loudness away (more, the more gain), so the gain is found by a
    few secant steps on "loudness after limiting". The extra gain is capped at
    ``_MAX_EXTRA_GAIN`` dB over the unlimited estimate: a clip that would need more is
    left a little quieter rather than squashed. Gains are rounded to 0.01 dB (inaudible)
    so the same input gives the same samples even if a measurement differs in its last
    bits on another machine.

    ``per_step``: the limiter per step (``_Measure``, speech) instead of per sample.
    """
    import numpy as np

    if x.size == 0:
        return x.copy()
    pad = round(context * rate)
    attempt: Callable[[float], tuple[Floats, float]]
    measure: _Measure | None = None
    if per_step:
        measure = _Measure(x, rate, pad, target)
        loudness, attempt = measure.loudness, measure.attempt
    else:
        weighted = k_weighted(np.pad(x, pad), rate)
        loudness = weighted_loudness(weighted, rate)
        env = envelope(x)  # the limiter's input is linear in the gain: find peaks once

        def attempt(gain: float) -> tuple[Floats, float]:
            scale = 10.0 ** (gain / 20.0)
            g: Floats = scale * limiter_gain(env * scale, rate, CEILING_DBFS)
            # K-weighting is linear and the limiter's gain moves slowly (over ~16 ms), so
            # the limited clip weighted is very nearly the gain times the clip weighted:
            # no filtering per step. (Measured on eSpeak clips: within 0.001 LU.)
            padded = np.pad(g, pad, mode="edge")
            return g, weighted_loudness(weighted * padded, rate) - target

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
    x = as_float(clip)
    if target == -math.inf:
        import numpy as np

        silent: Samples = np.zeros(x.size, dtype=np.int16)
        return silent
    return to_int16(level(x, rate, target, _CONTEXT, per_step=True))


def match_sound(
    sound: npt.ArrayLike, rate: int = SAMPLE_RATE, target: float = SOUND_LUFS
) -> Samples:
    """A cue sound as loud as the speech, never louder: ``target`` LUFS of active
    loudness, peaks <= -1 dBFS, same length.

    Limits per sample. tools/make_sounds.py must keep giving the committed files byte
    for byte (tests/test_sounds.py checks). They were made when this filtered with
    scipy (sosfilt, resample_poly, minimum/uniform_filter1d); the meter's numpy forms
    give the same bytes, because none of the bundled sounds reaches the limiter (their
    true peaks land 2 to 10 dB under the ceiling, so the gain is one constant) and the
    loudness, equal to about 1e-13, rounds to the same 0.01 dB gain.
    """
    return to_int16(level(as_float(sound), rate, target, 0.0))


# --- speech levelling, per step ---------------------------------------------------------
# Speech is levelled at a coarser grain than ``match_sound``: the limiter's gain is
# worked out per step of ``limiter.STEP`` samples and interpolated between, and each
# levelling attempt measures the loudness from the K-weighted energy per step (the gain
# moves over ~16 ms, so it is all but constant within a step of 0.7 ms). An attempt then
# costs a few operations per step, not per sample; the envelope's 4x-oversampled peaks
# are computed only where some attempt could reach the ceiling. Tests hold the result to
# the per-sample path (``level(per_step=False)``).


class _Measure:
    """One speech clip's levelling, with what its attempts share computed once: the
    K-weighted energy per segment, the gating blocks, the limiter's peaks.

    The padded signal (``pad`` silent samples, the clip, ``pad`` more) is cut at every
    gating-block boundary and at every step of the clip, so each segment has one gain:
    before the clip the first point's, in step j the mean of points j and j + 1 (the
    gain is linear between them), after the clip the last point's.
    """

    def __init__(self, x: Floats, rate: int, pad: int, target: float) -> None:
        import numpy as np

        n = x.size
        self._target = target
        steps = -(-n // STEP)
        length = n + 2 * pad
        starts = pad + STEP * np.arange(steps, dtype=np.int64)
        self._blocks = Blocks(length, rate, np.append(starts, pad + n))
        cuts = self._blocks.cuts
        # The silence before the clip stays exactly 0 through the filter (it starts at
        # rest), and after the clip the filter rings down within IIR_TAIL: filter only
        # the clip and that much after it.
        ring = min(pad, round(IIR_TAIL * rate))
        weighted = k_weighted(x, rate, ring)
        squares = np.square(weighted, out=weighted)
        live = (cuts >= pad) & (cuts < pad + n + ring)
        self._energy: Floats = np.zeros(cuts.size)
        self._energy[live] = np.add.reduceat(squares, cuts[live] - pad)
        seg = np.clip((cuts - pad) // STEP + 1, 0, steps + 1)
        seg[cuts >= pad + n] = steps + 1
        self._segment_gain = seg  # index into the per-segment gains (see attempt)
        self.loudness = self._blocks.loudness_of_sums(self._energy)
        self._limiter: StepLimiter | None = None
        self._x = x
        self._rate = rate

    def start(self, highest_gain: float) -> None:
        """Find the limiter's peaks for attempts up to ``highest_gain`` dB."""
        # 0.01 dB more: the attempts' gains are rounded to 0.01 dB.
        scale = 10.0 ** ((highest_gain + 0.01) / 20.0)
        self._limiter = StepLimiter(self._x, self._rate, CEILING_DBFS, scale)

    def attempt(self, gain: float) -> tuple[Floats, float]:
        """The gain at each step's point at ``gain`` dB once limited, and how far the
        loudness is from the target (LU). The K-weighted clip times the gain stands for
        the limited clip K-weighted (see ``level``)."""
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
        return self._x * interpolate_steps(points, self._x.size)
