"""What the coach says in a live run only, outside the timeline: the keys' confirmations,
the where-am-I answer, the safety note's offer, the pain key and the check-in; and the
states the screen shows meanwhile (the rest of the screen: ``core.screen_lines``).

Message ids, English (see ``core.messages``); ``transport``, ``status`` and the app's
player and check-in say them in the session's language.
"""

from __future__ import annotations

from voicecoach.core.messages import N_, NP_

# -- keys -------------------------------------------------------------------------------
# Translators: the space key paused the session.
PAUSED = N_("Paused.")
# Translators: the space key resumed the session (mid-set, the rep's movement follows).
RESUMING = N_("Resuming.")
# Translators: the q key stopped the session.
STOPPING = N_("Stopping. Well done.")
# Translators: said now and then while the coach waits for space at an own-pace exercise.
REMINDER = N_("Take your time. Press space when you're done.")
# Translators: an unknown key was pressed (at most once a minute).
HINT = N_("Press h for the keys.")
# Translators: the h key: every key of a live run. Keep the key letters (N, B, P, Q, H).
KEYS_HELP = N_(
    "The keys. Space pauses and resumes. N skips to the next exercise, B starts this one"
    " again. P if something hurts. Q stops. Question mark says where you are. Plus and"
    " minus change the volume, the square brackets the speed of speech. H says this again."
)
# Translators: the + key raised the volume.
LOUDER = N_("Louder.")
# Translators: the - key lowered the volume.
SOFTER = N_("Softer.")
# Translators: the + key at the highest volume.
LOUDEST = N_("This is the loudest.")
# Translators: the - key at the lowest volume.
SOFTEST = N_("This is the softest.")
# Translators: the ] key made speech faster.
FASTER = N_("Faster.")
# Translators: the [ key made speech slower.
SLOWER = N_("Slower.")
# Translators: the ] key at the fastest speech.
FASTEST = N_("This is the fastest.")
# Translators: the [ key at the slowest speech.
SLOWEST = N_("This is the slowest.")
# Translators: while the session is laid out again at a new speed of speech.
MOMENT = N_("One moment.")
# Translators: the [ or ] key where the speed cannot change.
NO_RATE = N_("The speed of speech can't change here.")
# Translators: the b key, before the first exercise: the session starts again.
STARTING_AGAIN = N_("Starting again.")
# Translators: the b key: {exercise} (its name) starts again.
STARTING_EXERCISE_AGAIN = N_("Starting {exercise} again.")
# Translators: the n key: skipping to {exercise} (its name).
SKIPPING_TO = N_("Skipping to {exercise}.")
# Translators: the n key after the last exercise: skipping to the end of the session.
SKIPPING_TO_END = N_("Skipping to the end.")
# Translators: a cold start of a live run: said while the coach's phrases are made.
PREPARING = N_("Preparing your session…")
# Translators: before a resumed session; {title} is the routine's title, {number} and
# {count} are digits (exercise 3 of 5), {exercise} the exercise's name.
RESUMING_AT = N_("Resuming {title} at exercise {number} of {count}: {exercise}.")
# Translators: an exercise with no name (never in a routine that loaded): {number} in digits.
EXERCISE_NUMBER = N_("exercise {number}")

# -- where am I (the ? key) --------------------------------------------------------------
# Translators: the ? key in the finish.
WHERE_FINISHING = N_("Finishing. Well done.")
# Translators: the ? key in the welcome.
WHERE_STARTING = N_("Starting.")
# Translators: the ? key in the welcome; {exercise} is the first exercise's name.
WHERE_STARTING_FIRST = N_("Starting. First up: {exercise}.")
# Translators: the ? key in the last rest.
WHERE_RESTING = N_("Resting.")
# Translators: the ? key in a rest; {exercise} is the next exercise's name.
WHERE_RESTING_NEXT = N_("Resting. Next up: {exercise}.")
# Translators: the ? key during an exercise; {exercise} is its name.
WHERE_EXERCISE = N_("{exercise}.")
# Translators: the ? key during an exercise; {exercise} is its name, set {set} of {sets}.
WHERE_EXERCISE_SET = N_("{exercise}, set {set} of {sets}.")
# Translators: the ? key during an exercise; {exercise} is its name, {side} "left side".
WHERE_EXERCISE_SIDE = N_("{exercise}, {side}.")
# Translators: the ? key during an exercise: its name, set {set} of {sets}, {side}
# ("left side").
WHERE_EXERCISE_SET_SIDE = N_("{exercise}, set {set} of {sets}, {side}.")
# Translators: the ? key: which exercise of the session, {number} of {count}.
WHERE_NTH = N_("Exercise {number} of {count}.")
# Translators: the ? key: the time left in the session, two minutes or more.
MINUTES_LEFT = NP_("About {n} minute left.", "About {n} minutes left.")
# Translators: the ? key: about a minute of the session is left.
A_MINUTE_LEFT = N_("About a minute left.")
# Translators: the ? key: the seconds left in the session, rounded to tens (ten or more).
SECONDS_LEFT = NP_("About {n} second left.", "About {n} seconds left.")
# Translators: the ? key: under ten seconds of the session are left.
ALMOST_DONE = N_("Almost done.")
# Translators: after the ? answer when the routine has a safety note.
SAFETY_OFFER = N_("Press question mark again to hear the safety note.")

# -- pain -------------------------------------------------------------------------------
# Translators: the p key (something hurts): said at once.
PAIN = N_(
    "Stop this exercise now and rest."
    " If the pain persists, please consult a doctor or a physiotherapist."
)
# Translators: after the pain line: the ways on.
PAIN_NEXT = N_("Press n for the next exercise, or q to stop.")
# Translators: after the pain line in the last exercise: the ways on.
PAIN_LAST = N_("Press n to finish the session, or q to stop.")
# Translators: q after the pain key.
PAIN_STOP = N_("Stopping. Rest, and take care.")

# -- the check-in, after the session ------------------------------------------------------
# Translators: the effort check-in after a session, answered with a digit key.
CHECKIN = N_("How hard was that, from one to five?")
# Translators: the check-in, when no key was pressed for a while.
CHECKIN_REMINDER = N_("Press a number key: one for easy, up to five for very hard.")
# Translators: the check-in lapsed (no answer); also shown on the screen.
CHECKIN_NO_ANSWER = N_("No answer, saved without effort.")
# Translators: the check-in's answer confirmed; {effort} is the answer in words,
# capitalised ("Three"), as counted (no {effort_f}).
CHECKIN_THANKS = N_("Thank you. {effort} out of five.")

# -- on the screen: what the run waits for (keys keep their names: space, n, q) ----------
# Translators: the screen while paused: the keys that go on (space) or stop (q).
SCREEN_PAUSED = N_("Paused (space: resume, q: stop)")
# Translators: the screen at an own-pace exercise, waiting for the space key.
SCREEN_WAITING = N_("Press space when done")
# Translators: the screen after the pain key: the keys that go on (n) or stop (q).
SCREEN_PAIN = N_("Pain: rest (n: next, q: stop)")
# Translators: the screen while a cold run plays as its phrases are made: {number} of
# {count} made, in digits ("Preparing 12/29").
SCREEN_PREPARING = N_("Preparing {number}/{count}")
# Translators: the screen while a skip waits for the phrases still to be made (or the
# sound ran ahead of them): {number} of {count} made, in digits.
SCREEN_MADE_WAIT = N_("Waiting for the rest to be made {number}/{count}")
# Translators: the screen during the check-in: the digit keys answer, q skips it.
CHECKIN_PROMPT = N_("How hard was that? Press 1 (easy) to 5 (very hard), q: skip")
