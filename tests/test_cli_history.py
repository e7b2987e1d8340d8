"""`voicecoach history`: the table, each option, and every error path, with exact output."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fakes import fake_session, make_routine
from voicecoach.adapters.recorder import Recorder
from voicecoach.adapters.store import MIGRATIONS
from voicecoach.app import history
from voicecoach.cli import cli
from voicecoach.cli.env import real_env

NOW = datetime(2024, 5, 8, 16, 0, tzinfo=UTC)  # Wednesday 18:00 in Berlin


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty data folder and Berlin time (the fixed 'now' is in ``run``'s environment)."""
    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield tmp_path
    monkeypatch.undo()
    time.tzset()


def record(
    folder: Path,
    started: datetime,
    seconds: float,
    *,
    completed: bool = True,
    name: str = "back-strength",
    effort: int | None = None,
    pain: bool = False,
) -> None:
    clock = {"t": 0.0}
    rec = Recorder(
        folder / "history.sqlite3",
        now=lambda: started + timedelta(seconds=clock["t"]),
        monotonic=lambda: clock["t"],
    )
    with rec:
        rec.started(fake_session(make_routine(name, digest=f"sha-{name}")))
        if pain:
            rec.pain(0)
            rec.exercise_done(0, 5.0, skipped=True, restarted=False)
        if completed:  # every exercise of the fake session (four) played to its end
            for idx in range(4):
                rec.exercise_done(idx, seconds / 4, skipped=False, restarted=False)
        clock["t"] = seconds
        rec.finished(completed)
        if effort is not None:
            rec.checkin(effort)
    assert rec.warning is None


@pytest.fixture
def three(data_dir: Path) -> Path:
    record(data_dir, datetime(2024, 5, 6, 5, 30, tzinfo=UTC), 1450, effort=3)
    record(
        data_dir,
        datetime(2024, 5, 7, 17, 5, tzinfo=UTC),
        312,
        completed=False,
        name="stretch",
        pain=True,
    )
    record(data_dir, datetime(2024, 5, 8, 5, 29, tzinfo=UTC), 3725, effort=4)
    return data_dir


def run(*args: str) -> tuple[int, str, str]:
    """`voicecoach history ...` with the real history store and a fixed clock."""
    env = replace(real_env(), now=lambda: NOW)
    result = CliRunner().invoke(cli, ["history", *args], obj=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_no_history_is_a_friendly_line_and_creates_nothing(data_dir: Path) -> None:
    assert run() == (0, "No sessions yet. Start one with: voicecoach run\n", "")
    assert list(data_dir.iterdir()) == []


def test_the_table(three: Path) -> None:
    assert run() == (
        0,
        (
            "Date              Routine         Length  Done  Skipped  Pain  Effort  Completed\n"
            "2024-05-08 07:29  back-strength  1:02:05   4/4        0     0       4  yes\n"
            "2024-05-07 19:05  stretch          05:12   0/4        0     1       -  no\n"
            "2024-05-06 07:30  back-strength    24:10   4/4        0     0       3  yes\n"
            "Exercises: 8 done, 0 skipped, 1 with pain (in the sessions shown)\n"
            "Streak: 1 day · This week: 1h 31m\n"
        ),
        "",
    )


def test_limit(three: Path) -> None:
    assert run("--limit", "2") == (
        0,
        (
            "Date              Routine         Length  Done  Skipped  Pain  Effort  Completed\n"
            "2024-05-08 07:29  back-strength  1:02:05   4/4        0     0       4  yes\n"
            "2024-05-07 19:05  stretch          05:12   0/4        0     1       -  no\n"
            "2 of 3 sessions shown; --limit N shows more.\n"
            "Exercises: 4 done, 0 skipped, 1 with pain (in the sessions shown)\n"
            "Streak: 1 day · This week: 1h 31m\n"
        ),
        "",
    )


def test_one_routine(three: Path) -> None:
    assert run("--routine", "back-strength") == (
        0,
        (
            "Back strength (back-strength): 2 sessions, 2 completed, average effort 3.5\n"
            "Date               Length  Done  Skipped  Pain  Effort  Completed\n"
            "2024-05-08 07:29  1:02:05   4/4        0     0       4  yes\n"
            "2024-05-06 07:30    24:10   4/4        0     0       3  yes\n"
            "Exercises: 8 done, 0 skipped, 0 with pain (in the sessions shown)\n"
            "Streak: 1 day · This week: 1h 26m\n"
        ),
        "",
    )
    assert run("--routine", "stretch", "--limit", "1") == (
        0,
        (
            "Back strength (stretch): 1 session, 0 completed\n"
            "Date              Length  Done  Skipped  Pain  Effort  Completed\n"
            "2024-05-07 19:05   05:12   0/4        0     1       -  no\n"
            "Exercises: 0 done, 0 skipped, 1 with pain (in the sessions shown)\n"
            "Streak: 0 days · This week: 5m\n"
        ),
        "",
    )


def test_an_unknown_routine(three: Path) -> None:
    assert run("--routine", "yoga") == (
        0,
        "No sessions of 'yoga' yet. Routines in your history: back-strength, stretch.\n",
        "",
    )


def test_json_export(three: Path) -> None:
    code, out, err = run("--json")
    assert (code, err) == (0, "")
    sessions = json.loads(out)["sessions"]
    assert [(s["id"], s["routine_name"], s["status"], s["effort"]) for s in sessions] == [
        (1, "back-strength", "completed", 3),
        (2, "stretch", "stopped", None),
        (3, "back-strength", "completed", 4),
    ]
    assert sessions[1]["exercises"][0]["pain"] == 1
    counts = ("exercises_total", "exercises_done", "exercises_skipped", "exercises_pained")
    got = [tuple(s[k] for k in counts) for s in sessions]
    assert got == [(4, 4, 0, 0), (4, 0, 0, 1), (4, 4, 0, 0)]
    assert [e["kind"] for e in sessions[1]["events"]] == ["pain", "skip", "quit"]


def test_json_export_of_one_routine_limited(three: Path) -> None:
    code, out, _ = run("--json", "--routine", "back-strength", "--limit", "1")
    assert code == 0
    assert [s["id"] for s in json.loads(out)["sessions"]] == [3]


def test_csv_export(three: Path) -> None:
    code, out, err = run("--csv")
    assert (code, err) == (0, "")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == history.CSV_COLUMNS
    got = [
        tuple(r[k] for k in ("id", "completed", "seconds", "effort", "exercises_done"))
        + tuple(r[k] for k in ("exercises_skipped", "exercises_pained", "pain_presses"))
        for r in rows
    ]
    assert got == [
        ("1", "true", "1450.0", "3", "4", "0", "0", "0"),
        ("2", "false", "312.0", "", "0", "0", "1", "1"),
        ("3", "true", "3725.0", "4", "4", "0", "0", "0"),
    ]
    code, out, _ = run("--csv", "--routine", "stretch")
    assert [r["id"] for r in csv.DictReader(io.StringIO(out))] == ["2"]


def test_empty_exports(data_dir: Path) -> None:
    assert run("--csv") == (0, ",".join(history.CSV_COLUMNS) + "\n", "")
    code, out, _ = run("--json")
    assert (code, json.loads(out)["sessions"]) == (0, [])


def test_json_and_csv_together_is_bad_usage(three: Path) -> None:
    assert run("--json", "--csv") == (2, "", "Error: --json and --csv cannot be used together\n")


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_a_bad_limit_is_bad_usage(data_dir: Path, value: str) -> None:
    code, out, err = run("--limit", value)
    assert (code, out) == (2, "")
    last = err.splitlines()[-1]
    assert last.startswith("Error: Invalid value for '--limit': ")


def test_a_corrupt_database_is_one_line(data_dir: Path) -> None:
    path = data_dir / "history.sqlite3"
    path.write_bytes(b"not sqlite at all\n" * 50)
    assert run() == (
        1,
        "",
        (
            f"Error: history database {path}: file is not a database"
            " (move it aside to start a new history)\n"
        ),
    )
    assert run("--json")[0] == 1


def test_a_database_from_a_newer_voicecoach(data_dir: Path) -> None:
    path = data_dir / "history.sqlite3"
    sqlite3.connect(path).execute("PRAGMA user_version = 9")
    assert run() == (
        1,
        "",
        (
            f"Error: history database {path}: schema 9 is newer than this"
            f" voicecoach's {len(MIGRATIONS)}\n"
        ),
    )


def test_help_lists_every_option() -> None:
    result = CliRunner().invoke(cli, ["history", "--help"])
    assert result.exit_code == 0
    for option in ("--json", "--csv", "--routine NAME", "--limit N"):
        assert option in result.stdout
