"""Compile warnings tell the truth: once per exercise, not once per round, and never
"needs 5.0 s ... longer than its 5 s" (compared and printed with the same rounding)."""

from __future__ import annotations

from tests.fakes import compile_with, fake_length
from voicecoach.core.timeline import SAMPLE_RATE, Timeline, to_samples
from voicecoach.routine.loader import load_text

ROUNDS = """title: Rounds
blocks:
  - name: Circuit
    rounds: 3
    round_rest: 1s
    exercises:
      - name: Bridge
        setup: Lie on your back with your knees bent and your feet flat on the floor.
        reps: 2
        lead_in: 2s
        sets: 2
        set_rest: 1s
        rest: 1s
      - {name: March, time: 20s}
"""


def compiled(text: str, seconds_per_phrase: float | None = None) -> Timeline:
    routine = load_text(text, "r.yaml")
    lengths = fake_length
    if seconds_per_phrase is not None:
        samples = to_samples(seconds_per_phrase)
        lengths = lambda _text: samples  # noqa: E731 - every phrase as long
    return compile_with(routine, lengths)


def test_a_warning_is_given_once_not_once_per_round() -> None:
    warnings = compiled(ROUNDS).warnings
    lead_in = [w for w in warnings if "lead-in" in w.message]
    rest = [w for w in warnings if "the rest between sets needs" in w.message]
    assert len(lead_in) == 1 and len(rest) == 1, warnings
    assert (lead_in[0].line, lead_in[0].column) == (7, 9)


def test_the_warning_kept_is_the_round_that_needs_the_most() -> None:
    # Round one says "First: Bridge." and "Circuit, round one.": the longest lead-in.
    timeline = compiled(ROUNDS)
    firsts = [c for c in timeline.chapters if c.title.startswith("Bridge")]
    goes = [e.start for e in timeline.events if e.text == "Go." and e.exercise == "Bridge"]
    goes = goes[::2]  # the first of its two sets
    needs = [(go - chapter.start) / SAMPLE_RATE for go, chapter in zip(goes, firsts, strict=True)]
    (warning,) = [w for w in timeline.warnings if "lead-in" in w.message]
    assert f"needs {max(needs):.1f} s" in warning.message


LEAD_IN = "title: T\nexercises:\n  - {name: Bridge, reps: 2, lead_in: 5s, rest: 0}\n"


def lead_in_need(timeline: Timeline) -> float:
    (chapter,) = [c for c in timeline.chapters if c.index == 0]
    go = next(e.start for e in timeline.events if e.kind == "speech" and e.text == "Go.")
    return (go - chapter.start) / SAMPLE_RATE


def test_no_warning_when_the_need_rounds_to_the_time_given() -> None:
    # Two lines (name, summary) of 0.71 s, their gaps and the count: 5.02 s for a 5 s lead-in.
    timeline = compiled(LEAD_IN, 0.71)
    assert 5.0 < lead_in_need(timeline) < 5.05  # made longer by a few ms...
    assert timeline.warnings == ()  # ...which "needs 5.0 s, longer than its 5 s" would not say


def test_a_warning_when_the_need_is_longer_as_printed() -> None:
    timeline = compiled(LEAD_IN, 0.76)
    assert 5.1 < lead_in_need(timeline) < 5.15
    (warning,) = timeline.warnings
    assert "the lead-in needs 5.1 s to say everything, longer than its 5 s" in warning.message
