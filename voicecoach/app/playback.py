"""Playback for the live run: the session's samples streamed to the sound output.

Timing: everything from the current position to the next point where the user must act
(a manual-advance wait, or the end) goes to the device as ONE stream of the mixer's
samples, the very samples ``render`` writes, rendered in blocks of ``BLOCK`` and fed
``AHEAD`` before the device needs them; the stream plays them back to back, so the
device's clock keeps every cue where the timeline puts it. Memory stays flat in the
routine's length: a few seconds of samples are held, never the session (a 2-hour
routine mixed into one buffer held about 320 MB). Nothing is timed by sleeping; the
player polls keys and the status line, and tops the stream up as it goes.

Each key is confirmed by voice, in the session's voice, because the user is not
looking. A confirmation leads the next buffer (phrase, short gap, session audio), so the
session carries on at a steady distance after it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from voicecoach.app.ports import DIGITS, Feed, KeySource, Playback, StreamingOut
from voicecoach.core import coaching as say
from voicecoach.core.timeline import to_samples
from voicecoach.core.transport import (
    HINT,
    KEYS_HELP,
    LOUDER,
    PAUSED,
    REMINDER,
    RESUMING,
    SOFTER,
    STOPPING,
)  # fmt: skip

if TYPE_CHECKING:
    from voicecoach.app.session import Session
    from voicecoach.audio.mix import Samples

CONFIRM_GAP = to_samples(0.5)  # silence between a confirmation and the session audio
POLL = 0.05  # seconds: how often keys and the status line are looked at
# Mixed a block at a time, kept this far ahead of the device: more than the longest the
# player's loop can be busy between two top-ups (synthesizing a confirmation ahead of
# need, a few tenths of a second), so the stream never runs dry.
BLOCK = 2.0  # seconds
AHEAD = 4.0  # seconds


class Deck:
    """Plays session buffers and spoken confirmations, one at a time, and knows where the
    session's buffer has got to."""

    def __init__(
        self,
        session: Session,
        out: StreamingOut,
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
        self._feed: Feed | None = None  # the session's stream, while samples are left to feed
        self._next = 0  # the timeline position to render next into it
        # The segment's stop is where the session is made up to (the head start): the
        # stream stays open there, silent if it runs dry, until ``extend``.
        self.more = False
        self._block = round(BLOCK * self.rate)
        self._ahead = round(AHEAD * self.rate)
        self.gain = 1.0  # the volume keys' factor, for all that is mixed or said from now on
        # Phrases a key may need, synthesized while the session plays (see warm_up).
        self.warm: deque[str] = deque()

    def use(self, session: Session) -> None:
        """Play ``session`` from now on (the same routine laid out at another speech rate)."""
        self.session = session
        self.length = session.timeline.length

    def _level(self, samples: Samples) -> Samples:
        """``samples`` at the volume keys' gain (the very samples at the routine's own)."""
        if self.gain == 1.0:
            return samples
        import numpy as np

        scaled = np.round(samples.astype(np.float32) * self.gain)
        return np.clip(scaled, -32768, 32767).astype(np.int16)

    @property
    def sounded(self) -> bool:
        """Whether anything has been played yet."""
        return self.handle is not None

    def playing(self) -> bool:
        return self.handle is not None and self.handle.is_playing()

    def play(self, samples: Samples) -> Playback:
        self.silence()
        self._feed, self.more = None, False
        return self._started(self.out.play(samples, self.rate))

    def _started(self, handle: Playback) -> Playback:
        first = self.handle is None
        self.handle = handle
        if first:
            self.on_first_sound()
        return handle

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
        return self.play(self._level(clips[0] if len(clips) == 1 else np.concatenate(clips)))

    def say_in_full(self, *texts: str) -> None:
        self.wait_for(self.say(*texts))

    def seconds(self, text: str) -> float:
        """How long ``text`` takes to say (synthesizing it now if need be)."""
        return len(self.session.say(text)) / self.rate

    def segment(self, pos: int, stop: int, prefix: str | None, more: bool = False) -> None:
        """Play the session from ``pos`` to ``stop`` in one stream, led by ``prefix``
        (``more``: the stream goes on past ``stop`` once ``extend`` says how far)."""
        import numpy as np

        self.silence()
        self.more = more
        head = self.session.say(prefix) if prefix else np.zeros(0, dtype=np.int16)
        self._seg_lead = len(head) + (CONFIRM_GAP if prefix else 0)
        self._seg_pos = self._next = pos
        self.seg_stop = min(stop, self.length)
        feed = self.out.stream(self.rate)
        if prefix:
            feed.feed(self._level(np.concatenate([head, np.zeros(CONFIRM_GAP, dtype=np.int16)])))
        self._feed = feed
        self._feed_block(feed)  # the first block starts the device: the sound starts
        self._started(feed)
        self.top_up()

    def top_up(self) -> None:
        """Mix and feed the session's stream until it holds ``AHEAD`` (at most a block)."""
        feed = self._feed
        if feed is not None and feed.queued() < self._ahead:
            self._feed_block(feed)

    def _feed_block(self, feed: Feed) -> None:
        stop = min(self._next + self._block, self.seg_stop)
        if stop > self._next:
            feed.feed(self._level(self.session.mixer.render(self._next, stop)))
            self._next = stop
        if self._next >= self.seg_stop and not self.more:
            feed.end()
            self._feed = None

    def extend(self, stop: int, more: bool) -> None:
        """More of the session is made: the segment playing goes on to ``stop``."""
        self.seg_stop, self.more = stop, more
        if self._feed is not None and self._next >= stop and not more:
            self._feed.end()
            self._feed = None

    def position(self) -> int:
        """The timeline position the session's buffer has reached."""
        played = self.handle.played() if self.handle is not None else 0
        return min(self.seg_stop, self._seg_pos + max(0, played - self._seg_lead))

    def stop_segment(self) -> int:
        """Stop the session stream; the timeline position the sound really reached."""
        self._feed = None
        self.more = False
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


def key_phrases(session: Session, keys: bool, waits: bool, safety: str | None) -> list[str]:
    """The phrases a key may need (``keys``: keys are read; ``waits``: manual waits stop
    playback; ``safety``: the routine's note), to synthesize while the session plays."""

    m = session.messages
    tr = m.gettext
    warm = [tr(PAUSED), tr(RESUMING), tr(STOPPING)]
    reminders = session.timeline.reminders
    warm.extend(dict.fromkeys(f"{tr(RESUMING)} {r}" for r in reminders if r))
    if keys:
        warm.extend(map(tr, (say.PAIN, say.PAIN_NEXT, say.PAIN_LAST, say.PAIN_STOP)))
        if waits:
            warm.append(tr(REMINDER))
        if safety:
            warm.append(safety)
        warm.extend(map(tr, (say.CHECKIN, say.CHECKIN_REMINDER, say.CHECKIN_NO_ANSWER)))
        warm.extend(say.checkin_thanks(m, int(d)) for d in DIGITS)
        warm.extend(map(tr, (HINT, LOUDER, SOFTER, KEYS_HELP)))
    return warm
