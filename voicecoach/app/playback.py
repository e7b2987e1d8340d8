"""Playback for the live run: the session's samples to the AudioOut port, buffer by buffer.

Timing: everything from the current position to the next point where the user must act
(a manual-advance wait, or the end) goes to the device as ONE buffer of the mixer's
samples, the very samples ``render`` writes, so the device's clock keeps every cue
where the timeline puts it. Nothing is timed by sleeping; the player only polls keys
and the status line.

Each key is confirmed by voice, in the session's voice, because the user is not
looking. A confirmation leads the next buffer (phrase, short gap, session audio), so the
session carries on at a steady distance after it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from voicecoach.app.ports import AudioOut, KeySource, Playback
from voicecoach.core.timeline import to_samples

if TYPE_CHECKING:
    from voicecoach.app.session import Session
    from voicecoach.audio.mix import Samples

CONFIRM_GAP = to_samples(0.5)  # silence between a confirmation and the session audio
POLL = 0.05  # seconds: how often keys and the status line are looked at


class Deck:
    """Plays session buffers and spoken confirmations, one at a time, and knows where the
    session's buffer has got to."""

    def __init__(
        self,
        session: Session,
        out: AudioOut,
        keys: KeySource | None,
        on_first_sound: Callable[[], None],
    ) -> None:
        self.session = session
        self.out = out
        self.keys = keys
        self.on_first_sound = on_first_sound
        self.rate = session.timeline.sample_rate
        self.length = session.timeline.length
        self.handle: Playback | None = None
        self._seg_pos = 0  # timeline position of the buffer's first session sample
        self._seg_lead = 0  # samples of confirmation (and gap) before it
        self.seg_stop = 0  # timeline position where the buffer's session audio ends
        # Phrases a key may need, synthesized while the session plays (see warm_up).
        self.warm: deque[str] = deque()

    @property
    def sounded(self) -> bool:
        """Whether anything has been played yet."""
        return self.handle is not None

    def playing(self) -> bool:
        return self.handle is not None and self.handle.is_playing()

    def play(self, samples: Samples) -> Playback:
        self.silence()
        first = self.handle is None
        self.handle = self.out.play(samples, self.rate)
        if first:
            self.on_first_sound()
        return self.handle

    def silence(self) -> None:
        """End whatever is playing (a confirmation), letting it drain."""
        if self.handle is not None and self.handle.is_playing():
            self.handle.stop()

    def cut(self) -> None:
        """Ctrl-C: silence at once, without waiting for the device to drain."""
        if self.handle is not None:
            self.handle.stop(wait=False)

    def say(self, *texts: str) -> Playback:
        """Say one phrase, or several with a short gap between them."""
        import numpy as np

        gap = np.zeros(CONFIRM_GAP // 2, dtype=np.int16)
        clips = [part for text in texts for part in (gap, self.session.say(text))][1:]
        return self.play(clips[0] if len(clips) == 1 else np.concatenate(clips))

    def say_in_full(self, *texts: str) -> None:
        self.wait_for(self.say(*texts))

    def seconds(self, text: str) -> float:
        """How long ``text`` takes to say (synthesizing it now if need be)."""
        return len(self.session.say(text)) / self.rate

    def segment(self, pos: int, stop: int, prefix: str | None) -> None:
        """Play the session from ``pos`` to ``stop`` in one buffer, led by ``prefix``."""
        self.play(self._buffer(pos, stop, prefix))

    def _buffer(self, pos: int, stop: int, prefix: str | None) -> Samples:
        import numpy as np

        head = self.session.say(prefix) if prefix else np.zeros(0, dtype=np.int16)
        self._seg_lead = len(head) + (CONFIRM_GAP if prefix else 0)
        self._seg_pos = pos
        self.seg_stop = stop = min(stop, self.length)
        buf = np.zeros(self._seg_lead + max(0, stop - pos), dtype=np.int16)
        buf[: len(head)] = head
        at = self._seg_lead
        for chunk in self.session.mixer.chunks(pos, stop):
            buf[at : at + len(chunk)] = chunk
            at += len(chunk)
        return buf

    def position(self) -> int:
        """The timeline position the session's buffer has reached."""
        played = self.handle.played() if self.handle is not None else 0
        return min(self.seg_stop, self._seg_pos + max(0, played - self._seg_lead))

    def stop_segment(self) -> int:
        """Stop the session buffer; the timeline position the sound really reached."""
        played = self.handle.stop() if self.handle is not None else 0
        return min(self.seg_stop, self._seg_pos + max(0, played - self._seg_lead))

    def segment_ended(self) -> bool:
        return self.handle is not None and not self.handle.is_playing()

    def poll(self) -> str | None:
        """Wait a moment for a key (or, without keys, for the sound); the key or None."""
        if self.keys is not None:
            return self.keys.get(POLL)
        if self.handle is not None and self.handle.is_playing():
            self.handle.wait(POLL * 2)
        return None

    def warm_up(self) -> None:
        """Synthesize one confirmation ahead of need, while the session plays."""
        if self.warm:
            self.session.say(self.warm.popleft())

    @staticmethod
    def wait_for(handle: Playback) -> None:
        while not handle.wait(POLL * 2):
            pass
