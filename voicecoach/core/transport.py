"""Which key does what during a live run: the transport as a pure state machine.

The player is in one of four states: playing, paused, waiting at a manual-advance step
(for space), or resting after the pain key. ``press`` turns a key's action, in a state,
at a timeline position, into a ``Move``: what happens to the position and what is said
first. It does no I/O, reads no clock and plays nothing; the player (app/player.py)
carries the moves out, and tests check them with plain data.

Keys (see adapters/keys.py): space pauses and resumes (and ends a manual wait), n or
right arrow skips to the next exercise, b or left arrow restarts this one, q stops, ?
says where we are (and, pressed again while that is said or just after, the routine's
safety note), p is the pain key: the exercise stops at once, the coach says to rest and
to see a professional if the pain persists, and waits for n (next exercise) or q (stop);
b still restarts. Ctrl-C stops at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from voicecoach.core import coaching as say
from voicecoach.core.status import Guide

PAUSED = "Paused."
RESUMING = "Resuming."
STOPPING = "Stopping. Well done."
REMINDER = "Take your time. Press space when you're done."

Action = Literal["space", "next", "back", "where", "pain", "quit", "interrupt"]
ACTIONS: Mapping[str, Action] = {
    "space": "space",
    "p": "pain",
    "n": "next",
    "right": "next",
    "b": "back",
    "left": "back",
    "?": "where",
    "q": "quit",
    "ctrl-c": "interrupt",
}


def action(key: str | None) -> Action | None:
    """The action of a key name (from adapters/keys.py); None for no key or another key."""
    return ACTIONS.get(key) if key is not None else None


# -- states --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Playing:
    """The session's audio is playing."""


@dataclass(frozen=True, slots=True)
class Paused:
    """Paused with space: silent until a key."""


@dataclass(frozen=True, slots=True)
class Waiting:
    """At a manual-advance step: space goes on to ``end``, where the step's wait ends."""

    end: int


@dataclass(frozen=True, slots=True)
class Resting:
    """Resting after the pain key; ``offer`` says the ways on (n: next, q: stop)."""

    offer: str


State = Playing | Paused | Waiting | Resting


# -- moves ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stay:
    """Nothing to do (n with nothing after the finish): carry on as before, from here."""


@dataclass(frozen=True, slots=True)
class Interrupt:
    """Ctrl-C: silence at once, and stop."""


@dataclass(frozen=True, slots=True)
class Stop:
    """q: the exercise ends at ``pos`` (its time ends at the key, not after the goodbye);
    ``words`` are said in full, then the session stops there."""

    pos: int
    words: str


@dataclass(frozen=True, slots=True)
class Where:
    """?: say where we are at ``pos`` (playing: before the audio goes on; stopped: at once,
    staying stopped)."""

    pos: int


@dataclass(frozen=True, slots=True)
class Pause:
    """space while playing: pause at ``pos``."""

    pos: int


@dataclass(frozen=True, slots=True)
class Pain:
    """p: the exercise stops at ``pos``; rest (see ``pain_offer``)."""

    pos: int


@dataclass(frozen=True, slots=True)
class Go:
    """Play on from ``pos``, saying ``words`` first (if any). ``ends``: the exercise being
    played ends here, skipped (n) or to be played again (b)."""

    pos: int
    words: str | None = None
    ends: Literal["skipped", "restarted"] | None = None


@dataclass(frozen=True, slots=True)
class Remind:
    """In the pain rest, space or p: say the ways on again (only n and q lead on)."""

    words: str


Move = Stay | Interrupt | Stop | Where | Pause | Pain | Go | Remind


def press(state: State, act: Action, pos: int, guide: Guide) -> Move:
    """What ``act`` does in ``state`` at timeline position ``pos`` (samples)."""
    if act == "interrupt":
        return Interrupt()
    if act == "where":
        return Where(pos)
    if act == "quit":
        return Stop(pos, say.PAIN_STOP if isinstance(state, Resting) else STOPPING)
    if act == "back":
        index, at = guide.back_target(pos)
        if index is None:
            return Go(at, "Starting again.", "restarted")
        return Go(at, f"Starting {guide.name(index)} again.", "restarted")
    if act == "next":
        target = guide.next_target(pos)
        if target is None:
            # Nothing after the finish. Resting after pain, n is a way on, whatever it finds.
            return Go(pos) if isinstance(state, Resting) else Stay()
        index, at = target
        return Go(at, skipping_to(guide, index), "skipped")
    if isinstance(state, Resting):  # space, p: the only ways on are n and q (and b)
        return Remind(state.offer)
    if act == "pain":
        return Pain(pos)
    # space
    if isinstance(state, Playing):
        return Pause(pos)
    if isinstance(state, Waiting):
        return Go(state.end)
    return Go(pos, resuming(guide, pos))


def resuming(guide: Guide, pos: int) -> str:
    """What space says on resuming: mid-set, the rep's movement and breath in full too."""
    reminder = guide.reminder(pos)
    return f"{RESUMING} {reminder}" if reminder else RESUMING


def skipping_to(guide: Guide, index: int | None) -> str:
    """What n says: the exercise it skips to (None: the finish)."""
    return f"Skipping to {guide.name(index) if index is not None else 'the end'}."


def pain_offer(guide: Guide, pos: int) -> str | None:
    """What the pain rest at ``pos`` offers: the next exercise, or (after the last) the
    end. None in the finish: every exercise is done, nothing to offer; the coach says
    to rest and the session ends."""
    target = guide.next_target(pos)
    if target is None:
        return None
    return say.PAIN_NEXT if target[0] is not None else say.PAIN_LAST


def where_answer(
    guide: Guide, pos: int, safety: str | None, now: float, offered_until: float
) -> tuple[str, bool]:
    """The ? answer at ``pos``, and whether it offers the safety note.

    With a safety note, ? says where we are and offers the note; ? again before
    ``offered_until`` (clock seconds, set by the caller once it knows how long the
    offer takes to say) says the note itself.
    """
    if safety is None:
        return guide.where(pos), False
    if now < offered_until:
        return safety, False
    return f"{guide.where(pos)} {say.SAFETY_OFFER}", True
