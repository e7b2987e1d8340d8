"""A quick interval timer, no file needed: ``voicecoach intervals 30s 10s x8``.

The spec (work time, rest time, rounds, a name, a time to get ready) becomes the text of
a routine file, and that text goes through the routine loader like any file: the same
checks, the same model, so the timer runs, auditions and renders like any routine, and
``--save`` writes exactly the text that was loaded (a saved timer has the same digest,
so the history counts it as the same routine).

One exercise of timed work, with the rounds as its sets and the rest as the rest between
sets: that is exactly N x (work + rest) with no rest after the last round, and the coach
says "Rest, ten seconds. Next: set two of eight." (Block rounds were measured worse: each
round adds a lead-in and a "Round one of eight done" announcement, 10 s more a round.)

Everything here is pure: it parses words and builds text; bad specs raise ``UsageError``
(one line, exit 2).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from voicecoach.core.durations import format_duration, read_seconds
from voicecoach.core.messages import Messages
from voicecoach.core.model import Routine
from voicecoach.errors import RoutineError, UsageError
from voicecoach.routine.schema import MAX_DURATION, MAX_NAME, MAX_SETS

DEFAULT_NAME = "Work"
DEFAULT_PREPARE = 10.0  # the loader's default lead-in: time to get into position
# Rounds with no rest given: a rest of 0 is not kept (the rest's words and countdown
# need about 4.4 s; the compiler would lengthen it, with a warning), so a short one.
DEFAULT_REST = 10.0
EXAMPLE = "e.g. `voicecoach intervals 30s 10s x8`"
_ROUNDS = re.compile(r"[xX×](.*)")


@dataclass(frozen=True, slots=True)
class Intervals:
    """An interval timer: ``rounds`` of ``work`` seconds, ``rest`` seconds between them."""

    work: float
    rest: float = 0.0
    rounds: int = 1
    name: str = DEFAULT_NAME
    prepare: float = DEFAULT_PREPARE
    language: str | None = None  # the coach's (--language; None: English)

    @property
    def title(self) -> str:
        from voicecoach.core import lines

        if self.name == DEFAULT_NAME:
            return self._words().gettext(lines.INTERVALS)
        return self._words().gettext(lines.NAMED_INTERVALS).format(name=self.name)

    @property
    def exercise(self) -> str:
        """The exercise's name: ``name``, else "Work" in the coach's language."""
        from voicecoach.core import lines

        return (
            self._words().gettext(lines.INTERVAL_WORK) if self.name == DEFAULT_NAME else self.name
        )

    def _words(self) -> Messages:
        from voicecoach.routine.catalogues import messages

        return messages(self.language)


def parse(
    words: Sequence[str],
    *,
    work: str | None = None,
    rest: str | None = None,
    rounds: str | int | None = None,
    name: str | None = None,
    prepare: str | None = None,
) -> Intervals:
    """The timer from its words (``30s 10s x8``: work, then rest, then ``xN`` anywhere)
    and options (``--work`` etc., each given once, either way)."""
    durations: list[str] = []
    counted: str | None = None
    for word in words:
        match = _ROUNDS.fullmatch(word.strip())
        if match is not None:
            if counted is not None:
                raise UsageError(f"the rounds are given twice: {counted} and {word}")
            counted = word
        elif _looks_like_duration(word):
            durations.append(word)
        else:
            raise UsageError(
                f"'{word}' is neither a time (30s, 1m30s, 0:45) nor a number of rounds (x8); "
                + EXAMPLE
            )
    if len(durations) > 2:
        raise UsageError(
            f"too many times: {' '.join(durations)} (the work time, then the rest time); " + EXAMPLE
        )
    given_work = _one("work time", durations[0] if durations else None, work, "--work")
    given_rest = _one("rest time", durations[1] if len(durations) > 1 else None, rest, "--rest")
    given_rounds = _one("rounds", counted, None if rounds is None else str(rounds), "--rounds")
    if given_work is None:
        raise UsageError("intervals needs the work time, " + EXAMPLE)
    count = 1 if given_rounds is None else _rounds(given_rounds)
    if given_rest is not None:
        seconds = _seconds(given_rest, "rest time")
    else:
        seconds = DEFAULT_REST if count > 1 else 0.0
    return Intervals(
        work=_seconds(given_work, "work time", positive=True),
        rest=seconds,
        rounds=count,
        name=DEFAULT_NAME if name is None else _name(name),
        prepare=DEFAULT_PREPARE if prepare is None else _seconds(prepare, "--prepare time"),
    )


def _looks_like_duration(word: str) -> bool:
    # A minus sign is a negative time (said so by _seconds), not an unknown word.
    return read_seconds(word.lstrip("-")) is not None


def _one(what: str, word: str | None, option: str | None, flag: str) -> str | None:
    if word is not None and option is not None:
        raise UsageError(f"the {what} is given twice: {word} and {flag} {option}")
    return word if word is not None else option


def _seconds(text: str, what: str, *, positive: bool = False) -> float:
    seconds = read_seconds(text)
    if seconds is None:
        if read_seconds(text.lstrip("-")) is not None:
            raise UsageError(f"the {what} cannot be negative: '{text}'")
        raise UsageError(f"'{text}' is not a time for the {what}: use 30s, 1m30s or 0:45")
    if math.isinf(seconds) or seconds > MAX_DURATION:
        raise UsageError(
            f"the {what} '{text}' is too long: at most {format_duration(MAX_DURATION)}"
        )
    if positive and seconds <= 0:
        raise UsageError(f"the {what} must be longer than 0, not '{text}'")
    return seconds


def _rounds(text: str) -> int:
    match = _ROUNDS.fullmatch(text.strip())
    digits = match.group(1) if match is not None else text.strip()
    if not digits.isascii() or not digits.isdigit() or not 1 <= int(digits) <= MAX_SETS:
        raise UsageError(f"the rounds must be a whole number from 1 to {MAX_SETS}, not '{text}'")
    return int(digits)


def _name(text: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise UsageError("--name cannot be empty")
    if len(name) > MAX_NAME:
        raise UsageError(f"--name is too long: at most {MAX_NAME} characters")
    return name


def command(spec: Intervals) -> str:
    """The command that makes this timer again (written at the top of a saved file)."""
    words = ["voicecoach intervals", format_duration(spec.work)]
    if spec.rounds > 1:
        words.append(format_duration(spec.rest))
        words.append(f"x{spec.rounds}")
    if spec.name != DEFAULT_NAME:
        words.append("--name " + json.dumps(spec.name, ensure_ascii=False))
    if spec.prepare != DEFAULT_PREPARE:
        words.append("--prepare " + format_duration(spec.prepare))
    if spec.language is not None:
        words.append("--language " + spec.language)
    return " ".join(words)


def to_yaml(spec: Intervals) -> str:
    """The routine file of the timer. Text is JSON-quoted: a JSON string is a YAML
    double-quoted scalar, so any name (colons, quotes, '#') reads back as it was."""
    lines = [
        f"# {spec.rounds} x {format_duration(spec.work)} work"
        + (f", {format_duration(spec.rest)} rest" if spec.rounds > 1 else "")
        + f": made by {command(spec)}",
        f"title: {json.dumps(spec.title, ensure_ascii=False)}",
        *([f"language: {spec.language}"] if spec.language is not None else []),
        "exercises:",
        f"  - name: {json.dumps(spec.exercise, ensure_ascii=False)}",
        f"    time: {format_duration(spec.work)}",
    ]
    if spec.rounds > 1:
        lines += [f"    sets: {spec.rounds}", f"    set_rest: {format_duration(spec.rest)}"]
    lines.append(f"    lead_in: {format_duration(spec.prepare)}")
    return "\n".join(lines) + "\n"


def build(spec: Intervals, path: str = "intervals") -> Routine:
    """The timer as a routine, through the loader's checks (``path`` names it: the file
    it is saved to, if any). What the loader still refuses is a usage error here: its
    file positions would point into a file the user never wrote."""
    from voicecoach.routine import loader

    try:
        return loader.load_text(to_yaml(spec), path)
    except RoutineError as err:
        first = err.problems[0].message if err.problems else str(err)
        raise UsageError(f"cannot make this timer: {first}") from None
