"""The make-up gain that keeps a session with music at the loudness target.

Why it is needed: the speech is levelled so that a session of speech and silence reads
``TARGET_LUFS`` (silence is gated out by BS.1770's absolute gate). A music bed fills the
silences ``level`` LU under the speech, and its 400 ms blocks pass the relative gate
(10 LU under the ungated mean) as soon as the session has long stretches where only the
bed plays: they pull the integrated figure down (the short routine with its 20 s manual
plank: -15.6 LUFS without music, -17.8 with it). Lowering the bed would break the
level the user chose; raising the whole mix by the shortfall keeps both the bed's
level under the speech and the target. The speech is levelled with its peaks at the
limiter's ceiling, so made-up cues are limited again (each distinct clip once, by the
levelling's own step limiter): the gain is solved for the loudness after that limiting
(on the 30-minute bench routine's eSpeak speech, 3.4 dB of make-up unlimited landed at
-18.0 LUFS once the mix was limited). The mix's own limiter (``mix``) is then a safety
net for the bed's peaks.

How much: the session's loudness with music is worked out ahead, from the timeline
alone, before a sample is mixed: the K-weighted energy of every speech clip and cue
sound where it sits (each distinct one filtered once), plus the bed's, which is its
power (every track is brought to ``TARGET_LUFS``, then set ``level`` LU under it) times
the ducking gain squared (``duck.DuckEnvelope.energy``), summed over the very gating
blocks ``meter.Blocks`` uses and gated the same way, the bed's part spread as the
music's own blocks spread around its loudness (``MusicSource.spread``). One figure for
a render and for a live run, which streams and cannot measure what it has not played
yet (a reactive gain would drift during the session and differ from the file): both
play the same samples.
It assumes the bed and the speech uncorrelated, and the bed's blocks where it plays
alone spread as in the excerpts measured of each track (the tracks' spreads pooled).
Measured on the short routine with fake speech: a steady tone or noise lands at
-16.0 +-0.01 LUFS; noise swelling by +-6 dB over 8 s at -16.06..-16.09 (a steady-bed
prediction, without the spread, gave -14.6..-16.8). The tests hold the prediction to
the meter on the rendered output.

Its cost is paid before the first sound of a live run, so it is kept small: each
cue's analysis (its K-weighted energy per step, its limiter's held peaks, its peak) is
a pure function of its samples, kept between runs beside the clips (``CueAnalyses``,
``clipcache``) and read back warm; and the gating over the spread's factors is summed
per block (``_gated``), not over a blocks-by-factors array. On the 2-hour bench routine
(296 s of distinct cues, three gains) the prediction went from 0.44 s of CPU and a
57 MB peak to 0.09 s and 20 MB.

The gain is capped at ``MAX_MAKEUP_DB``: a session that is nearly all bed would need
up to ``level`` dB and push the speech into the limiter; it is left under the target
rather than squashed (the levelling's own cap on extra gain is the same 6 dB).
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from voicecoach.audio.duck import DuckEnvelope
from voicecoach.audio.levelling import CEILING_DBFS, TARGET_LUFS, to_int16
from voicecoach.audio.limiter import STEP, StepLimiter, interpolate_steps
from voicecoach.audio.meter import (
    ABSOLUTE_GATE,
    IIR_TAIL,
    RELATIVE_GATE,
    Blocks,
    as_float,
    k_weighted,
    lufs,
    polyphase,
)
from voicecoach.core.timeline import Event

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]
    Ints = npt.NDArray[np.int64]
    Samples = npt.NDArray[np.int16]

MAX_MAKEUP_DB = 6.0
# Bump when a cue's analysis changes meaning (``_Cue``): old ones are never looked up.
ANALYSIS_VERSION = 1
_STEPS = 4  # secant steps on "loudness after limiting", as the levelling takes
Key = tuple[str, str]  # a cue: (kind, text)


class CueAnalyses(Protocol):
    """Where cues' analyses are kept between runs (the clip cache: ``clipcache``), as
    bytes under a key; None when missing or damaged. Best effort: keeping may fail."""

    def analysis(self, key: str) -> bytes | None: ...

    def keep_analysis(self, key: str, data: bytes) -> None: ...


# A cue's analysis as kept: rate, energy steps, limiter points, its peak (then the two
# arrays, float64 little-endian: read back, the very figures, so the gain is the same).
_KEPT = struct.Struct("<IIId")


class _Cue:
    """One distinct cue (a speech clip or a sound): its K-weighted energy per step of
    ``STEP`` samples (the limiter's grain, with the filter's ring-down, ``IIR_TAIL``),
    and its step limiter's held peaks. Only the cue's own samples are kept (int16,
    shared with the mixer): floats are made when needed and let go, so the 2-hour bench
    routine's 296 s of distinct cues do not stay in memory twice over.

    The analysis is a pure function of the samples, so it is kept (``CueAnalyses``)
    under the digest of the samples and of every setting that shapes it (``key``):
    warm, a cue costs a hash and a read, not its filtering (on the 2-hour bench
    routine, K-weighting and the limiters' peaks were 0.37 s of 0.48 s of CPU)."""

    def __init__(self, samples: Samples, rate: int, kept: CueAnalyses | None = None) -> None:
        self.samples = samples
        self.rate = rate
        key = _key(samples, rate) if kept is not None else ""
        found = _unpacked(kept.analysis(key), rate) if kept is not None else None
        if found is None:
            found = self._analysed()
            if kept is not None:
                kept.keep_analysis(key, _packed(rate, *found))
        self.energy, points, self.peak = found
        self._limiter = StepLimiter.of_peaks(points, rate, CEILING_DBFS)

    def _analysed(self) -> tuple[Floats, Floats, float]:
        import numpy as np

        x = as_float(self.samples)
        squares = np.square(k_weighted(x, self.rate, round(IIR_TAIL * self.rate)))
        energy = np.add.reduceat(squares, np.arange(0, squares.size, STEP))
        peak = float(np.max(np.abs(x))) * polyphase()[0] if x.size else 0.0
        top = 10.0 ** ((MAX_MAKEUP_DB + 0.01) / 20.0)
        points = StepLimiter(x, self.rate, CEILING_DBFS, top).peaks
        return energy, points, peak

    def _points(self, scale: float) -> Floats | None:
        """The limited gain of the cue times ``scale`` at each step's first sample (None:
        ``scale`` itself everywhere, no peak can reach the ceiling)."""
        if self.peak * scale <= 10.0 ** (CEILING_DBFS / 20.0):
            return None
        points: Floats = self._limiter.gain(scale) * scale
        return points

    def cumulated(self, scale: float) -> Floats:
        """The running sum, step by step, of the K-weighted energy at ``scale``, limited:
        the limiter's gain moves slowly (over ~16 ms), so the limited cue weighted is
        very nearly the gain times the cue weighted (the levelling's measure, within
        0.001 LU); in a step it is the mean of its two points, as in ``levelling``."""
        import numpy as np

        points = self._points(scale)
        if points is None:
            energy = self.energy * (scale * scale)
        else:
            per_step = np.full(self.energy.size, points[-1])
            inside = min(points.size - 1, per_step.size)
            per_step[:inside] = 0.5 * (points[:inside] + points[1 : inside + 1])
            energy = self.energy * np.square(per_step)
        return np.concatenate([[0.0], np.cumsum(energy)])

    def made_up(self, scale: float) -> Samples:
        points = self._points(scale)
        x = as_float(self.samples)
        return to_int16(x * (scale if points is None else interpolate_steps(points, x.size)))


class _Placement:
    """Where each cue's energy falls among the gating cuts: one row per (event, span
    between cuts) it covers, with the span's index and the steps of the cue it takes
    (each cut at the nearest step: 8 samples at most, of 400 ms blocks). Made once; a
    loudness at any gain then sums every cue's energy in a few array operations (a
    loop over the 2-hour bench routine's 3220 events cost 0.17 s a gain)."""

    def __init__(
        self, events: list[Event], cues: list[_Cue], which: Ints, cuts: Ints, length: int
    ) -> None:
        import numpy as np

        starts = np.array([e.start for e in events], dtype=np.int64)
        steps = np.array([cues[i].energy.size for i in which], dtype=np.int64)
        ends = np.minimum(starts + steps * STEP, length)
        first = np.searchsorted(cuts, starts, side="right") - 1
        count = np.maximum(np.searchsorted(cuts, ends, side="left") - first, 0)
        event = np.repeat(np.arange(len(events)), count)
        within = np.arange(event.size) - np.repeat(np.cumsum(count) - count, count)
        self.span = first[event] + within
        bounds = np.append(cuts, length)
        lower = np.maximum(bounds[self.span], starts[event]) - starts[event]
        upper = np.minimum(bounds[self.span + 1], ends[event]) - starts[event]
        self.cue = which[event]
        self.low = np.minimum((lower + STEP // 2) // STEP, steps[event])
        self.high = np.minimum((upper + STEP // 2) // STEP, steps[event])
        self.spans = cuts.size

    def energy(self, cumulated: list[Floats]) -> Floats:
        """The cues' K-weighted energy between consecutive cuts, from each cue's running
        sum (``_Cue.cumulated``). K-weighting is linear, so each cue is filtered alone;
        overlapping cues are taken as uncorrelated."""
        import numpy as np

        offsets = np.cumsum([0] + [c.size for c in cumulated[:-1]])
        flat = np.concatenate(cumulated) if cumulated else np.zeros(1)
        at = offsets[self.cue] if cumulated else np.zeros(0, dtype=np.int64)
        gained = flat[at + self.high] - flat[at + self.low]
        sums = np.bincount(self.span, weights=gained, minlength=self.spans)
        return sums.astype(np.float64, copy=False)


class _MadeUp(Mapping[Key, "Samples"]):
    """Each distinct cue made up by ``scale`` and limited, made when first asked for: a
    live run plays its first cues long before its last (the 2-hour bench routine has
    296 s of distinct cues). Thread-safe: split tracks render from several threads."""

    def __init__(self, cues: dict[Key, _Cue], scale: float) -> None:
        self._cues = cues
        self._scale = scale
        self._made: dict[Key, Samples] = {}
        self._lock = threading.Lock()

    def __getitem__(self, key: Key) -> Samples:
        made = self._made.get(key)
        if made is None:
            with self._lock:
                made = self._made.get(key)
                if made is None:
                    made = self._made[key] = self._cues[key].made_up(self._scale)
        return made

    def __iter__(self) -> Iterator[Key]:
        return iter(self._cues)

    def __len__(self) -> int:
        return len(self._cues)


@dataclass(frozen=True, slots=True)
class MakeUp:
    """The session's make-up: its gain, the loudness predicted with it, and every
    distinct cue made up and limited (int16), to mix instead of the levelled ones."""

    gain_db: float
    predicted: float  # LUFS
    cues: Mapping[Key, Samples]


class Prediction:
    """The session's loudness with a bed ``level`` LU under the target, ducked by
    ``duck``, at any make-up gain.

    ``spread``: the bed's block power over its average, as equally likely values. Each
    gating block is counted once per value, its bed part at that power, so the gates
    see how the bed's blocks vary: a bed near the relative gate is partly gated out.

    ``kept``: where the cues' analyses are kept between runs (None: worked out each time).
    """

    def __init__(
        self,
        events: Iterable[Event],
        source: Callable[[Event], npt.ArrayLike],
        duck: DuckEnvelope,
        level: float,
        length: int,
        spread: Sequence[float] = (1.0,),
        kept: CueAnalyses | None = None,
    ) -> None:
        import numpy as np

        self._events = [e for e in events if e.kind != "wait"]
        index: dict[Key, int] = {}
        self._keys: list[Key] = []
        self._cues: list[_Cue] = []
        for e in self._events:
            if (e.kind, e.text) not in index:
                index[(e.kind, e.text)] = len(self._cues)
                self._keys.append((e.kind, e.text))
                self._cues.append(_Cue(np.asarray(source(e)), duck.rate, kept))
        self._length = length
        self._blocks = Blocks(max(length, 0), duck.rate)
        which = np.array([index[(e.kind, e.text)] for e in self._events], dtype=np.int64)
        self._placed = _Placement(self._events, self._cues, which, self._blocks.cuts, length)
        power = 10.0 ** ((TARGET_LUFS - level + 0.691) / 10.0)  # the bed's mean square
        self._bed = power * duck.energy(self._blocks.cuts, length) if length > 0 else None
        self._factors = np.sort(np.asarray(spread, dtype=np.float64))

    def loudness(self, gain_db: float = 0.0) -> float:
        """The integrated loudness (LUFS) of the mix made up by ``gain_db``, limited."""
        import numpy as np

        if self._bed is None:
            return -math.inf
        scale = 10.0 ** (gain_db / 20.0)
        cues = self._placed.energy([cue.cumulated(scale) for cue in self._cues])
        bed = self._bed * (scale * scale)
        cue_blocks = self._blocks.mean_squares(cues)
        if cue_blocks.size == 0:  # shorter than a block: no gating to speak of
            return self._blocks.loudness_of_sums(cues + bed * float(np.mean(self._factors)))
        return _gated(cue_blocks, self._blocks.mean_squares(bed), self._factors)

    def make_up(self) -> MakeUp:
        """The gain (to 0.01 dB, at most ``MAX_MAKEUP_DB`` either way) that brings the mix
        to the target once its cues are limited: secant steps from the unlimited
        estimate, the closest attempt kept (gating makes loudness jump)."""
        best, best_error = 0.0, self.loudness(0.0) - TARGET_LUFS
        gain = _bounded(-best_error)
        previous: tuple[float, float] | None = None
        for _ in range(_STEPS):
            error = self.loudness(gain) - TARGET_LUFS
            if not math.isfinite(error):
                break
            if abs(error) < abs(best_error):
                best, best_error = gain, error
            if abs(error) < 0.05:
                break
            slope = 0.7  # loudness rises slower than the gain once the limiter works
            if previous is not None and gain != previous[0]:
                slope = min(1.0, max(0.1, (error - previous[1]) / (gain - previous[0])))
            nxt = _bounded(gain - error / slope)
            if nxt == gain:
                break
            previous, gain = (gain, error), nxt
        scale = 10.0 ** (best / 20.0)
        cues = _MadeUp(dict(zip(self._keys, self._cues, strict=True)), scale)
        predicted = TARGET_LUFS + best_error if math.isfinite(best_error) else -math.inf
        return MakeUp(best, predicted, cues)


def _gated(cues: Floats, bed: Floats, factors: Floats) -> float:
    """``meter.gate`` over the mean squares ``cues + bed * f`` of every block (``cues``,
    ``bed``: one value a block) at every one of ``factors`` (sorted), without making
    them: 1.2 M values on the 2-hour bench routine (16 factors), whose gating took 0.035 s
    and 40 MB a gain. A block's values rise with ``f``, so those over a gate are its
    largest few: counted by a search, summed from the factors' running sums (the same
    figure, up to rounding in the last bits)."""
    import numpy as np

    n = factors.size
    tops = np.concatenate([[0.0], np.cumsum(factors[::-1])])  # the k largest's sum, by k
    positive = bed > 0.0

    def over(threshold: float, strict: bool) -> tuple[int, float]:
        """How many values pass ``threshold`` (a mean square; ``strict``: >, else >=),
        and their sum."""
        passing = cues > threshold if strict else cues >= threshold
        with np.errstate(divide="ignore", invalid="ignore"):
            least = np.where(positive, (threshold - cues) / bed, np.where(passing, -np.inf, np.inf))
        count = n - np.searchsorted(factors, least, side="right" if strict else "left")
        return int(np.sum(count)), float(np.sum(count * cues + bed * tops[count]))

    floor = 10.0 ** ((ABSOLUTE_GATE + 0.691) / 10.0)
    count, total = over(floor, strict=False)
    if count == 0:
        return -math.inf
    relative = 10.0 ** ((lufs(total / count) + RELATIVE_GATE + 0.691) / 10.0)
    count, total = over(max(relative, floor), strict=True)
    return lufs(total / count) if count else -math.inf


def _bounded(gain_db: float) -> float:
    if not math.isfinite(gain_db):
        return 0.0
    return round(max(-MAX_MAKEUP_DB, min(MAX_MAKEUP_DB, gain_db)), 2)


def _key(samples: Samples, rate: int) -> str:
    """The key a cue's analysis is kept under: the sha256 of the settings that shape it
    and of its samples (0.01 s for the 2-hour bench routine's 296 s of distinct cues)."""
    import numpy as np

    settings = json.dumps(
        {
            "analysis": ANALYSIS_VERSION,
            "rate": rate,
            "step": STEP,
            "tail": IIR_TAIL,
            "ceiling": CEILING_DBFS,
            "top": MAX_MAKEUP_DB,
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(settings.encode())
    digest.update(np.ascontiguousarray(samples, dtype="<i2").data)
    return digest.hexdigest()


def _packed(rate: int, energy: Floats, points: Floats, peak: float) -> bytes:
    head = _KEPT.pack(rate, energy.size, points.size, peak)
    return head + energy.astype("<f8").tobytes() + points.astype("<f8").tobytes()


def _unpacked(data: bytes | None, rate: int) -> tuple[Floats, Floats, float] | None:
    """A kept analysis (None: none, or not one of ``rate``'s)."""
    import numpy as np

    if data is None or len(data) < _KEPT.size:
        return None
    kept_rate, steps, points, peak = _KEPT.unpack_from(data)
    if kept_rate != rate or len(data) != _KEPT.size + 8 * (steps + points):
        return None
    # Read-only views over the bytes: no copy.
    arrays = np.frombuffer(data, dtype="<f8", offset=_KEPT.size).astype(np.float64, copy=False)
    return arrays[:steps], arrays[steps:], peak
