"""The history database: schema and migrations, the recorder's round trip, crash safety,
and that a broken database only ever produces one warning."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fakes import fake_session, make_routine
from voicecoach.adapters import store
from voicecoach.adapters.recorder import BackgroundRecorder, Recorder
from voicecoach.adapters.store import ResumePoint, Store, StoreError
from voicecoach.core.records import EventRecord, ExerciseRecord, SessionRecord
from voicecoach.core.timeline import Event

START = datetime(2024, 5, 6, 7, 30, tzinfo=UTC)
SAVE_WARNING = "Warning: this session could not be saved: "


class Clock:
    """Monotonic seconds and the matching wall clock, moved by hand."""

    def __init__(self, start: datetime = START) -> None:
        self.t = 100.0
        self.start = start

    def monotonic(self) -> float:
        return self.t

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.t - 100.0)


def recorder(path: Path, clock: Clock, **kw: float) -> Recorder:
    return Recorder(path, now=clock.now, monotonic=clock.monotonic, **kw)


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def test_data_dir_from_the_environment_or_platformdirs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import platformdirs

    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path))
    assert store.db_path() == tmp_path / "history.sqlite3"
    monkeypatch.delenv("VOICECOACH_DATA_DIR")
    assert store.data_dir() == Path(platformdirs.user_data_dir("voicecoach"))


def test_a_new_database_is_at_the_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "history.sqlite3"
    Store(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (len(store.MIGRATIONS),)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"sessions", "exercises", "events"}
    columns = [r[1] for r in conn.execute("PRAGMA table_info(sessions)")]
    assert columns == [
        "id",
        "routine_name",
        "routine_path",
        "routine_digest",
        "title",
        "started_at",
        "ended_at",
        "status",
        "seconds",
        "effort",
        "exercises_total",
        "reached_end",
    ]


def test_a_full_session_round_trips(tmp_path: Path) -> None:
    path, clock = tmp_path / "h.sqlite3", Clock()
    with recorder(path, clock) as rec:
        rec.started(fake_session())
        clock.t += 30
        rec.set_done(0, 1)
        rec.exercise_done(0, 30.0, skipped=False, restarted=False)
        clock.t += 10
        rec.paused()  # no index: the recorder knows exercise 1 is playing
        clock.t += 50  # paused time does not count
        rec.resumed()
        clock.t += 5
        rec.set_done(1, 1, "left")
        rec.set_done(1, 1, "right")
        rec.set_done(1, 2, "left")
        rec.exercise_done(1, 12.5, skipped=False, restarted=True)
        clock.t += 12
        rec.pain(1)
        rec.exercise_done(1, 3.0, skipped=True, restarted=False)
        rec.exercise_done(2, 20.0, skipped=False, restarted=False)
        rec.exercise_done(3, 0.0, skipped=True, restarted=False)
        clock.t += 3
        rec.finished(completed=True)
        rec.checkin(4)
        assert rec.warning is None
    (session,) = store.load_sessions(path, details=True)
    assert session == SessionRecord(
        id=1,
        routine_name="back-strength",
        routine_path="/routines/back-strength.yaml",
        routine_digest="d1gest",
        title="Back strength",
        started_at=START,
        ended_at=at(110),
        status="stopped",  # played to its end, but not every exercise was done
        seconds=60.0,
        effort=4,
        exercises=(
            ExerciseRecord(0, "Bridge", 30.0, 1, 0, True, False, 0, 0, 0),
            ExerciseRecord(1, "Bird-dog", 15.5, 2, 3, False, True, 1, 1, 1),
            ExerciseRecord(2, "Bridge", 20.0, 0, 0, True, False, 0, 0, 0),
            ExerciseRecord(3, "Bird-dog", 0.0, 0, 0, False, True, 0, 0, 0),
        ),
        events=(
            EventRecord(at(40), "pause", 1),
            EventRecord(at(90), "resume", 1),
            EventRecord(at(95), "restart", 1),
            EventRecord(at(107), "pain", 1),
            EventRecord(at(107), "skip", 1),
            EventRecord(at(107), "skip", 3),
        ),
        exercises_total=4,
        reached_end=True,
    )
    assert not session.completed
    assert (session.exercises_done, session.exercises_skipped, session.exercises_pained) == (
        2,
        1,
        1,
    )


def test_completed_means_every_exercise_done(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with recorder(path, Clock()) as rec:
        rec.started(fake_session())  # four exercises
        for idx in range(4):
            rec.exercise_done(idx, 10.0, skipped=False, restarted=idx == 1)
            if idx == 1:
                rec.exercise_done(idx, 10.0, skipped=False, restarted=False)  # done again
        rec.finished(completed=True)
        rec.started(fake_session())  # resumed at the third: done from there on
        for idx in (2, 3):
            rec.exercise_done(idx, 10.0, skipped=False, restarted=False)
        rec.finished(completed=True)
        rec.started(fake_session())  # one left out
        for idx in (0, 1, 3):
            rec.exercise_done(idx, 10.0, skipped=False, restarted=False)
        rec.finished(completed=True)
        rec.started(fake_session())  # every one done, but pain pressed in one
        for idx in range(4):
            if idx == 2:
                rec.pain(idx)
            rec.exercise_done(idx, 10.0, skipped=False, restarted=False)
        rec.finished(completed=True)
        rec.started(fake_session())  # quit in the last one
        for idx in range(4):
            rec.exercise_done(idx, 10.0, skipped=False, restarted=False, stopped=idx == 3)
        rec.finished(completed=False)
    sessions = store.load_sessions(path, details=True)
    assert [(s.status, s.reached_end) for s in sessions] == [
        ("completed", True),
        ("completed", True),
        ("stopped", True),
        ("stopped", True),
        ("stopped", False),
    ]
    assert [s.exercises_done for s in sessions] == [4, 2, 3, 3, 3]
    assert [s.exercises_pained for s in sessions] == [0, 0, 0, 1, 0]


def test_a_stopped_session_logs_quit_and_can_be_resumed(tmp_path: Path) -> None:
    path, clock = tmp_path / "h.sqlite3", Clock()
    with recorder(path, clock) as rec:
        rec.started(fake_session())
        rec.exercise_done(0, 30.0, skipped=False, restarted=False)
        clock.t += 45
        rec.paused()
        clock.t += 600  # paused, then quit while paused: the pause is not counted
        rec.finished(completed=False)
    (session,) = store.load_sessions(path, details=True)
    assert (session.status, session.ended_at, session.seconds) == ("stopped", at(645), 45.0)
    assert [(e.kind, e.idx) for e in session.events] == [("pause", 1), ("quit", 1)]
    with Store(path) as db:
        assert db.resume_point() == ResumePoint(
            1, "back-strength", "/routines/back-strength.yaml", "d1gest", 1
        )


def test_resume_point_after_a_crash_and_after_a_completed_session(tmp_path: Path) -> None:
    path, clock = tmp_path / "h.sqlite3", Clock()
    rec = recorder(path, clock)
    rec.started(fake_session())
    rec.exercise_done(0, 30.0, skipped=False, restarted=False)
    rec.exercise_done(1, 3.0, skipped=True, restarted=False)
    rec.close()  # never finished: the process died
    with Store(path) as db:
        assert db.resume_point() == ResumePoint(
            1, "back-strength", "/routines/back-strength.yaml", "d1gest", 2
        )
    clock.t += 3600
    with recorder(path, clock) as rec:
        rec.started(fake_session())
        for idx in range(4):
            rec.exercise_done(idx, 1.0, skipped=False, restarted=False)
        rec.finished(completed=True)
    with Store(path) as db:
        assert db.resume_point() is None
        statuses = [s.status for s in db.sessions()]
    assert statuses == ["running", "completed"]


def test_the_timeline_names_the_exercises_the_player_reports(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    events = (Event(0, 10, "speech", "Warm-up march", "Main", exercise="March", index=0),)
    with recorder(path, Clock()) as rec:
        rec.started(fake_session(events=events))
        rec.exercise_done(0, 1.0, skipped=False, restarted=False)
        rec.exercise_done(1, 1.0, skipped=False, restarted=False)
        rec.exercise_done(9, 1.0, skipped=False, restarted=False)  # beyond the plan
    (session,) = store.load_sessions(path, details=True)
    assert [e.name for e in session.exercises] == ["March", "Bird-dog", "exercise 10"]


def test_has_run_once_a_session_of_that_content_reached_an_exercise(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with recorder(path, Clock()) as rec:
        assert not rec.has_run("d1gest")
        rec.started(fake_session())
        rec.finished(completed=False)  # stopped in the welcome: the safety note may be unheard
        assert not rec.has_run("d1gest")
        rec.started(fake_session())
        rec.exercise_started(0)
        assert rec.has_run("d1gest")
        assert not rec.has_run("back-strength")  # the name alone: the content may differ
        assert not rec.has_run("other-digest")
        assert rec.warning is None
    with recorder(path, Clock()) as rec:  # one played to its end counts (even with no rows)
        rec.started(fake_session(make_routine(digest="d2")))
        rec.finished(completed=True)
        assert rec.has_run("d2")


def test_a_session_stopped_in_an_exercise_keeps_its_time_and_the_pain(tmp_path: Path) -> None:
    path, clock = tmp_path / "h.sqlite3", Clock()
    with recorder(path, clock) as rec:
        rec.started(fake_session())
        rec.pain(None)  # in the welcome: no exercise to blame
        clock.t += 20  # resting after the pain key: not counted
        rec.exercise_started(0)
        clock.t += 8
        rec.pain(0)
        clock.t += 30
        rec.exercise_done(0, 8.0, skipped=False, restarted=False, stopped=True)
        rec.finished(completed=False)
    (session,) = store.load_sessions(path, details=True)
    assert (session.status, session.seconds) == ("stopped", 8.0)
    assert session.exercises == (ExerciseRecord(0, "Bridge", 8.0, 0, 0, False, False, 0, 0, 1),)
    assert [(e.kind, e.idx) for e in session.events] == [("pain", None), ("pain", 0), ("quit", 0)]


def test_checkin_must_be_one_to_five(tmp_path: Path) -> None:
    with recorder(tmp_path / "h.sqlite3", Clock()) as rec:
        rec.started(fake_session())
        for bad in (0, 6):
            with pytest.raises(ValueError, match="effort must be 1 to 5"):
                rec.checkin(bad)


def test_calls_before_started_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with recorder(path, Clock()) as rec:
        rec.paused()
        rec.exercise_done(0, 1.0, skipped=False, restarted=False)
        rec.finished(completed=True)
        assert rec.warning is None
    assert not path.exists()


def test_load_sessions_without_a_database_creates_nothing(tmp_path: Path) -> None:
    assert store.load_sessions(tmp_path / "none" / "h.sqlite3") == ()
    assert not (tmp_path / "none").exists()


# -- migrations ---------------------------------------------------------------------

MIGRATION_NEXT = (
    "ALTER TABLE sessions ADD COLUMN notes TEXT NOT NULL DEFAULT ''",
    "UPDATE sessions SET notes = 'from before'",
)
LATEST = len(store.MIGRATIONS)


def test_a_history_of_the_release_before_schema_2_keeps_its_data_and_tells_the_truth(
    tmp_path: Path,
) -> None:
    """tests/data/history-v1.sqlite3 was made by the release before schema 2 (with
    tests/data/make_history_v1.py): a session with every exercise done, one played to the
    end with pain in one exercise and another skipped (then listed as "Completed: yes"),
    and one stopped in its second exercise."""
    import shutil

    path = tmp_path / "history.sqlite3"
    shutil.copy(Path(__file__).parent / "data" / "history-v1.sqlite3", path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (1,)
    before = conn.execute("SELECT * FROM exercises ORDER BY session_id, idx").fetchall()
    events = conn.execute("SELECT * FROM events ORDER BY id").fetchall()
    conn.close()
    sessions = store.load_sessions(path, details=True)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (LATEST,)
    assert conn.execute("SELECT * FROM exercises ORDER BY session_id, idx").fetchall() == before
    assert conn.execute("SELECT * FROM events ORDER BY id").fetchall() == events
    conn.close()
    got = [
        (s.id, s.status, s.reached_end, s.exercises_total, s.seconds, s.effort) for s in sessions
    ]
    assert got == [
        (1, "completed", True, 4, 120.0, 3),
        (2, "stopped", True, 4, 67.0, 5),  # pain and a skip: no longer "completed"
        (3, "stopped", False, None, 40.0, None),  # quit: how many it had is not known
    ]
    counts = [(s.exercises_done, s.exercises_skipped, s.exercises_pained) for s in sessions]
    assert counts == [(4, 0, 0), (2, 1, 1), (1, 0, 0)]
    assert sessions[0].started_at == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    with Store(path) as db:  # the history goes on from there
        assert db.has_run("d1gest")
        assert db.resume_point() == ResumePoint(
            3, "back-strength", "/routines/back-strength.yaml", "d1gest", 1
        )


def test_a_v1_database_is_migrated_in_order_keeping_its_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "h.sqlite3"
    with recorder(path, Clock()) as rec:
        rec.started(fake_session())
        rec.finished(completed=True)
    monkeypatch.setattr(store, "MIGRATIONS", (*store.MIGRATIONS, MIGRATION_NEXT))
    with Store(path) as db:
        assert len(db.sessions()) == 1
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (LATEST + 1,)
    rows = conn.execute("SELECT reached_end, notes FROM sessions").fetchall()
    assert rows == [(1, "from before")]


def test_an_empty_file_gets_every_migration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "h.sqlite3"
    path.touch()
    monkeypatch.setattr(store, "MIGRATIONS", (*store.MIGRATIONS, MIGRATION_NEXT))
    Store(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (LATEST + 1,)
    assert "notes" in [r[1] for r in conn.execute("PRAGMA table_info(sessions)")]


def test_a_failing_migration_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "h.sqlite3"
    Store(path).close()
    broken = ("CREATE TABLE notes (x)", "ALTER TABLE nowhere ADD COLUMN y")
    monkeypatch.setattr(store, "MIGRATIONS", (*store.MIGRATIONS, broken))
    with pytest.raises(StoreError, match="no such table: nowhere"):
        Store(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (LATEST,)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'notes'").fetchall() == []


def test_a_database_from_a_newer_voicecoach_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    sqlite3.connect(path).execute("PRAGMA user_version = 7")
    with pytest.raises(StoreError) as info:
        Store(path)
    assert str(info.value) == (
        f"history database {path}: schema 7 is newer than this voicecoach's {LATEST}"
    )


# -- crash safety -------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from tests.fakes import fake_session
    from voicecoach.adapters.recorder import Recorder

    rec = Recorder(Path(sys.argv[1]))
    rec.started(fake_session())
    print("started", rec.session_id, flush=True)
    n = 0
    while rec.warning is None:
        (rec.paused if n % 2 == 0 else rec.resumed)(0)
        n += 1
        print(n, flush=True)  # after the commit: this write is on disk
    print(rec.warning, flush=True)
    """
)


def test_killing_the_process_loses_at_most_the_write_in_flight(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    root = Path(__file__).resolve().parent.parent
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], cwd=root, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "started 1\n"
    for line in child.stdout:
        if int(line) >= 40:
            break
    child.send_signal(signal.SIGKILL)
    child.wait()
    printed = [line.strip() for line in child.stdout]
    last = int(printed[-1]) if printed else int(line)
    assert child.returncode == -signal.SIGKILL

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    kinds = [r[0] for r in conn.execute("SELECT kind FROM events ORDER BY id")]
    assert last <= len(kinds) <= last + 1
    assert kinds == ["pause", "resume"] * (len(kinds) // 2) + ["pause"] * (len(kinds) % 2)
    pauses = conn.execute("SELECT pauses FROM exercises WHERE idx = 0").fetchone()
    assert pauses == (kinds.count("pause"),)  # the counter and its event are one write


# -- a broken database never stops a workout ----------------------------------------


def play_through(rec: Recorder) -> None:
    """Everything the player may call; none of it may raise."""
    rec.has_run("d1gest")
    rec.started(fake_session())
    rec.set_done(0, 1)
    rec.paused()
    rec.resumed()
    rec.pain(0)
    rec.exercise_done(0, 3.0, skipped=True, restarted=False)
    rec.finished(completed=True)
    rec.checkin(3)
    rec.close()


def test_a_garbage_file_gives_one_warning(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not a database\n" * 100)
    rec = recorder(path, Clock())
    assert rec.has_run("d1gest") is False  # unknown: the safety note is spoken
    play_through(rec)
    assert rec.warning == (
        f"{SAVE_WARNING}{path}: file is not a database (move it aside to start a new history)"
    )
    assert path.read_bytes() == b"this is not a database\n" * 100


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_a_locked_database_gives_one_warning(tmp_path: Path, journal: str) -> None:
    path = tmp_path / "history.sqlite3"
    Store(path).close()
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute(f"PRAGMA journal_mode = {journal}")
    locker.execute("BEGIN EXCLUSIVE")
    try:
        rec = recorder(path, Clock(), timeout=0.05)
        play_through(rec)
        assert rec.warning == f"{SAVE_WARNING}{path}: database is locked"
    finally:
        locker.execute("ROLLBACK")
    assert locker.execute("SELECT COUNT(*) FROM sessions").fetchone() == (0,)


def test_a_database_locked_mid_session_keeps_what_was_saved(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    rec = recorder(path, Clock(), timeout=0.05)
    rec.started(fake_session())
    rec.exercise_done(0, 30.0, skipped=False, restarted=False)
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    rec.paused()
    locker.execute("ROLLBACK")
    rec.resumed()  # writes stay off: one warning, no half-recorded session
    rec.finished(completed=True)
    rec.close()
    assert rec.warning == f"{SAVE_WARNING}{path}: database is locked"
    (session,) = store.load_sessions(path, details=True)
    assert (session.status, len(session.exercises), session.events) == ("running", 1, ())


@contextmanager
def read_only_folder() -> Iterator[Path]:
    """A folder this process cannot write to, even as root (which ignores the mode bits,
    so root drops its effective uid to nobody's for the duration)."""
    folder = Path(tempfile.mkdtemp(prefix="vc-ro-"))
    folder.chmod(0o555)
    root = os.geteuid() == 0
    try:
        if root:
            os.seteuid(65534)
        yield folder
    finally:
        if root:
            os.seteuid(0)
        folder.chmod(0o755)
        folder.rmdir()


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("history.sqlite3", "unable to open database file"),
        ("sub/history.sqlite3", "Permission denied"),
    ],
)
def test_a_read_only_folder_gives_one_warning(where: str, reason: str) -> None:
    with read_only_folder() as folder:
        path = folder / where
        rec = recorder(path, Clock())
        play_through(rec)
        assert not path.exists()
    assert rec.warning == f"{SAVE_WARNING}{path}: {reason}"


def test_store_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"\x00garbage" * 200)
    with pytest.raises(StoreError) as info:
        store.load_sessions(path)
    assert str(info.value) == (
        f"history database {path}: file is not a database (move it aside to start a new history)"
    )
    assert info.value.exit_code == 1


# -- the background recorder: the player never waits for the disk ----------------------


def background(path: Path, clock: Clock, **kw: float) -> BackgroundRecorder:
    return BackgroundRecorder(path, now=clock.now, monotonic=clock.monotonic, **kw)


def test_the_background_recorder_saves_the_times_of_the_calls_not_of_the_writes(
    tmp_path: Path,
) -> None:
    path, clock = tmp_path / "h.sqlite3", Clock()
    Store(path).close()
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another process writing, for a moment
    rec = background(path, clock, timeout=10.0)
    began = time.monotonic()
    rec.started(fake_session())
    rec.exercise_started(0)
    clock.t += 30
    rec.set_done(0, 1)
    rec.exercise_done(0, 30.0, skipped=False, restarted=False)
    clock.t += 5
    rec.finished(completed=True)
    rec.checkin(2)
    assert time.monotonic() - began < 0.5  # queued, not written: the lock holds them up
    time.sleep(0.3)
    locker.execute("ROLLBACK")
    rec.close()
    assert rec.warning is None
    (session,) = store.load_sessions(path, details=True)
    assert (session.started_at, session.ended_at, session.seconds) == (START, at(35), 35.0)
    # Played to its end, though the fake session's other three exercises never reported.
    assert (session.status, session.reached_end, session.effort) == ("stopped", True, 2)
    assert session.exercises == (ExerciseRecord(0, "Bridge", 30.0, 1, 0, True, False, 0, 0, 0),)


@pytest.mark.parametrize("problem", ["corrupt", "locked"])
def test_the_background_recorder_never_holds_up_the_player(tmp_path: Path, problem: str) -> None:
    path = tmp_path / "history.sqlite3"
    locker = None
    if problem == "corrupt":
        path.write_bytes(b"this is not a database\n" * 100)
    else:
        Store(path).close()
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("PRAGMA journal_mode = delete")  # a lock that stops readers too
        locker.execute("BEGIN EXCLUSIVE")
    try:
        rec = background(path, Clock(), timeout=0.5)
        began = time.monotonic()
        assert rec.has_run("d1gest", timeout=0.05) is False  # unknown: say the safety note
        looked = time.monotonic() - began
        for _ in range(3):
            rec.started(fake_session())
            rec.pain(0)
            rec.exercise_done(0, 1.0, skipped=True, restarted=False)
            rec.finished(completed=True)
            rec.checkin(5)
        called = time.monotonic() - began - looked
        rec.close()
    finally:
        if locker is not None:
            locker.execute("ROLLBACK")
    assert looked < 0.4  # the lookup's own short wait, not the writes' patience
    assert called < 0.2
    reason = (
        "database is locked"
        if locker
        else ("file is not a database (move it aside to start a new history)")
    )
    assert rec.warning == f"{SAVE_WARNING}{path}: {reason}"
    if locker is not None:
        assert locker.execute("SELECT COUNT(*) FROM sessions").fetchone() == (0,)


def test_has_run_before_the_first_session_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "data" / "history.sqlite3"
    rec = background(path, Clock())
    assert rec.has_run("d1gest") is False
    assert not path.parent.exists()
    rec.close()
    assert rec.warning is None and not path.parent.exists()


def test_a_database_that_does_not_answer_in_time_is_left_behind(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    Store(path).close()
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    rec = background(path, Clock(), timeout=30.0)
    try:
        rec.started(fake_session())
        began = time.monotonic()
        rec.close(wait=0.1)
        assert time.monotonic() - began < 2.0
        assert rec.warning == f"{SAVE_WARNING}the history database did not answer in time"
        rec.finished(completed=True)  # after close: ignored
    finally:
        locker.execute("ROLLBACK")
    worker = rec._thread
    assert worker is not None
    worker.join(10)  # the write it was waiting for now goes through, then it ends
    assert not worker.is_alive()
    assert [s.status for s in store.load_sessions(path)] == ["running"]


def test_a_bug_in_a_write_becomes_the_warning_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = background(tmp_path / "h.sqlite3", Clock())
    rec.started(fake_session())
    rec.set_done("not an index", 1)  # type: ignore[arg-type]
    rec.exercise_done(0, 1.0, skipped=False, restarted=False)
    rec.close()
    assert rec.warning is not None and rec.warning.startswith(SAVE_WARNING)
    assert "Traceback" not in capsys.readouterr().err
