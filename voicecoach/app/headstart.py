"""The live run's head start: a cold session starts playing while its phrases are made.

A cold cache means synthesizing every phrase (Piper: tens of seconds) before the whole
session can be laid out. The run does not wait for that: ``session.Making`` makes the
phrases on a thread in timeline order, and the start of the session, laid out from the
clips made so far and exact up to its horizon, is fed to one device stream as it grows
(``play_while_made``). When every clip is made, the player takes the same stream over
(``Continuing``) with the whole session: it renders the session from its start as it
always does, the samples already fed are dropped (they are the whole session's own:
``Making`` says why), and the stream goes on without a seam.

The head start stops at the first manual wait (where the player must listen for a key)
and never goes past what is laid out: a device that would run dry only waits, silent,
for the next clip (``Feed`` counts what it hands over, so positions stay exact).

The history counts from the first sound, not from the handover: ``on_sound`` hears the
session start with it (``Early``: the routine and what is laid out so far), and the
stream's ``heard`` log (position reached, clock time) lets the player report the
exercises the head start played as they were heard (``player.play_session``'s
``heard``), so the first exercise's time is not short by the making time.
Keys are not read here yet: they act from the handover on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from voicecoach.app.playback import AHEAD, BLOCK
from voicecoach.app.ports import Feed, Playback, Progress, StreamingOut

if TYPE_CHECKING:
    from voicecoach.app.session import Making, Session
    from voicecoach.audio.mix import Samples
    from voicecoach.core.model import Routine
    from voicecoach.core.timeline import Timeline

POLL = 0.02  # seconds between looks at the clips made (a clip takes longer than this)
Heard = tuple[tuple[int, float], ...]  # (timeline position reached, clock time), in order


@dataclass(frozen=True, slots=True)
class Early:
    """The session as the head start's first sound found it, for the history
    (``ports.RecordedSession``): its routine, and its timeline laid out so far."""

    routine: Routine
    timeline: Timeline


def play_while_made(
    making: Making,
    out: StreamingOut,
    rate: int,
    progress: Progress | None = None,
    *,
    on_sound: Callable[[Early], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[Session, StreamingOut]:
    """Play the session's start as its clips are made; when all are, the whole session
    and an output whose first stream goes on from where the head start got to (a
    ``Continuing``, whose ``heard`` says when each position was reached on ``clock``).
    ``progress(done, total)`` hears how many clips are made; ``on_sound`` is called
    once, at the first sound. Stopped (Ctrl-C, an error), the thread is told to stop
    and the sound ends at once."""
    feed: Feed | None = None
    fed = 0
    told = (-1, -1)
    heard: list[tuple[int, float]] = []
    try:
        while True:
            finished = making.wait(POLL)
            if progress is not None and making.made() != told:
                told = making.made()
                progress(*told)
            mixer, horizon = making.ready()
            waits = [e.start for e in mixer.timeline.events if e.kind == "wait"]
            stop = min([horizon, *waits])
            if feed is None and stop > 0:
                feed = out.stream(rate)  # the first block starts the device
            block, ahead = round(BLOCK * rate), round(AHEAD * rate)
            while feed is not None and fed < stop and feed.queued() < ahead:
                nxt = min(fed + block, stop)
                feed.feed(mixer.render(fed, nxt))
                fed = nxt
            if feed is not None:
                if not heard and on_sound is not None:
                    on_sound(Early(making.routine, mixer.timeline))
                reached = feed.played()
                if not heard or reached != heard[-1][0]:
                    heard.append((reached, clock()))
            if finished:
                break
        session = making.session()
    except BaseException:
        making.stop()
        if feed is not None:
            feed.stop(wait=False)
        raise
    return session, out if feed is None else Continuing(out, feed, fed, tuple(heard))


class Continuing:
    """``out``, whose first stream is ``feed``, already fed the session's first ``fed``
    samples: the player's first stream (from the session's start) drops those as it
    feeds them again. Every other stream and sound goes to ``out``. ``heard``: the
    positions the head start's sound reached, and when (its first entry: the first
    sound)."""

    def __init__(self, out: StreamingOut, feed: Feed, fed: int, heard: Heard = ()) -> None:
        self._out = out
        self._feed: Feed | None = feed
        self._fed = fed
        self.heard = heard

    def play(self, samples: Samples, rate: int) -> Playback:
        self._feed = None  # the player stopped the head start's stream to say something
        return self._out.play(samples, rate)

    def stream(self, rate: int) -> Feed:
        feed, self._feed = self._feed, None
        if feed is None:
            return self._out.stream(rate)
        return _Skipping(feed, self._fed)


class _Skipping:
    """A feed whose first ``skip`` samples were fed already: fed again, they are dropped."""

    def __init__(self, feed: Feed, skip: int) -> None:
        self._feed = feed
        self._skip = skip

    def feed(self, samples: Samples) -> None:
        drop = min(self._skip, len(samples))
        self._skip -= drop
        if drop < len(samples):
            self._feed.feed(samples[drop:])

    def queued(self) -> int:
        # What the player fed and the device has not taken yet: the real queue, less
        # what the player has still to feed again before it reaches it.
        return self._feed.queued() - self._skip

    def end(self) -> None:
        self._feed.end()

    def is_playing(self) -> bool:
        return self._feed.is_playing()

    def played(self) -> int:
        return self._feed.played()

    def wait(self, timeout: float) -> bool:
        return self._feed.wait(timeout)

    def stop(self, *, wait: bool = True) -> int:
        return self._feed.stop(wait=wait)
