"""What the live screen shows, in the session's language: the status line, the panel and
the end-of-workout summary (the states a key leaves, "Paused (space: resume, q: stop)",
are in ``core.live_lines``); the keys line and the stopped line printed around a live run;
and the screen of ``audition --play`` and ``--skim``.

Message ids, English (see ``core.messages``); ``core.status.Glance`` (the status line),
``adapters.terminal`` (the panel), ``app.history.summary_lines``, ``app.workout`` and
``app.preview`` show them. Read at a
glance from the mat: a translation stays as short as the English. Numbers here are
digits, not words ("set 2/3", "6:12 left"); the keys (space, n, q) are the keys' own
names in every language.
"""

from __future__ import annotations

from voicecoach.core.messages import FORMS, N_, NP_, Messages, Plural

# -- the status line and the panel ------------------------------------------------------
# Translators: the screen's heading in the welcome, before the first exercise (also a
# chapter title).
WELCOME = N_("Welcome")
# Translators: the screen's heading in a rest between exercises, and the label of its
# countdown (also a chapter title).
REST = N_("Rest")
# Translators: the screen's heading in the session's last part (also a chapter title).
FINISH = N_("Finish")
# Translators: the panel's heading in the welcome; {exercise} is the first exercise's name.
WELCOME_FIRST = N_("Welcome · first up: {exercise}")
# Translators: the panel's heading in the session's last part.
FINISH_WELL_DONE = N_("Finish · well done")
# Translators: the status line: the session's time left; {time} is a clock ("6:12").
TIME_LEFT = N_("{time} left")
# Translators: the status line in a rest: the next exercise; {exercise} is its name.
LINE_NEXT = N_("next: {exercise}")
# Translators: the status line: the set, in digits ("set 2/3").
LINE_SET = N_("set {set}/{sets}")
# Translators: the status line: the rep, in digits ("rep 4/10"); short, it is glanced at.
LINE_REP = N_("rep {rep}/{reps}")
# Translators: the panel's heading: the set, in digits ("set 2 of 3").
PANEL_SET = N_("set {set} of {sets}")
# Translators: the label beside the large digits counting down a hold.
HOLD = N_("Hold")
# Translators: the label beside the large digits counting down timed work (an exercise
# done for a time, not in reps).
WORK = N_("Work")
# Translators: the panel: the rep, in digits ("Rep 7 / 12"); short, it is glanced at.
REP = N_("Rep {rep} / {reps}")
# Translators: the panel: the exercise after this one; {exercise} is its name.
NEXT = N_("Next: {exercise}")
# Translators: the panel in the last exercise or rest: nothing comes after it.
NEXT_END = N_("Next: the end")
# Translators: the panel: the session's clock; {elapsed} and {time} are clocks ("4:05").
CLOCK = N_("{elapsed} done · {time} left")

# -- the summary, left on the screen after a workout --------------------------------------
# Translators: the summary's title; {title} is the routine's title.
WORKOUT_OVER = N_("Workout over: {title}")
# Translators: the summary: the time spent, pauses excluded; {time} is "18:42".
TIME = N_("Time: {time}")
# Translators: the summary: the exercises; {done}, {skipped} and {pained} are the three
# counts below ("3 of 5 done", "1 skipped", "1 with pain").
EXERCISES = N_("Exercises: {done}, {skipped}, {pained}")
# Translators: the summary: exercises done, of {total} in the session (digits).
DONE = NP_("{n} of {total} done", "{n} of {total} done")
# Translators: the summary: exercises skipped (digits).
SKIPPED = NP_("{n} skipped", "{n} skipped")
# Translators: the summary: exercises stopped with the pain key (digits).
PAINED = NP_("{n} with pain", "{n} with pain")
# Translators: the summary: the check-in's answer, {effort} a digit from 1 to 5.
EFFORT = N_("Effort: {effort} of 5")
# Translators: the summary when the check-in was not answered.
EFFORT_NONE = N_("Effort: no answer, saved without effort")
# Translators: the summary: days in a row with a completed session (digits), and the time
# spent this week ({time}: "1h 05m", "48m").
STREAK = NP_("Streak: {n} day · This week: {time}", "Streak: {n} days · This week: {time}")
# Translators: the summary's last line: the session is in the history.
SAVED = N_("Saved to your history.")

# -- printed before and after a live run (the CLI's own messages stay English) --------------
# Translators: printed before a live run: what each key does. The keys keep their names
# (space, n, b, ?, p, q); one short line.
KEYS_RUN = N_("Keys: space pause · n next · b back · ? where · p pain · q stop")
# Translators: as the line above, for a routine with a safety note: pressing ? again
# says the note once more.
KEYS_RUN_SAFETY = N_(
    "Keys: space pause · n next · b back · ? where (again: safety note) · p pain · q stop"
)
# Translators: printed when a live run stops before its end; {exercise} is the name of the
# exercise it starts again at. The command is typed as it is: keep it untranslated.
STOPPED = N_("Stopped. `voicecoach run --resume` starts again at {exercise}.")

# -- audition --play (silences shortened) and --skim ---------------------------------------
# Translators: printed as the preview starts: {time} is its length, {duration} the
# session's, both clocks ("2:26", "19:21"); Ctrl-C is the key that stops it.
PREVIEW = N_("Preview: {time} (the session is {duration}). Ctrl-C stops.")
# Translators: printed before the skim: what each key does (the keys keep their names:
# space, n, b, q).
SKIM_KEYS = N_("Keys: space pause · n next exercise · b previous exercise · q stop")
# Translators: the skim's status line in the welcome or the finish: {elapsed} played of
# {time}, clocks ("01:23 / 06:47"); {title} is the part's heading ("Welcome", "Finish").
SKIM_AT = N_("Skim {elapsed} / {time} · {title}")
# Translators: the skim's status line in an exercise: {elapsed} played of {time}, clocks;
# exercise {number} of {count}, in digits; {title} its heading (the exercise's name).
SKIM_AT_EXERCISE = N_("Skim {elapsed} / {time} · exercise {number} of {count}: {title}")
# Translators: added to the skim's status line while it is paused (space goes on).
SKIM_PAUSED = N_("paused (space resumes)")


def show(m: Messages, message: str, **values: object) -> str:
    """``message`` in ``m``'s language, its placeholders filled in as given (a number in
    digits: the screen is read, not heard)."""
    return m.gettext(message).format(**_digits(values))


def count(m: Messages, message: Plural, n: int, **values: object) -> str:
    """The form of plural ``message`` for ``n`` (the catalogue's Plural-Forms), ``{n}``
    in digits."""
    return m.ngettext(message.singular, message.plural, n).format(**_digits({"n": n, **values}))


def _digits(values: dict[str, object]) -> dict[str, object]:
    # A number may be written {X}, {X_m} or {X_f} (core.messages); in digits all are one.
    out = dict(values)
    for name, value in values.items():
        if isinstance(value, int):
            out.update({f"{name}_{form}": value for form in FORMS if form})
    return out
