"""The live, eyes-free run: play a prepared session, answer keys, confirm by voice.

Timing: everything from the current position to the next point where the user must act
(a manual-advance wait, or the end) goes to the device as ONE buffer of the mixer's
samples, the very samples ``render`` writes, so the device's clock keeps every cue
where the timeline puts it. Nothing is timed by sleeping; the loop below only polls
keys and the status line.

Keys (see ``keys.py``): space pauses and resumes (and ends a manual wait), n or right
arrow skips to the next exercise, b or left arrow restarts this one, q stops, ? says
where we are. Each is confirmed by voice, in the session's voice, because the user is
not looking. A confirmation leads the next buffer (phrase, short gap, session audio),
so the session carries on at a steady distance after it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from voicecoach.audio_out import AudioOut, Playback
from voicecoach.keys import KeySource
from voicecoach.status import Guide, Part, StatusSink
from voicecoach.timeline import Event, to_samples

if TYPE_CHECKING:
    from voicecoach.mix import Samples
    from voicecoach.session import Session

PAUSED = "Paused."
RESUMING = "Resuming."
STOPPING = "Stopping. Well done."
REMINDER = "Take your time. Press space when you're done."
REMINDER_EVERY = 30.0  # seconds between gentle reminders during a manual wait
CONFIRM_GAP = to_samples(0.5)  # silence between a confirmation and the session audio
POLL = 0.05  # seconds: how often keys and the status line are looked at

Action = Literal["space", "pause", "next", "back", "where", "quit", "interrupt"]
_ACTIONS: dict[str, Action] = {
    "space": "space",
    "p": "pause",  # the pain key (history/safety will give it its own handling)
    "n": "next",
    "right": "next",
    "b": "back",
    "left": "back",
    "?": "where",
    "q": "quit",
    "ctrl-c": "interrupt",
}


class Recorder(Protocol):
    """What the player reports as it goes (the session history implements it)."""

    def started(self, session: Session) -> None: ...

    def exercise_done(self, index: int, seconds: float, skipped: bool, restarted: bool) -> None:
        """A play of exercise ``index`` ended after ``seconds`` (pauses excluded): at its
        end, or by a skip (``skipped``) or a restart (``restarted``: it plays again and
        is reported again). An exercise interrupted by quitting is not reported."""
        ...

    def set_done(self, index: int, set_no: int, side: str | None = None) -> None: ...

    def paused(self) -> None: ...

    def resumed(self) -> None: ...

    def finished(self, completed: bool) -> None: ...


@dataclass(frozen=True, slots=True)
class PlayResult:
    completed: bool  # played to the end (False: stopped with q)
    position: int  # samples into the timeline where it ended
    exercise: int  # the exercise to resume from (the count of exercises if completed)
    pauses: int = 0
    skips: int = 0
    restarts: int = 0


def play_session(
    session: Session,
    *,
    out: AudioOut,
    keys: KeySource | None,
    status: StatusSink | None,
    start_index: int = 0,
    recorder: Recorder | None = None,
    on_exercise: Callable[[int], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> PlayResult:
    """Play ``session`` live from exercise ``start_index`` (0: from the very beginning).

    ``keys`` None (no terminal) plays straight through, manual waits lasting their
    estimate. ``on_exercise(i)`` is called whenever the exercise to resume from changes
    (for ``--resume``). Ctrl-C stops the sound at once and re-raises KeyboardInterrupt.
    """
    player = _Player(session, out, keys, status, recorder, on_exercise, clock)
    start = 0 if start_index <= 0 else player.guide.start_of(start_index)
    return player.run(start)


class _Quit(Exception):
    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.pos = pos


Next = tuple[int, str | None]  # where to go on, and what to say first


class _Player:
    def __init__(
        self,
        session: Session,
        out: AudioOut,
        keys: KeySource | None,
        status: StatusSink | None,
        recorder: Recorder | None,
        on_exercise: Callable[[int], None] | None,
        clock: Callable[[], float],
    ) -> None:
        self.session = session
        self.out = out
        self.keys = keys
        self.status = status
        self.recorder = recorder
        self.on_exercise = on_exercise
        self.clock = clock
        timeline = session.timeline
        self.rate = timeline.sample_rate
        self.length = timeline.length
        self.guide = Guide(timeline)
        # Waits only stop playback when someone can press a key; otherwise they are the
        # estimate's silence, exactly as in the rendered file.
        self.waits: tuple[Event, ...] = tuple(
            e for e in timeline.events if e.kind == "wait" and keys is not None
        )
        self.handle: Playback | None = None
        self._seg_pos = 0  # timeline position of the buffer's first session sample
        self._seg_lead = 0  # samples of confirmation (and gap) before it
        self._seg_stop = 0
        self.pauses = self.skips = self.restarts = 0
        self._ex: int | None = None  # the exercise being played (None in rests etc.)
        self._ex_t0 = 0.0
        self._ex_paused0 = 0.0
        self._paused_total = 0.0
        self._parts: set[Part] = set()
        self._resume_idx: int | None = None
        self._warm: deque[str] = deque((PAUSED, RESUMING, STOPPING))
        if self.waits:
            self._warm.append(REMINDER)

    # -- the session -----------------------------------------------------------------------

    def run(self, pos: int) -> PlayResult:
        if self.recorder is not None:
            self.recorder.started(self.session)
        completed = False
        try:
            prefix: str | None = None
            while True:
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
        except BaseException:  # Ctrl-C above all: silence first, then tell and re-raise
            if self.handle is not None:
                self.handle.stop(wait=False)
            if self.status is not None:
                self.status.clear()
            if self.recorder is not None:
                self.recorder.finished(False)
            raise
        if self.status is not None:
            self.status.clear()
        if self.recorder is not None:
            self.recorder.finished(completed)
        return PlayResult(
            completed=completed,
            position=min(pos, self.length),
            exercise=self.guide.resume_index(pos),
            pauses=self.pauses,
            skips=self.skips,
            restarts=self.restarts,
        )

    def _wait_at(self, pos: int) -> Event | None:
        return next((w for w in self.waits if w.start <= pos < w.end), None)

    def _next_stop(self, pos: int) -> int:
        return next((w.start for w in self.waits if w.start >= pos), self.length)

    # -- sound -----------------------------------------------------------------------------

    def _play(self, samples: Samples) -> Playback:
        self._silence()
        self.handle = self.out.play(samples, self.rate)
        return self.handle

    def _silence(self) -> None:
        """End whatever is playing (a confirmation), letting it drain."""
        if self.handle is not None and self.handle.is_playing():
            self.handle.stop()

    def _say(self, text: str) -> Playback:
        return self._play(self.session.say(text))

    def _buffer(self, pos: int, stop: int, prefix: str | None) -> Samples:
        import numpy as np

        head = self.session.say(prefix) if prefix else np.zeros(0, dtype=np.int16)
        self._seg_lead = len(head) + (CONFIRM_GAP if prefix else 0)
        self._seg_pos = pos
        self._seg_stop = stop = min(stop, self.length)
        buf = np.zeros(self._seg_lead + max(0, stop - pos), dtype=np.int16)
        buf[: len(head)] = head
        at = self._seg_lead
        for chunk in self.session.mixer.chunks(pos, stop):
            buf[at : at + len(chunk)] = chunk
            at += len(chunk)
        return buf

    def _position(self) -> int:
        played = self.handle.played() if self.handle is not None else 0
        return min(self._seg_stop, self._seg_pos + max(0, played - self._seg_lead))

    def _stop_segment(self) -> int:
        """Stop the session buffer; the timeline position the sound really reached."""
        played = self.handle.stop() if self.handle is not None else 0
        return min(self._seg_stop, self._seg_pos + max(0, played - self._seg_lead))

    def _poll(self) -> str | None:
        """Wait a moment for a key (or, without keys, for the sound); the key or None."""
        if self.keys is not None:
            return self.keys.get(POLL)
        if self.handle is not None and self.handle.is_playing():
            self.handle.wait(POLL * 2)
        return None

    def _warm_up(self) -> None:
        """Synthesize one confirmation ahead of need, while the session plays."""
        if self._warm:
            self.session.say(self._warm.popleft())

    # -- playing, and what the keys do -----------------------------------------------------

    def _segment(self, pos: int, stop: int, prefix: str | None) -> Next:
        self._play(self._buffer(pos, stop, prefix))
        while True:
            now = self._position()
            self._track(now)
            self._show(now)
            action = self._key()
            if action is None:
                if self.handle is not None and not self.handle.is_playing():
                    return self._seg_stop, None
                self._warm_up()
                continue
            if action == "interrupt":
                raise KeyboardInterrupt
            if action == "next" and self.guide.next_target(self._position()) is None:
                continue  # nothing after the finish: keep playing
            return self._act(action, self._stop_segment())

    def _act(self, action: Action, pos: int) -> Next:
        if action in ("space", "pause"):
            return self._pause(pos)
        if action == "next":
            target = self.guide.next_target(pos)
            if target is None:
                return pos, None
            self.skips += 1
            self._end_exercise(skipped=True)
            index, at = target
            what = self.guide.name(index) if index is not None else "the end"
            return at, f"Skipping to {what}."
        if action == "back":
            self.restarts += 1
            self._end_exercise(restarted=True)
            index, at = self.guide.back_target(pos)
            if index is None:
                return at, "Starting again."
            return at, f"Starting {self.guide.name(index)} again."
        if action == "where":
            return pos, self.guide.where(pos)
        if action == "quit":
            self._quit(pos)
        raise KeyboardInterrupt

    def _pause(self, pos: int) -> Next:
        self.pauses += 1
        if self.recorder is not None:
            self.recorder.paused()
        began = self.clock()
        try:
            action = self._paused(pos)
        finally:
            self._paused_total += self.clock() - began  # pauses don't count as exercise time
        if self.recorder is not None:
            self.recorder.resumed()
        if action in ("space", "pause"):
            return pos, RESUMING
        return self._act(action, pos)

    def _paused(self, pos: int) -> Action:
        """Wait, silent, for the key that ends the pause (q stops from here)."""
        self._say(PAUSED)
        while True:
            self._show(pos, "Paused (space: resume, q: stop)")
            action = self._key()
            if action is None or self._answer(action, pos):
                continue
            self._silence()
            return action

    def _key(self) -> Action | None:
        key = self._poll()
        return _ACTIONS.get(key) if key is not None else None

    def _answer(self, action: Action, pos: int) -> bool:
        """Keys that mean the same wherever playback is stopped; True if nothing else to do."""
        if action == "interrupt":
            raise KeyboardInterrupt
        if action == "quit":
            self._quit(pos)
        if action == "where":
            self._say(self.guide.where(pos))
            return True
        return action == "next" and self.guide.next_target(pos) is None

    def _manual(self, wait: Event, prefix: str | None) -> Next:
        """A manual-advance step: the prompt was said; wait for space, reminding now and then."""
        pos = wait.start
        if prefix:
            self._say(prefix)
        last = self.clock()
        while True:
            self._track(pos)
            self._show(pos, "Press space when done")
            action = self._key()
            if action is None:
                playing = self.handle is not None and self.handle.is_playing()
                if not playing and self.clock() - last >= REMINDER_EVERY:
                    self._say(REMINDER)
                    last = self.clock()
                continue
            if self._answer(action, pos):
                last = self.clock()
                continue
            self._silence()
            if action == "space":
                return wait.end, None
            return self._act(action, pos)

    def _quit(self, pos: int) -> None:
        handle = self._say(STOPPING)
        while not handle.wait(POLL * 2):
            pass
        raise _Quit(pos)

    # -- bookkeeping -----------------------------------------------------------------------

    def _show(self, pos: int, state: str | None = None) -> None:
        if self.status is not None:
            self.status.show(self.guide.line(pos, state))

    def _track(self, pos: int) -> None:
        """Report exercises and sets as playback passes them."""
        if self._ex is not None and self.recorder is not None:
            for part in self.guide.parts.get(self._ex, ()):
                if part.end <= pos and part not in self._parts:
                    self._parts.add(part)
                    self.recorder.set_done(part.index, part.set, part.side)
        index = self.guide.exercise_at(pos)
        if index != self._ex:
            self._end_exercise()
            if index is not None:
                self._ex = index
                self._ex_t0 = self.clock()
                self._ex_paused0 = self._paused_total
                self._parts = set()
                nxt = self.guide.next_target(pos)
                if nxt is not None and nxt[0] is not None:
                    self._warm.append(f"Skipping to {self.guide.name(nxt[0])}.")
        resume = self.guide.resume_index(pos)
        if resume != self._resume_idx:
            self._resume_idx = resume
            if self.on_exercise is not None:
                self.on_exercise(resume)

    def _end_exercise(self, *, skipped: bool = False, restarted: bool = False) -> None:
        if self._ex is None:
            return
        index, self._ex = self._ex, None
        if self.recorder is not None:
            spent = self.clock() - self._ex_t0 - (self._paused_total - self._ex_paused0)
            self.recorder.exercise_done(index, max(0.0, spent), skipped, restarted)
