"""The end of a session: cool-down, get-up cue, what was done, and the tip for next
time from the history's check-ins (issue 13)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes import FakeSpeech, compile_with, fake_sounds
from tests.strategies import simple
from voicecoach.app import session
from voicecoach.core import ending
from voicecoach.core.ending import Progression, progression
from voicecoach.core.messages import ENGLISH
from voicecoach.core.records import EventRecord, ExerciseRecord, SessionRecord
from voicecoach.routine import loader

T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)


def record(day: int, effort: int | None, *, pain: bool = False, digest: str = "d") -> SessionRecord:
    at = T0 + timedelta(days=day)
    events = (EventRecord(at, "pain", 0),) if pain else ()
    return SessionRecord(
        id=day, routine_name="r", routine_path="r.yaml", routine_digest=digest, title="R",
        started_at=at, ended_at=at, status="completed", seconds=600.0, effort=effort,
        events=events,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([], None),
        ([record(1, 2)], None),  # one easy session is not yet a pattern
        ([record(1, 2), record(2, 1)], "more"),
        ([record(2, 1), record(1, 2)], "more"),  # in the order they were done
        ([record(1, 2), record(2, 3)], None),
        ([record(1, 2), record(2, 2), record(3, 5)], "same"),  # hard last time
        ([record(1, 1), record(2, 2, pain=True)], "same"),  # the pain key
        ([record(1, 2), record(2, None), record(3, 1)], "more"),  # unrated runs don't count
        ([record(1, 2), record(2, 1, digest="other")], None),  # another routine's
    ],
)
def test_the_tip_follows_the_last_check_ins(
    history: list[SessionRecord], expected: str | None
) -> None:
    got = progression(history, "d")
    assert (got.advice if got else None) == expected


def test_a_pain_count_on_an_exercise_is_a_pain_press_too() -> None:
    pained = ExerciseRecord(0, "Bridge", 30.0, 1, 0, False, False, 0, 0, pain=1)
    last = replace(record(2, 1), exercises=(pained,))
    assert progression([record(1, 1), last], "d") == Progression("same")


def test_the_tip_names_the_reps() -> None:
    flagship = loader.load("back-strength")  # 15, 12, 10, 12, 12 reps
    assert ending.tip(ENGLISH, flagship, Progression("more")) == "Next time, try fifteen reps."
    assert (
        ending.tip(ENGLISH, flagship, Progression("same")) == "Next time, keep it at twelve reps."
    )
    assert ending.tip(ENGLISH, flagship, None) == ""


def test_the_end_cools_down_says_how_to_get_up_and_what_was_done() -> None:
    flagship = loader.load("back-strength")  # ends on the stomach
    said = [e.text for e in compile_with(flagship).events if e.index == -1][-4:]
    assert said == [
        ending.COOL_DOWN,
        ending.GET_UP,
        "finish",
        "Well done: five exercises, about eighteen minutes.",
    ]
    standing = loader.load("lower-back-relief")  # ends standing: no get-up cue
    assert ending.GET_UP not in [e.text for e in compile_with(standing).events]


def test_the_live_run_says_the_tip_render_does_not() -> None:
    routine = simple(reps=12)
    plain = session.prepare(routine, speech=FakeSpeech(), sounds=fake_sounds()).timeline
    tipped = session.prepare(
        routine, speech=FakeSpeech(), sounds=fake_sounds(), progression=Progression("more")
    ).timeline
    assert plain.events[-1].text == "Well done: one exercise, about one minute."
    assert tipped.events[-1].text == (
        "Well done: one exercise, about one minute. Next time, try fifteen reps."
    )


def test_the_live_run_takes_the_tip_from_its_history() -> None:
    from tests.fakes import fake_env
    from voicecoach.app.workout import _advice
    from voicecoach.errors import VoicecoachError

    easy = [record(1, 2), record(2, 1)]
    assert _advice(fake_env(sessions=lambda: easy), "d") == Progression("more")

    def broken() -> list[SessionRecord]:
        raise VoicecoachError("history database: file is not a database")

    assert _advice(fake_env(sessions=broken), "d") is None  # never stops the workout
