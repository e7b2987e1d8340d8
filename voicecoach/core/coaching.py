"""What a good coach says, and when: the cue vocabulary.

Pure functions from the routine's data to the phrases spoken. The compiler decides
*where* they go; this module decides *what* they are. Breathing cues are given in full
the first time and faded after ("inhale through your nose" -> "in"), as an instructor does.
"""

from __future__ import annotations

from collections.abc import Mapping

from voicecoach.core import lines as L
from voicecoach.core import live_lines as LL
from voicecoach.core.messages import ENGLISH, Count, Messages, capital, nsay
from voicecoach.core.messages import say as t
from voicecoach.core.model import Breath, Exercise, Verbosity

# The breath in full, shorter, and faded to a word (message ids: see ``lines``).
FULL_BREATH: Mapping[Breath, str] = {"in": L.INHALE, "out": L.EXHALE, "hold": L.HOLD_BREATH}
MEDIUM_BREATH: Mapping[Breath, str] = {
    "in": L.BREATHE_IN,
    "out": L.BREATHE_OUT,
    "hold": L.HOLD_BREATH,
}
FADED_BREATH: Mapping[Breath, str] = {"in": L.IN, "out": L.OUT, "hold": L.HOLD_WORD}

COUNTDOWN = (L.THREE, L.TWO, L.ONE)
COUNT_CLEAR = 1.5  # seconds: a count is never followed sooner by a line starting with a number
GO = L.GO  # ends every count into work: the first rep's "One" never follows "One."
LETS_BEGIN = L.LETS_BEGIN
HOLD = L.HOLD
HOLD_BREATHING = L.HOLD_BREATHING
AND_RELEASE = L.AND_RELEASE
HALFWAY = L.HALFWAY
TEN_LEFT = L.TEN_LEFT
LAST_ONE = L.LAST_ONE
SWITCH = L.SWITCH
PRESS_SPACE = L.PRESS_SPACE
SIDES: Mapping[str, tuple[str, str]] = {  # a side: its word, and its noun phrase
    "left": (L.LEFT, L.LEFT_SIDE),
    "right": (L.RIGHT, L.RIGHT_SIDE),
}


def number_words(n: int, m: Messages = ENGLISH) -> str:
    """``n`` in words in ``m``'s language: 21 -> 'twenty-one', 130 -> 'one hundred thirty'."""
    return m.number(n)


def side_word(m: Messages, side: str) -> str:
    """A side as a word ("left"), as said with an alternating rep's count."""
    return t(m, SIDES[side][0]) if side in SIDES else side


def side_phrase(m: Messages, side: str) -> str:
    """A side as a noun phrase ("left side"), the ``{side}`` of the coach's sentences."""
    return t(m, SIDES[side][1]) if side in SIDES else f"{side} side"


def spoken_duration(m: Messages, seconds: float) -> str:
    """45 -> 'forty-five seconds', 90 -> 'one minute thirty seconds', 120 -> 'two minutes'."""
    total = round(seconds)
    minutes, secs = divmod(total, 60)
    if not minutes:
        return nsay(m, L.SECONDS, secs)
    if not secs:
        return nsay(m, L.MINUTES, minutes)
    return t(
        m, L.MINUTES_SECONDS, minutes=nsay(m, L.MINUTES, minutes), seconds=nsay(m, L.SECONDS, secs)
    )


def sentence(*parts: str | None) -> str:
    """Join clauses with commas into one capitalised sentence ending in a full stop."""
    text = ", ".join(p.strip().rstrip(".") for p in parts if p and p.strip())
    if not text:
        return ""
    return capital(text) + "."


def fill(m: Messages, template: str, exercise: Exercise, **values: object) -> str:
    """A custom line with its {variables} filled in (the loader checked the names);
    ``{side}`` is the side's word in ``m``'s language."""
    known: dict[str, object] = {
        "exercise": exercise.name,
        "side": "",
        "rep": "",
        "reps": exercise.reps,
        "set": "",
        "sets": exercise.sets,
        "seconds": round(exercise.time or exercise.hold),
    }
    known.update({k: v for k, v in values.items() if v is not None})
    if values.get("side"):
        known["side"] = side_word(m, str(values["side"]))
    text = template.format(**known).strip()
    # "{side} side, hold." starts a sentence: capitalised as captions show it.
    return capital(text)


BREATHS_BY_LEVEL = (FULL_BREATH, MEDIUM_BREATH, FADED_BREATH)
REFRESH = 5  # on a long set (ten reps or more) the full breath comes back every 5 reps
LONG_SET = 10
COUNT_DOWN_FROM = 8  # sets this long end "three more", "two more", "last one"
MORE = {3: L.THREE_MORE, 2: L.TWO_MORE}


def breath_level(rep: int, reps: int, first: bool, verbosity: Verbosity) -> int:
    """How fully the breath is said on ``rep``: 0 in full ("inhale through your nose"),
    1 shorter ("breathe in"), 2 the word alone ("in").

    Graded, as an instructor fades it: in full the first time, shorter on the next rep,
    then the word. A long set brings the full cue back every ``REFRESH`` reps, and a new
    set or side starts from the shorter cue (the full one was heard a minute ago).
    """
    if verbosity == "full":
        return 0
    k = (rep - 1) % REFRESH if reps >= LONG_SET else rep - 1
    if k == 0:
        return 0 if first or rep > 1 else 1
    return 1 if k == 1 else 2


def count_word(m: Messages, rep: int, reps: int) -> str:
    """The count said at a rep's start: up, then "three more", "two more", "last one"."""
    left = reps - rep + 1
    if reps >= 3 and left == 1:
        return t(m, LAST_ONE)
    if reps >= COUNT_DOWN_FROM and left in MORE:
        return t(m, MORE[left])
    return m.number(rep)


def rep_cue(
    m: Messages,
    exercise: Exercise,
    rep: int,
    phase: int,
    *,
    level: int,
    say_word: bool,
    count: bool,
    breath: bool,
    side: str | None,
    set_no: int,
    side_word: str | None = None,
    last_line: bool = False,
    halfway: bool = False,
) -> str:
    """The words at one phase's start, e.g. 'One, lift, inhale through your nose.'

    ``level``: how fully the breath is said (``breath_level``); ``last_line``: say the
    routine's own ``last`` line even when not counting (the user wrote it); ``halfway``:
    the routine's own ``halfway`` line goes first.

    A list of clauses in the order they happen (count, side, the routine's movement
    word, the breath), joined as one sentence: each clause is a message of its own.
    """
    p = exercise.phases[phase]
    parts: list[str | None] = []
    if phase == 0 and exercise.lines.last and rep == exercise.reps and (count or last_line):
        parts.append(fill(m, exercise.lines.last, exercise, rep=rep, side=side, set=set_no))
    elif phase == 0 and count:
        if exercise.lines.rep:
            parts.append(fill(m, exercise.lines.rep, exercise, rep=rep, side=side, set=set_no))
        elif exercise.kind == "reps":
            parts.append(count_word(m, rep, exercise.reps))
        else:
            parts.append(m.number(rep))
    if side_word:
        parts.append(side_word)
    if say_word and p.say:
        parts.append(p.say)
    if breath and p.breath:
        parts.append(t(m, BREATHS_BY_LEVEL[level][p.breath]))
    text = sentence(*parts)
    if halfway and exercise.lines.halfway:
        line = fill(m, exercise.lines.halfway, exercise, rep=rep, side=side, set=set_no)
        text = f"{sentence(line)} {text}".strip()
    return text


def rep_cue_variants(
    m: Messages,
    exercise: Exercise,
    rep: int,
    phase: int,
    verbosity: Verbosity,
    first: bool,
    side: str | None,
    set_no: int,
    *,
    side_word: str | None = None,
    count: bool = True,
) -> list[str]:
    """The cue for one phase, most helpful first; the compiler takes the first that fits.

    Above ``minimal`` every rep says its movement word: when time is short the breath
    is shortened, then left out, but the movement stays (a longer phase, with a warning,
    rather than a bare count). ``minimal`` is the counts (and the first rep's words)."""
    breath_always = exercise.kind == "breaths"
    # The routine's own lines are said whatever the verbosity: the user wrote them.
    # Halfway through a set of reps is the start of its middle rep.
    halfway = bool(exercise.lines.halfway) and count and exercise.reps >= 3
    halfway = halfway and phase == 0 and rep == exercise.reps // 2 + 1
    last_line = count
    count = count and exercise.count
    # Without counting, the (faded) breath is what paces the reps, even when minimal.
    breath = verbosity != "minimal" or breath_always or first or not exercise.count
    minimal = verbosity == "minimal"
    say_word = not minimal or first
    if minimal:
        level = 0 if first and breath_always else 2
    else:
        level = breath_level(rep, exercise.reps, first, verbosity)

    def cue(level: int, say_word: bool, breath: bool, halfway: bool) -> str:
        return rep_cue(
            m,
            exercise,
            rep,
            phase,
            level=level,
            say_word=say_word,
            count=count,
            breath=breath,
            side=side,
            set_no=set_no,
            side_word=side_word,
            last_line=last_line,
            halfway=halfway,
        )

    # Fallbacks when time is short: a shorter breath, then none; minimal (and a phase
    # with no movement word) may end with the count alone.
    shorter = [(lv, say_word, breath) for lv in range(level, 3)] + [(2, say_word, False)]
    if minimal:
        shorter += [(2, False, breath), (2, False, False)]
    variants = [
        cue(*words, half) for half in ((True, False) if halfway else (False,)) for words in shorter
    ]
    return list(dict.fromkeys(variants))


FIVE_TO_GO = L.FIVE_TO_GO
KEEP_PACE = L.KEEP_PACE
# Said in the long gaps of timed work and holds when the routine gives no form pointers.
STEADY: Mapping[str, tuple[str, ...]] = {
    "timed": (L.KEEP_PACE, L.NICE_AND_STEADY),
    "hold": (L.STAY_RELAXED, L.NICE_AND_STILL),
}
FILL_EVERY = 15.0  # seconds: timed work and holds are never silent much longer than this
FORM_EVERY = 4  # reps: a form pointer (or a word of encouragement) every few reps


def set_word(exercise: Exercise, rep: int) -> str | None:
    # A message id (the caller translates it), so ``form_slot`` needs no language.
    """A word for the set at rep ``rep``, sparingly, or None: "Halfway." at the middle
    rep, "Five to go." on a long set, once "Good, keep that pace." when the routine gives
    no form pointers. ``minimal`` is counts only: nothing."""
    n = exercise.reps
    if exercise.verbosity == "minimal" or exercise.kind != "reps" or n < 6:
        return None
    if rep == n // 2 + 1 and not exercise.lines.halfway:
        return HALFWAY
    if n >= 10 and rep == n - 4:
        return FIVE_TO_GO
    if rep == 3 and not exercise.form:
        return KEEP_PACE
    return None


def form_slot(exercise: Exercise, rep: int) -> bool:
    """Whether rep ``rep`` of a set has room for a form pointer: every ``FORM_EVERY`` reps
    from the third (not in the last two, nor where ``set_word`` says something)."""
    n = exercise.reps
    return (
        bool(exercise.form)
        and exercise.verbosity != "minimal"
        and exercise.kind == "reps"
        and n >= 6
        and 3 <= rep <= n - 2
        and (rep - 3) % FORM_EVERY == 0
        and set_word(exercise, rep) is None
    )


def work_fillers(m: Messages, exercise: Exercise, gaps: int, said: int) -> list[str]:
    """The lines for ``gaps`` long gaps of timed work or a hold: the routine's form
    pointers in turn (from the ``said``-th), else a steady word."""
    if exercise.form:
        return [sentence(exercise.form[(said + k) % len(exercise.form)]) for k in range(gaps)]
    pool = STEADY["hold" if exercise.kind == "hold" else "timed"]
    return [t(m, pool[k % len(pool)]) for k in range(gaps)]


def movement_line(m: Messages, exercise: Exercise) -> str:
    """A rep's movement and breath in full, said when the user resumes mid-set (the
    faded cues assume they were heard a moment ago): 'Knees in, inhale through your
    nose, exhale through your mouth, feet down.' Empty when a rep says nothing."""
    parts: list[str | None] = []
    for p in exercise.phases:
        parts.append(p.say)
        parts.append(t(m, FULL_BREATH[p.breath]) if p.breath else None)
    return sentence(*parts)


def announce(
    m: Messages,
    exercise: Exercise,
    verbosity: Verbosity,
    *,
    first: bool,
    block: str | None,
    next_up: bool = False,
) -> list[str]:
    """What is said during the lead-in, in order: block, name, set-up, cue, intro line.

    ``next_up``: said in the rest before it ("Rest, twenty seconds." came first)."""
    lines: list[str] = []
    if block:
        lines.append(sentence(block))
    if first:
        lines.append(sentence(t(m, L.FIRST, exercise=exercise.name)))
    elif next_up:
        lines.append(sentence(t(m, L.NEXT_UP, exercise=exercise.name)))
    else:
        lines.append(sentence(exercise.name))
    if verbosity != "minimal" and exercise.setup:
        lines.append(exercise.setup.strip())
    summary = "" if exercise.manual else work_summary(m, exercise)
    if summary and verbosity != "minimal":
        lines.append(summary)
    if exercise.cue:
        lines.append(exercise.cue.strip())
    if exercise.lines.intro:
        first_side = exercise.sides[0] if exercise.sides else None
        lines.append(fill(m, exercise.lines.intro, exercise, side=first_side, set=1))
    return [line for line in lines if line]


def work_summary(m: Messages, exercise: Exercise) -> str:
    """'Ten reps on each side, two sets.' — how much work is coming: each piece a message
    holding the one before (``{work}``), so each language puts them in its own order."""
    if exercise.kind == "reps":
        what = nsay(m, L.REPS, exercise.reps)
    elif exercise.kind == "breaths":
        what = nsay(m, L.BREATHS, exercise.reps)
    elif exercise.kind == "hold":
        what = t(m, L.HOLD_FOR, duration=spoken_duration(m, exercise.hold))
    else:
        what = spoken_duration(m, exercise.time)
    if exercise.side_mode == "each" and len(exercise.sides) == 1:
        what = t(m, L.ON_ONE_SIDE, work=what, side=side_phrase(m, exercise.sides[0]))
    elif exercise.side_mode == "each":
        what = t(m, L.ON_EACH_SIDE, work=what)
    elif exercise.side_mode == "alternate":
        what = t(m, L.ALTERNATING, work=what)
    if exercise.kind == "reps" and exercise.hold:
        # After the sides: "ten reps on each side, holding five seconds".
        what = t(m, L.HOLDING, work=what, duration=spoken_duration(m, exercise.hold))
    if exercise.sets > 1:
        what = nsay(m, L.SETS, exercise.sets, work=what)
    return sentence(what)


def rest_lines(
    m: Messages,
    seconds: float,
    next_name: str | None,
    verbosity: Verbosity,
    round_done: tuple[int, int] | None = None,
) -> list[str]:
    """Rest announcements, most helpful first: 'Rest, twenty seconds. Next up: bird-dog.'

    ``round_done``: (round, rounds) when this rest ends a round of a block, which is
    said first: 'Round one of three done. Rest, thirty seconds. Next up: bridge.'"""
    duration = spoken_duration(m, seconds)
    name = next_name.rstrip(".") if next_name else None
    options = []
    if round_done is not None:
        done, rounds = (Count(n) for n in round_done)
        if name and verbosity != "minimal":
            options.append(
                t(m, L.ROUND_DONE_NEXT, round=done, rounds=rounds, duration=duration, exercise=name)
            )
        options.append(t(m, L.ROUND_DONE, round=done, rounds=rounds, duration=duration))
    if name and verbosity != "minimal":
        options.append(t(m, L.REST_NEXT, duration=duration, exercise=name))
    options.append(t(m, L.REST, duration=duration))
    options.append(t(m, L.REST_SHORT))
    return options


def set_rest_lines(
    m: Messages,
    seconds: float,
    next_set: int,
    sets: int,
    verbosity: Verbosity,
    side: str | None = None,
) -> list[str]:
    """Between sets; ``side``: the side the next set starts on (worked one side at a time)."""
    duration = spoken_duration(m, seconds)
    which = {"set": Count(next_set), "sets": Count(sets)}
    options = []
    if side and verbosity != "minimal":
        options.append(
            t(m, L.SET_REST_SET_SIDE, duration=duration, side=side_phrase(m, side), **which)
        )
    if side:
        options.append(t(m, L.SET_REST_SIDE, duration=duration, side=side_phrase(m, side)))
    if verbosity != "minimal":
        options.append(t(m, L.SET_REST_SET, duration=duration, **which))
    options.append(t(m, L.REST, duration=duration))
    options.append(t(m, L.REST_SHORT))
    return options


def first_side(m: Messages, side: str, *, only: bool = False) -> str:
    """Said before the count: which side comes first (or, worked on one side, which one)."""
    return capital(t(m, L.SIDE_ONLY if only else L.SIDE_FIRST, side=side_phrase(m, side)))


def switch_lines(m: Messages, side: str) -> list[str]:
    return [t(m, L.SWITCH_TO, side=side_phrase(m, side)), t(m, L.SWITCH)]


def own_pace(m: Messages, side: str | None, reps: int) -> str:
    """An own-pace exercise's line: 'Left side, at your own pace, four reps.' (no "Four
    reps at ...": after the ticks, a number would sound like the count)."""
    if side and reps:
        line = nsay(m, L.OWN_PACE_SIDE_REPS, reps, side=side_phrase(m, side))
    elif side:
        line = t(m, L.OWN_PACE_SIDE, side=side_phrase(m, side))
    elif reps:
        line = nsay(m, L.OWN_PACE_REPS, reps)
    else:
        line = t(m, L.OWN_PACE)
    return capital(line)


# -- safety and check-in: said live by the player, never part of the timeline ---------------

SAFETY_OFFER = LL.SAFETY_OFFER
PAIN = LL.PAIN
PAIN_NEXT = LL.PAIN_NEXT
PAIN_LAST = LL.PAIN_LAST
PAIN_STOP = LL.PAIN_STOP
CHECKIN = LL.CHECKIN
CHECKIN_REMINDER = LL.CHECKIN_REMINDER
CHECKIN_NO_ANSWER = LL.CHECKIN_NO_ANSWER
PREPARING = LL.PREPARING  # a cold start of a live run, said while the clips are made


def resuming(m: Messages, title: str, number: int, count: int, name: str) -> str:
    """Said before a resumed session: "Resuming Back strength at exercise 3 of 5: Leg lift."
    (``name`` empty: "exercise 3")."""
    name = name or t(m, LL.EXERCISE_NUMBER, number=number)
    return t(m, LL.RESUMING_AT, title=title.rstrip("."), number=number, count=count, exercise=name)


def checkin_thanks(m: Messages, effort: int) -> str:
    """The spoken confirmation of a check-in answer: "Thank you. Three out of five." """
    # Starts a sentence: capitalised, as counted ("Drei von fünf").
    return t(m, LL.CHECKIN_THANKS, effort=capital(m.number(effort)))
