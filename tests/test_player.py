"""The live player with fakes: a recording output, scripted keys and a fake clock.

What is checked is what the listener gets: which samples are played, in which
buffers, and what is said in between. The device itself is tested in
test_audio_out.py and, end to end, in test_live_timing.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.fakes import (
    DRAIN,
    FakeClock,
    FakeRecorder,
    FakeStatus,
    RecordingOut,
    ScriptedKeys,
    chapter,
    middle,
    play,
    seconds,
    the_wait,
)
from voicecoach.app import player
from voicecoach.app.player import PlayResult, play_session
from voicecoach.app.session import Session
from voicecoach.core import transport
from voicecoach.core.status import Guide


@pytest.fixture
def session(make_session: Callable[..., Session]) -> Session:
    return make_session()


# -- straight through -------------------------------------------------------------------------


def test_without_a_terminal_the_whole_session_is_one_buffer_of_the_rendered_samples(
    session: Session,
) -> None:
    run = play(session, None)
    assert len(run.plays) == 1
    np.testing.assert_array_equal(run.plays[0].samples, run.render(0))
    assert run.plays[0].rate == session.timeline.sample_rate
    assert run.result == PlayResult(
        completed=True, position=session.timeline.length, exercise=3, reached=3
    )


def test_a_manual_step_waits_for_space_and_reminds_gently(session: Session) -> None:
    wait_start, wait_end = the_wait(session)
    at = seconds(session, wait_start)
    run = play(session, [(at + 65.0, "space")])
    reminder = run.said(player.REMINDER, gap=False)
    assert [len(p.samples) for p in run.plays] == [
        wait_start,
        len(reminder),
        len(reminder),
        session.timeline.length - wait_end,
    ]
    np.testing.assert_array_equal(run.plays[0].samples, run.render(0, wait_start))
    np.testing.assert_array_equal(run.plays[1].samples, reminder)
    # Reminders come about every 30 s, not more often.
    assert 29.0 <= run.plays[2].started - run.plays[1].started <= 31.0
    # The release sound etc. follow the press: the estimate's silence is not played.
    np.testing.assert_array_equal(run.plays[3].samples, run.render(wait_end))
    assert run.plays[3].started == pytest.approx(run.plays[0].started + at + 65.0)
    assert run.result is not None and run.result.completed


def test_a_manual_step_without_a_terminal_lasts_its_estimate(session: Session) -> None:
    run = play(session, None)
    wait_start, wait_end = the_wait(session)
    assert not np.any(run.plays[0].samples[wait_start:wait_end])
    assert run.plays[0].heard == session.timeline.length


# -- pause and resume -------------------------------------------------------------------------


def test_pause_and_resume_continue_exactly_where_the_sound_stopped(session: Session) -> None:
    run = play(session, [(5.0, "space"), (9.0, "space"), (200.0, "space")])
    first, paused, resumed = run.plays[:3]
    rate = session.timeline.sample_rate
    # The sound went on for the drain after the key: that is where it really stopped.
    reached = round((5.0 + DRAIN - 0.0) * rate)
    assert first.stopped == reached
    np.testing.assert_array_equal(paused.samples, session.say(player.PAUSED))
    lead = run.said(player.RESUMING)
    np.testing.assert_array_equal(resumed.samples[: len(lead)], lead)
    # Heard before the pause + played after "Resuming." = the session, once, no gap.
    heard = np.concatenate([first.samples[: first.heard], resumed.samples[len(lead) :]])
    wait_start, _ = the_wait(session)
    np.testing.assert_array_equal(heard, run.render(0, wait_start))
    assert run.result is not None and run.result.pauses == 1
    assert run.recorder.named("paused") == [("paused",)]
    assert run.recorder.named("resumed") == [("resumed",)]


def test_the_pause_is_not_counted_as_exercise_time(session: Session) -> None:
    bridge = chapter(session, "Bridge")
    at = middle(bridge, session)
    run = play(session, [(at, "space"), (at + 50, "space"), (500, "space")])
    (done,) = [c for c in run.recorder.named("done") if c[1] == 0]
    # The exercise's own length, plus "Resuming." and its gap: not the 50 s paused.
    spent = bridge[1] - bridge[0] + len(run.said(player.RESUMING))
    assert done[2] == pytest.approx(seconds(session, spent), abs=0.2)


def test_status_line_follows_the_session_and_says_paused(session: Session) -> None:
    part = next(c for c in session.timeline.chapters if c.title == "Bird-dog").parts[2]
    at = seconds(session, (part.start + part.end) // 2)
    run = play(session, [(at, "space"), (at + 3, "space"), (500, "space")])
    lines = run.status.lines
    assert any(line.startswith("1/3 Bridge") and line.endswith(" left") for line in lines)
    assert any(line.startswith("Rest · next: Bird-dog") for line in lines)
    assert any("2/3 Bird-dog · set 2/2 · left · rep " in line for line in lines)
    assert any(line.startswith("Paused") and "Bird-dog · set 2/2 · left" in line for line in lines)
    assert any(line.startswith("Press space when done · 3/3 Plank") for line in lines)
    assert run.status.cleared == 1


# -- skip, back, where, quit ------------------------------------------------------------------


@pytest.mark.parametrize("where", ["Bridge", "Rest"])
def test_next_skips_to_the_start_of_the_next_exercise(session: Session, where: str) -> None:
    span = chapter(session, where)
    run = play(session, [(middle(span, session), "n"), (500, "space")])
    bird_dog, _ = chapter(session, "Bird-dog")
    lead = run.said("Skipping to Bird-dog.")
    second = run.plays[1].samples
    np.testing.assert_array_equal(second[: len(lead)], lead)
    np.testing.assert_array_equal(second[len(lead) :], run.render(bird_dog, the_wait(session)[0]))
    assert run.result is not None and run.result.skips == 1
    skipped = [c for c in run.recorder.named("done") if c[1] == 0]
    assert [c[3] for c in skipped] == [where == "Bridge"]


def test_next_during_the_last_exercise_goes_to_the_end_and_is_ignored_there(
    session: Session,
) -> None:
    at = seconds(session, the_wait(session)[0]) + 1
    finish = chapter(session, "Finish")
    run = play(session, [(at, "right"), (at + 3, "n")])
    lead = run.said("Skipping to the end.")
    np.testing.assert_array_equal(run.plays[-1].samples[: len(lead)], lead)
    np.testing.assert_array_equal(run.plays[-1].samples[len(lead) :], run.render(finish[0]))
    assert run.plays[-1].stopped is None  # the second n did not interrupt the finish
    assert run.result is not None and run.result.completed and run.result.skips == 1


@pytest.mark.parametrize(
    ("where", "target", "words"),
    [
        ("Bird-dog", "Bird-dog", "Starting Bird-dog again."),
        ("Rest", "Bridge", "Starting Bridge again."),  # in a rest: the exercise just done
        ("Welcome", "Welcome", "Starting again."),
    ],
)
def test_back_restarts_the_exercise(session: Session, where: str, target: str, words: str) -> None:
    run = play(session, [(middle(chapter(session, where), session), "b"), (500, "space")])
    start, _ = chapter(session, target)
    lead = run.said(words)
    np.testing.assert_array_equal(run.plays[1].samples[: len(lead)], lead)
    np.testing.assert_array_equal(
        run.plays[1].samples[len(lead) :], run.render(start, the_wait(session)[0])
    )
    assert run.result is not None and run.result.restarts == 1


def test_back_reports_the_restart_and_the_exercise_again(session: Session) -> None:
    run = play(session, [(middle(chapter(session, "Bird-dog"), session), "left"), (900, "space")])
    bird_dog = [c for c in run.recorder.named("done") if c[1] == 1]
    assert [(c[3], c[4]) for c in bird_dog] == [(False, True), (False, False)]


def test_question_mark_says_where_we_are_and_carries_on(session: Session) -> None:
    part = next(c for c in session.timeline.chapters if c.title == "Bird-dog").parts[2]
    at = seconds(session, (part.start + part.end) // 2)
    run = play(session, [(at, "?"), (500, "space")])
    first, second = run.plays[:2]
    text = Guide(session.timeline).where(first.heard)
    assert text.startswith("Bird-dog, set two of two, left side. Exercise two of three. About ")
    assert text.endswith(" left.")
    lead = run.said(text)
    np.testing.assert_array_equal(second.samples[: len(lead)], lead)
    np.testing.assert_array_equal(
        second.samples[len(lead) :], run.render(first.heard, the_wait(session)[0])
    )
    assert run.result is not None and (run.result.pauses, run.result.skips) == (0, 0)


def test_quit_says_goodbye_and_reports_where_to_resume(session: Session) -> None:
    run = play(session, [(middle(chapter(session, "Bird-dog"), session), "q")])
    assert len(run.plays) == 2
    np.testing.assert_array_equal(run.plays[1].samples, session.say(player.STOPPING))
    assert run.plays[1].stopped is None  # said in full
    result = run.result
    assert result is not None and not result.completed and result.exercise == 1
    assert result.position == run.plays[0].heard
    # The exercise it stopped in is reported, its time counted, not done.
    (stopped,) = [c for c in run.recorder.named("done") if c[1] == 1]
    assert stopped[3:] == (False, False, True)
    assert stopped[2] == pytest.approx(
        seconds(session, run.plays[0].heard - chapter(session, "Bird-dog")[0]), abs=0.1
    )
    assert run.recorder.calls[-1] == ("finished", False)
    assert run.exercises == [0, 1]
    assert result.reached == 2


def test_keys_while_paused(session: Session) -> None:
    bridge = middle(chapter(session, "Bridge"), session)
    run = play(session, [(bridge, "space"), (bridge + 2, "?"), (bridge + 10, "n"), (500, "space")])
    texts = [p.samples for p in run.plays]
    np.testing.assert_array_equal(texts[1], session.say(player.PAUSED))
    where = Guide(session.timeline).where(run.plays[0].heard)
    np.testing.assert_array_equal(texts[2], session.say(where))
    lead = run.said("Skipping to Bird-dog.")
    np.testing.assert_array_equal(texts[3][: len(lead)], lead)
    assert run.result is not None and (run.result.pauses, run.result.skips) == (1, 1)


def test_quit_from_a_manual_step(session: Session) -> None:
    at = seconds(session, the_wait(session)[0]) + 2
    run = play(session, [(at, "q")])
    np.testing.assert_array_equal(run.plays[-1].samples, session.say(player.STOPPING))
    assert run.result is not None and not run.result.completed and run.result.exercise == 2


# -- Ctrl-C ------------------------------------------------------------------------------------


def test_ctrl_c_stops_the_sound_at_once_and_raises(session: Session) -> None:
    clock = FakeClock()
    out = RecordingOut(clock, drain=DRAIN)
    keys = ScriptedKeys([(clock.now + 5.0, "ctrl-c")], clock, clock.sleep)
    recorder, status = FakeRecorder(), FakeStatus()
    with pytest.raises(KeyboardInterrupt):
        play_session(session, out=out, keys=keys, status=status, recorder=recorder, clock=clock)
    assert out.plays[0].stopped == round(5.0 * session.timeline.sample_rate)  # no drain
    assert recorder.calls[-1] == ("finished", False)
    assert recorder.calls[-2][0] == "done" and recorder.calls[-2][-1] is True  # stopped in it
    assert status.cleared == 1


class InterruptingKeys:
    """SIGINT arrives while the player waits for a key (the usual Ctrl-C)."""

    def __init__(self, clock: FakeClock, at: float) -> None:
        self.clock, self.at = clock, at

    def get(self, timeout: float) -> str | None:
        self.clock.sleep(timeout)
        if self.clock.now >= self.at:
            raise KeyboardInterrupt
        return None


def test_keyboard_interrupt_anywhere_stops_the_sound(session: Session) -> None:
    clock = FakeClock()
    out = RecordingOut(clock, drain=DRAIN)
    with pytest.raises(KeyboardInterrupt):
        play_session(
            session, out=out, keys=InterruptingKeys(clock, clock.now + 7.0), status=None,
            clock=clock,
        )  # fmt: skip
    assert out.plays[-1].stopped is not None
    assert abs(out.plays[-1].stopped - 7.0 * session.timeline.sample_rate) < 0.1 * 22050


# -- where to start, what is reported ---------------------------------------------------------


def test_start_index_starts_at_that_exercise(session: Session) -> None:
    run = play(session, [(500, "space")], start_index=1)
    start, _ = chapter(session, "Bird-dog")
    np.testing.assert_array_equal(run.plays[0].samples, run.render(start, the_wait(session)[0]))
    assert run.exercises[0] == 1


def test_start_index_past_the_end_is_refused(session: Session) -> None:
    with pytest.raises(IndexError):
        play(session, None, start_index=3)


def test_recorder_hears_everything_in_order(session: Session) -> None:
    run = play(session, None)
    calls = run.recorder.calls
    assert calls[0] == ("started",)
    assert calls[-1] == ("finished", True)
    assert [c[1] for c in run.recorder.named("done")] == [0, 1, 2]
    assert all(not any(c[3:]) for c in run.recorder.named("done"))
    # Each exercise begins, then ends, in order.
    order = [c[:2] for c in calls if c[0] in ("begin", "done")]
    assert order == [(kind, i) for i in range(3) for kind in ("begin", "done")]
    assert run.recorder.named("set") == [
        ("set", 1, 1, "left"),
        ("set", 1, 1, "right"),
        ("set", 1, 2, "left"),
        ("set", 1, 2, "right"),
    ]
    bridge = chapter(session, "Bridge")
    assert run.recorder.named("done")[0][2] == pytest.approx(
        seconds(session, bridge[1] - bridge[0]), abs=0.3
    )
    # Where --resume would start, as the session went on: the next exercise during a rest.
    assert run.exercises == [0, 1, 2, 3]


# -- the guide: words and targets ---------------------------------------------------------------


def test_where_in_each_kind_of_chapter(session: Session) -> None:
    guide = Guide(session.timeline)
    welcome = chapter(session, "Welcome")[0] + 10
    rest = chapter(session, "Rest")[0] + 10
    finish = chapter(session, "Finish")[0] + 10
    assert guide.where(welcome).startswith("Starting. First up: Bridge. About ")
    assert guide.where(rest).startswith("Resting. Next up: Bird-dog. Exercise two of three. About ")
    assert guide.where(finish) == "Finishing. Well done."
    bridge = guide.where(chapter(session, "Bridge")[0] + 10)
    assert bridge.startswith("Bridge. Exercise one of three. About ")
    assert bridge.endswith(" left.")
    assert guide.resume_index(welcome) == 0
    assert guide.resume_index(rest) == 1
    assert guide.resume_index(finish) == 3
    assert guide.next_target(finish) is None


def test_spoken_time_left_is_rounded_like_a_person_would() -> None:
    from voicecoach.core.status import clock, spoken_time_left

    assert spoken_time_left(6 * 60 + 10) == "About six minutes left."
    assert spoken_time_left(65) == "About a minute left."
    assert spoken_time_left(42) == "About forty seconds left."
    assert spoken_time_left(4) == "Almost done."
    assert clock(372.2) == "6:13"
    assert clock(3725) == "1:02:05"
    assert clock(0) == "0:00"


# -- keys ---------------------------------------------------------------------------------------


def test_parse_keys() -> None:
    from voicecoach.adapters.keys import parse

    assert parse(b" nbq?p") == ["space", "n", "b", "q", "?", "p"]
    digits = parse(b"0123456789")  # the check-in's answers, and other keys
    assert digits == ["other", "1", "2", "3", "4", "5", "other", "other", "other", "other"]
    assert parse(b"\x1bOq\x1bOu\x1b[1;3C") == ["1", "5", "other"]  # number pad; a code: other
    assert parse(b"NBQ") == ["n", "b", "q"]  # Caps Lock on
    assert parse(b"\x1b[C\x1b[D\x1bOC") == ["right", "left", "right"]
    assert parse(b"h+=-[]") == ["h", "+", "+", "-", "[", "]"]
    # Any other key, escape code or character is one "other" (the player answers it).
    assert parse(b"\x1b[A\x1b[1;5C\x1b[15~x\x1b") == ["other"] * 5
    assert parse("é\r".encode()) == ["other", "other"]
    assert parse(b"\x03") == ["ctrl-c"]


def test_terminal_keys_in_a_real_pseudo_terminal_and_the_terminal_is_restored() -> None:
    import os
    import termios

    from voicecoach.adapters.keys import open_keys

    master, slave = os.openpty()
    try:
        with os.fdopen(os.dup(slave), "r") as stream:
            before = termios.tcgetattr(slave)
            with open_keys(stream) as keys:
                assert keys is not None
                mode = termios.tcgetattr(slave)
                assert not mode[3] & (termios.ICANON | termios.ECHO)  # no Enter, no echo
                assert mode[3] & termios.ISIG  # Ctrl-C still interrupts
                assert keys.get(0.01) is None
                os.write(master, b"n\x1b[D ")
                assert [keys.get(1.0), keys.get(1.0), keys.get(1.0)] == ["n", "left", "space"]
            assert termios.tcgetattr(slave) == before
            with pytest.raises(RuntimeError), open_keys(stream):
                raise RuntimeError("boom")
            assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


def test_no_terminal_no_keys(tmp_path: Path) -> None:
    from voicecoach.adapters.keys import open_keys

    with (tmp_path / "f").open("w+") as stream, open_keys(stream) as keys:
        assert keys is None


# -- the last-run file and --resume ------------------------------------------------------------


def test_last_run_is_written_atomically_and_read_back(tmp_path: Path) -> None:
    from voicecoach.adapters import last_run

    path = tmp_path / "state" / "last_run.json"
    run = last_run.LastRun("/r/back.yaml", "abc", 2, False)
    assert last_run.save(run, path)
    assert last_run.load(path=path) == run
    assert sorted(p.name for p in path.parent.iterdir()) == ["last_run.json"]
    path.write_text("{not json")
    assert last_run.load(path) is None
    assert last_run.load(tmp_path / "missing.json") is None
    assert not last_run.save(run, tmp_path / "state" / "last_run.json" / "x")  # not a folder


def test_resume_point_explains_why_not() -> None:
    from voicecoach.adapters import last_run
    from voicecoach.errors import VoicecoachError

    with pytest.raises(VoicecoachError, match=r"^nothing to resume: no session was stopped"):
        last_run.resume_point(None)
    with pytest.raises(VoicecoachError, match=r"^nothing to resume: the last session was played"):
        last_run.resume_point(last_run.LastRun("/r.yaml", "abc", 3, True))
    with pytest.raises(VoicecoachError, match=r"^cannot resume: the last unfinished session was"):
        last_run.resume_point(last_run.LastRun("/r.yaml", "abc", 1, False), "other")
    run = last_run.LastRun("/r.yaml", "abc", 1, False)
    assert last_run.resume_point(run, "abc") == run


# -- the command --------------------------------------------------------------------------------


@pytest.fixture
def cli_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Any]:
    """`voicecoach run` with fake speech and a recording output (no terminal: no keys)."""
    from dataclasses import replace

    from click.testing import CliRunner

    from tests.fakes import SHORT_ROUTINE, fake_env
    from voicecoach.cli import cli
    from voicecoach.cli.env import real_env

    outputs: list[RecordingOut] = []

    def output() -> RecordingOut:
        outputs.append(RecordingOut())
        return outputs[-1]

    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))
    fakes = fake_env()  # the real history, last run, keys (none: no terminal) and status
    env = replace(real_env(), speech=fakes.speech, sounds=fakes.sounds, output=output)
    path = tmp_path / "short.yaml"
    path.write_text(SHORT_ROUTINE)

    def invoke(*args: str) -> tuple[Any, RecordingOut | None]:
        result = CliRunner().invoke(cli, ["run", *args], catch_exceptions=False, obj=env)
        return result, (outputs[-1] if outputs else None)

    invoke.path = path  # type: ignore[attr-defined]
    return invoke


def test_run_plays_the_routine_and_remembers_it_finished(cli_run: Any) -> None:
    from voicecoach.adapters import last_run

    result, out = cli_run(str(cli_run.path))
    assert result.exit_code == 0, result.output
    assert result.stderr == "Preparing your session…\n"
    assert result.stdout == ""  # no terminal: no status line
    assert out is not None and len(out.plays) == 2  # "Preparing…" (cold cache), the session
    saved = last_run.load()
    assert saved is not None and saved.finished and saved.path == str(cli_run.path.resolve())
    result, _ = cli_run("--resume")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: nothing to resume: the last session was played to the end"
    ]


def test_run_resume_starts_at_the_exercise_where_it_stopped(
    cli_run: Any, make_session: Callable[..., Session]
) -> None:
    from voicecoach.adapters import last_run
    from voicecoach.routine import loader as routine

    digest = routine.load(str(cli_run.path)).digest
    last_run.save(last_run.LastRun(str(cli_run.path), digest, 1, False))
    result, out = cli_run("--resume")
    assert result.exit_code == 0, result.output
    session = make_session()
    start, _ = chapter(session, "Bird-dog")
    np.testing.assert_array_equal(
        out.plays[-1].samples, session.mixer.render(start, session.timeline.length)
    )


def test_run_resume_refuses_a_changed_routine(cli_run: Any) -> None:
    from voicecoach.adapters import last_run

    last_run.save(last_run.LastRun(str(cli_run.path), "an older digest", 1, False))
    result, out = cli_run("--resume")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Error: cannot resume: the last unfinished session was {cli_run.path}, and this"
        " routine is different (or was changed since)"
    ]
    assert out is None  # nothing was played


def test_run_without_anything_to_resume(cli_run: Any) -> None:
    result, _ = cli_run("--resume")
    assert result.exit_code == 1
    assert result.stderr == "Error: nothing to resume: no session was stopped before its end\n"


# -- h, unknown keys, volume and rate -----------------------------------------------------------


def test_an_unknown_key_says_how_to_hear_the_keys_at_most_once_a_minute(session: Session) -> None:
    run = play(session, [(3.0, "other"), (10.0, "x"), (70.0, "other"), (500, "space")])
    hint = run.said(transport.HINT)
    hinted = [p for p in run.plays if np.array_equal(p.samples[: len(hint)], hint)]
    assert len(hinted) == 2  # at 3 s and at 70 s; the key at 10 s was let be
    assert hinted[1].started - hinted[0].started >= transport.HINT_EVERY
    # The session goes on where the hint cut it, nothing lost, nothing repeated.
    first = run.plays[0]
    np.testing.assert_array_equal(
        hinted[0].samples[len(hint) :][:1000], run.render(first.heard)[:1000]
    )


def test_h_lists_the_keys_and_carries_on(session: Session) -> None:
    run = play(session, [(5.0, "h"), (500, "space")])
    first, second = run.plays[:2]
    lead = run.said(transport.KEYS_HELP)
    np.testing.assert_array_equal(second.samples[: len(lead)], lead)
    np.testing.assert_array_equal(
        second.samples[len(lead) :], run.render(first.heard, the_wait(session)[0])
    )


def test_plus_makes_all_that_follows_louder_from_the_confirmation_on(session: Session) -> None:
    run = play(session, [(5.0, "+"), (500, "space")])
    first, second = run.plays[:2]
    gain = transport.volume_gain(1)
    louder = run.said(transport.LOUDER)
    expected = np.concatenate([louder, run.render(first.heard, the_wait(session)[0])])
    scaled = np.clip(np.round(expected.astype(np.float32) * gain), -32768, 32767)
    np.testing.assert_array_equal(second.samples, scaled.astype(np.int16))
    assert np.abs(second.samples).max() > np.abs(first.samples).max()  # it is louder


def test_minus_twice_then_plus_and_the_ends_of_the_range(session: Session) -> None:
    run = play(session, [(4.0, "-"), (6.0, "-"), (8.0, "+"), (500, "space")])
    gains = [transport.volume_gain(level) for level in (-1, -2, -1)]
    for played, gain, words in zip(
        run.plays[1:4], gains, (transport.SOFTER, transport.SOFTER, transport.LOUDER), strict=True
    ):
        said = run.said(words)
        scaled = np.round(said.astype(np.float32) * gain).astype(np.int16)
        np.testing.assert_array_equal(played.samples[: len(said)], scaled)


def test_the_rate_keys_lay_the_session_out_again_and_go_on_at_the_next_cue(
    session: Session,
) -> None:
    from tests.fakes import SHORT_ROUTINE, FakeSpeech, fake_length, fake_sounds
    from voicecoach.app import session as sessions
    from voicecoach.routine import loader

    asked: list[int] = []

    def respeak(level: int) -> Session:
        asked.append(level)
        speech = FakeSpeech(lambda text: fake_length(text) * 10 // (10 + level))
        return sessions.prepare(
            loader.load_text(SHORT_ROUTINE, "short.yaml"), speech=speech, sounds=fake_sounds()
        )

    clock = FakeClock()
    out = RecordingOut(clock, drain=0.3)
    at = middle(chapter(session, "Bridge"), session)
    keys = ScriptedKeys([(clock.now + at, "]"), (clock.now + 500, "space")], clock, clock.sleep)
    recorder = FakeRecorder()
    result = play_session(
        session, out=out, keys=keys, status=None, recorder=recorder, clock=clock, respeak=respeak
    )
    assert asked == [1]
    faster = respeak(1)
    first, moment, second = out.plays[:3]
    np.testing.assert_array_equal(moment.samples, session.say(player.MOMENT))
    # The next cue after where the key stopped the sound, in the faster session.
    old, new = session.timeline.events, faster.timeline.events
    k = min((i for i, e in enumerate(old) if e.start >= first.heard), key=lambda i: old[i].start)
    lead = np.concatenate([faster.say(transport.FASTER), np.zeros(player.CONFIRM_GAP, np.int16)])
    np.testing.assert_array_equal(second.samples[: len(lead)], lead)
    wait = next(e for e in new if e.kind == "wait")
    np.testing.assert_array_equal(
        second.samples[len(lead) :], faster.mixer.render(new[k].start, wait.start)
    )
    assert result.completed and result.position == faster.timeline.length
    # Every set is reported once, across the change.
    sets = [c for c in recorder.calls if c[0] == "set"]
    assert len(sets) == len(set(sets))


def test_without_a_way_to_respeak_the_rate_keys_say_so(session: Session) -> None:
    run = play(session, [(5.0, "["), (500, "space")])
    lead = run.said(player.NO_RATE)
    np.testing.assert_array_equal(run.plays[1].samples[: len(lead)], lead)
