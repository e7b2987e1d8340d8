"""How a session ends: a cool-down line, a get-up cue, what was done, and a tip for
next time from the history's check-ins.

Pure: the live run reads the history and passes what it suggests as a plain value
(``Progression``) into the layout; render and audition, with no history, leave it out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from voicecoach.core import lines as L
from voicecoach.core.messages import ENGLISH, Messages, nsay, say
from voicecoach.core.model import Routine
from voicecoach.core.records import SessionRecord

COOL_DOWN = L.COOL_DOWN  # message ids: the compiler says them in the session's language
GET_UP = L.GET_UP

# How the last exercise with a set-up is done: lying (then a get-up cue), or not. A
# standing or seated word wins ("roll onto your side and push yourself up to standing").
# The words are the routine's language's: "|"-separated pieces of its set-ups (lines.py).
_UPRIGHT = L.UPRIGHT_WORDS
_LYING = L.LYING_WORDS

EASY = (1, 2)  # check-ins that mean "too easy"
HARD = 5


@dataclass(frozen=True, slots=True)
class Progression:
    """What the last check-ins suggest: ``more`` (two sessions in a row rated easy) or
    ``same`` (the last rated very hard, or the pain key pressed)."""

    advice: Literal["more", "same"]


def progression(sessions: Sequence[SessionRecord], digest: str) -> Progression | None:
    """The suggestion from the history's sessions of the routine with ``digest`` (any
    order): after a hard one (5) or a pain press, the same again; after two checked-in
    sessions in a row rated 1 or 2 (and no pain), more; otherwise None."""
    mine = sorted((s for s in sessions if s.routine_digest == digest), key=lambda s: s.started_at)
    if not mine:
        return None
    last = mine[-1]
    if last.effort == HARD or _pained(last):
        return Progression("same")
    rated = [s for s in mine if s.effort is not None]
    if len(rated) >= 2 and all(s.effort in EASY and not _pained(s) for s in rated[-2:]):
        return Progression("more")
    return None


def _pained(session: SessionRecord) -> bool:
    return any(ex.pain for ex in session.exercises) or any(e.kind == "pain" for e in session.events)


def ends_lying(m: Messages, routine: Routine) -> bool:
    """Whether the session ends lying down (so the coach says how to get up): the last
    exercise whose set-up says where the body is, in ``m``'s words for it (pieces of
    text, spaces and commas included: "sit " is not "sitting"), else in English's (a
    routine in English spoken with ``--language``). One language at a time: English's
    "stand" is in German's "Vierfüßlerstand", which is lying."""
    words = [m] if m.language == ENGLISH.language else [m, ENGLISH]
    lists = [tuple(tuple(say(w, k).split("|")) for k in (_UPRIGHT, _LYING)) for w in words]
    for ex in reversed(routine.exercises):
        text = f" {(ex.setup or '').lower()} "
        for upright, lying in lists:
            if any(word in text for word in upright):
                return False
            if any(word in text for word in lying):
                return True
    return False


def usual_reps(routine: Routine) -> int | None:
    """The routine's most common rep count (the larger on a tie), None without reps."""
    counts = Counter(ex.reps for ex in routine.exercises if ex.kind == "reps" and ex.reps)
    if not counts:
        return None
    return max(counts, key=lambda n: (counts[n], n))


def tip(m: Messages, routine: Routine, advice: Progression | None) -> str:
    """'Next time, try fifteen reps.' (about a quarter more, at least two) or 'Next time,
    keep it at twelve reps.'; '' without a suggestion."""
    if advice is None:
        return ""
    reps = usual_reps(routine)
    if advice.advice == "more":
        if reps is None:
            return say(m, L.TRY_LONGER)
        return nsay(m, L.TRY_REPS, reps + max(2, round(reps / 4)))
    if reps is None:
        return say(m, L.KEEP_SAME)
    return nsay(m, L.KEEP_REPS, reps)


def finish_lines(m: Messages, exercises: int, minutes: float, advice: str = "") -> list[str]:
    """What was done, and the tip: 'Well done: five exercises, about eighteen minutes.'"""
    mins = max(1, round(minutes))
    done = say(
        m,
        L.WELL_DONE_DONE,
        exercises=nsay(m, L.EXERCISES, exercises),
        duration=nsay(m, L.MINUTES, mins),
    )
    return [f"{done} {advice}".strip(), say(m, L.WELL_DONE)]
