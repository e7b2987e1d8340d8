"""`voicecoach run` end to end with fake speech, a recording output and scripted keys: one
resume point per routine, what a resumed run says first, no check-in after quitting a
resumed run at once, and the summary left on the screen."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.fakes import (
    SHORT_ROUTINE,
    FakeClock,
    FakeSpeech,
    FakeStatus,
    RecordingOut,
    ScriptedKeys,
    chapter,
    fake_sounds,
)
from voicecoach.adapters import last_run
from voicecoach.app.session import Session
from voicecoach.core import coaching as say
from voicecoach.core.records import Summary
from voicecoach.routine import loader


class StartedKeys:
    """Scripted keys, timed from the first time the player asks (the session's start)."""

    def __init__(self, script: list[tuple[float, str]], clock: FakeClock) -> None:
        self._script, self._clock = script, clock
        self._keys: ScriptedKeys | None = None

    def get(self, timeout: float) -> str | None:
        if self._keys is None:
            now = self._clock.now
            self._keys = ScriptedKeys(
                [(now + t, k) for t, k in self._script], self._clock, self._clock.sleep
            )
        return self._keys.get(timeout)


@dataclass
class Ran:
    result: Any  # click's Result
    out: RecordingOut
    status: FakeStatus


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Ran]:
    """`voicecoach run ARGS` with the real history and resume points (in tmp_path), fake
    speech, a recording output on a fake clock (the run's ``now`` too), keys if a script
    is given, and a fake screen."""
    from click.testing import CliRunner

    from tests.fakes import fake_env
    from voicecoach.cli import cli
    from voicecoach.cli.env import real_env

    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))
    fakes = fake_env()
    env = replace(real_env(), speech=fakes.speech, sounds=fakes.sounds)

    def invoke(*args: str, script: list[tuple[float, str]] | None = None) -> Ran:
        clock = FakeClock()
        out, status = RecordingOut(clock), FakeStatus()
        # The run's clock (the history's too): a fixed Wednesday noon, so a run's minutes
        # never cross a day or an ISO week. With the real time the history stamped the
        # session with the real clock and the summary counted "this week" on the fake one:
        # a run begun on Sunday at 23:55 was left out of its own week.
        began, start = datetime(2026, 12, 2, 12, 0, tzinfo=UTC), clock.now

        @contextlib.contextmanager
        def keys() -> Iterator[StartedKeys | None]:
            yield None if script is None else StartedKeys(script, clock)

        def now() -> datetime:
            return began + timedelta(seconds=clock.now - start)

        from voicecoach.adapters.recorder import BackgroundRecorder

        run_env = replace(
            env,
            output=lambda: out,
            keys=keys,
            status=lambda: status,
            now=now,
            recorder=lambda: BackgroundRecorder(now=now),  # one clock for the whole run
        )
        result = CliRunner().invoke(cli, ["run", *args], catch_exceptions=False, obj=run_env)
        return Ran(result, out, status)

    return invoke


def routine_file(folder: Path, title: str) -> Path:
    path = folder / f"{title.lower().replace(' ', '-')}.yaml"
    path.write_text(SHORT_ROUTINE.replace("title: Test", f"title: {title}"))
    return path


def prepared(path: Path) -> Session:
    from voicecoach.app import session

    return session.prepare(
        loader.load(str(path)), speech=FakeSpeech(), sounds=fake_sounds(), include_safety=False
    )


def test_one_resume_point_per_routine(run: Callable[..., Ran], tmp_path: Path) -> None:
    morning, evening = routine_file(tmp_path, "Morning"), routine_file(tmp_path, "Evening")
    for path, index in ((morning, 1), (evening, 2)):
        digest = loader.load(str(path)).digest
        assert last_run.save(last_run.LastRun(str(path.resolve()), digest, index, False))
    # With a routine: its own point, though another routine ran since.
    ran = run("--resume", str(morning))
    assert ran.result.exit_code == 0, ran.result.output
    session = prepared(morning)
    start, _ = chapter(session, "Bird-dog")
    words = "Resuming Morning at exercise 2 of 3: Bird-dog."
    assert ran.result.stderr.splitlines() == ["Preparing your session…", words]
    said, played = ran.out.plays[-2:]
    np.testing.assert_array_equal(said.samples, session.say(words))
    np.testing.assert_array_equal(
        played.samples, session.mixer.render(start, session.timeline.length)
    )
    # Alone: the latest unfinished one (the evening's; the morning's is finished now).
    ran = run("--resume")
    assert ran.result.exit_code == 0, ran.result.output
    words = "Resuming Evening at exercise 3 of 3: Plank."
    assert ran.result.stderr.splitlines() == ["Preparing your session…", words]
    np.testing.assert_array_equal(ran.out.plays[-2].samples, prepared(evening).say(words))
    # Nothing is left to resume, for either.
    ran = run("--resume", str(morning))
    assert ran.result.exit_code == 1
    assert ran.result.stderr.splitlines() == [
        "Error: nothing to resume: the last session was played to the end"
    ]


def test_resume_of_a_routine_never_stopped_names_it(
    run: Callable[..., Ran], tmp_path: Path
) -> None:
    morning, evening = routine_file(tmp_path, "Morning"), routine_file(tmp_path, "Evening")
    digest = loader.load(str(evening)).digest
    last_run.save(last_run.LastRun(str(evening.resolve()), digest, 1, False))
    ran = run("--resume", str(morning))
    assert ran.result.exit_code == 1
    assert ran.result.stderr == (
        f"Error: nothing to resume: no session of {morning} was stopped before its end\n"
    )


def test_a_resume_file_of_the_release_before_reads_as_its_routines_point(
    tmp_path: Path,
) -> None:
    path = tmp_path / "last_run.json"
    path.write_text('{"path": "/r/back.yaml", "digest": "abc", "exercise": 2, "finished": false}')
    old = last_run.LastRun("/r/back.yaml", "abc", 2, False)
    assert last_run.load(path=path) == old
    assert last_run.load("/r/back.yaml", path=path) == old
    other = last_run.LastRun("/r/legs.yaml", "def", 1, True)
    assert last_run.save(other, path)
    assert last_run.load(path=path) == old  # the latest unfinished one
    assert last_run.load("/r/legs.yaml", path=path) == other
    assert last_run.load("/r/arms.yaml", path=path) is None


def asked(out: RecordingOut, session: Session) -> bool:
    question = session.say(say.CHECKIN)
    return any(np.array_equal(p.samples, question) for p in out.plays)


def test_no_check_in_after_quitting_a_resumed_run_within_a_minute(
    run: Callable[..., Ran], tmp_path: Path
) -> None:
    path = routine_file(tmp_path, "Morning")
    digest = loader.load(str(path)).digest
    session = prepared(path)
    point = last_run.LastRun(str(path.resolve()), digest, 1, False)
    last_run.save(point)
    ran = run("--resume", str(path), script=[(5.0, "q")])
    assert ran.result.exit_code == 0, ran.result.output
    assert not asked(ran.out, session)
    assert ran.status.summaries[-1].effort is None
    # Quit later in a resumed run: asked, as in any run that reached an exercise.
    last_run.save(point)
    ran = run("--resume", str(path), script=[(65.0, "q"), (70.0, "2")])
    assert ran.result.exit_code == 0, ran.result.output
    assert asked(ran.out, session)
    assert ran.status.summaries[-1].effort == 2
    # And a run from the start that is quit at once is asked too.
    ran = run(str(path), script=[(20.0, "q"), (25.0, "5")])
    assert asked(ran.out, session)


def test_the_summary_left_on_the_screen(run: Callable[..., Ran], tmp_path: Path) -> None:
    path = routine_file(tmp_path, "Morning")
    session = prepared(path)
    bird_dog, _ = chapter(session, "Bird-dog")
    skip = bird_dog / session.timeline.sample_rate + 1
    # Skip the bird-dog, press space at the plank's manual wait, answer the check-in.
    ran = run(str(path), script=[(skip, "n"), (skip + 30, "space"), (skip + 400, "4")])
    assert ran.result.exit_code == 0, ran.result.output
    assert ran.status.lines[0].endswith("Welcome · " + ran.status.lines[0].split(" · ")[-1])
    assert any(line.startswith("2/3 Bird-dog") for line in ran.status.lines)
    (summary,) = ran.status.summaries
    assert summary == Summary(
        title="Morning",
        seconds=summary.seconds,
        total=3,
        done=2,
        skipped=1,
        pained=0,
        effort=4,
        streak=0,  # the bird-dog was skipped: not a completed session
        week_seconds=pytest.approx(summary.seconds),
        saved=None,
    )
    assert summary.seconds >= 0  # the history's time is the real one: a blink here
    # A second run, every exercise done: a streak of one day.
    ran = run(str(path), script=[(600, "space"), (900, "3")])
    (summary,) = ran.status.summaries
    assert (summary.done, summary.skipped, summary.streak, summary.effort) == (3, 0, 1, 3)


def test_no_screen_no_summary(run: Callable[..., Ran], tmp_path: Path) -> None:
    """``--quiet``: no live display and no summary (the history has the run)."""
    path = routine_file(tmp_path, "Morning")
    ran = run(str(path), "--quiet")
    assert ran.result.exit_code == 0, ran.result.output
    assert ran.status.lines == [] and ran.status.summaries == []
    assert ran.result.stdout == ""


def test_a_history_that_cannot_be_saved_is_said_in_the_summary(
    run: Callable[..., Ran], tmp_path: Path
) -> None:
    db = tmp_path / "data" / "history.sqlite3"
    db.parent.mkdir()
    db.write_bytes(b"this is not a database\n" * 100)
    ran = run(str(routine_file(tmp_path, "Morning")))
    assert ran.result.exit_code == 0, ran.result.output
    (summary,) = ran.status.summaries
    assert summary.saved == (
        f"Warning: this session could not be saved: {db}: file is not a database"
        " (move it aside to start a new history)"
    )
    assert (summary.done, summary.streak) == (0, 0)
    assert ran.result.stderr == "Preparing your session…\n"  # said once, on the screen
