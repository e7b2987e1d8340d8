"""How tests/data/history-v1.sqlite3 was made: by the release before history schema 2.

Run from a checkout of that release (its venv, its tests/ on the path), in an empty
folder: ``python make_history_v1.py`` writes h.sqlite3. Kept as the record of what the
file holds; tests/test_store.py reads the committed file.
"""

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.fakes import fake_session
from voicecoach.adapters import store
from voicecoach.adapters.recorder import Recorder

assert len(store.MIGRATIONS) == 1, "needs the release with schema 1"
PATH = Path("h.sqlite3")
START = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
clock = [0.0]


def recorder() -> Recorder:
    return Recorder(
        PATH, now=lambda: START + timedelta(seconds=clock[0]), monotonic=lambda: clock[0]
    )


def later(seconds: float) -> None:
    clock[0] += seconds


with recorder() as r:  # 1: every exercise done
    r.started(fake_session())
    for i in range(4):
        later(30)
        r.exercise_started(i)
        r.exercise_done(i, 30.0, skipped=False, restarted=False)
    r.finished(completed=True)
    r.checkin(3)
later(86400)
with recorder() as r:  # 2: played to the end, pain in one, another skipped
    r.started(fake_session())
    later(30)
    r.exercise_done(0, 30.0, skipped=False, restarted=False)
    later(5)
    r.pain(1)
    r.exercise_done(1, 5.0, skipped=True, restarted=False)
    later(2)
    r.exercise_done(2, 2.0, skipped=True, restarted=False)
    later(30)
    r.exercise_done(3, 30.0, skipped=False, restarted=False)
    r.finished(completed=True)
    r.checkin(5)
later(86400)
with recorder() as r:  # 3: stopped in the second exercise
    r.started(fake_session())
    later(30)
    r.exercise_done(0, 30.0, skipped=False, restarted=False)
    later(10)
    r.exercise_started(1)
    r.exercise_done(1, 10.0, skipped=False, restarted=False, stopped=True)
    r.finished(completed=False)
conn = sqlite3.connect(PATH)
conn.execute("PRAGMA journal_mode = DELETE")  # one file, no -wal beside it
conn.execute("VACUUM")
conn.close()
