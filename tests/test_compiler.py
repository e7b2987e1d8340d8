"""Compiler invariants (Hypothesis) and unit checks, with fake clip lengths; the
listing of phrases (``phrases``) is complete for every routine."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes import FAKE_SOUND_LENGTHS, compile_with, fake_length
from tests.strategies import P, routines, simple, speech
from voicecoach.core import coaching as say
from voicecoach.core.compiler import AFTER_WORK, SEC, compile_routine
from voicecoach.core.model import Block, Exercise, Phase, Routine, Verbosity
from voicecoach.core.phrases import phrases
from voicecoach.core.timeline import Timeline, to_samples
from voicecoach.routine import loader, resources


def plan(routine: Routine) -> list[tuple[Block, int, Exercise]]:
    return [(b, r, e) for b in routine.blocks for r in range(1, b.rounds + 1) for e in b.exercises]


def warned(tl: Timeline, ex: Exercise, word: str) -> bool:
    return any(w.line == ex.pos.line and word in w.message for w in tl.warnings)


def check_invariants(routine: Routine, tl: Timeline) -> None:
    ev = tl.events
    # sorted, and nothing overlaps anything (speech, sounds and waits are exclusive)
    assert all(a.start <= b.start for a, b in itertools.pairwise(ev))
    for a, b in itertools.pairwise(ev):
        assert a.end <= b.start, (a, b)
    assert all(e.length > 0 for e in ev)
    # total = end of the last event; chapters contiguous from 0 to the end
    assert tl.length == ev[-1].end
    assert tl.chapters[0].start == 0 and tl.chapters[-1].end == tl.length
    for a, b in zip(tl.chapters, tl.chapters[1:], strict=False):
        assert a.end == b.start, (a, b)
    steps = plan(routine)
    assert sorted({e.index for e in ev if e.index >= 0}) == list(range(len(steps)))
    # holds last exactly their stated time between the hold and release sounds
    for k, e in enumerate(ev):
        if e.kind != "sound" or e.text != "hold":
            continue
        release = next(x for x in ev[k + 1 :] if x.kind == "sound")
        assert release.text == "release"
        ex = steps[e.index][2]
        if not warned(tl, ex, "hold") and not warned(tl, ex, "shorter than its sounds"):
            assert release.start - e.start == to_samples(ex.hold)
    # rests and switches last exactly their stated time (unless the compiler warned)
    for k, e in enumerate(ev):
        if e.kind != "sound" or e.text not in ("rest", "switch"):
            continue
        block, _, ex = steps[e.index]
        assert ev[k + 1].kind == "speech"  # what the pause says, then its ticks
        nxt = next(x for x in ev[k + 2 :] if not (x.kind == "sound" and x.text == "tick"))
        if e.text == "switch":
            stated, word = ex.switch, "switch"
        elif nxt.index != e.index:
            last_of_round = (
                ex is block.exercises[-1] and block.rounds > 1 and steps[nxt.index][0] is block
            )
            stated, word = (block.round_rest if last_of_round else ex.rest), "rest"
            coming = steps[nxt.index][2]
            if not coming.manual:
                check_rest_sets_up(tl, k, stated, coming)
                continue
        else:
            stated, word = ex.set_rest, "rest between sets"
        if not warned(tl, ex, f"the {word} "):
            assert nxt.start - e.start == to_samples(stated), (e, nxt, stated)


def check_rest_sets_up(tl: Timeline, k: int, stated: float, coming: Exercise) -> None:
    """A rest before an exercise with a count: the rest line, then (in the exercise's own
    chapter) its name and set-up; the rest's three ticks, a second apart, are the count;
    the work starts when both the rest and the exercise's lead-in are over."""
    ev = tl.events
    rest = ev[k]
    assert ev[k + 1].kind == "speech" and ev[k + 1].index == rest.index
    named = next(x for x in ev[k + 1 :] if x.index != rest.index)
    said = [x.text for x in ev[k + 1 :] if x.index == named.index][:2]  # a block's name first
    name = coming.name.rstrip(".")
    assert named.kind == "speech" and {f"Next up: {name}.", f"{name}."} & set(said), said
    chapter = next(c for c in tl.chapters if c.index == named.index)
    assert chapter.start <= named.start
    later = ev[ev.index(named) :]
    ticks = [x for x in later if x.kind == "sound" and x.text == "tick"][:3]
    go = ticks[0].start + 3 * SEC
    assert [x.start for x in ticks] == [go - 3 * SEC, go - 2 * SEC, go - SEC]
    assert not any(x.text in say.COUNTDOWN and named.start <= x.start < go for x in ev)
    first = next(x for x in later if x.start >= go)
    assert first.start == go and first.text in (say.GO, "hold", "start"), first
    assert go - rest.start >= to_samples(stated)
    if not warned(tl, coming, "lead-in"):  # a few ms longer is not worth a warning
        nominal = max(rest.start + to_samples(stated), chapter.start + to_samples(coming.lead_in))
        assert 0 <= go - nominal < to_samples(0.05), (go, nominal)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(routines())
def test_invariants_hold_for_any_routine(routine: Routine) -> None:
    tl = compile_with(routine)
    check_invariants(routine, tl)


@settings(max_examples=40, deadline=None)
@given(routines(), st.sampled_from([0.4, 1.0, 2.5]))
def test_invariants_hold_for_slow_and_fast_speech(routine: Routine, factor: float) -> None:
    tl = compile_with(routine, lambda t: max(1, int(fake_length(t) * factor)))
    check_invariants(routine, tl)


def test_breathing_cues_are_full_first_then_faded() -> None:
    tl = compile_with(simple())
    said = speech(tl)
    assert "One, inhale through your nose." in said
    assert "Exhale through your mouth." in said
    # Graded: shorter on the next rep, then the word alone.
    assert "Two, breathe in." in said and "Breathe out." in said
    assert "Last one, in." in said and "Out." in said
    assert said.count("Exhale through your mouth.") == 1


def rep_lines(tl: Timeline, exercise: str) -> dict[tuple[int | None, int, str | None], list[str]]:
    """Each counted rep's lines, by (set, rep, side)."""
    reps: dict[tuple[int | None, int, str | None], list[str]] = {}
    for e in tl.events:
        if e.kind == "speech" and e.rep is not None and e.exercise == exercise:
            reps.setdefault((e.set, e.rep, e.side), []).append(e.text)
    return reps


def test_every_rep_names_its_movement_and_the_breath_fades_in_grades() -> None:
    moves = (Phase(4.0, "out", "curl up"), Phase(4.0, "in", "lower"))
    tl = compile_with(simple(reps=15, phases=moves))
    reps = rep_lines(tl, "Bridge")
    assert len(reps) == 15
    for key, lines in reps.items():
        assert "curl up" in lines[0].lower(), key
        assert any(line.startswith("Lower") for line in lines), key
    firsts = [reps[(1, r, None)][0] for r in range(1, 16)]
    assert firsts[:4] == [
        "One, curl up, exhale through your mouth.",
        "Two, curl up, breathe out.",
        "Three, curl up, out.",
        "Four, curl up, out.",
    ]
    # A long set brings the full cue back every five reps, graded again after it.
    assert firsts[5:7] == [
        "Six, curl up, exhale through your mouth.",
        "Seven, curl up, breathe out.",
    ]
    assert firsts[10] == "Eleven, curl up, exhale through your mouth."
    # Counting up, then down to the end.
    assert [f.split(",")[0] for f in firsts[11:]] == [
        "Twelve",
        "Three more",
        "Two more",
        "Last one",
    ]


def test_a_short_set_counts_up_to_its_last_one() -> None:
    said = [lines[0] for lines in rep_lines(compile_with(simple(reps=5)), "Bridge").values()]
    assert [s.split(",")[0] for s in said] == ["One", "Two", "Three", "Four", "Last one"]


def test_minimal_verbosity_counts_only() -> None:
    tl = compile_with(simple(setup="Lie down."), verbosity="minimal")
    said = speech(tl)
    assert "Lie down." not in said
    assert "Two." in said and "Two, in." not in said


def test_cue_too_long_for_phase_makes_room_and_warns() -> None:
    routine = simple(phases=(Phase(0.5, "in"), Phase(0.5, "out")), count=True)
    tl = compile_with(routine)
    assert any(
        "phase was made longer" in w.message and w.line == 3 and w.column == 5 for w in tl.warnings
    )
    check_invariants(routine, tl)


def test_long_setup_lengthens_lead_in_with_warning() -> None:
    tl = compile_with(simple(setup="word " * 60, lead_in=5.0))
    assert any("lead-in" in w.message for w in tl.warnings)


def test_static_hold_is_exact_between_sounds() -> None:
    routine = simple(
        kind="hold", hold=45.0, phases=(), reps=0, side_mode="each", sides=("left", "right")
    )
    tl = compile_with(routine)
    sounds = [e for e in tl.events if e.kind == "sound"]
    holds = [e for e in sounds if e.text == "hold"]
    releases = [e for e in sounds if e.text == "release"]
    assert len(holds) == 2 and len(releases) == 2
    for h, r in zip(holds, releases, strict=True):
        assert r.start - h.start == to_samples(45.0)
    said = speech(tl)
    assert (
        "Halfway." in said
        and "Ten seconds left." in said
        and "Switch sides. Now your right side." in said
    )
    chapter = tl.chapters[1]
    assert [p.title for p in chapter.parts] == ["Left side", "Right side"]


def test_manual_exercise_waits_for_the_user() -> None:
    tl = compile_with(simple(manual=True, estimate=40.0))
    waits = [e for e in tl.events if e.kind == "wait"]
    assert len(waits) == 1 and waits[0].length == to_samples(40.0)
    assert "At your own pace, three reps. Press space when you're done." in speech(tl)


def test_safety_note_can_be_left_out() -> None:
    routine = simple()
    routine = Routine(
        **{
            **{f: getattr(routine, f) for f in routine.__dataclass_fields__},
            "safety": "Stop if it hurts.",
        }
    )
    assert "Stop if it hurts." in speech(compile_with(routine))
    assert "Stop if it hurts." not in speech(compile_with(routine, include_safety=False))


def test_reps_keep_their_tempo_and_the_count_its_seconds() -> None:
    """Exact samples, from the rules: the count a second apart ending on the "Go." (the
    lead-in after the exercise's start), the start sound just after it, each phase's cue
    on its beat after the start sound, and the second set's "Go." its rest after the rest
    sound, which comes a breath after the first set's last phase."""
    routine = simple(sets=2, lead_in=12.0)
    tl = compile_with(routine)
    assert tl.warnings == ()
    ev = tl.events
    assert (ev[0].start, ev[0].text) == (0, "Welcome to T.")
    starts = [e for e in ev if e.kind == "sound" and e.text == "start"]
    assert len(starts) == 2
    go = tl.chapters[1].start + to_samples(12.0)
    count = [(e.text, e.start) for e in ev if e.text in ("Three.", "Two.", "One.")]
    assert count == [("Three.", go - 3 * SEC), ("Two.", go - 2 * SEC), ("One.", go - SEC)]
    goes = [e for e in ev if e.text == say.GO]
    assert goes[0].start == go and starts[0].start == goes[0].end
    assert starts[1].start == goes[1].end
    beat = to_samples(2.0)
    firsts = []
    for set_no, (start, said_go) in enumerate(zip(starts, goes, strict=True), 1):
        # The first rep starts after the start sound, and clear of the count's last
        # word (or the rest's last tick).
        counted = ev[ev.index(said_go) - 1]
        assert counted.text in ("One.", "tick")
        firsts.append(max(start.end, counted.end + to_samples(say.COUNT_CLEAR)))
        cues = [e.start for e in ev if e.kind == "speech" and e.set == set_no and e.rep]
        assert cues == [firsts[-1] + k * beat for k in range(6)], set_no
    rest = next(e for e in ev if e.kind == "sound" and e.text == "rest")
    assert rest.start == firsts[0] + 6 * beat + AFTER_WORK
    assert goes[1].start == rest.start + to_samples(15.0)


# -- the listing: every phrase the layout may look up, whatever the lengths -----------

DATA = Path(__file__).parent / "data"
ROUTINES = {**resources.bundled_routines(), **{p.stem: p for p in sorted(DATA.glob("*.yaml"))}}
VERBOSITIES: list[Verbosity | None] = [None, "full", "normal", "minimal"]


class Served(Mapping[str, int]):
    """Lengths for the listed phrases only, recording which the layout looks up."""

    def __init__(self, lengths: dict[str, int]) -> None:
        self._lengths = lengths
        self.asked: set[str] = set()

    def __getitem__(self, text: str) -> int:
        length = self._lengths[text]  # KeyError: not listed
        self.asked.add(text)
        return length

    def __iter__(self) -> Iterator[str]:
        return iter(self._lengths)

    def __len__(self) -> int:
        return len(self._lengths)


def check_listing(
    routine: Routine,
    length: Callable[[str], int],
    verbosity: Verbosity | None,
    include_safety: bool,
) -> None:
    """The layout finds every phrase it looks up in the listing (else KeyError), and
    looks up every listed phrase (none is made in vain)."""
    texts = phrases(routine, verbosity=verbosity, include_safety=include_safety)
    assert len(set(texts)) == len(texts)
    served = Served({text: length(text) for text in texts})
    draft = compile_routine(
        routine, served, FAKE_SOUND_LENGTHS, verbosity=verbosity, include_safety=include_safety
    )
    assert served.asked == set(texts)
    tl = draft.finish(length(draft.closing))
    said = {e.text for e in tl.events if e.kind == "speech"}
    assert said - set(texts) == {draft.closing} - set(texts)
    check_invariants(routine, tl)


def scaled(factor: float) -> Callable[[str], int]:
    return lambda text: max(1, int(fake_length(text) * factor))


def test_the_cases_are_the_bundled_and_test_routines() -> None:
    assert len(ROUTINES) == len(resources.bundled_routines()) + 7  # tests/data: 3 English, 4 not


@pytest.mark.parametrize("name", sorted(ROUTINES))
def test_the_listing_holds_every_phrase_of_every_routine(name: str) -> None:
    routine = loader.load(str(ROUTINES[name]))
    for verbosity, safety, factor in itertools.product(VERBOSITIES, (True, False), (0.3, 1, 3)):
        check_listing(routine, scaled(factor), verbosity, safety)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    routines(),
    st.sampled_from(VERBOSITIES),
    st.booleans(),
    st.dictionaries(st.integers(0, 400), st.integers(1, 20 * SEC), max_size=30),
)
def test_the_listing_is_complete_for_any_routine_and_lengths(
    routine: Routine,
    verbosity: Verbosity | None,
    include_safety: bool,
    odd: dict[int, int],
) -> None:
    # Lengths from fake speech, some replaced by any length from a sample to 20 s.
    def length(text: str) -> int:
        return odd.get(len(text), fake_length(text))

    check_listing(routine, length, verbosity, include_safety)


def test_the_listing_leaves_out_what_the_settings_leave_out() -> None:
    routine = simple(setup="Lie down.")
    assert "Lie down." in phrases(routine)
    assert "Lie down." not in phrases(routine, verbosity="minimal")
    safe = replace(routine, safety="Stop if it hurts.")
    assert "Stop if it hurts." in phrases(safe)
    assert "Stop if it hurts." not in phrases(safe, include_safety=False)


def test_a_phrase_missing_from_the_lengths_is_a_bug_that_says_which() -> None:
    routine = simple()
    lengths = {text: fake_length(text) for text in phrases(routine)}
    del lengths["Last one, in."]
    with pytest.raises(KeyError, match=r"Last one, in\..*phrases\(\) did not list"):
        compile_routine(routine, lengths, FAKE_SOUND_LENGTHS)


# -- counts, holds and rests (issue 13) ----------------------------------------------------


def test_the_count_ends_in_go_before_the_first_rep() -> None:
    tl = compile_with(simple(phases=(Phase(3.0, "out", "lift"), Phase(3.0, "in", "lower"))))
    said = [e.text for e in tl.events]
    k = said.index("One.")
    assert said[k : k + 4] == ["One.", say.GO, "start", "One, lift, exhale through your mouth."]


def test_a_hold_keeps_breathing_once_and_ends_in_release() -> None:
    hold = replace(simple().blocks[0].exercises[0], kind="hold", hold=30.0, reps=0, phases=())
    hold = replace(hold, side_mode="each", sides=("left", "right"))
    tl = compile_with(replace(simple(), blocks=(Block("Main", P, (hold,)),)))
    said = [e.text for e in tl.events]
    assert said.count(say.HOLD_BREATHING) == 1 and said.count(say.HOLD) == 1
    releases = [k for k, text in enumerate(said) if text == "release"]
    assert len(releases) == 2 and all(said[k + 1] == say.AND_RELEASE for k in releases)


def test_a_hold_that_ends_the_rep_has_no_count_into_the_next_rep() -> None:
    """'Three. Two. One.' then 'Two, lift.' would run two counts together."""
    phases = (Phase(2.0, "out", "lift"), Phase(2.0, "in", "lower"))
    at_top = compile_with(simple(phases=phases, hold=6.0, hold_after=0))
    at_end = compile_with(simple(phases=phases, hold=6.0, hold_after=1))
    assert "Three." in [e.text for e in at_top.events if e.rep]
    assert "Three." not in [e.text for e in at_end.events if e.rep]


def test_a_rest_sets_the_next_exercise_up() -> None:
    """The rest line, then the next exercise's name, set-up and cue while resting; the
    rest's ticks lead into its "Go." (no spoken count); lead-in and rest overlap."""
    first = replace(simple().blocks[0].exercises[0], rest=20.0)
    second = replace(first, name="Bird-dog", setup="On all fours.", cue="Reach long.", lead_in=10.0)
    tl = compile_with(replace(simple(), blocks=(Block("Main", P, (first, second)),)))
    ev = tl.events
    rest = next(e for e in ev if e.text == "rest")
    after = [e.text for e in ev if e.start > rest.start and e.index == 1][:8]
    assert after[:4] == ["Next up: Bird-dog.", "On all fours.", "Three reps.", "Reach long."]
    assert after[4:8] == ["tick", "tick", "tick", say.GO]
    go = next(e for e in ev if e.index == 1 and e.text == say.GO)
    assert go.start == rest.start + to_samples(20.0)  # the longer: the rest
    rest_line = next(e for e in ev if e.start > rest.start)
    assert rest_line.text == "Rest, twenty seconds." and rest_line.index == 0
    (chapter,) = [c for c in tl.chapters if c.index == 1]
    assert chapter.start == rest_line.end  # skipping to Bird-dog hears its name
