"""The live, eyes-free run: play a prepared session, answer keys, confirm by voice.

Timing: everything from the current position to the next point where the user must act
(a manual-advance wait, or the end) goes to the device as ONE buffer of the mixer's
samples, the very samples ``render`` writes, so the device's clock keeps every cue
where the timeline puts it. Nothing is timed by sleeping; the loop below only polls
keys and the status line.

Keys (see ``keys.py``): space pauses and resumes (and ends a manual wait), n or right
arrow skips to the next exercise, b or left arrow restarts this one, q stops, ? says
where we are (and, pressed again while that is said or just after, the routine's safety
note), p is the pain key: the exercise stops at once, the coach says to rest and to see
a professional if the pain persists, and waits for n (next exercise) or q (stop). Each
key is confirmed by voice, in the session's voice, because the user is not looking. A
confirmation leads the next buffer (phrase, short gap, session audio), so the session
carries on at a steady distance after it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from voicecoach.app.ports import DIGITS, AudioOut, KeySource, Playback, Recorder, StatusSink
from voicecoach.core import coaching as say
from voicecoach.core.status import Guide, Part
from voicecoach.core.timeline import Event, to_samples

if TYPE_CHECKING:
    from voicecoach.app.session import Session
    from voicecoach.audio.mix import Samples

PAUSED = "Paused."
RESUMING = "Resuming."
STOPPING = "Stopping. Well done."
REMINDER = "Take your time. Press space when you're done."
REMINDER_EVERY = 30.0  # seconds between gentle reminders during a manual wait
CONFIRM_GAP = to_samples(0.5)  # silence between a confirmation and the session audio
POLL = 0.05  # seconds: how often keys and the status line are looked at
SAFETY_WINDOW = 5.0  # seconds after a "where" answer in which ? again gives the safety note

Action = Literal["space", "next", "back", "where", "pain", "quit", "interrupt"]
_ACTIONS: dict[str, Action] = {
    "space": "space",
    "p": "pain",
    "n": "next",
    "right": "next",
    "b": "back",
    "left": "back",
    "?": "where",
    "q": "quit",
    "ctrl-c": "interrupt",
}


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
        self.pauses = self.skips = self.restarts = self.pains = 0
        self._ex: int | None = None  # the exercise being played (None in rests etc.)
        self._ex_t0 = 0.0
        self._ex_paused0 = 0.0
        self._paused_total = 0.0  # seconds paused (or resting after pain), finished pauses
        self._rest_began: float | None = None  # the pause (or pain rest) going on
        self._parts: set[Part] = set()
        self._reached: set[int] = set()
        self._resume_idx: int | None = None
        safety = session.routine.safety
        self.safety = safety.strip() if safety and safety.strip() else None
        self._safety_until = 0.0  # ? before this clock time says the safety note
        # Phrases a key may need, synthesized while the session plays (see _warm_up).
        self._warm: deque[str] = deque((PAUSED, RESUMING, STOPPING))
        if keys is not None:
            self._warm.extend((say.PAIN, say.PAIN_NEXT, say.PAIN_LAST, say.PAIN_STOP))
            if self.waits:
                self._warm.append(REMINDER)
            if self.safety:
                self._warm.append(self.safety)
            self._warm.extend((say.CHECKIN, say.CHECKIN_REMINDER))
            self._warm.extend(say.checkin_thanks(int(d)) for d in DIGITS)

    # -- the session -----------------------------------------------------------------------

    def run(self, pos: int) -> PlayResult:
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
            self._end_exercise(stopped=True)
        except BaseException:  # Ctrl-C above all: silence first, then tell and re-raise
            if self.handle is not None:
                self.handle.stop(wait=False)
            if self.status is not None:
                self.status.clear()
            self._end_exercise(stopped=True)
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
            pains=self.pains,
            reached=len(self._reached),
        )

    def _wait_at(self, pos: int) -> Event | None:
        return next((w for w in self.waits if w.start <= pos < w.end), None)

    def _next_stop(self, pos: int) -> int:
        return next((w.start for w in self.waits if w.start >= pos), self.length)

    # -- sound -----------------------------------------------------------------------------

    def _play(self, samples: Samples) -> Playback:
        self._silence()
        first = self.handle is None
        self.handle = self.out.play(samples, self.rate)
        if first and self.recorder is not None:
            # Only a session that made a sound is history (no device: nothing to record).
            self.recorder.started(self.session)
        return self.handle

    def _silence(self) -> None:
        """End whatever is playing (a confirmation), letting it drain."""
        if self.handle is not None and self.handle.is_playing():
            self.handle.stop()

    def _say(self, *texts: str) -> Playback:
        """Say one phrase, or several with a short gap between them."""
        import numpy as np

        gap = np.zeros(CONFIRM_GAP // 2, dtype=np.int16)
        clips = [part for text in texts for part in (gap, self.session.say(text))][1:]
        return self._play(clips[0] if len(clips) == 1 else np.concatenate(clips))

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
        if action == "space":
            return self._pause(pos)
        if action == "pain":
            return self._pain(pos)
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
            return pos, self._where(pos)
        if action == "quit":
            self._quit(pos)
        raise KeyboardInterrupt

    def _where(self, pos: int) -> str:
        """The ? answer: where we are, offering the safety note; again soon after: the note."""
        if self.safety is None:
            return self.guide.where(pos)
        if self.clock() < self._safety_until:
            self._safety_until = 0.0
            return self.safety
        text = f"{self.guide.where(pos)} {say.SAFETY_OFFER}"
        said = len(self.session.say(text)) / self.rate
        self._safety_until = self.clock() + said + SAFETY_WINDOW
        return text

    def _pause(self, pos: int) -> Next:
        self.pauses += 1
        if self.recorder is not None:
            self.recorder.paused()
        with self._resting():  # pauses don't count as exercise time
            action = self._paused(pos)
        if self.recorder is not None:
            self.recorder.resumed()
        if action == "space":
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
            self._say(self._where(pos))
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

    def _pain(self, pos: int) -> Next:
        """The pain key: the exercise has stopped. Say to rest (and when to see someone),
        then wait for n (skip to what comes next) or q (stop); b still restarts."""
        self.pains += 1
        found = self.guide.chapter_at(pos)
        index = found[0].index if found is not None and found[0].index >= 0 else None
        if self.recorder is not None:
            self.recorder.pain(index)
        target = self.guide.next_target(pos)
        if target is None:  # in the finish: every exercise is done, nothing to offer
            self._wait_for(self._say(say.PAIN))
            return self.length, None
        choice = say.PAIN_NEXT if target[0] is not None else say.PAIN_LAST
        with self._resting():
            action = self._pain_wait(pos, choice)
        return self._act(action, pos)

    def _pain_wait(self, pos: int, choice: str) -> Action:
        self._say(say.PAIN, choice)
        last = self.clock()
        while True:
            self._show(pos, "Pain: rest (n: next, q: stop)")
            action = self._key()
            if action is None:
                playing = self.handle is not None and self.handle.is_playing()
                if not playing and self.clock() - last >= REMINDER_EVERY:
                    self._say(choice)
                    last = self.clock()
                continue
            if action == "quit":
                self._quit(pos, say.PAIN_STOP)
            if action in ("next", "back"):
                self._silence()
                return action
            if not self._answer(action, pos):
                self._say(choice)  # space, p: the only ways on are n and q
            last = self.clock()

    def _quit(self, pos: int, words: str = STOPPING) -> None:
        self._end_exercise(stopped=True)  # its time ends at the key, not after goodbye
        self._wait_for(self._say(words))
        raise _Quit(pos)

    def _wait_for(self, handle: Playback) -> None:
        while not handle.wait(POLL * 2):
            pass

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
                self._ex_paused0 = self._rested()
                self._parts = set()
                self._reached.add(index)
                if self.recorder is not None:
                    self.recorder.exercise_started(index)
                nxt = self.guide.next_target(pos)
                if nxt is not None and nxt[0] is not None:
                    self._warm.append(f"Skipping to {self.guide.name(nxt[0])}.")
        resume = self.guide.resume_index(pos)
        if resume != self._resume_idx and self.handle is not None:
            # Only once sound has played: a session that could not start keeps the
            # resume point of the one before it.
            self._resume_idx = resume
            if self.on_exercise is not None:
                self.on_exercise(resume)

    @contextmanager
    def _resting(self) -> Iterator[None]:
        self._rest_began = self.clock()
        try:
            yield
        finally:
            self._paused_total += self.clock() - self._rest_began
            self._rest_began = None

    def _rested(self) -> float:
        """Seconds paused so far, the pause going on included."""
        now = self.clock()
        return self._paused_total + (now - self._rest_began if self._rest_began else 0.0)

    def _end_exercise(
        self, *, skipped: bool = False, restarted: bool = False, stopped: bool = False
    ) -> None:
        if self._ex is None:
            return
        index, self._ex = self._ex, None
        if self.recorder is not None:
            spent = self.clock() - self._ex_t0 - (self._rested() - self._ex_paused0)
            self.recorder.exercise_done(index, max(0.0, spent), skipped, restarted, stopped)
