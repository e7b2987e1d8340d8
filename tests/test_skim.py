"""`audition --play --skim`: the plan (a pure function of the timeline) hears every phrase
and sound, each exercise's introduction, first and last rep and the transitions, never
cuts a cue; the player plays exactly those samples, says where it is and takes keys."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.fakes import (
    SHORT_ROUTINE,
    FakeClock,
    FakeSpeech,
    FakeStatus,
    RecordingOut,
    ScriptedKeys,
    fake_env,
    fake_sounds,
)
from voicecoach.app.preview import SKIM_KEYS, play_skim
from voicecoach.app.session import Session
from voicecoach.cli import cli
from voicecoach.core import skim
from voicecoach.core.timeline import Event, Timeline
from voicecoach.routine import loader

RATE = 22050


@pytest.fixture(scope="module")
def flagship() -> Session:
    from voicecoach.app import session

    routine = loader.load("back-strength")
    return session.prepare(routine, speech=FakeSpeech(), sounds=fake_sounds())


def inside(e: Event, plan: skim.SkimPlan) -> bool:
    return any(s.start <= e.start and e.end <= s.end for s in plan.spans)


def sounding(timeline: Timeline) -> list[Event]:
    return [e for e in timeline.events if e.kind != "wait"]


# -- the plan ----------------------------------------------------------------------------


def test_every_phrase_and_every_sound_is_heard(flagship: Session) -> None:
    timeline = flagship.timeline
    plan = skim.plan(timeline)
    heard = plan.heard(timeline)
    assert {e.text for e in heard if e.kind == "speech"} == set(timeline.phrases())
    sounds = {e.text for e in sounding(timeline) if e.kind == "sound"}
    assert {e.text for e in heard if e.kind == "sound"} == sounds


def test_the_flagship_skim_is_short(flagship: Session) -> None:
    """The skim cannot be shorter than its distinct cues said once each (243 s with the
    real voice); it stays within 1.6 times that, and under a third of the session (a
    quarter before every rep named its movement: "Seven, knees in." is a phrase of its
    own, so the flagship says 117 distinct phrases, not 103, and the skim is 30% of it
    with the fake voice)."""
    timeline = flagship.timeline
    plan = skim.plan(timeline)
    once = {(e.kind, e.text): e.length for e in sounding(timeline)}
    assert plan.length <= 1.6 * sum(once.values())
    assert plan.length < timeline.length / 3


def test_spans_are_in_order_and_never_cut_a_cue(flagship: Session) -> None:
    plan = skim.plan(flagship.timeline)
    for a, b in itertools.pairwise(plan.spans):
        assert a.start < a.end <= b.start
        assert a.part <= b.part
    for e in sounding(flagship.timeline):
        overlapping = [s for s in plan.spans if e.start < s.end and e.end > s.start]
        assert all(s.start <= e.start and e.end <= s.end for s in overlapping), e
    assert plan.length == sum(s.length for s in plan.spans) + plan.gap * (len(plan.spans) - 1)


def test_intro_first_and_last_rep_and_transitions_of_each_exercise(flagship: Session) -> None:
    timeline = flagship.timeline
    plan = skim.plan(timeline)
    exercises = sorted({e.index for e in timeline.events if e.index >= 0})
    assert [p.title for p in plan.parts] == ["Welcome", *_names(timeline), "Finish"]
    for index in exercises:
        events = [e for e in sounding(timeline) if e.index == index]
        go = next(k for k, e in enumerate(events) if e.kind == "sound" and e.text == "start")
        reps = [(e.set, e.side, e.rep) for e in events if e.rep is not None]
        first, last = reps[0], reps[-1]
        wanted = events[:go]  # the introduction
        wanted += [e for e in events if (e.set, e.side, e.rep) in (first, last)]
        wanted += [e for e in events[go:] if e.rep is None]  # switch, rests
        assert all(inside(e, plan) for e in wanted), index
    holds = [e for e in plan.heard(timeline) if e.kind == "sound" and e.text == "hold"]
    assert holds  # one hold at least (with its countdown and release: whole reps)
    middle = [e for e in sounding(timeline) if e.index == 0 and e.rep == 7]
    assert not any(inside(e, plan) for e in middle if e.text in ("In.", "Out."))


def _names(timeline: Timeline) -> list[str]:
    return list(dict.fromkeys(e.exercise for e in timeline.events if e.exercise))


def test_timed_work_skims_its_first_and_last_set(make_session: Callable[..., Session]) -> None:
    from voicecoach.routine import intervals

    text = intervals.to_yaml(intervals.parse(["30s", "10s", "x8"]))
    timeline = make_session(text, "intervals.yaml").timeline
    plan = skim.plan(timeline)
    starts = [e for e in timeline.events if e.kind == "sound" and e.text == "start"]
    assert [inside(e, plan) for e in starts] == [True] + [False] * 6 + [True]
    assert {e.text for e in plan.heard(timeline) if e.kind == "speech"} == set(timeline.phrases())
    assert plan.length < timeline.length / 2


# -- the player --------------------------------------------------------------------------


def expected_part(session: Session, plan: skim.SkimPlan, part: int) -> np.ndarray:
    gap = np.zeros(plan.gap, dtype=np.int16)
    pieces: list[np.ndarray] = []
    for s in plan.spans:
        if s.part == part:
            pieces += [*([gap] if pieces else []), session.mixer.render(s.start, s.end)]
    return np.concatenate([*pieces, gap])


def test_plays_the_plan_part_by_part_and_says_where(flagship: Session) -> None:
    plan = skim.plan(flagship.timeline)
    out, status = RecordingOut(FakeClock()), FakeStatus()
    result = play_skim(flagship, out=out, status=status, plan=plan)
    assert len(out.plays) == len(plan.parts)
    for part, played in enumerate(out.plays):
        np.testing.assert_array_equal(played.samples, expected_part(flagship, plan, part))
        assert played.stopped is None and played.rate == RATE
    assert not result.stopped
    assert result.seconds == pytest.approx((plan.length + plan.gap) / RATE * 1, rel=0.01)
    shown = " | ".join(status.lines)
    assert "Skim 00:00 / " in status.lines[0] and status.lines[0].endswith("· Welcome")
    assert "· exercise 1 of 5: Knees to chest back stretch" in shown
    assert "· exercise 5 of 5: Opposite arm and leg raise" in shown
    assert status.lines[-1].endswith("· Finish") and status.cleared == 1


def run_keys(
    session: Session, script: list[tuple[float, str]]
) -> tuple[RecordingOut, FakeStatus, skim.SkimPlan, bool]:
    clock = FakeClock()
    out, status = RecordingOut(clock, drain=0.3), FakeStatus()
    keys = ScriptedKeys([(clock.now + t, k) for t, k in script], clock, clock.sleep)
    plan = skim.plan(session.timeline)
    result = play_skim(session, out=out, keys=keys, status=status, plan=plan)
    return out, status, plan, result.stopped


def test_n_and_b_move_between_exercises(flagship: Session) -> None:
    # n in the welcome, n again in exercise 1, then b twice: exercise 2 again (it had
    # played for more than 3 s), then exercise 1 (b near an exercise's start), then q.
    script = [(2.0, "n"), (5.0, "right"), (12.0, "b"), (13.0, "left"), (15.0, "q")]
    out, status, plan, stopped = run_keys(flagship, script)
    parts = [expected_part(flagship, plan, p) for p in range(len(plan.parts))]
    which = [next(k for k, s in enumerate(parts) if np.array_equal(p.samples, s))
             for p in out.plays]  # fmt: skip
    assert which == [0, 1, 2, 2, 1]
    assert stopped and all(p.stopped is not None for p in out.plays)
    assert any("exercise 2 of 5: Supine oblique crunch" in line for line in status.lines)


def test_space_pauses_and_resumes_where_it_stopped(flagship: Session) -> None:
    out, status, plan, stopped = run_keys(flagship, [(4.0, "space"), (60.0, "space")])
    first, second = out.plays[0], out.plays[1]
    welcome = expected_part(flagship, plan, 0)
    assert first.stopped is not None and 0 < first.stopped < len(welcome)
    np.testing.assert_array_equal(second.samples, welcome[first.stopped :])
    assert second.started - first.started >= 60.0 - 4.0  # silent while paused
    assert any(line.endswith("· paused (space resumes)") for line in status.lines)
    assert not stopped and len(out.plays) == len(plan.parts) + 1


def test_q_while_paused_stops(flagship: Session) -> None:
    out, _, _, stopped = run_keys(flagship, [(1.0, "space"), (2.0, "q")])
    assert stopped and len(out.plays) == 1


def test_ctrl_c_stops_at_once_and_is_raised(flagship: Session) -> None:
    clock = FakeClock()
    out = RecordingOut(clock, drain=0.3)
    keys = ScriptedKeys([(clock.now + 1.0, "ctrl-c")], clock, clock.sleep)
    status = FakeStatus()
    with pytest.raises(KeyboardInterrupt):
        play_skim(flagship, out=out, keys=keys, status=status)
    (played,) = out.plays
    assert played.stopped == pytest.approx(1.0 * RATE, abs=0.06 * RATE)  # no drain waited
    assert status.cleared == 1


# -- the command -------------------------------------------------------------------------


GERMAN = """\
title: Rücken
language: de
exercises:
  - name: Brücke
    hold: 6s
    lead_in: 3s
"""


@pytest.mark.parametrize(
    ("text", "keys_line", "status"),
    [
        (SHORT_ROUTINE, SKIM_KEYS, ""),
        (GERMAN, "Tasten: space anhalten · n nächste Übung · b vorige Übung · q beenden",
         "Schnelldurchlauf "),
    ],
    ids=["en", "de"],
)  # fmt: skip
def test_audition_skim_plays_with_the_keys_line(
    tmp_path: Path, text: str, keys_line: str, status: str
) -> None:
    """The keys line, then the skim; both in the routine's language."""
    path = tmp_path / "routine.yaml"
    path.write_text(text)
    clock = FakeClock()
    out, shown = RecordingOut(clock), FakeStatus()

    @contextlib.contextmanager
    def keys() -> Iterator[ScriptedKeys]:
        yield ScriptedKeys([], clock, clock.sleep)

    env = fake_env(output=lambda: out, keys=keys, status=lambda: shown)
    result = CliRunner().invoke(cli, ["audition", str(path), "--skim"], obj=env)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # no transcript
    assert result.stderr.splitlines()[-1] == keys_line
    assert out.plays and all(p.stopped is None for p in out.plays)
    assert shown.lines and shown.cleared == 1
    assert shown.lines[0].startswith(status)


@pytest.mark.slow
def test_the_flagship_skim_with_the_real_voice() -> None:
    """Measured: 6:47 (406.9 s) for the 17:58 session, all 124 phrases (5:38, 19:21 and
    103 before the coaching of issue 13: every rep names its movement, rests set the next
    exercise up, form pointers fill long sets, the end cools down). Under 3 minutes is
    out of reach with every phrase heard: the distinct phrases alone take 310 s."""
    from voicecoach.app.env import prepare_ref
    from voicecoach.cli.env import real_env

    timeline = prepare_ref(real_env(), "back-strength").timeline
    plan = skim.plan(timeline)
    heard = plan.heard(timeline)
    assert {e.text for e in heard if e.kind == "speech"} == set(timeline.phrases())
    assert len(timeline.phrases()) == 124
    said_once = {e.text: e.length for e in timeline.events if e.kind == "speech"}
    assert sum(said_once.values()) > 180 * RATE  # why the skim cannot be under 3 minutes
    assert plan.length < 1.6 * sum(said_once.values())
    assert plan.length < 7 * 60 * RATE
