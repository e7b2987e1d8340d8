"""The make-up gain that keeps a session with music at the loudness target.

Why it is needed: the speech is levelled so that a session of speech and silence reads
``TARGET_LUFS`` (silence is gated out by BS.1770's absolute gate). A music bed fills the
silences ``level`` LU under the speech, and its 400 ms blocks pass the relative gate
(10 LU under the ungated mean) as soon as the session has long stretches where only the
bed plays: they pull the integrated figure down (the short routine with its 20 s manual
plank: -15.6 LUFS without music, -17.8 with it). Lowering the bed would break the
level the user chose; raising the whole mix by the shortfall keeps both the bed's
level under the speech and the target, and the mix's limiter (``mix``) keeps the peaks
under the ceiling.

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

The gain is capped at ``MAX_MAKEUP_DB``: a session that is nearly all bed would need
up to ``level`` dB and push the speech into the limiter; it is left under the target
rather than squashed (the levelling's own cap on extra gain is the same 6 dB).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from voicecoach.audio.duck import DuckEnvelope
from voicecoach.audio.levelling import TARGET_LUFS
from voicecoach.audio.meter import IIR_TAIL, Blocks, as_float, gate, k_weighted
from voicecoach.core.timeline import Event

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]
    Ints = npt.NDArray[np.int64]

MAX_MAKEUP_DB = 6.0


def cue_energy(
    events: Iterable[Event],
    source: Callable[[Event], npt.ArrayLike],
    cuts: Ints,
    length: int,
    rate: int,
) -> Floats:
    """The K-weighted energy of the cues (speech and sounds) between consecutive
    ``cuts`` (the last span to ``length``). K-weighting is linear, so each cue is filtered
    alone (with its ring-down, ``IIR_TAIL``) and its energies added where it sits;
    overlapping cues are taken as uncorrelated."""
    import numpy as np

    ring = round(IIR_TAIL * rate)
    cumulated: dict[tuple[str, str], Floats] = {}
    sums: Floats = np.zeros(cuts.size)
    for e in events:
        key = (e.kind, e.text)
        cum = cumulated.get(key)
        if cum is None:
            weighted = k_weighted(as_float(source(e)), rate, ring)
            cum = np.concatenate([[0.0], np.cumsum(np.square(weighted))])
            cumulated[key] = cum
        end = min(e.start + cum.size - 1, length)
        if end <= e.start:
            continue
        first = int(np.searchsorted(cuts, e.start, side="right")) - 1
        last = int(np.searchsorted(cuts, end, side="left"))
        points = np.concatenate([[e.start], cuts[first + 1 : last], [end]]) - e.start
        sums[first:last] += np.diff(cum[points])
    return sums


def predicted_loudness(
    events: Iterable[Event],
    source: Callable[[Event], npt.ArrayLike],
    duck: DuckEnvelope,
    level: float,
    length: int,
    spread: Sequence[float] = (1.0,),
) -> float:
    """The integrated loudness (LUFS) of the session mixed with a bed ``level`` LU under
    the target, ducked by ``duck``, before any make-up gain.

    ``spread``: the bed's block power over its average, as equally likely values. Each
    gating block is counted once per value, its bed part at that power, so the gates
    see how the bed's blocks vary: a bed near the relative gate is partly gated out.
    """
    import numpy as np

    rate = duck.rate
    if length <= 0:
        return -math.inf
    blocks = Blocks(length, rate)
    cuts = blocks.cuts
    power = 10.0 ** ((TARGET_LUFS - level + 0.691) / 10.0)  # the bed's mean square
    cues = cue_energy(events, source, cuts, length, rate)
    bed = power * duck.energy(cuts, length)
    factors = np.asarray(spread, dtype=np.float64)
    cue_blocks = blocks.mean_squares(cues)
    if cue_blocks.size == 0:  # shorter than a block: no gating to speak of
        return blocks.loudness_of_sums(cues + bed * float(np.mean(factors)))
    each = np.multiply.outer(blocks.mean_squares(bed), factors)
    each += cue_blocks[:, None]
    return gate(each.reshape(-1))


def makeup_db(predicted: float) -> float:
    """The gain (dB, to 0.01 dB so a last-bit difference in the prediction cannot change
    the samples) that brings a session predicted at ``predicted`` LUFS to the target."""
    if not math.isfinite(predicted):
        return 0.0
    return round(max(-MAX_MAKEUP_DB, min(MAX_MAKEUP_DB, TARGET_LUFS - predicted)), 2)
