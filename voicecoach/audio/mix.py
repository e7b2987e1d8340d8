"""Turn a timeline into samples, a chunk at a time.

The one place where events become audio: ``render`` writes these chunks to a file
and ``run`` plays the very same chunks, so live and file are the same samples.
Memory stays flat: only the distinct clips and sounds are held, never the session.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from voicecoach.core.timeline import Event, Timeline

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.int16]


class Mixer:
    """Mixes a timeline's events from their clips (speech, by text) and sounds (by name).

    All arrays are mono int16 at the timeline's sample rate.
    """

    def __init__(
        self,
        timeline: Timeline,
        clips: Mapping[str, Samples],
        sounds: Mapping[str, Samples],
    ) -> None:
        self.timeline = timeline
        self._clips = clips
        self._sounds = sounds
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
        return Mixer(timeline, self._clips, self._sounds)

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
