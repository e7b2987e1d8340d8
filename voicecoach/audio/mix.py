"""Turn a timeline into samples, a chunk at a time.

The one place where events become audio: ``render`` writes these chunks to a file
and ``run`` plays the very same chunks, so live and file are the same samples.
Memory stays flat: only the distinct clips and sounds are held, never the session.

Music (optional) is one more input: a source of samples for any span of the session
(``MusicSource``, e.g. the user's files) at the bed's level, ducked under every cue by
``duck.DuckEnvelope`` from this very timeline. Being a function of the sample position,
it follows skips, backs and pauses of a live run for free. Without music, the mix is
exactly what it was (the same integer sums).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from voicecoach.audio.duck import DuckEnvelope, bed_gain
from voicecoach.core.model import MUSIC_LEVEL
from voicecoach.core.timeline import Event, Timeline

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.int16]
    Floats = npt.NDArray[np.float32]


class MusicSource(Protocol):
    """Music for any span of the session, float in [-1, 1] at TARGET_LUFS loudness."""

    @property
    def names(self) -> tuple[str, ...]:
        """The tracks, for the file's tags."""
        ...

    def samples(self, start: int, stop: int) -> Floats: ...


@dataclass(frozen=True, slots=True)
class Music:
    """A music bed: its source and its level, in LU under the speech."""

    source: MusicSource
    level: float = MUSIC_LEVEL


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
        import numpy as np

        out = np.zeros(max(0, stop - start), dtype=np.int32)
        if stop <= start:
            return out.astype(np.int16)
        first = bisect.bisect_left(self._starts, start - self._longest)
        last = bisect.bisect_left(self._starts, stop)
        for event in self._events[first:last]:
            lo = max(event.start, start)
            hi = min(event.end, stop)
            if hi <= lo:
                continue
            src = self._source(event)
            out[lo - start : hi - start] += src[lo - event.start : hi - event.start]
        if self.music is not None and self._duck is not None:
            bed = self.music.source.samples(start, stop)
            bed *= self._duck.gain(start, stop)
            bed *= np.float32(32768.0 * bed_gain(self.music.level))
            np.add(out, np.rint(bed, out=bed), out=out, casting="unsafe")
        np.clip(out, -32768, 32767, out=out)
        return out.astype(np.int16)

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
