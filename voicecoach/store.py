"""The session history: a small SQLite database in the user's data folder.

The schema is versioned with ``PRAGMA user_version``: ``MIGRATIONS`` lists the steps in
order and all pending steps run in one transaction, so a database is never left
half-migrated. To change the schema, append a tuple of SQL statements.

Every write is its own short transaction (WAL, ``synchronous=FULL``), so a crash or a
killed process loses at most the write in flight. ``Recorder`` (the player's side)
never lets a database problem stop a workout.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from voicecoach.errors import VoicecoachError

if TYPE_CHECKING:
    from voicecoach.model import Routine
    from voicecoach.timeline import Timeline

DB_NAME = "history.sqlite3"
ENV_DATA_DIR = "VOICECOACH_DATA_DIR"

Status = Literal["running", "completed", "stopped"]
EventKind = Literal["pause", "resume", "skip", "restart", "pain", "quit"]

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: sessions, the exercises reached in each, and the user's actions. Times are UTC ISO.
    (
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY, routine_name TEXT NOT NULL, routine_path TEXT NOT NULL,
            routine_digest TEXT NOT NULL, title TEXT NOT NULL,
            started_at TEXT NOT NULL, ended_at TEXT,
            status TEXT NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'completed', 'stopped')),
            seconds REAL NOT NULL DEFAULT 0 CHECK (seconds >= 0),
            effort INTEGER CHECK (effort BETWEEN 1 AND 5))""",
        "CREATE INDEX sessions_started ON sessions (started_at)",
        "CREATE INDEX sessions_name ON sessions (routine_name)",
        "CREATE INDEX sessions_digest ON sessions (routine_digest)",
        """CREATE TABLE exercises (
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            idx INTEGER NOT NULL CHECK (idx >= 0), name TEXT NOT NULL,
            seconds_spent REAL NOT NULL DEFAULT 0, sets_done INTEGER NOT NULL DEFAULT 0,
            sides_done INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0, restarts INTEGER NOT NULL DEFAULT 0,
            pauses INTEGER NOT NULL DEFAULT 0, pain INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (session_id, idx))""",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            at TEXT NOT NULL, idx INTEGER,
            kind TEXT NOT NULL
                CHECK (kind IN ('pause', 'resume', 'skip', 'restart', 'pain', 'quit')))""",
        "CREATE INDEX events_session ON events (session_id, id)",
    ),
)

# The exercise counter each kind of event bumps (resume and quit only log the event).
_COUNTERS = {
    "pause": "pauses = pauses + 1",
    "skip": "skipped = 1",
    "restart": "restarts = restarts + 1",
    "pain": "pain = pain + 1",
}
_CORRUPT = ("file is not a database", "database disk image is malformed")


class StoreError(VoicecoachError):
    """The history database cannot be opened, read or written."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"history database {path}: {reason}")


def data_dir() -> Path:
    """$VOICECOACH_DATA_DIR, else the platform's user data folder for voicecoach."""
    override = os.environ.get(ENV_DATA_DIR)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir("voicecoach"))


def db_path() -> Path:
    return data_dir() / DB_NAME


def stamp(moment: datetime, timespec: str = "seconds") -> str:
    """A timezone-aware moment as a UTC ISO 8601 string (what the database stores)."""
    return moment.astimezone(UTC).isoformat(timespec=timespec)


def _reason(exc: BaseException) -> str:
    text = (exc.strerror if isinstance(exc, OSError) else None) or str(exc) or type(exc).__name__
    if isinstance(exc, sqlite3.DatabaseError) and text in _CORRUPT:
        text += " (move it aside to start a new history)"
    return text


@dataclass(frozen=True, slots=True)
class ExerciseRecord:
    idx: int  # position in the session, counting rounds (the timeline's Event.index)
    name: str
    seconds_spent: float
    sets_done: int  # distinct sets with at least one part done
    sides_done: int  # (set, side) parts done, for exercises worked on each side
    done: bool  # played to its end at least once (not skipped, not cut by a restart)
    skipped: bool
    restarts: int
    pauses: int
    pain: int


@dataclass(frozen=True, slots=True)
class EventRecord:
    at: datetime
    kind: str
    idx: int | None  # the exercise, or None outside any exercise


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: int
    routine_name: str
    routine_path: str
    routine_digest: str
    title: str
    started_at: datetime  # timezone-aware, UTC
    ended_at: datetime | None
    status: str  # running (in progress, or the process died) | completed | stopped
    seconds: float  # time spent, pauses excluded
    effort: int | None  # the end-of-session check-in, 1..5
    exercises: tuple[ExerciseRecord, ...] = ()
    events: tuple[EventRecord, ...] = ()

    @property
    def completed(self) -> bool:
        return self.status == "completed"


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """Where the last session stopped, if it did not complete."""

    session_id: int
    routine_name: str
    routine_path: str
    routine_digest: str
    index: int  # the exercise to start again at (may be past the last one)


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Bring the schema up to date in one transaction; returns the version."""
    target = len(MIGRATIONS)
    if _version(conn) == target:
        return target
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _version(conn)  # another process may have migrated meanwhile
        if version > target:
            raise StoreError(path, f"schema {version} is newer than this voicecoach's {target}")
        for number in range(version + 1, target + 1):
            for statement in MIGRATIONS[number - 1]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return target


def _version(conn: sqlite3.Connection) -> int:
    value: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return value


class Store:
    """An open history database. Every method raises ``StoreError`` on failure."""

    def __init__(self, path: Path | None = None, *, timeout: float = 5.0) -> None:
        self.path = path if path is not None else db_path()
        self._conn: sqlite3.Connection | None = None
        with self._guard():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, one per write.
            conn = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
                conn.execute("PRAGMA journal_mode = WAL")
                # FULL: a committed write survives a power cut too; writes are few and small.
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("PRAGMA foreign_keys = ON")
                migrate(conn, self.path)
            except BaseException:
                conn.close()
                raise
            self._conn = conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except StoreError:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(self.path, _reason(exc)) from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short transaction."""
        with self._guard():
            if self._conn is None:
                raise StoreError(self.path, "closed")
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _read(self, sql: str, *args: object) -> list[Any]:
        with self._guard():
            if self._conn is None:
                raise StoreError(self.path, "closed")
            return self._conn.execute(sql, args).fetchall()

    # -- writes: each is one transaction --------------------------------------------

    def start_session(
        self, *, routine_name: str, routine_path: str, routine_digest: str, title: str,
        started_at: datetime,
    ) -> int:
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO sessions (routine_name, routine_path, routine_digest, title,"
                " started_at) VALUES (?, ?, ?, ?, ?)",
                (routine_name, routine_path, routine_digest, title, stamp(started_at)),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

    def add_event(
        self, session_id: int, kind: EventKind, at: datetime, idx: int | None = None,
        name: str = "", *, seconds: float | None = None,
    ) -> None:
        """Log an action and bump the exercise's counter (creating its row) if ``idx``;
        ``seconds`` updates the session's running total too."""
        with self._write() as conn:
            _event(conn, session_id, kind, at, idx, name)
            if seconds is not None:
                conn.execute("UPDATE sessions SET seconds = ? WHERE id = ?", (seconds, session_id))

    def exercise_done(
        self, session_id: int, idx: int, name: str, at: datetime, *, seconds_spent: float,
        skipped: bool, restarted: bool, session_seconds: float,
    ) -> None:
        """One play of an exercise ended: at its end, by a skip or by a restart."""
        with self._write() as conn:
            _exercise(conn, session_id, idx, name)
            conn.execute(
                "UPDATE exercises SET seconds_spent = seconds_spent + ?, done = done OR ?"
                " WHERE session_id = ? AND idx = ?",
                (max(seconds_spent, 0.0), not (skipped or restarted), session_id, idx),
            )
            for kind, flag in (("skip", skipped), ("restart", restarted)):
                if flag:
                    _event(conn, session_id, kind, at, idx, name)
            conn.execute(
                "UPDATE sessions SET seconds = ? WHERE id = ?", (session_seconds, session_id)
            )

    def parts_done(
        self, session_id: int, idx: int, name: str, *, sets_done: int, sides_done: int
    ) -> None:
        with self._write() as conn:
            _exercise(conn, session_id, idx, name)
            conn.execute(
                "UPDATE exercises SET sets_done = ?, sides_done = ?"
                " WHERE session_id = ? AND idx = ?",
                (sets_done, sides_done, session_id, idx),
            )

    def finish_session(
        self, session_id: int, *, status: Status, ended_at: datetime, seconds: float,
        quit_idx: int | None = None,
    ) -> None:
        """Close a session; a stopped one gets a ``quit`` event at ``quit_idx``."""
        with self._write() as conn:
            if status == "stopped":
                _event(conn, session_id, "quit", ended_at, quit_idx, "")
            conn.execute(
                "UPDATE sessions SET status = ?, ended_at = ?, seconds = ? WHERE id = ?",
                (status, stamp(ended_at), max(seconds, 0.0), session_id),
            )

    def set_effort(self, session_id: int, effort: int) -> None:
        with self._write() as conn:
            conn.execute("UPDATE sessions SET effort = ? WHERE id = ?", (effort, session_id))

    # -- reads ----------------------------------------------------------------------

    def sessions(self, *, details: bool = False) -> tuple[SessionRecord, ...]:
        """Every session, oldest first; ``details`` adds their exercises and events."""
        exercises: dict[int, list[ExerciseRecord]] = {}
        events: dict[int, list[EventRecord]] = {}
        if details:
            for sid, *ex in self._read(
                "SELECT session_id, idx, name, seconds_spent, sets_done, sides_done, done,"
                " skipped, restarts, pauses, pain FROM exercises ORDER BY session_id, idx"
            ):
                ex[5:7] = [bool(ex[5]), bool(ex[6])]
                exercises.setdefault(sid, []).append(ExerciseRecord(*ex))
            for sid, at, kind, idx in self._read(
                "SELECT session_id, at, kind, idx FROM events ORDER BY session_id, id"
            ):
                events.setdefault(sid, []).append(
                    EventRecord(datetime.fromisoformat(at), kind, idx)
                )
        rows = self._read(
            "SELECT id, routine_name, routine_path, routine_digest, title, started_at, ended_at,"
            " status, seconds, effort FROM sessions ORDER BY started_at, id"
        )
        return tuple(
            SessionRecord(
                sid, name, path, digest, title, datetime.fromisoformat(started),
                datetime.fromisoformat(ended) if ended else None, status, seconds, effort,
                exercises=tuple(exercises.get(sid, ())), events=tuple(events.get(sid, ())),
            )
            for sid, name, path, digest, title, started, ended, status, seconds, effort in rows
        )

    def has_run(self, key: str) -> bool:
        """Has a routine with this digest or this name ever been started?"""
        sql = "SELECT 1 FROM sessions WHERE routine_digest = ? OR routine_name = ? LIMIT 1"
        return bool(self._read(sql, key, key))

    def resume_point(self) -> ResumePoint | None:
        """The latest session, if it did not complete, and the exercise to start again at:
        the one it was quit in, else the one after the last finished (it crashed)."""
        rows = self._read(
            "SELECT id, routine_name, routine_path, routine_digest, status FROM sessions"
            " ORDER BY started_at DESC, id DESC LIMIT 1"
        )
        if not rows or rows[0][4] == "completed":
            return None
        sid, name, path, digest, _ = rows[0]
        quit_at = self._read(
            "SELECT idx FROM events WHERE session_id = ? AND kind = 'quit' AND idx IS NOT NULL"
            " ORDER BY id DESC LIMIT 1",
            sid,
        )
        reached = self._read(
            "SELECT MAX(CASE WHEN done OR skipped THEN idx + 1 ELSE idx END) FROM exercises"
            " WHERE session_id = ?",
            sid,
        )
        index = quit_at[0][0] if quit_at else reached[0][0] or 0
        return ResumePoint(sid, name, path, digest, index)


def _exercise(conn: sqlite3.Connection, session_id: int, idx: int, name: str) -> None:
    conn.execute(
        "INSERT INTO exercises (session_id, idx, name) VALUES (?, ?, ?)"
        " ON CONFLICT (session_id, idx) DO NOTHING",
        (session_id, idx, name),
    )


def _event(
    conn: sqlite3.Connection, session_id: int, kind: str, at: datetime, idx: int | None, name: str
) -> None:
    idx = idx if idx is not None and idx >= 0 else None
    conn.execute(
        "INSERT INTO events (session_id, at, kind, idx) VALUES (?, ?, ?, ?)",
        (session_id, stamp(at, "milliseconds"), kind, idx),
    )
    if idx is not None and kind in _COUNTERS:
        _exercise(conn, session_id, idx, name)
        conn.execute(
            f"UPDATE exercises SET {_COUNTERS[kind]} WHERE session_id = ? AND idx = ?",
            (session_id, idx),
        )


def load_sessions(path: Path | None = None, *, details: bool = False) -> tuple[SessionRecord, ...]:
    """Every session, oldest first; none (and no file created) if there is no database."""
    path = path if path is not None else db_path()
    if not path.exists():
        return ()
    with Store(path) as store:
        return store.sessions(details=details)


class RecordedSession(Protocol):
    """What ``Recorder.started`` needs of a ``session.Session``."""

    @property
    def routine(self) -> Routine: ...

    @property
    def timeline(self) -> Timeline: ...


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


class Recorder:
    """Records one live session for the player: one short transaction per call.

    A database problem (corrupt, locked, unwritable folder) never reaches the player:
    the first failure turns every later call into a no-op and leaves ONE line in
    ``warning`` for the CLI to print once. A call blocks at most ``timeout`` seconds (a
    locked database), so call from the player's control thread, not the audio callback.
    """

    def __init__(
        self, path: Path | None = None, *, timeout: float = 1.0,
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
        self._paused = 0.0  # seconds spent paused so far
        self._pause_start: float | None = None

    def has_run(self, key: str) -> bool:
        """Was a routine with this digest (or name) run before? Ask before ``started``.

        False if the database cannot be read: when in doubt, speak the safety note.
        """
        with self._lock:
            store = self._open()
            try:
                return store is not None and store.has_run(key)
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
                        routine_name=routine.name, routine_path=routine.path,
                        routine_digest=routine.digest, title=routine.title,
                        started_at=self._now(),
                    )
            except StoreError as exc:
                self._fail(exc)

    def exercise_done(self, index: int, seconds: float, skipped: bool, restarted: bool) -> None:
        """A play of exercise ``index`` ended after ``seconds`` (pauses excluded): at its
        end, on a skip (``skipped``) or a restart (``restarted``: it plays again and gets
        another call). Seconds add up."""
        with self._lock:
            self._current = index if restarted else index + 1
            at, total, name = self._now(), self._active(), self._name(index)
            self._write(
                lambda store, sid: store.exercise_done(
                    sid, index, name, at, seconds_spent=seconds, skipped=skipped,
                    restarted=restarted, session_seconds=total,
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

    def pain(self, index: int) -> None:
        """The ``p`` key during exercise ``index``."""
        with self._lock:
            self._current = index
            self._event("pain", index)

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
            reason = f"{exc.path}: {exc.reason}" if isinstance(exc, StoreError) else _reason(exc)
            self.warning = f"Warning: this session could not be saved: {reason}"
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
