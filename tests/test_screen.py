"""The screen during a live run: the pure status values (core.status.Glance), how the
terminal lays them out (adapters.terminal), and the end-of-workout summary."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from tests.fakes import SHORT_ROUTINE, chapter
from voicecoach.adapters.terminal import FONT, WIDE, TerminalStatus, big, panel_rows
from voicecoach.app import history
from voicecoach.app.session import Session
from voicecoach.core.records import Summary
from voicecoach.core.status import Glance, Guide
from voicecoach.core.timeline import Event

GLANCE = """\
title: Glance
exercises:
  - name: Plank
    time: 20s
    lead_in: 3s
    rest: 10s
  - name: Side bridge
    hold: 8s
    sides: both
    lead_in: 3s
"""


@pytest.fixture
def session(make_session: Callable[..., Session]) -> Session:
    return make_session(SHORT_ROUTINE)


@pytest.fixture
def glance_session(make_session: Callable[..., Session]) -> Session:
    return make_session(GLANCE, "glance.yaml")


def sound(session: Session, name: str, index: int, nth: int = 0) -> Event:
    found = [
        e
        for e in session.timeline.events
        if e.kind == "sound" and e.text == name and e.index == index
    ]
    return found[nth]


# -- the values ---------------------------------------------------------------------------


def test_a_hold_counts_down_to_its_release_with_side_and_next(glance_session: Session) -> None:
    guide, rate = Guide(glance_session.timeline), glance_session.timeline.sample_rate
    hold, release = sound(glance_session, "hold", 1), sound(glance_session, "release", 1)
    pos = hold.start + 3 * rate
    at = guide.glance(pos)
    assert (at.phase, at.exercise, at.number, at.count) == ("exercise", "Side bridge", 2, 2)
    assert (at.side, at.timer, at.next) == ("left", "hold", "Finish")
    assert at.left == pytest.approx((release.start - pos) / rate)
    assert at.left == pytest.approx(5.0, abs=0.01)  # an 8 s hold, 3 s in
    # The second side's hold has its own countdown.
    second = sound(glance_session, "hold", 1, nth=1)
    later = guide.glance(second.start + rate)
    assert (later.side, later.timer) == ("right", "hold")
    assert later.left == pytest.approx(7.0, abs=0.01)
    # Before the hold (the lead-in, the count-down) there is nothing to time.
    assert guide.glance(hold.start - rate).timer is None


def test_timed_work_counts_down_to_its_end(glance_session: Session) -> None:
    guide, rate = Guide(glance_session.timeline), glance_session.timeline.sample_rate
    start = sound(glance_session, "start", 0)
    at = guide.glance(start.start + 5 * rate)
    assert (at.exercise, at.timer, at.next, at.rep_count) == ("Plank", "work", "Side bridge", None)
    assert at.left == pytest.approx(15.0, abs=0.01)  # 20 s of work, 5 s in


def test_a_rest_counts_down_and_names_what_is_next(glance_session: Session) -> None:
    guide, rate = Guide(glance_session.timeline), glance_session.timeline.sample_rate
    rest = next(c for c in glance_session.timeline.chapters if c.title == "Rest")
    at = guide.glance(rest.start + rate)
    assert (at.phase, at.timer, at.next) == ("rest", "rest", "Side bridge")
    assert at.left == pytest.approx((rest.end - rest.start) / rate - 1, abs=0.01)


def test_reps_sets_and_the_session_clock(session: Session) -> None:
    guide, rate = Guide(session.timeline), session.timeline.sample_rate
    length = session.timeline.length
    reps = [e for e in session.timeline.events if e.exercise == "Bird-dog" and e.rep == 2]
    second_set = next(e for e in reps if e.set == 2 and e.side == "right")
    at = guide.glance(second_set.start)
    assert (at.exercise, at.set, at.sets, at.side) == ("Bird-dog", 2, 2, "right")
    assert (at.rep, at.reps, at.rep_count, at.timer) == (2, 3, "2 / 3", None)
    assert at.elapsed == pytest.approx(second_set.start / rate)
    assert at.elapsed + at.remaining == pytest.approx(length / rate)
    assert at.next == "Plank"
    welcome = guide.glance(0)
    assert (welcome.phase, welcome.next, welcome.elapsed) == ("welcome", "Bridge", 0.0)
    end = guide.glance(length)
    assert (end.phase, end.remaining) == ("finish", 0.0)


def test_the_one_line_is_the_status_line(session: Session) -> None:
    guide, rate = Guide(session.timeline), session.timeline.sample_rate
    start, _ = chapter(session, "Bird-dog")
    line = guide.glance(start + rate, "Paused (space: resume, q: stop)").line()
    assert line.startswith("Paused (space: resume, q: stop) · 2/3 Bird-dog · set 1/2 · left")
    assert line == guide.line(start + rate, "Paused (space: resume, q: stop)")
    assert Glance.note("How hard was that?").line() == "How hard was that?"


# -- on the terminal ------------------------------------------------------------------------


def read_big(rows: list[str]) -> str:
    """The digits drawn by ``big``, read back glyph by glyph."""
    glyphs = {v: k for k, v in FONT.items()}
    out, col = "", 0
    while col < len(rows[0]):
        for width in (3, 1):
            cell = tuple(r[col : col + width].ljust(width) for r in rows)
            if cell in glyphs and (width == 3 or glyphs[cell] == ":"):
                out += glyphs[cell]
                col += width + 1
                break
        else:
            raise AssertionError(f"no glyph at column {col}: {rows}")
    return out


def test_large_digits_read_back() -> None:
    assert read_big(list(big("12:34"))) == "12:34"
    assert read_big(list(big("0:05"))) == "0:05"


def test_the_panel_has_everything_a_glance_needs(session: Session) -> None:
    guide = Guide(session.timeline)
    reps = next(e for e in session.timeline.events if e.exercise == "Bird-dog" and e.rep == 2)
    rows = panel_rows(guide.glance(reps.start))
    assert rows[0] == "2/3  Bird-dog · left side · set 1 of 2"
    assert "  Rep 2 / 3" in rows
    assert rows[-1].startswith("Next: Plank   ")
    assert rows[-1].endswith(" left") and " done · " in rows[-1]


def test_a_narrow_terminal_gets_one_line_rewritten_in_place() -> None:
    stream = io.StringIO()
    status = TerminalStatus(stream, environ={"TERM": "xterm"}, width=WIDE - 1)
    status.show(Glance("welcome", remaining=40))
    status.show(Glance("welcome", remaining=40))  # unchanged: not written again
    status.show(Glance("welcome", remaining=39))
    status.clear()
    assert stream.getvalue() == ("\rWelcome · 0:40 left\x1b[K\rWelcome · 0:39 left\x1b[K\r\x1b[K")


def test_a_dumb_terminal_gets_one_line_without_escapes() -> None:
    stream = io.StringIO()
    status = TerminalStatus(stream, environ={"TERM": "dumb"}, width=200)
    status.show(Glance.note("Press space when done"))
    status.show(Glance.note("Rest"))
    status.clear()
    assert "\x1b" not in stream.getvalue()
    assert stream.getvalue() == (
        "\rPress space when done"
        + "\rRest" + " " * 17 + "\b" * 17
        + "\r" + " " * 4 + "\r"
    )  # fmt: skip


SUMMARY = Summary(
    title="Back strength",
    seconds=1122,
    total=5,
    done=3,
    skipped=1,
    pained=1,
    effort=None,
    streak=4,
    week_seconds=3900,
    saved=None,
)


def test_the_summary_lines() -> None:
    assert history.summary_lines(SUMMARY) == [
        "Workout over: Back strength",
        "Time: 18:42",
        "Exercises: 3 of 5 done, 1 skipped, 1 with pain",
        "Effort: no answer, saved without effort",
        "Streak: 4 days · This week: 1h 05m",
        "Saved to your history.",
    ]


def test_the_summary_stays_on_a_narrow_terminal_as_plain_lines() -> None:
    stream = io.StringIO()
    TerminalStatus(stream, environ={"TERM": "dumb"}, width=100).summary(SUMMARY)
    assert stream.getvalue() == "\n".join(history.summary_lines(SUMMARY)) + "\n"
