"""The end-of-session check-in, eyes-free: "How hard was that, from one to five?"

Answered with a single digit key (1 easy .. 5 very hard), confirmed by voice. Silence
gets one reminder, then the question lapses: nobody is kept waiting by a program they
cannot see. Only asked with a terminal (keys); the answer is logged with the session.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from voicecoach.app.playback import POLL
from voicecoach.app.ports import DIGITS, AudioOut, KeySource, StatusSink
from voicecoach.core import coaching as say
from voicecoach.core import live_lines as LL
from voicecoach.core.status import Glance

if TYPE_CHECKING:
    from voicecoach.app.session import Session

WAIT = 10.0  # seconds of silence before the reminder, and after it before giving up
PROMPT = LL.CHECKIN_PROMPT  # on the screen meanwhile, in the session's language


def check_in(
    session: Session,
    *,
    out: AudioOut,
    keys: KeySource,
    status: StatusSink | None = None,
    clock: Callable[[], float] = time.monotonic,
    wait: float = WAIT,
) -> int | None:
    """Ask "How hard was that, from one to five?" and wait for a digit key, 1 to 5.

    After ``wait`` seconds of silence a reminder says which keys; after as long again the
    question lapses (None). An answer is confirmed by voice ("Thank you. Three out of
    five."), said in full before returning. q lapses it at once; ? asks again. A lapsed
    question ends with "No answer, saved without effort.", said and shown.
    """
    rate = session.timeline.sample_rate
    m = session.messages
    question, prompt = m.gettext(say.CHECKIN), m.gettext(PROMPT)
    handle = out.play(session.say(question), rate)
    reminded = False
    quiet_since: float | None = None  # when the last phrase ended
    try:
        while True:
            if status is not None:
                status.show(Glance.note(prompt))
            key = keys.get(POLL)
            if key == "ctrl-c":
                raise KeyboardInterrupt
            if key is not None and (key in DIGITS or key in ("q", "?")):
                handle.stop()
                if key == "q":
                    _no_answer(session, out, status)
                    return None
                if key == "?":
                    handle, quiet_since = out.play(session.say(question), rate), None
                    continue
                effort = int(key)
                handle = out.play(session.say(say.checkin_thanks(m, effort)), rate)
                while not handle.wait(POLL * 2):
                    pass
                return effort
            if handle.is_playing():
                continue
            now = clock()
            if quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= wait:
                if reminded:
                    _no_answer(session, out, status)
                    return None
                reminded, quiet_since = True, None
                handle = out.play(session.say(m.gettext(say.CHECKIN_REMINDER)), rate)
    except BaseException:
        handle.stop(wait=False)
        raise
    finally:
        if status is not None:
            status.clear()


def _no_answer(session: Session, out: AudioOut, status: StatusSink | None) -> None:
    """Say (and show) that the session is saved without an effort, in full."""
    words = session.messages.gettext(say.CHECKIN_NO_ANSWER)
    if status is not None:
        status.show(Glance.note(words))
    handle = out.play(session.say(words), session.timeline.sample_rate)
    while not handle.wait(POLL * 2):
        pass
