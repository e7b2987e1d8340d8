"""The session history: a small SQLite database in the user's data folder.

The schema is versioned with ``PRAGMA user_version``: ``MIGRATIONS`` lists the steps in
order and all pending steps run in one transaction, so a database is never left
half-migrated. To change the schema, append a tuple of SQL statements.

Every write is its own short transaction (WAL, ``synchronous=FULL``), so a crash or a
killed process loses at most the write in flight. The player's side, which never lets
a database problem stop a workout, is ``voicecoach.adapters.recorder``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from voicecoach.core.records import (
    EventKind,
    EventRecord,
    ExerciseRecord,
    SessionRecord,
    Status,
    stamp,
)
from voicecoach.errors import VoicecoachError

DB_NAME = "history.sqlite3"
ENV_DATA_DIR = "VOICECOACH_DATA_DIR"

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
    # 2: "completed" means every exercise done (none skipped, none stopped for pain);
    # whether the session was played to its end is kept apart, and so is how many
    # exercises it had. Sessions saved before: a completed one played to its end and
    # reached every exercise (its count is theirs); one with an exercise skipped, cut
    # or with pain becomes "stopped"; the count of a stopped one is not known.
    (
        "ALTER TABLE sessions ADD COLUMN exercises_total INTEGER CHECK (exercises_total >= 0)",
        "ALTER TABLE sessions ADD COLUMN reached_end INTEGER NOT NULL DEFAULT 0",
        "UPDATE sessions SET reached_end = 1 WHERE status = 'completed'",
        """UPDATE sessions SET exercises_total =
            (SELECT COUNT(*) FROM exercises AS e WHERE e.session_id = sessions.id)
            WHERE status = 'completed'""",
        """UPDATE sessions SET status = 'stopped' WHERE status = 'completed' AND EXISTS
            (SELECT 1 FROM exercises AS e WHERE e.session_id = sessions.id
             AND (NOT e.done OR e.skipped OR e.pain > 0))""",
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


def _reason(exc: BaseException) -> str:
    text = (exc.strerror if isinstance(exc, OSError) else None) or str(exc) or type(exc).__name__
    if isinstance(exc, sqlite3.DatabaseError) and text in _CORRUPT:
        text += " (move it aside to start a new history)"
    return text


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
        self,
        *,
        routine_name: str,
        routine_path: str,
        routine_digest: str,
        title: str,
        started_at: datetime,
        exercises_total: int | None = None,
    ) -> int:
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO sessions (routine_name, routine_path, routine_digest, title,"
                " started_at, exercises_total) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    routine_name, routine_path, routine_digest, title, stamp(started_at),
                    exercises_total,
                ),
            )  # fmt: skip
            assert cur.lastrowid is not None
            return cur.lastrowid

    def add_event(
        self,
        session_id: int,
        kind: EventKind,
        at: datetime,
        idx: int | None = None,
        name: str = "",
        *,
        seconds: float | None = None,
    ) -> None:
        """Log an action and bump the exercise's counter (creating its row) if ``idx``;
        ``seconds`` updates the session's running total too."""
        with self._write() as conn:
            _event(conn, session_id, kind, at, idx, name)
            if seconds is not None:
                conn.execute("UPDATE sessions SET seconds = ? WHERE id = ?", (seconds, session_id))

    def exercise_started(self, session_id: int, idx: int, name: str) -> None:
        """An exercise began to play: it was reached (its row exists from now on)."""
        with self._write() as conn:
            _exercise(conn, session_id, idx, name)

    def exercise_done(
        self,
        session_id: int,
        idx: int,
        name: str,
        at: datetime,
        *,
        seconds_spent: float,
        skipped: bool,
        restarted: bool,
        session_seconds: float,
        stopped: bool = False,
    ) -> None:
        """One play of an exercise ended: at its end, by a skip, by a restart, or because
        the session stopped in it (``stopped``: its time counts, it is not done)."""
        done = not (skipped or restarted or stopped)
        with self._write() as conn:
            _exercise(conn, session_id, idx, name)
            conn.execute(
                "UPDATE exercises SET seconds_spent = seconds_spent + ?, done = done OR ?"
                " WHERE session_id = ? AND idx = ?",
                (max(seconds_spent, 0.0), done, session_id, idx),
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
        self,
        session_id: int,
        *,
        status: Status,
        ended_at: datetime,
        seconds: float,
        quit_idx: int | None = None,
    ) -> None:
        """Close a session; a stopped one gets a ``quit`` event at ``quit_idx``.

        ``completed`` (played to its end) is kept as ``reached_end``; the status is
        "completed" only if, from the first exercise it played (a resumed session starts
        later) to its last, every exercise was done: none skipped, none with pain."""
        with self._write() as conn:
            if status == "stopped":
                _event(conn, session_id, "quit", ended_at, quit_idx, "")
            reached = status == "completed"
            if reached and not _all_done(conn, session_id):
                status = "stopped"
            conn.execute(
                "UPDATE sessions SET status = ?, ended_at = ?, seconds = ?, reached_end = ?"
                " WHERE id = ?",
                (status, stamp(ended_at), max(seconds, 0.0), reached, session_id),
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
            " status, seconds, effort, exercises_total, reached_end FROM sessions"
            " ORDER BY started_at, id"
        )
        return tuple(
            SessionRecord(
                sid,
                name,
                path,
                digest,
                title,
                datetime.fromisoformat(started),
                datetime.fromisoformat(ended) if ended else None,
                status,
                seconds,
                effort,
                exercises=tuple(exercises.get(sid, ())),
                events=tuple(events.get(sid, ())),
                exercises_total=total,
                reached_end=bool(reached),
            )
            for (
                sid, name, path, digest, title, started, ended, status, seconds, effort, total,
                reached,
            ) in rows
        )  # fmt: skip

    def has_run(self, digest: str) -> bool:
        """Has a session of this routine (this digest: the same content) got as far as an
        exercise? Then its welcome, safety note included, was heard. A session stopped
        during the welcome does not count, nor one of an earlier version of the file."""
        sql = (
            "SELECT 1 FROM sessions AS s WHERE s.routine_digest = ? AND (s.reached_end"
            " OR EXISTS (SELECT 1 FROM exercises AS e WHERE e.session_id = s.id)) LIMIT 1"
        )
        return bool(self._read(sql, digest))

    def resume_point(self) -> ResumePoint | None:
        """The latest session, if it was not played to its end, and the exercise to start
        again at: the one it was quit in, else the one after the last finished (it crashed)."""
        rows = self._read(
            "SELECT id, routine_name, routine_path, routine_digest, reached_end FROM sessions"
            " ORDER BY started_at DESC, id DESC LIMIT 1"
        )
        if not rows or rows[0][4]:
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


def _all_done(conn: sqlite3.Connection, session_id: int) -> bool:
    """Every exercise from the first one played to the session's last was done."""
    total, first, count, good = conn.execute(
        "SELECT s.exercises_total, MIN(e.idx), COUNT(e.idx),"
        " SUM(e.done AND NOT e.skipped AND e.pain = 0)"
        " FROM sessions AS s LEFT JOIN exercises AS e ON e.session_id = s.id WHERE s.id = ?",
        (session_id,),
    ).fetchone()
    if not count:
        return False
    if total is not None and count != total - first:
        return False
    return bool(good == count)


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
