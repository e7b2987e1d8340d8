"""The live run's head start: a cold session starts playing while its phrases are made.

A cold cache means synthesizing every phrase (Piper: tens of seconds) before the whole
session can be laid out. The run does not wait for that: ``session.Making`` makes the
phrases on a thread in timeline order, and the player (app/player.py) plays the session
as far as it is made, from the first sound, with its keys, its screen and its history:
``Growing`` is what it sees of it. Each look gives the session as known so far
(``Making.known``: exact before its horizon, the routine's whole shape after it) and the
horizon; the player's stream goes on to the horizon and stays open there (a device that
would run dry only waits, silent, for the next clip: ``Feed`` counts what it hands over,
so positions stay exact). When every clip is made, the whole session (the one truth)
takes over; the samples already played are its own (``Making`` says why).

Keys mean what they mean in the rest of the run; the player answers them at once, except
what needs the session laid out past its horizon: a skip to an exercise not made yet, or
a new speech rate, waits (silent, "Waiting for the rest to be made 12/29" on the screen;
q and Ctrl-C still answered) until every clip is made, then goes where it would have
gone. The screen counts the clips made meanwhile ("Preparing 12/29" leads the status
line), in place of the progress bar a warm start's preparing shows: the bar and the
status line cannot both hold the terminal. The time left (the screen's, and ?'s answer)
is a guess until then: it counts the phrases not made yet at guessed lengths.

The history begins at the first sound, and the exercise the head start plays counts from
its own start: the player plays it, the recorder hears it as in any run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voicecoach.app.playback import BLOCK, POLL
from voicecoach.core import live_lines as LL
from voicecoach.core.messages import say

if TYPE_CHECKING:
    from voicecoach.app.session import Making

MAKING = LL.SCREEN_PREPARING  # on the screen while the session is made: "Preparing 12/29"
WAITING = LL.SCREEN_MADE_WAIT  # while a skip waits, or the stream ran dry


class Growing:
    """A session being made (``making``), as the player sees it."""

    def __init__(self, making: Making) -> None:
        """Waits for the first clip: the player's first stream is its first sound, when
        the history begins."""
        self.making = making
        self.done = False  # every clip made: ``session`` is the whole session
        self.session, self.horizon = making.known()
        self._count = making.made()[0]
        try:
            while self.horizon == 0 and not self.done:  # nothing laid out yet
                making.wait_more(POLL)
                self.look(0, playing=False)
        except BaseException:  # Ctrl-C, or the making failed: the thread stops
            making.stop()
            raise

    def look(self, position: int, playing: bool) -> tuple[bool, bool]:
        """Look at what is made: (a clip came while waiting, the session changed). The
        stream ``playing`` at ``position`` less than a block from the horizon is about
        to run dry: first wait (a key poll's time at most) for the next clip; a real
        device plays on meanwhile, a test's clock stands still."""
        if self.done:
            return False, False
        came = False
        if playing and self.horizon - position < round(BLOCK * self.session.timeline.sample_rate):
            came = self.making.wait_more(POLL)
        if self.making.wait(0):
            self.session = self.making.session()
            self.horizon = self.session.timeline.length
            self.done = True
            return came, True
        count = self.making.made()[0]
        if count == self._count:
            return came, False
        self._count = count
        session, horizon = self.making.known()
        changed = horizon != self.horizon or session is not self.session
        self.session, self.horizon = session, horizon
        return came, changed

    def bound(self, pos: int, stop: int) -> tuple[int, bool]:
        """Where a segment from ``pos`` to ``stop`` stops while the session is made: at
        the horizon at most (never before ``pos``), the stream left open there (True)."""
        if self.done or stop < self.horizon:
            return stop, False
        return max(pos, self.horizon), True

    def note(self, *, waiting: bool = False) -> str:
        """What the screen says of the making: how many clips are made, of how many (in
        the session's language)."""
        done, total = self.making.made()
        return say(self.session.messages, WAITING if waiting else MAKING, number=done, count=total)

    def stop(self) -> None:
        """The run ends before every clip is made: the thread stops (``Making.stop``)."""
        if not self.done:
            self.making.stop()
