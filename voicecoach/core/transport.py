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
b still restarts. h lists the keys; + and - change the volume, [ and ] the speech rate,
each confirmed by voice (said at the new setting: from that phrase on, everything is).
Any other key says how to hear the keys, at most once a minute. Ctrl-C stops at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from voicecoach.core import coaching as say
from voicecoach.core import live_lines as LL
from voicecoach.core.messages import say as t
from voicecoach.core.status import Guide

# Message ids (English): a move's words are said in the session's language (the guide's).
PAUSED = LL.PAUSED
RESUMING = LL.RESUMING
STOPPING = LL.STOPPING
REMINDER = LL.REMINDER
HINT = LL.HINT
HINT_EVERY = 60.0  # seconds: an unknown key is answered at most this often
KEYS_HELP = LL.KEYS_HELP
VOLUME_STEP_DB = 3.0
# Steps of VOLUME_STEP_DB: -18 dB to +3 dB. Speech is levelled with peaks just under
# -1 dBFS, so above the routine's own level its loudest peaks clip: +3 dB clips only
# those, by 2 dB at most; more would be heard as distortion.
VOLUME_LEVELS = range(-6, 2)
RATE_STEP = 0.1  # of the voice's own rate, a step
RATE_LEVELS = range(-3, 5)  # 70 % to 140 % of the voice's rate
LOUDER, SOFTER, LOUDEST, SOFTEST = LL.LOUDER, LL.SOFTER, LL.LOUDEST, LL.SOFTEST
FASTER, SLOWER, FASTEST, SLOWEST = LL.FASTER, LL.SLOWER, LL.FASTEST, LL.SLOWEST

Action = Literal[
    "space", "next", "back", "where", "pain", "quit", "interrupt",
    "help", "louder", "softer", "faster", "slower", "unknown",
]  # fmt: skip
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
    "h": "help",
    "+": "louder",
    "-": "softer",
    "]": "faster",
    "[": "slower",
}


def action(key: str | None) -> Action | None:
    """The action of a key name (from adapters/keys.py); None for no key, "unknown" for a
    key that does nothing here."""
    if key is None:
        return None
    return ACTIONS.get(key, "unknown")


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


@dataclass(frozen=True, slots=True)
class Tell:
    """h, or an unknown key (``hint``: said only if the last hint was a minute ago): say
    ``words`` at ``pos`` (playing: before the audio goes on; stopped: at once, staying
    stopped), like ?."""

    pos: int
    words: str
    hint: bool = False


@dataclass(frozen=True, slots=True)
class Volume:
    """+ or -: the volume one step up (``step`` 1) or down (-1), confirmed at ``pos``."""

    pos: int
    step: int


@dataclass(frozen=True, slots=True)
class Rate:
    """] or [: speech one step faster (``step`` 1) or slower (-1), from ``pos`` on."""

    pos: int
    step: int


Move = Stay | Interrupt | Stop | Where | Pause | Pain | Go | Remind | Tell | Volume | Rate


def press(state: State, act: Action, pos: int, guide: Guide) -> Move:
    """What ``act`` does in ``state`` at timeline position ``pos`` (samples); its words in
    the guide's language."""
    m = guide.m
    if act == "interrupt":
        return Interrupt()
    if act == "where":
        return Where(pos)
    if act == "help":
        return Tell(pos, t(m, KEYS_HELP))
    if act == "unknown":
        return Tell(pos, t(m, HINT), hint=True)
    if act in ("louder", "softer"):
        return Volume(pos, 1 if act == "louder" else -1)
    if act in ("faster", "slower"):
        return Rate(pos, 1 if act == "faster" else -1)
    if act == "quit":
        return Stop(pos, t(m, say.PAIN_STOP if isinstance(state, Resting) else STOPPING))
    if act == "back":
        index, at = guide.back_target(pos)
        if index is None:
            return Go(at, t(m, LL.STARTING_AGAIN), "restarted")
        return Go(at, t(m, LL.STARTING_EXERCISE_AGAIN, exercise=guide.name(index)), "restarted")
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
    resumed = t(guide.m, RESUMING)
    return f"{resumed} {reminder}" if reminder else resumed


def hint_due(now: float, last: float | None) -> bool:
    """Whether an unknown key, at clock time ``now``, gets the hint (said last at ``last``)."""
    return last is None or now - last >= HINT_EVERY


def volume_step(level: int, step: int) -> tuple[int, str]:
    """The volume level after a step (levels of VOLUME_STEP_DB, 0 the routine's own), and
    the confirmation (a message id); at either end it stays and says so."""
    new = level + step
    if new not in VOLUME_LEVELS:
        return level, LOUDEST if step > 0 else SOFTEST
    return new, LOUDER if step > 0 else SOFTER


def volume_gain(level: int) -> float:
    """The factor a volume level scales the samples by."""
    return float(10 ** (level * VOLUME_STEP_DB / 20))


def rate_step(level: int, step: int) -> tuple[int, str]:
    """The rate level after a step (RATE_STEP of the voice's rate each), and the
    confirmation (a message id); at either end it stays and says so."""
    new = level + step
    if new not in RATE_LEVELS:
        return level, FASTEST if step > 0 else SLOWEST
    return new, FASTER if step > 0 else SLOWER


def rate_wpm(base: int, level: int) -> int:
    """Words per minute at a rate level, for a voice whose own rate is ``base``."""
    return round(base * (1 + RATE_STEP * level))


def skipping_to(guide: Guide, index: int | None) -> str:
    """What n says: the exercise it skips to (None: the finish)."""
    if index is None:
        return t(guide.m, LL.SKIPPING_TO_END)
    return t(guide.m, LL.SKIPPING_TO, exercise=guide.name(index))


def pain_offer(guide: Guide, pos: int) -> str | None:
    """What the pain rest at ``pos`` offers: the next exercise, or (after the last) the
    end. None in the finish: every exercise is done, nothing to offer; the coach says
    to rest and the session ends."""
    target = guide.next_target(pos)
    if target is None:
        return None
    return t(guide.m, say.PAIN_NEXT if target[0] is not None else say.PAIN_LAST)


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
    return f"{guide.where(pos)} {t(guide.m, say.SAFETY_OFFER)}", True
