"""Time accounting for the live run: what the history recorder is told, and the tallies.

Exercises and sets are reported as playback passes them; each play of an exercise is
reported with the seconds it took, pauses and pain rests excluded (the clock is read
at the keys, so an exercise stopped with q ends at the key, not after the goodbye).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from voicecoach.app.ports import Recorder

if TYPE_CHECKING:
    from voicecoach.app.session import Session
    from voicecoach.core.status import Guide, Part


class Accounting:
    def __init__(
        self,
        guide: Guide,
        recorder: Recorder | None,
        on_exercise: Callable[[int], None] | None,
        clock: Callable[[], float],
    ) -> None:
        self.guide = guide
        self.recorder = recorder
        self.on_exercise = on_exercise
        self.clock = clock
        self.pauses = self.skips = self.restarts = self.pains = 0
        self._ex: int | None = None  # the exercise being played (None in rests etc.)
        self._ex_t0 = 0.0
        self._ex_paused0 = 0.0
        self._paused_total = 0.0  # seconds paused (or resting after pain), finished pauses
        self._rest_began: float | None = None  # the pause (or pain rest) going on
        self._parts: set[Part] = set()
        self._reached: set[int] = set()
        self._resume_idx: int | None = None

    @property
    def reached(self) -> int:
        """Exercises that began to play."""
        return len(self._reached)

    def started(self, session: Session) -> None:
        """The first sound: only a session that made a sound is history (no device:
        nothing to record)."""
        if self.recorder is not None:
            self.recorder.started(session)

    def finished(self, completed: bool) -> None:
        if self.recorder is not None:
            self.recorder.finished(completed)

    def track(self, pos: int, sounded: bool) -> int | None:
        """Report exercises and sets as playback passes them; the exercise that began at
        ``pos``, if one did. ``sounded``: whether any sound has played yet."""
        began = None
        if self._ex is not None and self.recorder is not None:
            for part in self.guide.parts.get(self._ex, ()):
                if part.end <= pos and part not in self._parts:
                    self._parts.add(part)
                    self.recorder.set_done(part.index, part.set, part.side)
        index = self.guide.exercise_at(pos)
        if index != self._ex:
            self.end_exercise()
            if index is not None:
                began = self._ex = index
                self._ex_t0 = self.clock()
                self._ex_paused0 = self._rested()
                self._parts = set()
                self._reached.add(index)
                if self.recorder is not None:
                    self.recorder.exercise_started(index)
        resume = self.guide.resume_index(pos)
        if resume != self._resume_idx and sounded:
            # Only once sound has played: a session that could not start keeps the
            # resume point of the one before it.
            self._resume_idx = resume
            if self.on_exercise is not None:
                self.on_exercise(resume)
        return began

    def retimed(self, guide: Guide, pos: int) -> None:
        """The session was laid out again (another speech rate) and goes on at ``pos``:
        positions from now on are in ``guide``'s timeline; the sets of the exercise being
        played that end before ``pos`` were reported already."""
        self.guide = guide
        if self._ex is not None:
            self._parts = {p for p in guide.parts.get(self._ex, ()) if p.end <= pos}

    def skipped(self) -> None:
        self.skips += 1
        self.end_exercise(skipped=True)

    def restarted(self) -> None:
        self.restarts += 1
        self.end_exercise(restarted=True)

    @contextmanager
    def pause(self) -> Iterator[None]:
        """A pause: not exercise time. The recorder hears it resumed only if it was (a
        stop from the pause is no resume)."""
        self.pauses += 1
        if self.recorder is not None:
            self.recorder.paused()
        with self.resting():
            yield
        if self.recorder is not None:
            self.recorder.resumed()

    def pain(self, pos: int) -> None:
        """The pain key at ``pos``: reported in this exercise, or in a rest the one just
        done (None before the first)."""
        self.pains += 1
        found = self.guide.chapter_at(pos)
        index = found[0].index if found is not None and found[0].index >= 0 else None
        if self.recorder is not None:
            self.recorder.pain(index)

    @contextmanager
    def resting(self) -> Iterator[None]:
        """Time that does not count as exercise time (a pause, a pain rest)."""
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

    def end_exercise(
        self, *, skipped: bool = False, restarted: bool = False, stopped: bool = False
    ) -> None:
        if self._ex is None:
            return
        index, self._ex = self._ex, None
        if self.recorder is not None:
            spent = self.clock() - self._ex_t0 - (self._rested() - self._ex_paused0)
            self.recorder.exercise_done(index, max(0.0, spent), skipped, restarted, stopped)
