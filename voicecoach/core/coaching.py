"""What a good coach says, and when: the cue vocabulary.

Pure functions from the routine's data to the phrases spoken. The compiler decides
*where* they go; this module decides *what* they are. Breathing cues are given in full
the first time and faded after ("inhale through your nose" -> "in"), as an instructor does.
"""

from __future__ import annotations

from collections.abc import Mapping

from voicecoach.core.model import Breath, Exercise, Verbosity

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

FULL_BREATH: Mapping[Breath, str] = {
    "in": "inhale through your nose",
    "out": "exhale through your mouth",
    "hold": "hold your breath",
}
FADED_BREATH: Mapping[Breath, str] = {"in": "in", "out": "out", "hold": "hold"}

COUNTDOWN = ("Three.", "Two.", "One.")
COUNT_CLEAR = 1.5  # seconds: a count is never followed sooner by a line starting with a number
GO = "Go."  # ends every count into work: the first rep's "One" never follows "One."
LETS_BEGIN = "Let's begin."
HOLD = "Hold."
HOLD_BREATHING = "Hold, and keep breathing."
KEEP_BREATHING = "Keep breathing."
AND_RELEASE = "And release."
HALFWAY = "Halfway."
TEN_LEFT = "Ten seconds left."
LAST_ONE = "Last one"
SWITCH = "Switch sides."
PRESS_SPACE = "Press space when you're done."


def number_words(n: int) -> str:
    """0..9999 in words: 21 -> 'twenty-one', 130 -> 'one hundred thirty'."""
    if n < 0:
        return "minus " + number_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("-" + _ONES[ones] if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return _ONES[hundreds] + " hundred" + (" " + number_words(rest) if rest else "")
    thousands, rest = divmod(n, 1000)
    return number_words(thousands) + " thousand" + (" " + number_words(rest) if rest else "")


def spoken_duration(seconds: float) -> str:
    """45 -> 'forty-five seconds', 90 -> 'one minute thirty seconds', 120 -> 'two minutes'."""
    total = round(seconds)
    minutes, secs = divmod(total, 60)
    parts = []
    if minutes:
        parts.append(number_words(minutes) + (" minute" if minutes == 1 else " minutes"))
    if secs or not minutes:
        parts.append(number_words(secs) + (" second" if secs == 1 else " seconds"))
    return " ".join(parts)


def sentence(*parts: str | None) -> str:
    """Join clauses with commas into one capitalised sentence ending in a full stop."""
    text = ", ".join(p.strip().rstrip(".") for p in parts if p and p.strip())
    if not text:
        return ""
    return text[0].upper() + text[1:] + "."


def fill(template: str, exercise: Exercise, **values: object) -> str:
    """A custom line with its {variables} filled in (the loader checked the names)."""
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
    text = template.format(**known).strip()
    # "{side} side, hold." starts a sentence: capitalised as captions show it.
    return text[:1].upper() + text[1:]


MEDIUM_BREATH: Mapping[Breath, str] = {
    "in": "breathe in",
    "out": "breathe out",
    "hold": "hold your breath",
}
BREATHS_BY_LEVEL = (FULL_BREATH, MEDIUM_BREATH, FADED_BREATH)
REFRESH = 5  # on a long set (ten reps or more) the full breath comes back every 5 reps
LONG_SET = 10
COUNT_DOWN_FROM = 8  # sets this long end "three more", "two more", "last one"
MORE = {3: "Three more", 2: "Two more"}


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


def count_word(rep: int, reps: int) -> str:
    """The count said at a rep's start: up, then "three more", "two more", "last one"."""
    left = reps - rep + 1
    if reps >= 3 and left == 1:
        return LAST_ONE
    if reps >= COUNT_DOWN_FROM and left in MORE:
        return MORE[left]
    return number_words(rep)


def rep_cue(
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
    """
    p = exercise.phases[phase]
    parts: list[str | None] = []
    if phase == 0 and exercise.lines.last and rep == exercise.reps and (count or last_line):
        parts.append(fill(exercise.lines.last, exercise, rep=rep, side=side, set=set_no))
    elif phase == 0 and count:
        if exercise.lines.rep:
            parts.append(fill(exercise.lines.rep, exercise, rep=rep, side=side, set=set_no))
        elif exercise.kind == "reps":
            parts.append(count_word(rep, exercise.reps))
        else:
            parts.append(number_words(rep))
    if side_word:
        parts.append(side_word)
    if say_word and p.say:
        parts.append(p.say)
    if breath and p.breath:
        parts.append(BREATHS_BY_LEVEL[level][p.breath])
    text = sentence(*parts)
    if halfway and exercise.lines.halfway:
        line = fill(exercise.lines.halfway, exercise, rep=rep, side=side, set=set_no)
        text = f"{sentence(line)} {text}".strip()
    return text


def rep_cue_variants(
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


FIVE_TO_GO = "Five to go."
KEEP_PACE = "Good, keep that pace."
# Said in the long gaps of timed work and holds when the routine gives no form pointers.
STEADY: Mapping[str, tuple[str, ...]] = {
    "timed": ("Good, keep that pace.", "Nice and steady."),
    "hold": ("Stay relaxed.", "Nice and still."),
}
FILL_EVERY = 15.0  # seconds: timed work and holds are never silent much longer than this
FORM_EVERY = 4  # reps: a form pointer (or a word of encouragement) every few reps


def set_word(exercise: Exercise, rep: int) -> str | None:
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


def work_fillers(exercise: Exercise, gaps: int, said: int) -> list[str]:
    """The lines for ``gaps`` long gaps of timed work or a hold: the routine's form
    pointers in turn (from the ``said``-th), else a steady word."""
    if exercise.form:
        return [sentence(exercise.form[(said + k) % len(exercise.form)]) for k in range(gaps)]
    pool = STEADY["hold" if exercise.kind == "hold" else "timed"]
    return [pool[k % len(pool)] for k in range(gaps)]


def movement_line(exercise: Exercise) -> str:
    """A rep's movement and breath in full, said when the user resumes mid-set (the
    faded cues assume they were heard a moment ago): 'Knees in, inhale through your
    nose, exhale through your mouth, feet down.' Empty when a rep says nothing."""
    parts: list[str | None] = []
    for p in exercise.phases:
        parts.append(p.say)
        parts.append(FULL_BREATH[p.breath] if p.breath else None)
    return sentence(*parts)


def side_name(side: str | None) -> str:
    return f"{side} side" if side else ""


def announce(
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
    lead = "First: " if first else ("Next up: " if next_up else "")
    lines.append(sentence(lead + exercise.name))
    if verbosity != "minimal" and exercise.setup:
        lines.append(exercise.setup.strip())
    summary = "" if exercise.manual else work_summary(exercise)
    if summary and verbosity != "minimal":
        lines.append(summary)
    if exercise.cue:
        lines.append(exercise.cue.strip())
    if exercise.lines.intro:
        first_side = exercise.sides[0] if exercise.sides else None
        lines.append(fill(exercise.lines.intro, exercise, side=first_side, set=1))
    return [line for line in lines if line]


def work_summary(exercise: Exercise) -> str:
    """'Ten reps on each side, two sets.' — how much work is coming."""
    holding = ""
    if exercise.kind == "reps":
        what = f"{number_words(exercise.reps)} {'rep' if exercise.reps == 1 else 'reps'}"
        if exercise.hold:
            holding = f", holding {spoken_duration(exercise.hold)}"
    elif exercise.kind == "breaths":
        what = f"{number_words(exercise.reps)} {'breath' if exercise.reps == 1 else 'breaths'}"
    elif exercise.kind == "hold":
        what = f"hold for {spoken_duration(exercise.hold)}"
    else:
        what = spoken_duration(exercise.time)
    if exercise.side_mode == "each" and len(exercise.sides) == 1:
        what += f" on the {exercise.sides[0]} side only"
    elif exercise.side_mode == "each":
        what += " on each side"
    elif exercise.side_mode == "alternate":
        what += " on each side, alternating"
    what += holding  # after the sides: "ten reps on each side, holding five seconds"
    if exercise.sets > 1:
        what += f", {number_words(exercise.sets)} sets"
    return sentence(what)


def rest_lines(
    seconds: float,
    next_name: str | None,
    verbosity: Verbosity,
    round_done: tuple[int, int] | None = None,
) -> list[str]:
    """Rest announcements, most helpful first: 'Rest, twenty seconds. Next up: bird-dog.'

    ``round_done``: (round, rounds) when this rest ends a round of a block, which is
    said first: 'Round one of three done. Rest, thirty seconds. Next up: bridge.'"""
    rest = sentence("Rest", spoken_duration(seconds))
    options = []
    if round_done is not None:
        done, rounds = round_done
        lead = f"Round {number_words(done)} of {number_words(rounds)} done."
        if next_name and verbosity != "minimal":
            options.append(f"{lead} {rest} Next up: {next_name.rstrip('.')}.")
        options.append(f"{lead} {rest}")
    if next_name and verbosity != "minimal":
        options.append(f"{rest} Next up: {next_name.rstrip('.')}.")
    options.append(rest)
    options.append("Rest.")
    return options


def set_rest_lines(
    seconds: float, next_set: int, sets: int, verbosity: Verbosity, side: str | None = None
) -> list[str]:
    """Between sets; ``side``: the side the next set starts on (worked one side at a time)."""
    rest = sentence("Rest", spoken_duration(seconds))
    which = f"set {number_words(next_set)} of {number_words(sets)}"
    options = []
    if side and verbosity != "minimal":
        options.append(f"{rest} Next: {which}, {side} side.")
    if side:
        options.append(f"{rest} Next: {side} side.")
    if verbosity != "minimal":
        options.append(f"{rest} Next: {which}.")
    options.append(rest)
    options.append("Rest.")
    return options


def first_side(side: str, *, only: bool = False) -> str:
    """Said before the count: which side comes first (or, worked on one side, which one)."""
    return f"{side[0].upper()}{side[1:]} side {'only' if only else 'first'}."


def switch_lines(side: str) -> list[str]:
    return [f"{SWITCH} Now your {side} side.", SWITCH]


# -- safety and check-in: said live by the player, never part of the timeline ---------------

SAFETY_OFFER = "Press question mark again to hear the safety note."
PAIN = (
    "Stop this exercise now and rest."
    " If the pain persists, please consult a doctor or a physiotherapist."
)
PAIN_NEXT = "Press n for the next exercise, or q to stop."
PAIN_LAST = "Press n to finish the session, or q to stop."
PAIN_STOP = "Stopping. Rest, and take care."
CHECKIN = "How hard was that, from one to five?"
CHECKIN_REMINDER = "Press a number key: one for easy, up to five for very hard."
CHECKIN_NO_ANSWER = "No answer, saved without effort."


def resuming(title: str, number: int, count: int, name: str) -> str:
    """Said before a resumed session: "Resuming Back strength at exercise 3 of 5: Leg lift." """
    return f"Resuming {title.rstrip('.')} at exercise {number} of {count}: {name}."


def checkin_thanks(effort: int) -> str:
    """The spoken confirmation of a check-in answer: "Thank you. Three out of five." """
    return f"Thank you. {number_words(effort).capitalize()} out of five."
