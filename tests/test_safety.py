"""Safety and check-ins: the safety note (first run, and again with ?), the pain key, the
end-of-session check-in, and what of them reaches the history.

The player and the check-in are tested with fakes (recording output, scripted keys, a
fake clock); `voicecoach run` with fake speech for the history's failure paths, and end
to end, in a terminal, with real speech into the PulseAudio null sink.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.fakes import (
    DRAIN,
    SHORT_ROUTINE,
    FakeClock,
    FakeStatus,
    RecordingOut,
    ScriptedKeys,
    chapter,
    middle,
    play,
    seconds,
    the_wait,
)
from tests.pulse import Capture, PulseServer, locate, to_rate
from tests.terminal import Terminal, voicecoach_command
from voicecoach.app import checkin, player
from voicecoach.app.session import Session
from voicecoach.core import coaching as say
from voicecoach.core.messages import ENGLISH
from voicecoach.core.status import Guide

SAFETY = "Move slowly, and stop if anything hurts."
SAFE_ROUTINE = SHORT_ROUTINE.replace("title: Test\n", f"title: Test\nsafety: {SAFETY}\n")


@pytest.fixture
def session(make_session: Callable[..., Session]) -> Session:
    return make_session(SAFE_ROUTINE)


def joined(session: Session, *texts: str) -> np.ndarray:
    """Phrases as the player says them in one go: a short gap between them."""
    gap = np.zeros(player.CONFIRM_GAP // 2, np.int16)
    parts = [p for t in texts for p in (gap, session.say(t))][1:]
    return np.concatenate(parts)


def lead(session: Session, text: str) -> np.ndarray:
    """A confirmation as it leads the session audio: the phrase, then the gap."""
    return np.concatenate([session.say(text), np.zeros(player.CONFIRM_GAP, np.int16)])


def starts_with(samples: np.ndarray, head: np.ndarray) -> None:
    np.testing.assert_array_equal(samples[: len(head)], head)


# -- the safety note ---------------------------------------------------------------------------


def test_the_safety_note_is_said_in_the_welcome_only_when_asked_for(
    make_session: Callable[..., Session],
) -> None:
    from tests.fakes import FakeSpeech, fake_sounds
    from voicecoach.app import session
    from voicecoach.routine import loader as routine

    loaded = routine.load_text(SAFE_ROUTINE, "safe.yaml")
    with_note, without = (
        session.prepare(loaded, speech=FakeSpeech(), sounds=fake_sounds(), include_safety=flag)
        for flag in (True, False)
    )
    said = [[e.text for e in s.timeline.events if e.kind == "speech"] for s in (with_note, without)]
    assert said[0][:3] == ["Welcome to Test.", SAFETY, "Let's begin."]
    assert said[1][:2] == ["Welcome to Test.", "Let's begin."]
    assert said[0][3:] == said[1][2:]  # nothing else changes
    first = next(c for c in with_note.timeline.chapters if c.index == 0)
    note = next(e for e in with_note.timeline.events if e.text == SAFETY)
    assert note.end <= first.start  # before the first exercise


def test_question_mark_offers_the_safety_note_and_again_says_it(session: Session) -> None:
    at = middle(chapter(session, "Bridge"), session)
    run = play(session, [(at, "?"), (at + 1.0, "?"), (500, "space")])
    first, where, note = run.plays[:3]
    text = Guide(session.timeline).where(first.heard)
    assert text.startswith("Bridge. Exercise one of three. About ")
    starts_with(where.samples, lead(session, f"{text} {say.SAFETY_OFFER}"))
    # The second ? came while the answer was said: the session had not moved on.
    assert where.heard < len(session.say(f"{text} {say.SAFETY_OFFER}"))
    starts_with(note.samples, lead(session, SAFETY))
    body = note.samples[len(lead(session, SAFETY)) :]
    np.testing.assert_array_equal(body, run.render(first.heard, the_wait(session)[0]))
    assert run.result is not None and (run.result.pauses, run.result.skips) == (0, 0)


def test_question_mark_long_after_says_where_again(session: Session) -> None:
    part = next(c for c in session.timeline.chapters if c.title == "Bird-dog").parts[0]
    at = seconds(session, part.start) + 0.5
    run = play(session, [(at, "?"), (at + 12.0, "?"), (500, "space")])
    guide = Guide(session.timeline)
    first, answer, again = run.plays[:3]
    words = f"{guide.where(first.heard)} {say.SAFETY_OFFER}"
    starts_with(answer.samples, lead(session, words))
    # Past the window: where we are now (the session had moved on), not the note.
    now = first.heard + answer.heard - len(lead(session, words))
    assert now > first.heard
    starts_with(again.samples, lead(session, f"{guide.where(now)} {say.SAFETY_OFFER}"))


def test_question_mark_twice_while_paused(session: Session) -> None:
    at = middle(chapter(session, "Bridge"), session)
    run = play(session, [(at, "space"), (at + 2, "?"), (at + 3, "?"), (at + 20, "space"),
                         (500, "space")])  # fmt: skip
    said = [p.samples for p in run.plays[1:4]]
    np.testing.assert_array_equal(said[0], session.say(player.PAUSED))
    where = Guide(session.timeline).where(run.plays[0].heard)
    np.testing.assert_array_equal(said[1], session.say(f"{where} {say.SAFETY_OFFER}"))
    np.testing.assert_array_equal(said[2], session.say(SAFETY))
    starts_with(run.plays[4].samples, lead(session, player.RESUMING))


def test_without_a_safety_note_question_mark_only_says_where(
    make_session: Callable[..., Session],
) -> None:
    plain = make_session()
    at = middle(chapter(plain, "Bridge"), plain)
    run = play(plain, [(at, "?"), (at + 1.0, "?"), (500, "space")])
    guide = Guide(plain.timeline)
    starts_with(run.plays[1].samples, lead(plain, guide.where(run.plays[0].heard)))
    starts_with(run.plays[2].samples, lead(plain, guide.where(run.plays[0].heard)))


# -- the pain key ------------------------------------------------------------------------------


def test_pain_stops_the_exercise_advises_and_waits_for_n(session: Session) -> None:
    bridge = chapter(session, "Bridge")
    at = middle(bridge, session)
    run = play(session, [(at, "p"), (at + 20, "n"), (500, "space")])
    first, advice, skipping = run.plays[:3]
    rate = session.timeline.sample_rate
    assert first.stopped == round((at + DRAIN) * rate)  # stopped at once (as the device can)
    np.testing.assert_array_equal(advice.samples, joined(session, say.PAIN, say.PAIN_NEXT))
    assert advice.stopped is None  # said in full: nothing was pressed during it
    # It waited for the key: the next sound is the answer to n, 20 s later.
    assert skipping.started == pytest.approx(first.started + at + 20, abs=0.01)
    bird_dog, _ = chapter(session, "Bird-dog")
    starts_with(skipping.samples, lead(session, "Skipping to Bird-dog."))
    rest = skipping.samples[len(lead(session, "Skipping to Bird-dog.")) :]
    np.testing.assert_array_equal(rest, run.render(bird_dog, the_wait(session)[0]))
    assert run.recorder.named("pain") == [("pain", 0)]
    (done,) = [c for c in run.recorder.named("done") if c[1] == 0]
    # Skipped, and its time ends at the key: the 20 s rest is not exercise time.
    assert done[3:] == (True, False, False)
    assert done[2] == pytest.approx(seconds(session, first.heard - bridge[0]), abs=0.2)
    result = run.result
    assert result is not None and result.completed
    assert (result.pains, result.skips, result.pauses) == (1, 1, 0)


def test_pain_then_q_stops_the_session(session: Session) -> None:
    at = middle(chapter(session, "Bird-dog"), session)
    run = play(session, [(at, "p"), (at + 8, "q")])
    np.testing.assert_array_equal(run.plays[-1].samples, session.say(say.PAIN_STOP))
    assert run.plays[-1].stopped is None
    result = run.result
    assert result is not None and not result.completed and result.exercise == 1
    assert result.pains == 1 and result.reached == 2
    assert run.recorder.named("pain") == [("pain", 1)]
    (done,) = [c for c in run.recorder.named("done") if c[1] == 1]
    assert done[3:] == (False, False, True)  # stopped in it
    assert run.recorder.calls[-1] == ("finished", False)


def test_pain_reminds_of_the_choice_and_never_resumes_by_itself(session: Session) -> None:
    at = middle(chapter(session, "Bridge"), session)
    run = play(session, [(at, "p"), (at + 70, "space"), (at + 75, "n"), (500, "space")])
    advice = joined(session, say.PAIN, say.PAIN_NEXT)
    choice = session.say(say.PAIN_NEXT)
    said = [p.samples for p in run.plays[1:5]]
    np.testing.assert_array_equal(said[0], advice)
    np.testing.assert_array_equal(said[1], choice)  # ~30 s of silence: a reminder
    np.testing.assert_array_equal(said[2], choice)
    np.testing.assert_array_equal(said[3], choice)  # space: the choice again, no resuming
    gaps = [b.started - a.started for a, b in zip(run.plays[1:3], run.plays[2:4], strict=True)]
    assert all(29 <= g <= 31 for g in gaps), gaps  # about every 30 s, not more often
    starts_with(run.plays[5].samples, lead(session, "Skipping to Bird-dog."))


def test_pain_in_a_rest_is_the_exercise_just_done_and_b_restarts(session: Session) -> None:
    at = middle(chapter(session, "Rest"), session)
    run = play(session, [(at, "p"), (at + 5, "b"), (500, "space")])
    assert run.recorder.named("pain") == [("pain", 0)]
    starts_with(run.plays[2].samples, lead(session, "Starting Bridge again."))
    start, _ = chapter(session, "Bridge")
    body = run.plays[2].samples[len(lead(session, "Starting Bridge again.")) :]
    np.testing.assert_array_equal(body, run.render(start, the_wait(session)[0]))
    assert run.result is not None and run.result.restarts == 1


def test_pain_at_the_last_exercise_offers_to_finish(session: Session) -> None:
    at = seconds(session, the_wait(session)[0]) + 2  # the manual-advance plank
    run = play(session, [(at, "p"), (at + 4, "n")])
    np.testing.assert_array_equal(run.plays[1].samples, joined(session, say.PAIN, say.PAIN_LAST))
    finish, _ = chapter(session, "Finish")
    starts_with(run.plays[2].samples, lead(session, "Skipping to the end."))
    np.testing.assert_array_equal(
        run.plays[2].samples[len(lead(session, "Skipping to the end.")) :], run.render(finish)
    )
    assert run.recorder.named("pain") == [("pain", 2)]
    assert run.result is not None and run.result.completed


def test_pain_while_paused_and_in_the_welcome(session: Session) -> None:
    bridge = middle(chapter(session, "Bridge"), session)
    run = play(session, [(bridge, "space"), (bridge + 3, "p"), (bridge + 9, "q")])
    said = [p.samples for p in run.plays[1:4]]
    np.testing.assert_array_equal(said[0], session.say(player.PAUSED))
    np.testing.assert_array_equal(said[1], joined(session, say.PAIN, say.PAIN_NEXT))
    np.testing.assert_array_equal(said[2], session.say(say.PAIN_STOP))
    assert [c[0] for c in run.recorder.calls[-5:]] == ["paused", "resumed", "pain", "done",
                                                        "finished"]  # fmt: skip
    welcome = play(session, [(1.0, "p"), (3.0, "q")])
    assert welcome.recorder.named("pain") == [("pain", None)]
    assert welcome.result is not None and welcome.result.reached == 0


def test_pain_during_the_finish_says_to_rest_and_ends(session: Session) -> None:
    finish, _ = chapter(session, "Finish")
    wait_start, wait_end = the_wait(session)
    at = seconds(session, wait_start) + 1
    into = seconds(session, finish - wait_end) + 0.5  # the finish plays after the wait
    run = play(session, [(at, "space"), (at + into, "p")])
    # Nothing left to skip to: the advice alone, in full, and the session is over.
    np.testing.assert_array_equal(run.plays[-1].samples, session.say(say.PAIN))
    assert run.plays[-1].stopped is None
    assert run.result is not None and run.result.completed and run.result.pains == 1


# -- the check-in ------------------------------------------------------------------------------


def ask(
    session: Session,
    script: list[tuple[float, str]],
    wait: float = checkin.WAIT,
    status: FakeStatus | None = None,
) -> tuple[int | None, RecordingOut, FakeClock]:
    clock = FakeClock()
    out = RecordingOut(clock, drain=DRAIN)
    keys = ScriptedKeys([(clock.now + t, k) for t, k in script], clock, clock.sleep)
    answer = checkin.check_in(session, out=out, keys=keys, status=status, clock=clock, wait=wait)
    return answer, out, clock


def test_check_in_takes_a_digit_and_says_thank_you(session: Session) -> None:
    answer, out, _ = ask(session, [(1.0, "3")])
    assert answer == 3
    question, thanks = out.plays
    np.testing.assert_array_equal(question.samples, session.say(say.CHECKIN))
    assert question.stopped is not None  # the answer cut the question short
    np.testing.assert_array_equal(thanks.samples, session.say("Thank you. Three out of five."))
    assert thanks.stopped is None  # said in full before returning


def test_check_in_reminds_once_then_lapses(session: Session) -> None:
    start = FakeClock().now
    status = FakeStatus()
    answer, out, clock = ask(session, [], status=status)
    assert answer is None
    question, reminder, no_answer = out.plays
    rate = session.timeline.sample_rate
    np.testing.assert_array_equal(reminder.samples, session.say(say.CHECKIN_REMINDER))
    asked_for = len(question.samples) / rate
    assert reminder.started - start == pytest.approx(asked_for + checkin.WAIT, abs=0.2)
    reminded_for = len(reminder.samples) / rate
    lapsed = no_answer.started - reminder.started
    assert lapsed == pytest.approx(reminded_for + checkin.WAIT, abs=0.2)
    # Said in full, and shown: "No answer, saved without effort."
    np.testing.assert_array_equal(no_answer.samples, session.say(say.CHECKIN_NO_ANSWER))
    assert no_answer.stopped is None
    assert clock.now - no_answer.started == pytest.approx(len(no_answer.samples) / rate, abs=0.2)
    assert status.lines == [checkin.PROMPT, "No answer, saved without effort."]
    assert status.cleared == 1


def test_check_in_answered_after_the_reminder(session: Session) -> None:
    answer, out, _ = ask(session, [(3.0, "space"), (4.0, "n"), (18.0, "5")])
    assert answer == 5
    assert len(out.plays) == 3  # question, reminder, thanks: other keys are ignored
    np.testing.assert_array_equal(out.plays[2].samples, session.say(say.checkin_thanks(ENGLISH, 5)))


def test_check_in_q_skips_and_question_mark_asks_again(session: Session) -> None:
    answer, out, _ = ask(session, [(0.5, "q")])
    assert answer is None and len(out.plays) == 2
    assert out.plays[0].stopped is not None  # q cut the question short
    np.testing.assert_array_equal(out.plays[1].samples, session.say(say.CHECKIN_NO_ANSWER))
    answer, out, _ = ask(session, [(5.0, "?"), (6.0, "1")])
    assert answer == 1
    np.testing.assert_array_equal(out.plays[1].samples, session.say(say.CHECKIN))
    assert say.checkin_thanks(ENGLISH, 1) == "Thank you. One out of five."


def test_check_in_ctrl_c(session: Session) -> None:
    with pytest.raises(KeyboardInterrupt):
        ask(session, [(0.5, "ctrl-c")])


# -- `voicecoach run` and the history, with fake speech ------------------------------------------


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


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Any]:
    """`voicecoach run` of SAFE_ROUTINE with fake speech and a recording output; keys
    (timed from the session's start) if a script is given, else no terminal."""
    from dataclasses import replace

    from click.testing import CliRunner

    from tests.fakes import fake_env
    from voicecoach.cli import cli
    from voicecoach.cli.env import real_env

    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))
    fakes = fake_env()  # the real history, last run and status line (none: no terminal)
    env = replace(real_env(), speech=fakes.speech, sounds=fakes.sounds)
    path = tmp_path / "short.yaml"
    path.write_text(SAFE_ROUTINE)
    outputs: list[RecordingOut] = []

    def invoke(script: list[tuple[float, str]] | None = None) -> tuple[Any, RecordingOut]:
        clock = FakeClock()
        outputs.append(RecordingOut(clock, drain=DRAIN))

        @contextlib.contextmanager
        def open_keys() -> Iterator[StartedKeys | None]:
            yield None if script is None else StartedKeys(script, clock)

        run_env = replace(env, output=lambda: outputs[-1], keys=open_keys)
        result = CliRunner().invoke(cli, ["run", str(path)], catch_exceptions=False, obj=run_env)
        return result, outputs[-1]

    invoke.path = path  # type: ignore[attr-defined]
    invoke.db = tmp_path / "data" / "history.sqlite3"  # type: ignore[attr-defined]
    return invoke


def prepared(include_safety: bool) -> Session:
    from tests.fakes import FakeSpeech, fake_sounds
    from voicecoach.app import session
    from voicecoach.routine import loader as routine

    loaded = routine.load_text(SAFE_ROUTINE, "short.yaml")
    return session.prepare(
        loaded, speech=FakeSpeech(), sounds=fake_sounds(), include_safety=include_safety
    )


def test_run_says_the_safety_note_the_first_time_only_and_logs_every_run(
    run_cli: Any,
) -> None:
    from click.testing import CliRunner

    from voicecoach.adapters import store
    from voicecoach.cli import cli

    heard = []
    for _ in range(2):
        result, out = run_cli()
        assert result.exit_code == 0, result.output
        assert result.stderr == "Preparing your session…\n"  # no warning: it was saved
        heard.append(out.plays[-1].samples)
    first, second = (prepared(flag) for flag in (True, False))
    np.testing.assert_array_equal(heard[0], first.mixer.render(0, first.timeline.length))
    np.testing.assert_array_equal(heard[1], second.mixer.render(0, second.timeline.length))
    sessions = store.load_sessions(run_cli.db, details=True)
    assert [(s.routine_name, s.status, s.effort) for s in sessions] == [
        ("short", "completed", None),  # no terminal: no check-in
        ("short", "completed", None),
    ]
    digest = sessions[0].routine_digest
    assert len(digest) == 64 and sessions[1].routine_digest == digest
    assert sessions[0].routine_path == str(run_cli.path.resolve())
    for s in sessions:
        assert [(e.idx, e.name, e.done, e.skipped) for e in s.exercises] == [
            (0, "Bridge", True, False),
            (1, "Bird-dog", True, False),
            (2, "Plank", True, False),
        ]
        assert (s.exercises[1].sets_done, s.exercises[1].sides_done) == (2, 4)
        assert s.ended_at is not None and s.ended_at >= s.started_at
    shown = CliRunner().invoke(cli, ["history"])
    assert shown.exit_code == 0
    rows = [line for line in shown.stdout.splitlines() if " short " in line]
    assert len(rows) == 2 and all(row.endswith("yes") for row in rows)


def test_run_with_keys_logs_the_pain_the_skip_and_the_check_in(run_cli: Any) -> None:
    from click.testing import CliRunner

    from voicecoach.adapters import store
    from voicecoach.cli import cli

    session = prepared(True)
    bridge = middle(chapter(session, "Bridge"), session)
    bird_dog, _ = chapter(session, "Bird-dog")
    wait = seconds(session, the_wait(session)[0] - bird_dog)  # from the skip to the plank's wait
    script = [(bridge, "p"), (bridge + 4, "n"), (bridge + 4.5 + wait + 2, "space"), (900, "4")]
    result, out = run_cli(script)
    assert result.exit_code == 0, result.output
    assert result.stderr == "Preparing your session…\n"
    said = [p.samples for p in out.plays]
    assert any(np.array_equal(s, joined(session, say.PAIN, say.PAIN_NEXT)) for s in said)
    assert np.array_equal(said[-2], session.say(say.CHECKIN))
    assert np.array_equal(said[-1], session.say("Thank you. Four out of five."))
    (saved,) = store.load_sessions(run_cli.db, details=True)
    # Played to the end, but the bridge was stopped for pain: not "completed".
    assert (saved.status, saved.reached_end, saved.effort) == ("stopped", True, 4)
    assert (saved.exercises_total, saved.exercises_done) == (3, 2)
    assert (saved.exercises_skipped, saved.exercises_pained) == (0, 1)
    bridge_row = saved.exercises[0]
    assert (bridge_row.pain, bridge_row.skipped, bridge_row.done) == (1, True, False)
    assert [e.kind for e in saved.events] == ["pain", "skip"]
    shown = CliRunner().invoke(cli, ["history", "--routine", "short"])
    assert shown.exit_code == 0
    header, row = shown.stdout.splitlines()[1:3]
    assert header.split() == ["Date", "Length", "Done", "Skipped", "Pain", "Effort", "Completed"]
    assert row.split()[-5:] == ["2/3", "0", "1", "4", "no"]


def test_run_stopped_in_the_welcome_is_not_asked_and_the_note_comes_again(
    run_cli: Any,
) -> None:
    from voicecoach.adapters import store

    result, _ = run_cli([(1.0, "q")])
    assert result.exit_code == 0, result.output
    result, out = run_cli([(1.0, "q")])
    first = prepared(True)
    # Not heard to the end last time: the safety note is said again.
    heard = out.plays[1].heard
    assert heard > len(first.say(SAFETY)) * 0.5
    np.testing.assert_array_equal(out.plays[1].samples[:heard], first.mixer.render(0, heard))
    assert not any(np.array_equal(p.samples, first.say(say.CHECKIN)) for p in out.plays)
    sessions = store.load_sessions(run_cli.db, details=True)
    assert [(s.status, s.effort, s.exercises) for s in sessions] == [("stopped", None, ())] * 2


@contextlib.contextmanager
def corrupt(db: Path) -> Iterator[None]:
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not a database\n" * 100)
    yield
    assert db.read_bytes() == b"this is not a database\n" * 100


@contextlib.contextmanager
def locked(db: Path, journal: str) -> Iterator[None]:
    from voicecoach.adapters.store import Store

    Store(db).close()
    locker = sqlite3.connect(db, isolation_level=None)
    locker.execute(f"PRAGMA journal_mode = {journal}")
    locker.execute("BEGIN EXCLUSIVE")  # another process, writing and holding on
    try:
        yield
    finally:
        locker.execute("ROLLBACK")
    assert locker.execute("SELECT COUNT(*) FROM sessions").fetchone() == (0,)


@pytest.mark.parametrize(
    ("problem", "reason"),
    [
        ("corrupt", "file is not a database (move it aside to start a new history)"),
        ("locked wal", "database is locked"),
        ("locked delete", "database is locked"),
    ],
)
def test_a_broken_history_never_stops_the_workout(run_cli: Any, problem: str, reason: str) -> None:
    db: Path = run_cli.db
    with corrupt(db) if problem == "corrupt" else locked(db, problem.split()[1]):
        session = prepared(True)
        bridge = middle(chapter(session, "Bridge"), session)
        began = time.monotonic()
        result, out = run_cli([(bridge, "p"), (bridge + 2, "q"), (60, "2")])
        took = time.monotonic() - began
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "Preparing your session…",
        f"Warning: this session could not be saved: {db}: {reason}",
        "Stopped. `voicecoach run --resume` starts again at Bridge.",
    ]
    # The workout went on as ever: safety note (unknown history: said), pain, stop, check-in.
    np.testing.assert_array_equal(
        out.plays[1].samples[: out.plays[1].heard],
        session.mixer.render(0, out.plays[1].heard),
    )
    said = [p.samples for p in out.plays]
    assert np.array_equal(said[2], joined(session, say.PAIN, say.PAIN_NEXT))
    assert np.array_equal(said[3], session.say(say.PAIN_STOP))
    assert np.array_equal(said[-1], session.say(say.checkin_thanks(ENGLISH, 2)))
    assert took < 15  # at most the history's own short waits, never the whole run


# -- end to end: a terminal, real speech, the PulseAudio null sink --------------------------------

E2E_ROUTINE = """\
title: Safety check
safety: Move slowly, and stop at once if anything hurts.
voice: {rate: 220}
exercises:
  - name: Bridge
    lead_in: 3s
    hold: 6s
"""


@pytest.mark.audio
@pytest.mark.slow
def test_in_a_terminal_safety_first_time_pain_check_in_and_history(
    pulse: PulseServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voicecoach.adapters import store
    from voicecoach.app.env import prepare_ref
    from voicecoach.cli.env import real_env

    cache = tmp_path / "cache"
    monkeypatch.setenv("VOICECOACH_CACHE_DIR", str(cache))  # the same clips as the runs
    env = pulse.client_env(
        VOICECOACH_CACHE_DIR=str(cache),
        VOICECOACH_STATE_DIR=str(tmp_path / "state"),
        VOICECOACH_DATA_DIR=str(tmp_path / "data"),
        TERM="xterm-256color",
    )
    path = tmp_path / "safety.yaml"
    path.write_text(E2E_ROUTINE)
    recordings = []
    errors = []
    size = (24, 80)

    # First run: the safety note, then p in the Bridge, n to the end, and 4 for the check-in.
    with Capture(pulse) as capture:
        term = Terminal([*voicecoach_command(), "run", str(path)], env, size=size)
        term.wait_for("1/1  Bridge")
        time.sleep(1.0)
        term.type(b"p")
        term.wait_for("Pain: rest (n: next, q: stop)")
        time.sleep(2.5)  # part of the advice; n may cut it short
        term.type(b"n")
        term.wait_for("How hard was that?")
        time.sleep(0.5)
        term.type(b"4")
        code, err, _ = term.finish()
        time.sleep(0.3)
        recordings.append(capture.stop())
    assert code == 0, err
    errors.append(err)
    summary = "\n".join(term.display(size))  # what stays on the screen
    assert "Exercises: 0 of 1 done, 0 skipped, 1 with pain" in summary
    assert "Effort: 4 of 5" in summary and "Saved to your history." in summary

    # Second run: no safety note; q in the Bridge, and q skips the check-in.
    with Capture(pulse) as capture:
        term = Terminal([*voicecoach_command(), "run", str(path)], env, size=size)
        term.wait_for("1/1  Bridge")
        time.sleep(1.0)
        term.type(b"q")
        term.wait_for("How hard was that?")
        time.sleep(0.6)
        term.type(b"q")
        code, err, _ = term.finish()
        time.sleep(0.3)
        recordings.append(capture.stop())
    assert code == 0, err
    errors.append(err)

    keys = "Keys: space pause · n next · b back · ? where (again: safety note) · p pain · q stop"
    assert errors[0].splitlines() == ["Preparing your session…", keys]
    assert errors[1].splitlines() == [
        "Preparing your session…", keys,
        "Stopped. `voicecoach run --resume` starts again at Bridge.",
    ]  # fmt: skip

    # What was heard, found in each recording by its samples.
    prepared = prepare_ref(real_env(), str(path), include_safety=True)
    rate = prepared.timeline.sample_rate
    note = next(e for e in prepared.timeline.events if e.text.startswith("Move slowly"))

    resampled = [to_rate(r, rate) for r in recordings]

    def heard(run: int, samples: np.ndarray, seconds: float = 1.5) -> float:
        x = resampled[run]
        template = samples[: round(seconds * rate)].astype(np.float64) / 32768
        return locate(x, template, 0, len(x))[1]

    safety = prepared.mixer.render(note.start, note.start + round(1.5 * rate))
    assert heard(0, safety) > 0.9
    assert heard(1, safety) < 0.7  # not said the second time
    welcome = prepared.mixer.render(0, round(0.8 * rate))
    assert heard(1, welcome) > 0.9  # (the run itself was heard)
    assert heard(0, prepared.say(say.PAIN)) > 0.9
    # The question was cut short by the answer: its first half second is enough.
    assert heard(0, prepared.say(say.CHECKIN), 0.5) > 0.9
    assert heard(0, prepared.say(say.checkin_thanks(ENGLISH, 4))) > 0.9
    assert heard(1, prepared.say(say.CHECKIN), 0.5) > 0.9

    sessions = store.load_sessions(tmp_path / "data" / "history.sqlite3", details=True)
    # The only exercise was stopped for pain: played to the end, but not completed.
    got = [(s.status, s.reached_end, s.effort) for s in sessions]
    assert got == [("stopped", True, 4), ("stopped", False, None)]
    (bridge,) = sessions[0].exercises
    assert (bridge.pain, bridge.skipped, bridge.done) == (1, True, False)
    assert 1.0 < bridge.seconds_spent < sessions[0].seconds < 60
    assert [e.kind for e in sessions[0].events] == ["pain", "skip"]
    assert [e.kind for e in sessions[1].events] == ["quit"]

    shown = subprocess.run(
        [*voicecoach_command(), "history", "--routine", "safety"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "Safety check (safety): 2 sessions, 0 completed, average effort 4.0"
    assert lines[1].split() == ["Date", "Length", "Done", "Skipped", "Pain", "Effort", "Completed"]
    assert [line.split()[3:] for line in lines[2:4]] == [
        ["0/1", "0", "0", "-", "no"],
        ["0/1", "0", "1", "4", "no"],
    ]
