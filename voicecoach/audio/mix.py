"""Turn a timeline into samples, a chunk at a time.

The one place where events become audio: ``render`` writes these chunks to a file
and ``run`` plays the very same chunks, so live and file are the same samples.
Memory stays flat: only the distinct clips and sounds are held, never the session.

Music (optional) is one more input: a source of samples for any span of the session
(``MusicSource``, e.g. the user's files) at the bed's level, ducked under every cue by
``duck.DuckEnvelope`` from this very timeline. Being a function of the sample position,
it follows skips, backs and pauses of a live run for free. Without music, the mix is
exactly what it was (the same integer sums).

With music, the whole mix takes the make-up gain ``makeup`` works out ahead from the
timeline (long bed-only stretches pull a session's integrated loudness under the
target): each distinct cue made up and limited once (``makeup.MakeUp.cues``), the bed
times the gain, then a limiter to ``CEILING_DBFS`` (the speech's own ceiling) on the
blocks where the bed may push the cues' peaks more than 1 dB over it (``_TRIGGER``:
the file stays <= -1.5 dBTP). The limiter works on fixed blocks of
``_BLOCK`` samples of the session, each with ``_MARGIN`` samples of context on either
side: a sample comes out of the same computation whatever span is asked for, so the
file, split tracks and a live run that skips get the very same samples.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from voicecoach.audio.duck import DuckEnvelope, bed_gain
from voicecoach.audio.levelling import CEILING_DBFS
from voicecoach.audio.makeup import CueAnalyses, Key, Prediction
from voicecoach.core.model import MUSIC_LEVEL
from voicecoach.core.timeline import Event, Timeline

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.int16]
    Floats = npt.NDArray[np.float32]
    Sums = npt.NDArray[np.int32]
    Bounds = npt.NDArray[np.float64]

_BLOCK = 8192  # samples per block of the final limiter (a multiple of limiter.STEP)
# Context on either side of a block: the limiter's gain at a sample depends on the
# samples within about 360 of it (8 ms at 22050 Hz each way, plus the interpolator's
# and a step's reach), so a block's samples are those of limiting the whole session.
_MARGIN = 512
_SUB = 256  # samples per span of the peak bound that decides whether a block is limited
# A block is limited (to the ceiling) when its true peak may pass the cues' ceiling by
# more than 1 dB, the bed adding to a cue's peak: the file's peaks stay <= -1.5 dBTP.
# Limiting at the ceiling itself would work on every block with speech (made-up speech
# sits at it): on the bench's 30 minutes 2201 blocks of 4949 and +1.5 s, where this
# limits 161 (its bound is loose: the mix unlimited peaked at -1.99 dBTP there, the
# bed adding 0.5 dB at most, which lossy encoders' overshoot of speech, 0.6-0.85 dB,
# leaves under -1 dBFS).
_TRIGGER = 10.0 ** ((CEILING_DBFS + 1.0) / 20.0)


class MusicSource(Protocol):
    """Music for any span of the session, float in [-1, 1] at TARGET_LUFS loudness."""

    @property
    def names(self) -> tuple[str, ...]:
        """The tracks, for the file's tags."""
        ...

    @property
    def spread(self) -> tuple[float, ...]:
        """The power of the music's 400 ms blocks over its average, as equally likely
        values (for ``makeup``'s prediction; (1.0,): steady)."""
        ...

    def samples(self, start: int, stop: int) -> Floats: ...


@dataclass(frozen=True, slots=True)
class Music:
    """A music bed: its source, its level in LU under the speech, and where the cues'
    analyses for ``makeup`` are kept between runs (None: worked out each time)."""

    source: MusicSource
    level: float = MUSIC_LEVEL
    analyses: CueAnalyses | None = None


class Mixer:
    """Mixes a timeline's events from their clips (speech, by text) and sounds (by name).

    All arrays are mono int16 at the timeline's sample rate.
    """

    def __init__(
        self,
        timeline: Timeline,
        clips: Mapping[str, Samples],
        sounds: Mapping[str, Samples],
        music: Music | None = None,
    ) -> None:
        self.timeline = timeline
        self._clips = clips
        self._sounds = sounds
        self.music = music
        self._duck = DuckEnvelope.of(timeline) if music is not None else None
        self._length = timeline.length  # (a property that looks every event over)
        self._bed_lock = threading.Lock()
        self._bed_kept: tuple[int, Floats] | None = None  # the end of the last bed read
        self._events = [e for e in timeline.events if e.kind != "wait"]
        self._starts = [e.start for e in self._events]
        self._longest = max((e.length for e in self._events), default=0)
        for event in self._events:
            have = len(self._source(event))
            if have != event.length:
                raise ValueError(
                    f"{event.kind} {event.text!r}: timeline length {event.length}"
                    f" but the audio has {have} samples"
                )
        self.makeup_db = 0.0  # dB on the whole mix (music only): see ``makeup``
        self._made_up: Mapping[Key, Samples] = {}  # the cues made up and limited
        self._overlaps: list[tuple[int, int]] = []
        if music is not None and self._duck is not None:
            # Where two cues overlap (their peaks may add up), a span of ``_SUB`` either
            # side, merged: sorted, disjoint.
            reach = -1
            for s, e in sorted((e.start, e.end) for e in self._events):
                if s < reach:
                    lo, hi = s - _SUB, min(reach, e) + _SUB
                    if self._overlaps and lo <= self._overlaps[-1][1]:
                        lo = self._overlaps.pop()[0]
                    self._overlaps.append((lo, hi))
                reach = max(reach, e)
            made = Prediction(
                self._events,
                self._source,
                self._duck,
                music.level,
                timeline.length,
                music.source.spread,
                music.analyses,
            ).make_up()
            self.makeup_db, self._made_up = made.gain_db, made.cues

    @property
    def length(self) -> int:
        return self.timeline.length

    def retimed(self, timeline: Timeline) -> Mixer:
        """A mixer for another timing of the same cues (e.g. an audition preview)."""
        return Mixer(timeline, self._clips, self._sounds, self.music)

    def with_music(self, music: Music | None) -> Mixer:
        """This mixer with ``music`` under it (None: none)."""
        return Mixer(self.timeline, self._clips, self._sounds, music)

    def _source(self, event: Event) -> Samples:
        return self._clips[event.text] if event.kind == "speech" else self._sounds[event.text]

    def render(self, start: int, stop: int) -> Samples:
        """Samples ``[start, stop)`` of the session."""
        if self.music is not None:
            return self._render_music(start, stop)
        import numpy as np

        out = self._cues(start, stop)
        np.clip(out, -32768, 32767, out=out)
        samples: Samples = out.astype(np.int16)
        return samples

    def _cues(self, start: int, stop: int, made_up: bool = False) -> Sums:
        """The speech and sounds of ``[start, stop)``, summed as int32 (``made_up``:
        those the make-up gain made)."""
        import numpy as np

        out = np.zeros(max(0, stop - start), dtype=np.int32)
        if stop <= start:
            return out
        first = bisect.bisect_left(self._starts, start - self._longest)
        last = bisect.bisect_left(self._starts, stop)
        for event in self._events[first:last]:
            lo = max(event.start, start)
            hi = min(event.end, stop)
            if hi <= lo:
                continue
            src = self._made_up[(event.kind, event.text)] if made_up else self._source(event)
            out[lo - start : hi - start] += src[lo - event.start : hi - event.start]
        return out

    def _render_music(self, start: int, stop: int) -> Samples:
        """``render`` with the music bed: mixed, made up and limited block by block."""
        import numpy as np

        length = self._length
        end = min(stop, length)  # the session ends there: nothing after it
        if end <= start:
            return np.zeros(max(0, stop - start), dtype=np.int16)
        first, last = start // _BLOCK, -(-end // _BLOCK)
        # A span more than the blocks' context: the bound of a context's first and
        # last span looks at its neighbours.
        lo = max(0, first * _BLOCK - _MARGIN - _SUB)
        hi = min(length, last * _BLOCK + _MARGIN + _SUB)
        x, bound = self._mixed(lo, hi)
        limited = []  # written back once all are made: each window reads x unlimited
        for k in range(first, last):
            b0, b1 = k * _BLOCK, min((k + 1) * _BLOCK, length)
            w0, w1 = max(0, b0 - _MARGIN), min(length, b1 + _MARGIN)
            window = bound[(w0 - lo) // _SUB : -(-(w1 - lo) // _SUB)]
            if window.max() > _TRIGGER:  # (the method: np.max costs 0.03 s of 30 minutes)
                limited.append((b0, self._limited(x[w0 - lo : w1 - lo], b0 - w0, b1 - w0)))
        for b0, core in limited:
            x[b0 - lo : b0 - lo + core.size] = core
        out = x[start - lo : end - lo]  # x is this call's own: rounded in place
        if end < stop:
            out = np.concatenate([out, np.zeros(stop - end, dtype=np.float32)])
        np.rint(out, out=out)
        np.clip(out, -32768, 32767, out=out)
        return out.astype(np.int16)

    def _limited(self, window: Floats, a: int, b: int) -> Floats:
        """``window[a:b]`` with ``window``'s peaks limited to ``CEILING_DBFS``."""
        import numpy as np

        from voicecoach.audio.limiter import StepLimiter, interpolate_steps
        from voicecoach.audio.meter import FULL_SCALE

        seg = window.astype(np.float64) / FULL_SCALE
        limiter = StepLimiter(seg, self.timeline.sample_rate, CEILING_DBFS, 1.0)
        gain = interpolate_steps(limiter.gain(1.0), seg.size)
        return np.multiply(window[a:b], gain[a:b], dtype=np.float32)

    def _mixed(self, start: int, stop: int) -> tuple[Floats, Bounds]:
        """The made-up cues and the ducked bed of ``[start, stop)`` (``start`` a multiple
        of ``_SUB``), float32 at int16 scale; and a bound on its true peak (dBFS as a
        fraction of full scale) in each span of ``_SUB`` samples.

        The bound is the cues' plus the bed's, each the interpolator's ``bound`` times
        its largest sample within a span either side (the interpolation reaches 6
        samples); the made-up cues' own limiting caps theirs at the ceiling, where no
        two cues overlap. It spares the limiter's work everywhere the bed cannot push
        the mix over (on the bench's 30 minutes: all but a few blocks)."""
        import numpy as np

        from voicecoach.audio.meter import FULL_SCALE, polyphase

        assert self.music is not None and self._duck is not None
        makeup = 10.0 ** (self.makeup_db / 20.0)
        bed = self._bed(start, stop)
        self._duck.apply(bed, start)
        bed *= np.float32(32768.0 * bed_gain(self.music.level) * makeup)
        cues = self._cues(start, stop, made_up=True)
        cuts = np.arange(0, stop - start, _SUB)
        peaks = np.maximum.reduceat(np.abs(bed), cuts).astype(np.float64)
        cue_peaks = np.maximum.reduceat(np.abs(cues), cuts).astype(np.float64)
        for a in (peaks, cue_peaks):  # a span's neighbours too
            a[1:] = np.maximum(a[1:], a[:-1].copy())
            a[:-1] = np.maximum(a[:-1], a[1:].copy())
        factor = polyphase()[0] / FULL_SCALE
        cue_peaks *= factor
        cap = 10.0 ** (CEILING_DBFS / 20.0) + factor  # and a rounding of the samples
        alone = self._cues_alone(start + cuts, start + cuts + _SUB)
        cue_peaks[alone] = np.minimum(cue_peaks[alone], cap)
        peaks *= factor
        peaks += cue_peaks
        # In float32 (``bed += cues`` would add in float64, 0.03 s of 30 minutes more):
        # the same sums, as the cues' int32 sums are exact in float32 (under 2**24) and
        # float64's 53 bits are enough for a float32 sum rounded twice to be rounded once.
        np.add(bed, cues, out=bed, dtype=np.float32)
        return bed, peaks

    def _cues_alone(self, starts: Any, stops: Any) -> Any:
        """For each span, whether no two cues overlap within a span of it."""
        import numpy as np

        if not self._overlaps:
            return np.ones(starts.size, dtype=bool)
        firsts = np.array([s for s, _ in self._overlaps])
        lasts = np.array([e for _, e in self._overlaps])
        i = np.searchsorted(firsts, stops, side="left")  # overlaps starting before the stop
        j = np.searchsorted(lasts, starts, side="right")  # overlaps ending by the start
        alone: Any = i <= j
        return alone

    def _bed(self, start: int, stop: int) -> Floats:
        """The bed's samples, a fresh array. The blocks' context overlaps from one call to
        the next: that part is kept, so the source reads on where it stopped (a jump
        back makes an uncached track reopen its file)."""
        import numpy as np

        assert self.music is not None
        source = self.music.source
        with self._bed_lock:
            kept = self._bed_kept
            if kept is not None and kept[0] <= start <= kept[0] + kept[1].size:
                have = kept[1][start - kept[0] : stop - kept[0]]
                more = (
                    [source.samples(kept[0] + kept[1].size, stop)]
                    if have.size < stop - start
                    else []
                )
                bed: Floats = np.concatenate([have, *more])
            else:
                bed = source.samples(start, stop)
            keep = min(bed.size, _BLOCK + 2 * (_MARGIN + _SUB))
            self._bed_kept = (stop - keep, bed[bed.size - keep :].copy())
        return bed

    def chunks(
        self, start: int = 0, stop: int | None = None, size: int = 1 << 16
    ) -> Iterator[Samples]:
        """The session from ``start`` to ``stop`` (default: the end) in chunks of ``size``."""
        end = self.length if stop is None else min(stop, self.length)
        pos = start
        while pos < end:
            nxt = min(pos + size, end)
            yield self.render(pos, nxt)
            pos = nxt
