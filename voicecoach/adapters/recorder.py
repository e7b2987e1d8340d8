"""The player's side of the session history: what happened in a live run, saved as it goes.

``Recorder`` turns the player's reports (an exercise started or ended, a set done, a
pause, the pain key, the end, the check-in) into the store's short transactions.
``BackgroundRecorder`` does the same on a thread of its own, so that a slow disk or a
database locked by another process never delays a sound or the answer to a key: the
live run hands each report over and goes on. Neither ever lets a database problem reach
the player: the first failure turns every later call into a no-op and leaves ONE line
in ``warning`` for the CLI to print once, after the workout.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach.adapters.store import Store, StoreError, _reason, db_path
from voicecoach.app.ports import RecordedSession
from voicecoach.core.records import EventKind, Status

if TYPE_CHECKING:
    pass

WARNING = "Warning: this session could not be saved: "
LOOKUP_TIMEOUT = 0.25  # seconds ``has_run`` may wait for a locked database before the run


def _exercise_names(session: RecordedSession) -> dict[int, str]:
    """Exercise index -> name, numbered as the player numbers them (counting rounds)."""
    names: dict[int, str] = {}
    for block in session.routine.blocks:
        for _ in range(block.rounds):
            base = len(names)
            names.update((base + i, ex.name) for i, ex in enumerate(block.exercises))
    # The player reports the timeline's indexes, so the timeline wins where they differ.
    names.update((e.index, e.exercise) for e in session.timeline.events if e.exercise)
    names.pop(-1, None)
    return names


def _warning(exc: BaseException) -> str:
    reason = f"{exc.path}: {exc.reason}" if isinstance(exc, StoreError) else _reason(exc)
    return WARNING + reason


class Recorder:
    """Records one live session: one short transaction per call, in the caller's thread.

    A call blocks at most ``timeout`` seconds (a locked database); ``BackgroundRecorder``
    keeps even that away from the player.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        timeout: float = 1.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._path, self._timeout, self._now, self._monotonic = path, timeout, now, monotonic
        self._lock = threading.RLock()
        self._store: Store | None = None
        self._failed = False
        self.warning: str | None = None
        self.session_id: int | None = None
        self._names: dict[int, str] = {}
        self._parts: dict[int, set[tuple[int, str | None]]] = {}
        self._current = 0  # the exercise being played, for calls that do not say
        self._t0 = 0.0
        self._paused = 0.0  # seconds spent paused (or resting after pain) so far
        self._pause_start: float | None = None

    def has_run(self, digest: str) -> bool:
        """Has this routine (same content) been run as far as an exercise before? Ask
        before ``started``. False if the database cannot be read: when in doubt, the
        safety note is spoken."""
        with self._lock:
            store = self._open()
            try:
                return store is not None and store.has_run(digest)
            except StoreError as exc:
                self._fail(exc)
                return False

    def started(self, session: RecordedSession) -> None:
        with self._lock:
            self._names, self._parts, self._current = _exercise_names(session), {}, 0
            self._t0, self._paused, self._pause_start = self._monotonic(), 0.0, None
            self.session_id = None
            routine, store = session.routine, self._open()
            try:
                if store is not None:
                    self.session_id = store.start_session(
                        routine_name=routine.name,
                        routine_path=routine.path,
                        routine_digest=routine.digest,
                        title=routine.title,
                        started_at=self._now(),
                        exercises_total=len(self._names),
                    )
            except StoreError as exc:
                self._fail(exc)

    def exercise_started(self, index: int) -> None:
        """Exercise ``index`` began to play (from its start, or resumed into)."""
        with self._lock:
            self._unpause()
            self._current = index
            name = self._name(index)
            self._write(lambda store, sid: store.exercise_started(sid, index, name))

    def exercise_done(
        self, index: int, seconds: float, skipped: bool, restarted: bool, stopped: bool = False
    ) -> None:
        """A play of exercise ``index`` ended after ``seconds`` (pauses excluded): at its
        end, on a skip (``skipped``), a restart (``restarted``: it plays again and gets
        another call), or because the session stopped in it (``stopped``). Seconds add up."""
        with self._lock:
            self._unpause()
            self._current = index if restarted or stopped else index + 1
            at, total, name = self._now(), self._active(), self._name(index)
            self._write(
                lambda store, sid: store.exercise_done(
                    sid,
                    index,
                    name,
                    at,
                    seconds_spent=seconds,
                    skipped=skipped,
                    restarted=restarted,
                    session_seconds=total,
                    stopped=stopped,
                )
            )

    def set_done(self, index: int, set_no: int, side: str | None = None) -> None:
        """Set ``set_no`` (1-based) of exercise ``index`` is done; with sides, once per side."""
        with self._lock:
            self._current = index
            parts = self._parts.setdefault(index, set())
            parts.add((set_no, side))
            sets = len({s for s, _ in parts})
            sides = sum(1 for _, sd in parts if sd is not None)
            name = self._name(index)
            self._write(
                lambda store, sid: store.parts_done(
                    sid, index, name, sets_done=sets, sides_done=sides
                )
            )

    def paused(self, index: int | None = None) -> None:
        with self._lock:
            if self._pause_start is None:
                self._pause_start = self._monotonic()
            self._event("pause", index)

    def resumed(self, index: int | None = None) -> None:
        with self._lock:
            self._unpause()
            self._event("resume", index)

    def pain(self, index: int | None) -> None:
        """The ``p`` key, in exercise ``index`` (in a rest: the one just done; None in the
        welcome). The rest that follows, until the next call, is not counted as time spent."""
        with self._lock:
            if self._pause_start is None:
                self._pause_start = self._monotonic()
            self._event("pain", -1 if index is None else index)

    def checkin(self, effort: int) -> None:
        """The answer to "How hard was that, from one to five?" (1 easy .. 5 very hard)."""
        if not 1 <= effort <= 5:
            raise ValueError(f"effort must be 1 to 5, not {effort}")
        with self._lock:
            self._write(lambda store, sid: store.set_effort(sid, effort))

    def finished(self, completed: bool) -> None:
        with self._lock:
            self._unpause()
            at, total = self._now(), self._active()
            status: Status = "completed" if completed else "stopped"
            idx = self._current if self._current in self._names else None
            self._write(
                lambda store, sid: store.finish_session(
                    sid, status=status, ended_at=at, seconds=total, quit_idx=idx
                )
            )

    def close(self) -> None:
        with self._lock:
            store, self._store = self._store, None
            if store is not None:
                store.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fail(self, exc: BaseException) -> None:
        """Stop saving, with ``exc`` as the reason given in ``warning``."""
        with self._lock:
            self._fail(exc)

    def _open(self) -> Store | None:
        if self._store is None and not self._failed:
            try:
                self._store = Store(self._path or db_path(), timeout=self._timeout)
            except (StoreError, sqlite3.Error, OSError) as exc:
                self._fail(exc)
        return self._store

    def _fail(self, exc: BaseException) -> None:
        self._failed = True
        if self.warning is None:
            self.warning = _warning(exc)
        try:
            self.close()
        except sqlite3.Error:
            self._store = None

    def _write(self, action: Callable[[Store, int], None]) -> None:
        if self._store is None or self.session_id is None:
            return  # not started, or writes disabled by an earlier failure
        try:
            action(self._store, self.session_id)
        except (StoreError, sqlite3.Error, OSError) as exc:
            self._fail(exc)

    def _event(self, kind: EventKind, index: int | None) -> None:
        idx = index if index is not None else self._current
        idx = idx if idx in self._names or index is not None else -1
        at, total, name = self._now(), self._active(), self._name(idx)
        self._write(lambda store, sid: store.add_event(sid, kind, at, idx, name, seconds=total))

    def _unpause(self) -> None:
        if self._pause_start is not None:
            self._paused += self._monotonic() - self._pause_start
            self._pause_start = None

    def _name(self, index: int) -> str:
        return self._names.get(index, f"exercise {index + 1}")

    def _active(self) -> float:
        now = self._monotonic()
        paused = self._paused + (now - self._pause_start if self._pause_start is not None else 0)
        return max(0.0, now - self._t0 - paused)


_Job = tuple[datetime, float, Callable[[Recorder], None]]


class BackgroundRecorder:
    """A ``Recorder`` whose writes run in order on a thread of their own.

    Every call returns at once: it notes the time (so the saved times are when things
    happened, not when the disk got to them) and queues the write. ``close`` waits for
    the queue to empty, at most a few seconds, then ``warning`` is final.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        timeout: float = 1.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._path, self._timeout, self._now, self._monotonic = path, timeout, now, monotonic
        # The inner recorder reads the time its call was made, set by the worker.
        self._at: tuple[datetime, float] = (now(), monotonic())
        self._inner = Recorder(
            path, timeout=timeout, now=lambda: self._at[0], monotonic=lambda: self._at[1]
        )
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._late: str | None = None

    @property
    def warning(self) -> str | None:
        """The one line to print if the session could not be saved (final after ``close``)."""
        return self._inner.warning or self._late

    @property
    def session_id(self) -> int | None:
        return self._inner.session_id

    def has_run(self, digest: str, *, timeout: float = LOOKUP_TIMEOUT) -> bool:
        """``Recorder.has_run``, asked right away and briefly (the answer decides what the
        session says, so it is needed before the first sound). Creates no database, and
        a failure here does not stop saving: the writes will try again, with more patience."""
        path = self._path or db_path()
        if not path.exists():
            return False
        try:
            with Store(path, timeout=timeout) as store:
                return store.has_run(digest)
        except StoreError:
            return False

    def started(self, session: RecordedSession) -> None:
        self._submit(lambda r: r.started(session))

    def exercise_started(self, index: int) -> None:
        self._submit(lambda r: r.exercise_started(index))

    def exercise_done(
        self, index: int, seconds: float, skipped: bool, restarted: bool, stopped: bool = False
    ) -> None:
        self._submit(lambda r: r.exercise_done(index, seconds, skipped, restarted, stopped))

    def set_done(self, index: int, set_no: int, side: str | None = None) -> None:
        self._submit(lambda r: r.set_done(index, set_no, side))

    def paused(self, index: int | None = None) -> None:
        self._submit(lambda r: r.paused(index))

    def resumed(self, index: int | None = None) -> None:
        self._submit(lambda r: r.resumed(index))

    def pain(self, index: int | None) -> None:
        self._submit(lambda r: r.pain(index))

    def checkin(self, effort: int) -> None:
        if not 1 <= effort <= 5:
            raise ValueError(f"effort must be 1 to 5, not {effort}")
        self._submit(lambda r: r.checkin(effort))

    def finished(self, completed: bool) -> None:
        self._submit(lambda r: r.finished(completed))

    def close(self, wait: float | None = None) -> None:
        """Let the queued writes finish (at most ``wait`` seconds, by default enough for
        one locked-database timeout and a slow disk), then close the database."""
        if self._closed:
            return
        self._closed = True
        thread = self._thread
        if thread is not None:
            self._jobs.put(None)
            thread.join(max(5.0, 3 * self._timeout) if wait is None else wait)
            if thread.is_alive():  # still writing: leave it (a daemon) and say so
                self._late = WARNING + "the history database did not answer in time"
                return
        self._inner.close()

    def __enter__(self) -> BackgroundRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _submit(self, call: Callable[[Recorder], None]) -> None:
        if self._closed:
            return
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._work, name="voicecoach-history", daemon=True
            )
            self._thread.start()
        self._jobs.put((self._now(), self._monotonic(), call))

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            self._at = job[0], job[1]
            try:
                job[2](self._inner)
            except Exception as exc:  # a bug must not become a traceback mid-workout
                self._inner.fail(exc)
        self._inner.close()
