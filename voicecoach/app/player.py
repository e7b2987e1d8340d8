"""The live, eyes-free run: play a prepared session, answer keys, confirm by voice.

Three pieces, run together here: what each key does is a pure state machine
(core/transport.py); the sound is streamed to the audio output a few seconds ahead, the
session's own samples, so the device's clock keeps time (app/playback.py); the history recorder
is told what was done and for how long, pauses and pain rests excluded
(app/accounting.py). This module is the loop: it polls keys and the status line and
carries out each move. Nothing is timed by sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from voicecoach.app.accounting import Accounting
from voicecoach.app.playback import CONFIRM_GAP as CONFIRM_GAP
from voicecoach.app.playback import POLL, Deck, key_phrases
from voicecoach.app.ports import KeySource, Recorder, StatusSink, StreamingOut
from voicecoach.core import coaching as say
from voicecoach.core import live_lines as LL
from voicecoach.core.status import Guide
from voicecoach.core.timeline import Event
from voicecoach.core.transport import (
    PAUSED,
    REMINDER,
    RESUMING,
    STOPPING,
    Action,
    Go,
    Interrupt,
    Move,
    Pain,
    Pause,
    Paused,
    Playing,
    Rate,
    Remind,
    Resting,
    Stay,
    Stop,
    Tell,
    Volume,
    Waiting,
    Where,
    action,
    hint_due,
    pain_offer,
    press,
    rate_step,
    skipping_to,
    volume_gain,
    volume_step,
    where_answer,
)

if TYPE_CHECKING:
    from voicecoach.app.headstart import Growing
    from voicecoach.app.session import Session

__all__ = [
    "CONFIRM_GAP",
    "PAUSED",
    "REMINDER",
    "RESUMING",
    "STOPPING",
    "PlayResult",
    "play_session",
]

REMINDER_EVERY = 30.0  # seconds between gentle reminders during a manual wait
SAFETY_WINDOW = 5.0  # seconds after a "where" answer in which ? again gives the safety note
MOMENT = LL.MOMENT  # said while the session is laid out again at a new speech rate
NO_RATE = LL.NO_RATE
Respeak = Callable[[int], "Session"]  # the session again, at a rate level (transport.rate_wpm)


@dataclass(frozen=True, slots=True)
class PlayResult:
    completed: bool  # played to the end (False: stopped with q)
    position: int  # samples into the timeline where it ended
    exercise: int  # the exercise to resume from (the count of exercises if completed)
    pauses: int = 0
    skips: int = 0
    restarts: int = 0
    pains: int = 0
    reached: int = 0  # exercises that began to play


def play_session(
    session: Session,
    *,
    out: StreamingOut,
    keys: KeySource | None,
    status: StatusSink | None,
    start_index: int = 0,
    recorder: Recorder | None = None,
    on_exercise: Callable[[int], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    respeak: Respeak | None = None,
    growing: Growing | None = None,
) -> PlayResult:
    """Play ``session`` live from exercise ``start_index`` (0: from the very beginning).

    ``keys`` None (no terminal) plays straight through, manual waits lasting their
    estimate. ``on_exercise(i)`` is called whenever the exercise to resume from changes
    (for ``--resume``). ``respeak(level)`` prepares the session again at another speech
    rate (the [ and ] keys; None: the rate cannot change). Ctrl-C stops the sound at
    once and re-raises KeyboardInterrupt.

    ``growing``: ``session`` is still being made (app/headstart.py): it plays as far as
    it is made, and goes on as it grows.
    """
    player = _Player(session, out, keys, status, recorder, on_exercise, clock)
    player.growing = growing
    player.respeak = respeak
    start = 0 if start_index <= 0 else player.guide.start_of(start_index)
    return player.run(start)


class _Quit(Exception):
    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.pos = pos


Next = tuple[int, str | None]  # where to go on, and what to say first
_PLAYING = Playing()
_PAUSED = Paused()


class _Player:
    def __init__(
        self,
        session: Session,
        out: StreamingOut,
        keys: KeySource | None,
        status: StatusSink | None,
        recorder: Recorder | None,
        on_exercise: Callable[[int], None] | None,
        clock: Callable[[], float],
    ) -> None:
        self.status = status
        self.clock = clock
        timeline = session.timeline
        self.length = timeline.length
        self.m = session.messages  # every confirmation is said in the session's language
        self.guide = Guide(timeline, self.m)
        self.books = Accounting(self.guide, recorder, on_exercise, clock)
        self.deck = Deck(session, out, keys, lambda: self.books.started(session))
        self.growing: Growing | None = None  # the session is being made (the head start)
        self._at = 0  # the position last tracked: the sets before it were reported
        self.has_keys = keys is not None
        self.waits = self._waits(session)
        self.respeak: Respeak | None = None
        self._volume = 0  # volume level (transport.volume_step)
        self._rate = 0  # speech rate level (transport.rate_step)
        self._respoken = 0  # the rate level the session is laid out at
        self._hint_at: float | None = None  # when an unknown key was last answered
        safety = session.routine.safety
        self.safety = safety.strip() if safety and safety.strip() else None
        self._safety_until = 0.0  # ? before this clock time says the safety note
        # Phrases a key may need, synthesized while the session plays.
        keyed = keys is not None
        self.deck.warm.extend(key_phrases(session, keyed, bool(self.waits), self.safety))

    def _waits(self, session: Session) -> tuple[Event, ...]:
        # Waits only stop playback when someone can press a key; otherwise they are the
        # estimate's silence, exactly as in the rendered file.
        events = session.timeline.events
        return tuple(e for e in events if e.kind == "wait" and self.has_keys)

    # -- the session -----------------------------------------------------------------------

    def run(self, pos: int) -> PlayResult:
        completed = False
        try:
            prefix: str | None = None
            while True:
                if self._rate != self._respoken:
                    if self.growing is not None:  # laid out anew from the whole session
                        self._await_whole(pos)
                    pos = self._respeak(pos)
                self._track(pos)
                if pos >= self.length and prefix is None:
                    completed = True
                    break
                wait = self._wait_at(pos)
                if wait is not None:
                    pos, prefix = self._manual(wait, prefix)
                else:
                    pos, prefix = self._segment(pos, self._next_stop(pos), prefix)
        except _Quit as stop:
            pos = stop.pos
            self.books.end_exercise(stopped=True)
        except BaseException:  # Ctrl-C above all: silence first, then tell and re-raise
            self.deck.cut()
            if self.growing is not None:
                self.growing.stop()
            if self.status is not None:
                self.status.clear()
            self.books.end_exercise(stopped=True)
            self.books.finished(False)
            raise
        if self.growing is not None:  # stopped with q before every clip was made
            self.growing.stop()
        if self.status is not None:
            self.status.clear()
        self.books.finished(completed)
        books = self.books
        return PlayResult(
            completed=completed,
            position=min(pos, self.length),
            exercise=self.guide.resume_index(pos),
            pauses=books.pauses,
            skips=books.skips,
            restarts=books.restarts,
            pains=books.pains,
            reached=books.reached,
        )

    def _wait_at(self, pos: int) -> Event | None:
        return next((w for w in self.waits if w.start <= pos < w.end), None)

    def _next_stop(self, pos: int) -> int:
        return next((w.start for w in self.waits if w.start >= pos), self.length)

    # -- playing, and carrying out what the keys do ----------------------------------------

    def _segment(self, pos: int, stop: int, prefix: str | None) -> Next:
        deck = self.deck
        stop, more = self.growing.bound(pos, stop) if self.growing else (stop, False)
        deck.segment(pos, stop, prefix, more)
        while True:
            deck.top_up()
            now = deck.position()
            self._track(now)
            dry = (g := self.growing) is not None and now >= g.horizon  # waiting for clips
            self._show(now, g.note(waiting=True) if dry and g else None)
            act = self._key()
            if act is None:
                if deck.segment_ended():
                    return deck.seg_stop, None
                if self.growing is None:  # else the making's thread has the speech engine
                    deck.warm_up()
                continue
            move = press(_PLAYING, act, deck.position(), self.guide)
            if isinstance(move, Interrupt):
                raise KeyboardInterrupt
            if isinstance(move, Stay) or not self._tell_now(move):
                continue  # nothing after the finish, a hint said lately: keep playing
            pos = deck.stop_segment()
            move = press(_PLAYING, act, pos, self.guide)
            return (pos, None) if isinstance(move, Stay) else self._carry_out(move)

    def _carry_out(self, move: Move) -> Next:
        """Where a move out of the playing (or stopped) state goes on, and what is said."""
        match move:
            case Go(pos, words, ends):
                if ends == "skipped":
                    self.books.skipped()
                    if self.growing is not None and pos >= self.growing.horizon:
                        pos = self._when_made(pos)
                elif ends == "restarted":
                    self.books.restarted()
                return pos, words
            case Where(pos):
                return pos, self._where(pos)
            case Tell(pos, words):
                return pos, words
            case Volume(pos, step):
                return pos, self._louder(step)
            case Rate(pos, step):
                return pos, self._faster(step)
            case Pause(pos):
                return self._pause(pos)
            case Pain(pos):
                return self._pain(pos)
            case Stop():
                self._quit(move)
            case Interrupt():
                raise KeyboardInterrupt
            case Stay() | Remind():
                raise ValueError(f"{move} is answered where it happens, it leads nowhere")

    def _answer(self, move: Move) -> bool:
        """Moves that mean the same wherever playback is stopped; True if nothing else to do."""
        if isinstance(move, Interrupt):
            raise KeyboardInterrupt
        if isinstance(move, Stop):
            self._quit(move)
        if isinstance(move, Where):
            self.deck.say(self._where(move.pos))
            return True
        if isinstance(move, Tell):
            if self._tell_now(move):
                self.deck.say(move.words)
            return True
        if isinstance(move, Volume):
            self.deck.say(self._louder(move.step))
            return True
        if isinstance(move, Rate):
            self.deck.say(self._faster(move.step))  # laid out anew when playback goes on
            return True
        return isinstance(move, Stay)

    def _tell_now(self, move: Move) -> bool:
        """False for a hint (an unknown key) said less than a minute ago; else True."""
        if not (isinstance(move, Tell) and move.hint):
            return True
        now = self.clock()
        if not hint_due(now, self._hint_at):
            return False
        self._hint_at = now
        return True

    def _louder(self, step: int) -> str:
        """+ or -: the new volume, for everything said from now on; the confirmation."""
        self._volume, words = volume_step(self._volume, step)
        self.deck.gain = volume_gain(self._volume)
        return self.m.gettext(words)

    def _faster(self, step: int) -> str:
        """] or [: the new speech rate, laid out before playback goes on; the confirmation."""
        if self.respeak is None:
            return self.m.gettext(NO_RATE)
        self._rate, words = rate_step(self._rate, step)
        return self.m.gettext(words)

    def _respeak(self, pos: int) -> int:
        """Lay the session out again at the new rate; where ``pos`` is in it: the start
        of the next cue (the one starting at ``pos``, or the first after it)."""
        assert self.respeak is not None
        # Synthesizing can take a while (a cold cache).
        saying = self.deck.say(self.m.gettext(MOMENT))
        session = self.respeak(self._rate)
        self._respoken = self._rate
        old, new = self.deck.session.timeline, session.timeline
        after = [i for i, e in enumerate(old.events) if e.start >= pos]
        same = [(e.kind, e.text) for e in old.events] == [(e.kind, e.text) for e in new.events]
        if not same:  # another layout (it should not happen): this exercise's start
            at = Guide(new, self.m).start_of(self.guide.resume_index(pos))
        elif after:
            at = new.events[min(after, key=lambda i: old.events[i].start)].start
        else:
            at = new.length
        self.deck.wait_for(saying)
        self._use(session, at)
        return at

    def _use(self, session: Session, pos: int) -> None:  # laid out anew, or further
        self.deck.use(session)
        self.length = session.timeline.length
        self.guide = Guide(session.timeline, self.m)
        self.waits = self._waits(session)
        self.books.retimed(self.guide, pos)

    # -- the head start: the session is still being made (app/headstart.py) ---------------

    def _grow(self) -> bool:
        """Take in what was made (``Growing.look``); True: a clip came, look again first."""
        growing = self.growing
        assert growing is not None
        came, changed = growing.look(self.deck.position(), self.deck.more)
        if changed:
            self._use(growing.session, self._at)
            if growing.done:
                self.growing = None
            if self.deck.more:
                end = self.deck.seg_stop
                self.deck.extend(*growing.bound(end, self._next_stop(end)))
        return came

    def _when_made(self, pos: int) -> int:
        """A skip to ``pos``, past what is made: where it goes in the whole session (the
        finish: its last chapter, compiler.Draft.finish)."""
        target = self.guide.exercise_at(pos)  # None: the finish
        self._await_whole(pos)
        return self.guide.start_of(target) if target is not None else self.guide.chapters[-1].start

    def _await_whole(self, pos: int) -> None:
        """Wait, silent, until every clip is made; q and Ctrl-C are answered meanwhile."""
        while self.growing is not None:
            self._show(pos, self.growing.note(waiting=True))
            self.growing.making.wait_more(POLL)  # a test's keys poll without waiting
            act = self._key()
            if act in ("quit", "interrupt"):
                self._answer(press(_PLAYING, act, pos, self.guide))

    def _where(self, pos: int) -> str:
        """The ? answer: where we are, offering the safety note; again soon after: the note."""
        text, offer = where_answer(self.guide, pos, self.safety, self.clock(), self._safety_until)
        if offer:
            said = self.deck.seconds(text)
            self._safety_until = self.clock() + said + SAFETY_WINDOW
        elif self.safety is not None:
            self._safety_until = 0.0
        return text

    def _pause(self, pos: int) -> Next:
        with self.books.pause():  # pauses don't count as exercise time
            move = self._paused(pos)
        return self._carry_out(move)

    def _paused(self, pos: int) -> Move:
        """Wait, silent, for the key that ends the pause (q stops from here)."""
        self.deck.say(self.m.gettext(PAUSED))
        while True:
            self._show(pos, self.m.gettext(LL.SCREEN_PAUSED))
            act = self._key()
            if act is None:
                continue
            move = press(_PAUSED, act, pos, self.guide)
            if self._answer(move):
                continue
            self.deck.silence()
            return move

    def _manual(self, wait: Event, prefix: str | None) -> Next:
        """A manual-advance step: the prompt was said; wait for space, reminding now and then."""
        pos = wait.start
        state = Waiting(wait.end)
        if prefix:
            self.deck.say(prefix)
        last = self.clock()
        while True:
            self._track(pos)
            self._show(pos, self.m.gettext(LL.SCREEN_WAITING))
            act = self._key()
            if act is None:
                if not self.deck.playing() and self.clock() - last >= REMINDER_EVERY:
                    self.deck.say(self.m.gettext(REMINDER))
                    last = self.clock()
                continue
            move = press(state, act, pos, self.guide)
            if self._answer(move):
                last = self.clock()
                continue
            self.deck.silence()
            return self._carry_out(move)

    def _pain(self, pos: int) -> Next:
        """The pain key: the exercise has stopped. Say to rest (and when to see someone),
        then wait for n (skip to what comes next) or q (stop); b still restarts."""
        self.books.pain(pos)
        offer = pain_offer(self.guide, pos)
        if offer is None:  # in the finish: every exercise is done, nothing to offer
            self.deck.say_in_full(self.m.gettext(say.PAIN))
            return self.length, None
        with self.books.resting():
            move = self._pain_rest(pos, Resting(offer))
        return self._carry_out(move)

    def _pain_rest(self, pos: int, state: Resting) -> Move:
        self.deck.say(self.m.gettext(say.PAIN), state.offer)
        last = self.clock()
        while True:
            self._show(pos, self.m.gettext(LL.SCREEN_PAIN))
            act = self._key()
            if act is None:
                if not self.deck.playing() and self.clock() - last >= REMINDER_EVERY:
                    self.deck.say(state.offer)
                    last = self.clock()
                continue
            move = press(state, act, pos, self.guide)
            if isinstance(move, Go):
                self.deck.silence()
                return move
            if isinstance(move, Remind):
                self.deck.say(move.words)
            else:
                self._answer(move)
            last = self.clock()

    def _quit(self, stop: Stop) -> NoReturn:
        self.books.end_exercise(stopped=True)  # its time ends at the key, not after goodbye
        self.deck.say_in_full(stop.words)
        raise _Quit(stop.pos)

    # -- keys, status, bookkeeping ---------------------------------------------------------

    def _key(self) -> Action | None:
        if self.growing is not None and self._grow():
            return None
        return action(self.deck.poll())

    def _show(self, pos: int, state: str | None = None) -> None:
        if self.status is not None:  # while the session is made, its count leads the line
            note = self.growing.note() if self.growing and state is None else state
            self.status.show(self.guide.glance(pos, note))

    def _track(self, pos: int) -> None:
        self._at = pos
        began = self.books.track(pos, self.deck.sounded)
        if began is not None:
            nxt = self.guide.next_target(pos)
            if nxt is not None and nxt[0] is not None:
                self.deck.warm.append(skipping_to(self.guide, nxt[0]))
