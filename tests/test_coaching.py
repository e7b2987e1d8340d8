"""What a person on the mat hears, as properties over generated routines (issue 13):
every rep names its movement, no count runs into a rep's number, and work is never
silent for long. Plus the form pointers and the words that fill long work."""

from __future__ import annotations

import itertools
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes import compile_with, fake_length
from tests.strategies import P, routines, simple, speech
from voicecoach.core import coaching as say
from voicecoach.core.model import Block, Exercise, Phase, Routine
from voicecoach.core.timeline import Event, Timeline, to_samples, to_seconds
from voicecoach.routine.loader import load_text

NUMBERS = {say.number_words(n).capitalize() for n in range(1, 100)}
LENGTHS = st.sampled_from([0.5, 1.0, 2.0])  # slow, as is and fast speech


def scaled(factor: float) -> object:
    return lambda text: max(1, round(fake_length(text) * factor))


def starts_with_a_number(text: str) -> bool:
    first = text.replace(",", " ").replace(".", " ").replace("-", " ").split()[0]
    return first in NUMBERS or first.lower() in {n.lower() for n in NUMBERS}


def steps(routine: Routine) -> list[Exercise]:
    return [e for b in routine.blocks for _ in range(b.rounds) for e in b.exercises]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(routines(), LENGTHS)
def test_every_rep_names_its_movement_at_normal_verbosity(routine: Routine, factor: float) -> None:
    tl = compile_with(routine, scaled(factor), verbosity="normal")  # type: ignore[arg-type]
    exercises = steps(routine)
    reps: dict[tuple[int, int | None, str | None, int], list[str]] = {}
    for e in tl.events:
        if e.kind == "speech" and e.rep is not None:
            reps.setdefault((e.index, e.set, e.side, e.rep), []).append(e.text.lower())
    for index, ex in enumerate(exercises):
        moves = {p.say for p in ex.phases if p.say}
        if ex.kind != "reps" or ex.manual or not moves:
            continue  # no movement to name (validate warns about it)
        units = [k for k in reps if k[0] == index]
        sides = len(ex.sides) if ex.side_mode != "none" else 1
        assert len(units) == ex.sets * sides * ex.reps
        for key in units:
            assert any(m in line for m in moves for line in reps[key]), (key, reps[key])


def countdown_ends(tl: Timeline) -> list[Event]:
    """The last word of each spoken count, and the last tick of each ticking count."""
    ev = [e for e in tl.events if e.kind != "wait"]
    ends = []
    for k in range(2, len(ev)):
        if [e.text for e in ev[k - 2 : k + 1]] == list(say.COUNTDOWN):
            ends.append(ev[k])
        if [e.text for e in ev[k - 2 : k + 1]] == ["tick"] * 3:
            ends.append(ev[k])
    return ends


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(routines(), LENGTHS)
def test_no_count_runs_into_a_number(routine: Routine, factor: float) -> None:
    tl = compile_with(routine, scaled(factor))  # type: ignore[arg-type]
    said = [e for e in tl.events if e.kind == "speech"]
    for end in countdown_ends(tl):
        soon = [e for e in said if end.end <= e.start < end.end + to_samples(1.5)]
        assert not any(starts_with_a_number(e.text) for e in soon), (end, soon)


def work_silences(routine: Routine, tl: Timeline) -> list[tuple[float, Event, Event]]:
    """Silences while working: from a set's "Go." (or start or hold sound) to its end;
    not in lead-ins, rests, switches and manual waits, nor where the routine asks for
    quiet (minimal verbosity)."""
    exercises = steps(routine)
    gaps = []
    working = False
    ev = tl.events
    for a, b in itertools.pairwise(ev):
        if a.index < 0 or a.index != b.index:
            working = False
        elif a.text in (say.GO, "start") or (a.text == "hold" and a.rep is None):
            working = exercises[a.index].verbosity != "minimal"
        if a.kind == "wait" or a.text in ("rest", "switch", "finish"):
            working = False
        if working and b.kind != "wait" and b.text not in ("rest", "switch"):
            gaps.append((to_seconds(b.start - a.end), a, b))
    return gaps


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(routines(), LENGTHS)
def test_work_is_never_silent_for_20_seconds(routine: Routine, factor: float) -> None:
    tl = compile_with(routine, scaled(factor))  # type: ignore[arg-type]
    for gap, a, b in work_silences(routine, tl):
        assert gap <= 20.0, (gap, a, b)


def test_the_bundled_routines_keep_the_three_properties() -> None:
    from voicecoach.routine import loader, resources

    for name, path in resources.bundled_routines().items():
        routine = loader.load(str(path))
        tl = compile_with(routine)
        assert max((g for g, _, _ in work_silences(routine, tl)), default=0) <= 20.0, name
        said = [e for e in tl.events if e.kind == "speech"]
        for end in countdown_ends(tl):
            soon = [e for e in said if end.end <= e.start < end.end + to_samples(1.5)]
            assert not any(starts_with_a_number(e.text) for e in soon), (name, end, soon)


# -- form pointers and the words that fill long work -------------------------------------


def test_form_pointers_are_read_and_checked() -> None:
    text = (
        "title: T\nexercises:\n  - name: Plank\n    hold: 1m\n    form: [hips level, 'neck long']\n"
    )
    (ex,) = load_text(text, "t.yaml").exercises
    assert ex.form == ("hips level", "neck long")


def hold(seconds: float, **kw: object) -> Routine:
    ex = replace(
        simple().blocks[0].exercises[0], kind="hold", hold=seconds, reps=0, phases=(), **kw
    )
    return replace(simple(), blocks=(Block("Main", P, (ex,)),))


def test_long_work_hears_the_form_pointers_in_turn_never_over_another_cue() -> None:
    tl = compile_with(hold(90.0, form=("hips level", "neck long")))
    said = speech(tl)
    assert said.count("Hips level.") >= 2 and said.count("Neck long.") >= 2
    first = said.index("Hips level.")
    assert said[first + 1 : first + 3] in (
        ["Neck long.", "Halfway."],
        ["Neck long.", "Hips level."],
    )
    gaps = work_silences(hold(90.0), compile_with(hold(90.0)))
    assert max(g for g, _, _ in gaps) < 16.0  # FILL_EVERY, and the words in between
    assert set(speech(compile_with(hold(90.0)))) >= set(say.STEADY["hold"])


def test_minimal_work_is_quiet() -> None:
    tl = compile_with(hold(90.0, form=("hips level",)), verbosity="minimal")
    assert "Hips level." not in speech(tl)
    assert not set(speech(tl)) & set(say.STEADY["hold"])


def test_a_long_set_hears_halfway_five_to_go_and_its_form_pointers() -> None:
    phases = (Phase(2.0, "in", "lift"), Phase(6.0, "out", "lower"))
    tl = compile_with(simple(reps=15, phases=phases, form=("back stays flat",)))
    by_rep: dict[int, list[str]] = {}
    for e in tl.events:
        if e.kind == "speech" and e.rep is not None:
            by_rep.setdefault(e.rep, []).append(e.text)
    assert say.HALFWAY in by_rep[8] and say.FIVE_TO_GO in by_rep[11]
    assert [r for r, lines in by_rep.items() if "Back stays flat." in lines] == [3, 7]
    # Without form pointers, once a word of encouragement.
    plain = speech(compile_with(simple(reps=15, phases=phases)))
    assert plain.count(say.KEEP_PACE) == 1
