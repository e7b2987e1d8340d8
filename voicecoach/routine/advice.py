"""Advice on a valid routine: what it leaves the coach unable to say well.

Not errors (the routine runs as it is) and not timing warnings (the compiler's): things
``validate`` points out so a routine can coach better.
"""

from __future__ import annotations

from voicecoach.core.model import Routine
from voicecoach.core.timeline import CompileWarning


def advice(routine: Routine) -> tuple[CompileWarning, ...]:
    """Each exercise whose reps say no movement word (only counts and breaths): a person
    on the mat hears "Two, in. Out." and must remember what to do. Minimal verbosity says
    counts only anyway; breath-paced work is the breathing itself."""
    found: list[CompileWarning] = []
    for ex in routine.exercises:
        if ex.kind == "reps" and ex.verbosity != "minimal" and not any(p.say for p in ex.phases):
            found.append(
                CompileWarning(
                    ex.pos.line,
                    ex.pos.column,
                    f"{ex.name}: its reps say no movement word, only the count and the breath;"
                    " name the movement with moves: [...] next to tempo (or say: in phases)",
                )
            )
    return tuple(dict.fromkeys(found))
