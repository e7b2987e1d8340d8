"""The transport state machine with plain data: which key does what, in which state,
and where the position goes. No session, no audio, no clock.

The timeline (10 samples a second): welcome 0-50, Bridge 50-200 (two sets), its rest
200-250, Bird-dog 250-400 (a manual-advance wait at 300-350), the finish 400-450.
"""

from __future__ import annotations

import pytest

from voicecoach.core import coaching as say
from voicecoach.core.status import Guide
from voicecoach.core.timeline import Chapter, Event, Timeline
from voicecoach.core.transport import (
    FASTER,
    FASTEST,
    HINT,
    KEYS_HELP,
    LOUDER,
    LOUDEST,
    RESUMING,
    SLOWER,
    SLOWEST,
    SOFTER,
    SOFTEST,
    STOPPING,
    Action,
    Go,
    Interrupt,
    Move,
    Pain,
    Pause,
    Paused,
    Playing,
    Rate,
    Remind,
    Resting,
    State,
    Stay,
    Stop,
    Tell,
    Volume,
    Waiting,
    Where,
    action,
    hint_due,
    pain_offer,
    press,
    rate_step,
    rate_wpm,
    volume_gain,
    volume_step,
    where_answer,
)

WELCOME, BRIDGE, REST, BIRD_DOG, MANUAL, FINISH = 10, 75, 220, 270, 300, 420
OFFER = say.PAIN_NEXT


@pytest.fixture(scope="module")
def guide() -> Guide:
    events = (
        Event(0, 20, "speech", "Welcome.", "intro"),
        Event(50, 10, "speech", "Bridge.", "main", "Bridge", 0, set=1),
        Event(100, 10, "speech", "Set two.", "main", "Bridge", 0, set=2),
        Event(200, 10, "sound", "rest", "main", "Bridge", 0),
        Event(250, 10, "speech", "Bird-dog.", "main", "Bird-dog", 1, set=1, side="left"),
        Event(300, 50, "wait", "Press space when done.", "main", "Bird-dog", 1, set=1),
        Event(400, 50, "speech", "Well done.", "outro"),
    )
    bridge_sets = (Chapter("Set 1", 50, 100, 0), Chapter("Set 2", 100, 200, 0))
    chapters = (
        Chapter("Welcome", 0, 50),
        Chapter("Bridge", 50, 200, 0, bridge_sets),
        Chapter("Rest", 200, 250, 0),
        Chapter("Bird-dog", 250, 400, 1),
        Chapter("Finish", 400, 450),
    )
    return Guide(Timeline("Test", events, chapters, sample_rate=10))


def test_keys_name_their_actions() -> None:
    assert [action(k) for k in ("space", "p", "n", "right", "b", "left", "?", "q")] == [
        "space", "pain", "next", "next", "back", "back", "where", "quit",
    ]  # fmt: skip
    assert action("ctrl-c") == "interrupt"
    assert [action(k) for k in ("h", "+", "-", "]", "[")] == [
        "help", "louder", "softer", "faster", "slower",
    ]  # fmt: skip
    assert action(None) is None
    assert action("other") == "unknown"
    assert action("3") == "unknown"  # digits answer the check-in, not the player


SKIP_TO_BIRD_DOG = Go(250, "Skipping to Bird-dog.", "skipped")
SKIP_TO_END = Go(400, "Skipping to the end.", "skipped")
AGAIN_BRIDGE = Go(50, "Starting Bridge again.", "restarted")
AGAIN_BIRD_DOG = Go(250, "Starting Bird-dog again.", "restarted")

CASES: list[tuple[State, Action, int, Move]] = [
    # playing
    (Playing(), "space", BRIDGE, Pause(BRIDGE)),
    (Playing(), "pain", BRIDGE, Pain(BRIDGE)),
    (Playing(), "where", BRIDGE, Where(BRIDGE)),
    (Playing(), "quit", BRIDGE, Stop(BRIDGE, STOPPING)),
    (Playing(), "interrupt", BRIDGE, Interrupt()),
    (Playing(), "next", WELCOME, Go(50, "Skipping to Bridge.", "skipped")),
    (Playing(), "next", BRIDGE, SKIP_TO_BIRD_DOG),
    (Playing(), "next", REST, SKIP_TO_BIRD_DOG),  # the rest belongs to what is done
    (Playing(), "next", BIRD_DOG, SKIP_TO_END),
    (Playing(), "next", FINISH, Stay()),  # nothing after the finish: keep playing
    (Playing(), "back", WELCOME, Go(0, "Starting again.", "restarted")),
    (Playing(), "back", BRIDGE, AGAIN_BRIDGE),
    (Playing(), "back", REST, AGAIN_BRIDGE),  # in the rest: the exercise just done
    (Playing(), "back", FINISH, AGAIN_BIRD_DOG),
    # paused: space resumes where it stopped
    (Paused(), "space", BRIDGE, Go(BRIDGE, RESUMING)),
    (Paused(), "pain", BRIDGE, Pain(BRIDGE)),
    (Paused(), "where", BRIDGE, Where(BRIDGE)),
    (Paused(), "quit", REST, Stop(REST, STOPPING)),
    (Paused(), "interrupt", REST, Interrupt()),
    (Paused(), "next", BRIDGE, SKIP_TO_BIRD_DOG),
    (Paused(), "next", FINISH, Stay()),
    (Paused(), "back", BIRD_DOG, AGAIN_BIRD_DOG),
    # a manual-advance step: space goes on after the wait, silently
    (Waiting(350), "space", MANUAL, Go(350)),
    (Waiting(350), "pain", MANUAL, Pain(MANUAL)),
    (Waiting(350), "where", MANUAL, Where(MANUAL)),
    (Waiting(350), "quit", MANUAL, Stop(MANUAL, STOPPING)),
    (Waiting(350), "next", MANUAL, SKIP_TO_END),
    (Waiting(350), "back", MANUAL, AGAIN_BIRD_DOG),
    # resting after pain: only n and q lead on (and b); space and p repeat the offer
    (Resting(OFFER), "space", BRIDGE, Remind(OFFER)),
    (Resting(OFFER), "pain", BRIDGE, Remind(OFFER)),
    (Resting(say.PAIN_LAST), "space", BIRD_DOG, Remind(say.PAIN_LAST)),
    (Resting(OFFER), "where", BRIDGE, Where(BRIDGE)),
    (Resting(OFFER), "quit", BRIDGE, Stop(BRIDGE, say.PAIN_STOP)),
    (Resting(OFFER), "interrupt", BRIDGE, Interrupt()),
    (Resting(OFFER), "next", BRIDGE, SKIP_TO_BIRD_DOG),
    (Resting(OFFER), "next", FINISH, Go(FINISH)),  # a way on, even with nothing after
    (Resting(OFFER), "back", BRIDGE, AGAIN_BRIDGE),
    # h, unknown keys, volume and rate: the same in every state, at the position
    (Playing(), "help", BRIDGE, Tell(BRIDGE, KEYS_HELP)),
    (Paused(), "help", REST, Tell(REST, KEYS_HELP)),
    (Resting(OFFER), "help", BRIDGE, Tell(BRIDGE, KEYS_HELP)),
    (Playing(), "unknown", BRIDGE, Tell(BRIDGE, HINT, hint=True)),
    (Waiting(350), "unknown", MANUAL, Tell(MANUAL, HINT, hint=True)),
    (Resting(OFFER), "unknown", BRIDGE, Tell(BRIDGE, HINT, hint=True)),
    (Playing(), "louder", BRIDGE, Volume(BRIDGE, 1)),
    (Paused(), "softer", BRIDGE, Volume(BRIDGE, -1)),
    (Waiting(350), "louder", MANUAL, Volume(MANUAL, 1)),
    (Playing(), "faster", BIRD_DOG, Rate(BIRD_DOG, 1)),
    (Resting(OFFER), "slower", BRIDGE, Rate(BRIDGE, -1)),
]


@pytest.mark.parametrize(("state", "act", "pos", "expected"), CASES)
def test_press(guide: Guide, state: State, act: Action, pos: int, expected: Move) -> None:
    assert press(state, act, pos, guide) == expected


def test_every_state_answers_every_action(guide: Guide) -> None:
    """No key falls through: each state has a move for each action, at every position."""
    states: list[State] = [Playing(), Paused(), Waiting(350), Resting(OFFER)]
    keys = ("space", "p", "n", "b", "?", "q", "ctrl-c", "h", "+", "-", "[", "]", "other")
    for state in states:
        for key in keys:
            act = action(key)
            assert act is not None
            for pos in range(0, 450, 5):
                move = press(state, act, pos, guide)
                if isinstance(move, Go):
                    assert 0 <= move.pos <= 450
                assert not (isinstance(move, Remind) and not isinstance(state, Resting))
                assert not (isinstance(move, Pause) and not isinstance(state, Playing))


def test_the_hint_is_said_at_most_once_a_minute() -> None:
    assert hint_due(5.0, None)
    assert not hint_due(64.9, 5.0)
    assert hint_due(65.0, 5.0)


def test_volume_steps_3_db_and_stops_at_either_end() -> None:
    assert volume_step(0, 1) == (1, LOUDER)
    assert volume_step(0, -1) == (-1, SOFTER)
    assert volume_step(1, 1) == (1, LOUDEST)  # +3 dB at most: speech peaks near -1 dBFS
    assert volume_step(-6, -1) == (-6, SOFTEST)
    assert volume_gain(0) == 1.0
    assert volume_gain(-2) == pytest.approx(0.501, abs=0.001)  # -6 dB
    assert volume_gain(1) == pytest.approx(1.413, abs=0.001)


def test_rate_steps_a_tenth_of_the_voice_and_stops_at_either_end() -> None:
    assert rate_step(0, 1) == (1, FASTER)
    assert rate_step(0, -1) == (-1, SLOWER)
    assert rate_step(4, 1) == (4, FASTEST)
    assert rate_step(-3, -1) == (-3, SLOWEST)
    assert rate_wpm(200, 0) == 200
    assert rate_wpm(200, 1) == 220
    assert rate_wpm(150, -3) == 105


def test_pain_offers_what_comes_next(guide: Guide) -> None:
    assert pain_offer(guide, BRIDGE) == say.PAIN_NEXT
    assert pain_offer(guide, REST) == say.PAIN_NEXT
    assert pain_offer(guide, BIRD_DOG) == say.PAIN_LAST  # after it: the end
    assert pain_offer(guide, FINISH) is None  # nothing to offer: the session ends


def test_where_offers_the_safety_note_then_says_it(guide: Guide) -> None:
    here = guide.where(BRIDGE)
    assert here.startswith("Bridge, set one of two. Exercise one of two.")
    assert where_answer(guide, BRIDGE, None, 100.0, 0.0) == (here, False)
    assert where_answer(guide, BRIDGE, None, 100.0, 200.0) == (here, False)  # no note
    offered = f"{here} {say.SAFETY_OFFER}"
    assert where_answer(guide, BRIDGE, "Stop if it hurts.", 100.0, 0.0) == (offered, True)
    assert where_answer(guide, BRIDGE, "Stop if it hurts.", 100.0, 106.0) == (
        "Stop if it hurts.",
        False,
    )
    assert where_answer(guide, BRIDGE, "Stop if it hurts.", 106.0, 106.0) == (offered, True)


def test_resuming_mid_set_says_the_full_movement_again() -> None:
    """The faded cues ("Three, knees in.", "In.") assume the full one was heard a
    moment ago: after a pause in the reps the coach says it again; elsewhere not."""
    events = (
        Event(0, 20, "speech", "Bridge.", "main", "Bridge", 0, set=1),
        Event(50, 10, "speech", "One, hips up.", "main", "Bridge", 0, set=1, rep=1),
        Event(100, 10, "speech", "Two, hips up.", "main", "Bridge", 0, set=1, rep=2),
        Event(150, 10, "sound", "rest", "main", "Bridge", 0),
        Event(200, 10, "speech", "Well done.", "outro"),
    )
    chapters = (Chapter("Bridge", 0, 150, 0), Chapter("Rest", 150, 200, 0), Chapter("F", 200, 210))
    line = "Hips up, exhale through your mouth, lower, inhale through your nose."
    guide = Guide(Timeline("T", events, chapters, sample_rate=10, reminders=(line,)))
    assert press(Paused(), "space", 120, guide) == Go(120, f"{RESUMING} {line}")
    assert press(Paused(), "space", 10, guide) == Go(10, RESUMING)  # the lead-in: said anyway
    assert press(Paused(), "space", 160, guide) == Go(160, RESUMING)  # the rest
