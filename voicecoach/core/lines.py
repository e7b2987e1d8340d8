"""Every sentence the coach says during a session: the message ids of the layout.

English, as the coach says it; each language's catalogue gives its own sentence for
each (see ``core.messages``). A placeholder holds a number in words unless its comment
says otherwise; ``{side}`` holds a side as a noun phrase ("left side", see ``SIDES``).
In a plural message (``NP_``) ``{n}`` is the number in words, and a form the
catalogue's Plural-Forms uses only for n = 1 may leave it out ("eine Minute"). Lines
the routine writes (names, set-ups, form pointers, its own ``say:`` lines) are
the routine's, in its language, and never pass through here.
"""

from __future__ import annotations

from voicecoach.core.messages import N_, NP_

# -- the welcome ----------------------------------------------------------------------
# Translators: the first line of a session; {title} is the routine's title. The
# coach adds the full stop.
WELCOME = N_("Welcome to {title}")
# Translators: after the welcome (and the routine's safety note), before the first exercise.
LETS_BEGIN = N_("Let's begin.")

# -- counting into work -----------------------------------------------------------------
# Translators: the count into every exercise, one word a second ("Three.", "Two.", "One.").
THREE = N_("Three.")
# Translators: the count into every exercise, one word a second ("Three.", "Two.", "One.").
TWO = N_("Two.")
# Translators: the count into every exercise, one word a second ("Three.", "Two.", "One.").
ONE = N_("One.")
# Translators: ends the count into reps, with the start sound: "Three. Two. One. Go."
GO = N_("Go.")

# -- reps -------------------------------------------------------------------------------
# Translators: said at the start of the last rep of a set, before its movement
# ("Last one, lift."): a clause, no full stop.
LAST_ONE = N_("Last one")
# Translators: at the start of the third-last rep of a long set ("Three more, lift.").
THREE_MORE = N_("Three more")
# Translators: at the start of the second-last rep of a long set ("Two more, lift.").
TWO_MORE = N_("Two more")
# Translators: in the middle rep of a set, or halfway through a hold or timed work.
HALFWAY = N_("Halfway.")
# Translators: in a long set, five reps before its end.
FIVE_TO_GO = N_("Five to go.")
# Translators: once in a set of reps when the routine gives no form pointers.
KEEP_PACE = N_("Good, keep that pace.")
# Translators: now and then during long timed work when the routine gives no form pointers.
NICE_AND_STEADY = N_("Nice and steady.")

# Breathing, said with each rep's movement ("One, lift, inhale through your nose."):
# clauses, no full stop. In full the first time, then shorter, then the word alone.
# Translators: breathing, in full (the first rep): breathe in.
INHALE = N_("inhale through your nose")
# Translators: breathing, in full (the first rep): breathe out.
EXHALE = N_("exhale through your mouth")
# Translators: breathing, in full and shorter: hold the breath.
HOLD_BREATH = N_("hold your breath")
# Translators: breathing, shorter (the second rep): breathe in.
BREATHE_IN = N_("breathe in")
# Translators: breathing, shorter (the second rep): breathe out.
BREATHE_OUT = N_("breathe out")
# Translators: breathing, faded to one word (later reps): breathe in ("Three, lift, in.").
IN = N_("in")
# Translators: breathing, faded to one word (later reps): breathe out ("Four, lower, out.").
OUT = N_("out")
# Translators: breathing, faded to one word (later reps): hold the breath.
HOLD_WORD = N_("hold")

# -- holds and timed work ---------------------------------------------------------------
# Translators: at the start of a hold (with the hold sound).
HOLD = N_("Hold.")
# Translators: at the start of the first hold of an exercise (with the hold sound).
HOLD_BREATHING = N_("Hold, and keep breathing.")
# Translators: after the release sound at the end of a hold.
AND_RELEASE = N_("And release.")
# Translators: ten seconds before the end of a long hold or timed work.
TEN_LEFT = N_("Ten seconds left.")
# Translators: now and then during a long hold when the routine gives no form pointers.
STAY_RELAXED = N_("Stay relaxed.")
# Translators: now and then during a long hold when the routine gives no form pointers.
NICE_AND_STILL = N_("Nice and still.")

# -- sides ------------------------------------------------------------------------------
# Translators: a side as a noun phrase, put into {side} in other sentences ("Left side
# first.", "Now your left side.", "Set 1, left side"; in the transcript's chapter titles too).
LEFT_SIDE = N_("left side")
# Translators: a side as a noun phrase, put into {side} in other sentences ("Right side
# first.", "Now your right side.").
RIGHT_SIDE = N_("right side")
# Translators: the side of a rep when sides alternate, said with its count ("One, left,
# lift."); also the {side} of the routine's own lines.
LEFT = N_("left")
# Translators: the side of a rep when sides alternate, said with its count ("One, right,
# lift."); also the {side} of the routine's own lines.
RIGHT = N_("right")
# Translators: before the count of an exercise done on each side; {side} is "left side"
# or "right side".
SIDE_FIRST = N_("{side} first.")
# Translators: before the count of an exercise done on one side only; {side} is "left
# side" or "right side".
SIDE_ONLY = N_("{side} only.")
# Translators: between the two sides of an exercise.
SWITCH = N_("Switch sides.")
# Translators: between the two sides of an exercise; {side} is the side that comes
# next ("right side").
SWITCH_TO = N_("Switch sides. Now your {side}.")

# -- announcing an exercise ---------------------------------------------------------------
# Translators: the first exercise's name; {exercise} is its name (from the routine).
# The coach adds the full stop.
FIRST = N_("First: {exercise}")
# Translators: the next exercise's name, said in the rest before it; {exercise} is its
# name. The coach adds the full stop.
NEXT_UP = N_("Next up: {exercise}")
# Translators: a block of exercises done in rounds, at the start of each round; {block}
# is the block's name (from the routine), {round} the round's number. The coach adds
# the full stop.
BLOCK_ROUND = N_("{block}, round {round}")
# How much work is coming, said after the exercise's set-up ("Ten reps on each side, two
# sets."): {work} is the line before ("ten reps"), built up piece by piece.
# Translators: how many reps are coming ("ten reps"); a sentence's start, the coach
# capitalises it and adds the full stop. A singular form may leave {n} out ("one rep").
REPS = NP_("{n} rep", "{n} reps")
# Translators: how many breaths are coming ("five breaths").
BREATHS = NP_("{n} breath", "{n} breaths")
# Translators: a hold is coming; {duration} is how long ("twenty seconds").
HOLD_FOR = N_("hold for {duration}")
# Translators: the work coming ("ten reps"), done on each side.
ON_EACH_SIDE = N_("{work} on each side")
# Translators: the work coming ("ten reps"), done on each side, alternating each rep.
ALTERNATING = N_("{work} on each side, alternating")
# Translators: the work coming ("ten reps"), done on one side; {side} is "left side" or
# "right side".
ON_ONE_SIDE = N_("{work} on the {side} only")
# Translators: the work coming ("ten reps on each side"), holding at the top of each rep;
# {duration} is how long ("five seconds").
HOLDING = N_("{work}, holding {duration}")
# Translators: the work coming ("ten reps"), in several sets; {n} is how many.
SETS = NP_("{work}, {n} set", "{work}, {n} sets")

# -- durations --------------------------------------------------------------------------
# Translators: a duration in whole minutes ("two minutes"), put into {duration}.
MINUTES = NP_("{n} minute", "{n} minutes")
# Translators: a duration in seconds ("twenty seconds"), put into {duration}.
SECONDS = NP_("{n} second", "{n} seconds")
# Translators: a duration of minutes and seconds ("one minute thirty seconds"): {minutes}
# and {seconds} are the two lines above.
MINUTES_SECONDS = N_("{minutes} {seconds}")

# -- rests ------------------------------------------------------------------------------
# Translators: the rest after an exercise; {duration} is its length ("twenty seconds").
REST = N_("Rest, {duration}.")
# Translators: the rest, when it has no room for more words.
REST_SHORT = N_("Rest.")
# Translators: the rest after an exercise, and what comes next; {exercise} is its name.
REST_NEXT = N_("Rest, {duration}. Next up: {exercise}.")
# Translators: the rest at the end of a round of a block; {round} of {rounds}.
ROUND_DONE = N_("Round {round} of {rounds} done. Rest, {duration}.")
# Translators: the rest at the end of a round of a block, and the exercise that comes next.
ROUND_DONE_NEXT = N_("Round {round} of {rounds} done. Rest, {duration}. Next up: {exercise}.")
# Translators: the rest between two sets; the next is set {set} of {sets}, starting on
# {side} ("left side").
SET_REST_SET_SIDE = N_("Rest, {duration}. Next: set {set} of {sets}, {side}.")
# Translators: the rest between two sets, and the side the next one starts on ("left side").
SET_REST_SIDE = N_("Rest, {duration}. Next: {side}.")
# Translators: the rest between two sets; the next is set {set} of {sets}.
SET_REST_SET = N_("Rest, {duration}. Next: set {set} of {sets}.")

# -- own pace ---------------------------------------------------------------------------
# Translators: an exercise done at one's own pace; the coach then waits for a key.
OWN_PACE = N_("At your own pace.")
# Translators: an exercise done at one's own pace, {n} reps; the coach then waits.
OWN_PACE_REPS = NP_("At your own pace, {n} rep.", "At your own pace, {n} reps.")
# Translators: an exercise done at one's own pace, on {side} ("left side").
OWN_PACE_SIDE = N_("{side}, at your own pace.")
# Translators: an exercise done at one's own pace, {n} reps, on {side} ("left side").
OWN_PACE_SIDE_REPS = NP_(
    "{side}, at your own pace, {n} rep.", "{side}, at your own pace, {n} reps."
)
# Translators: after an own-pace exercise's line; also repeated now and then while waiting.
PRESS_SPACE = N_("Press space when you're done.")

# -- the end ----------------------------------------------------------------------------
# Translators: after the last exercise.
COOL_DOWN = N_("That was the last one. Take a slow breath, and let your body settle.")
# Translators: after the last exercise, when the session ends lying down.
GET_UP = N_("When you're ready, roll onto your side and push yourself up slowly.")
# Translators: not said: pieces of text that, in an exercise's set-up (the routine's, in
# your language), mean standing or sitting. "|" between them; lower case; a space or comma
# is part of a piece ("sit " matches "sit down", not "situps"). The session ends with the
# get-up line ("When you're ready, roll onto your side...") when the last set-up says
# lying and not standing or sitting.
UPRIGHT_WORDS = N_("stand|seated|sit |sit,|chair")
# Translators: not said: pieces of text that, in an exercise's set-up, mean lying down
# ("|" between them, lower case, spaces and commas count; see the entry above).
LYING_WORDS = N_(
    "lie |lie,|lying|on your back|on your stomach|onto your|all fours|on the mat|on the floor"
)
# Translators: the session's last line: how much was done. {exercises} is "five
# exercises", {duration} "eighteen minutes" (both from other messages).
WELL_DONE_DONE = N_("Well done: {exercises}, about {duration}.")
# Translators: how many exercises were done, put into {exercises} ("five exercises").
EXERCISES = NP_("{n} exercise", "{n} exercises")
# Translators: the session's last line, when there is no room for more.
WELL_DONE = N_("Well done.")
# Translators: after the last line, a tip from the history: more reps next time.
TRY_REPS = NP_("Next time, try {n} rep.", "Next time, try {n} reps.")
# Translators: after the last line, a tip from the history (a routine without reps).
TRY_LONGER = N_("Next time, try holding each one a little longer.")
# Translators: after the last line, a tip from the history: the same reps next time.
KEEP_REPS = NP_("Next time, keep it at {n} rep.", "Next time, keep it at {n} reps.")
# Translators: after the last line, a tip from the history (a routine without reps).
KEEP_SAME = N_("Next time, keep it as it was today.")

# -- chapters (titles in the transcript, the rendered file's chapters and tracks) -------
# Translators: the name of a routine's one part when it is not split into blocks:
# shown in the transcript's heading ("== Main =="), never spoken.
MAIN_BLOCK = N_("Main")
# Translators: a chapter title: the welcome, up to the first exercise.
CHAPTER_WELCOME = N_("Welcome")
# Translators: a chapter title: a rest between exercises.
CHAPTER_REST = N_("Rest")
# Translators: a chapter title: the end of the session.
CHAPTER_FINISH = N_("Finish")
# Translators: a chapter title: an exercise in a block done in rounds; {exercise} is its
# name, {round} the round's number in digits.
CHAPTER_ROUND = N_("{exercise} (round {round})")
# Translators: a chapter title: one set of an exercise; {set} is its number in digits.
CHAPTER_SET = N_("Set {set}")
# Translators: a chapter title: one set of an exercise on one side; {set} in digits,
# {side} "left side".
CHAPTER_SET_SIDE = N_("Set {set}, {side}")
# Translators: a track title of a split render: the rest before an exercise; {exercise}
# is that exercise's chapter title.
REST_BEFORE = N_("Rest before {exercise}")

# -- `voicecoach intervals`: the timer's routine -------------------------------------------
# Translators: the one exercise of an interval timer (`voicecoach intervals`) with no
# --name: said as its name ("First: Work.", "Next up: Work.").
INTERVAL_WORK = N_("Work")
# Translators: the title of an interval timer with no --name ("Welcome to Intervals.").
INTERVALS = N_("Intervals")
# Translators: the title of an interval timer; {name} is its --name ("Plank intervals").
NAMED_INTERVALS = N_("{name} intervals")

# -- tags of a rendered file ---------------------------------------------------------------
# Translators: a rendered file's comment tag, when the routine has no description.
TAG_COMMENT = N_("A voice-guided workout, rendered by voicecoach.")
# Translators: a rendered file's comment tag with music under the coach: {comment} is the
# routine's description (or the line above), {tracks} the music's file names.
TAG_MUSIC = N_("{comment} Music: {tracks}.")
