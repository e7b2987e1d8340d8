"""Routines for the compiler's tests: Hypothesis strategies for any routine, and a
one-exercise routine to vary. Shared by the compiler, coaching and ending tests."""

from __future__ import annotations

from hypothesis import strategies as st

from voicecoach.core.model import Block, Exercise, Lines, Phase, Pos, Routine
from voicecoach.core.timeline import Timeline

P = Pos(3, 5)

secs = st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0, 4.0])


@st.composite
def exercises(draw: st.DrawFn, i: int) -> Exercise:
    kind = draw(st.sampled_from(["reps", "timed", "hold", "breaths"]))
    side_mode = draw(
        st.sampled_from(["none", "each", "alternate"] if kind == "reps" else ["none", "each"])
    )
    sides = (
        () if side_mode == "none" else draw(st.sampled_from([("left", "right"), ("right", "left")]))
    )
    phases = tuple(
        Phase(
            draw(secs),
            draw(st.sampled_from([None, "in", "out", "hold"])),
            draw(st.sampled_from([None, "lift"])),
        )
        for _ in range(draw(st.integers(1, 3)))
    )
    manual = kind == "reps" and draw(st.booleans()) and draw(st.booleans())
    return Exercise(
        name=f"Exercise {i}",
        pos=Pos(10 + i, 5),
        kind=kind,  # type: ignore[arg-type]
        setup=draw(st.sampled_from([None, "Lie on your back on the mat with your knees bent."])),
        cue=draw(st.sampled_from([None, "Lift slowly."])),
        reps=draw(st.integers(1, 4)),
        phases=phases if kind in ("reps", "breaths") else (),
        hold=draw(st.sampled_from([0.0, 0.3, 3.0, 5.0, 25.0]))
        if kind == "reps"
        else (draw(st.sampled_from([2.0, 10.0, 35.0])) if kind == "hold" else 0.0),
        hold_after=draw(st.integers(0, len(phases) - 1)),
        time=draw(st.sampled_from([3.0, 12.0, 40.0])) if kind == "timed" else 0.0,
        manual=manual,
        estimate=30.0,
        side_mode=side_mode,  # type: ignore[arg-type]
        sides=sides,
        switch=draw(st.sampled_from([1.0, 5.0, 10.0])),
        sets=draw(st.integers(1, 3)),
        set_rest=draw(st.sampled_from([2.0, 15.0])),
        rest=draw(st.sampled_from([0.0, 3.0, 20.0])),
        lead_in=draw(st.sampled_from([0.0, 5.0, 15.0])),
        verbosity=draw(st.sampled_from(["full", "normal", "minimal"])),
        count=draw(st.booleans()),
        lines=Lines(
            start=draw(st.sampled_from([None, "Go, {side} side."])),
            end=draw(st.sampled_from([None, "Done with {exercise}."])),
        ),
    )


@st.composite
def routines(draw: st.DrawFn) -> Routine:
    blocks = []
    n = 0
    for b in range(draw(st.integers(1, 2))):
        exs = []
        for _ in range(draw(st.integers(1, 3))):
            exs.append(draw(exercises(n)))
            n += 1
        blocks.append(
            Block(
                f"Block {b}",
                P,
                tuple(exs),
                rounds=draw(st.integers(1, 2)),
                round_rest=draw(st.sampled_from([4.0, 30.0])),
            )
        )
    return Routine(
        title="Generated",
        blocks=tuple(blocks),
        path="gen.yaml",
        name="gen",
        digest="0",
        safety=draw(st.sampled_from([None, "Stop if it hurts."])),
    )


def simple(**kw: object) -> Routine:
    base = dict(
        name="Bridge", pos=P, kind="reps", reps=3, phases=(Phase(2.0, "in"), Phase(2.0, "out"))
    )
    base.update(kw)
    ex = Exercise(**base)  # type: ignore[arg-type]
    return Routine(
        title="T", blocks=(Block("Main", P, (ex,)),), path="t.yaml", name="t", digest="0"
    )


def speech(tl: Timeline) -> list[str]:
    return [e.text for e in tl.events if e.kind == "speech"]
