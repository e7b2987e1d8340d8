"""What is kept of past runs, as plain data: the history's session records (written and
read by ``adapters.store``, reported on by ``app.history``) and the last run's resume
point (kept by ``adapters.last_run``, used by ``app.workout``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from voicecoach.core.messages import ENGLISH, Messages
from voicecoach.errors import VoicecoachError

Status = Literal["running", "completed", "stopped"]
EventKind = Literal["pause", "resume", "skip", "restart", "pain", "quit"]


def stamp(moment: datetime, timespec: str = "seconds") -> str:
    """A timezone-aware moment as a UTC ISO 8601 string (what the database stores)."""
    return moment.astimezone(UTC).isoformat(timespec=timespec)


@dataclass(frozen=True, slots=True)
class ExerciseRecord:
    idx: int  # position in the session, counting rounds (the timeline's Event.index)
    name: str
    seconds_spent: float
    sets_done: int  # distinct sets with at least one part done
    sides_done: int  # (set, side) parts done, for exercises worked on each side
    done: bool  # played to its end at least once (not skipped, not cut by a restart)
    skipped: bool
    restarts: int
    pauses: int
    pain: int


@dataclass(frozen=True, slots=True)
class EventRecord:
    at: datetime
    kind: str
    idx: int | None  # the exercise, or None outside any exercise


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: int
    routine_name: str
    routine_path: str
    routine_digest: str
    title: str
    started_at: datetime  # timezone-aware, UTC
    ended_at: datetime | None
    status: str  # running (in progress, or the process died) | completed (every exercise
    # done: none skipped, none stopped for pain) | stopped (quit, or some not done)
    seconds: float  # time spent, pauses excluded
    effort: int | None  # the end-of-session check-in, 1..5
    exercises: tuple[ExerciseRecord, ...] = ()
    events: tuple[EventRecord, ...] = ()
    exercises_total: int | None = None  # in the session (None: not known, before schema 2)
    reached_end: bool = False  # played to its end (skips and pain or not)

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def exercises_pained(self) -> int:
        """Exercises in which the pain key was pressed."""
        return sum(1 for e in self.exercises if e.pain)

    @property
    def exercises_skipped(self) -> int:
        """Exercises skipped (and not for pain: those are counted as pained)."""
        return sum(1 for e in self.exercises if e.skipped and not e.pain)

    @property
    def exercises_done(self) -> int:
        """Exercises played to their end, not skipped, no pain."""
        return sum(1 for e in self.exercises if e.done and not e.skipped and not e.pain)


@dataclass(frozen=True, slots=True)
class Summary:
    """What the screen says when a workout ends (``app.history.summary``)."""

    title: str
    seconds: float  # time spent, pauses excluded
    total: int  # exercises in the session
    done: int
    skipped: int
    pained: int  # exercises stopped (or marked) with the pain key
    effort: int | None  # the check-in, 1..5; None: not answered
    streak: int  # days in a row with a completed session
    week_seconds: float  # time spent this week
    saved: str | None  # None: saved to the history; else why not (one line)
    words: Messages = field(default=ENGLISH, compare=False, repr=False)  # shown in its language


# -- the last live run (``voicecoach run --resume``) ---------------------------------------


@dataclass(frozen=True, slots=True)
class LastRun:
    path: str  # the routine file
    digest: str  # its sha256, to refuse resuming a routine that changed
    exercise: int  # the exercise to start again from (0-based, counting rounds)
    finished: bool  # played to the end


def resume_point(
    last: LastRun | None, digest: str | None = None, *, routine: str | None = None
) -> LastRun:
    """The unfinished session to resume, checked against the routine's ``digest`` if given
    (``routine``: the routine asked for, named when it has nothing to resume)."""
    if last is None:
        if routine is not None:
            raise VoicecoachError(
                f"nothing to resume: no session of {routine} was stopped before its end"
            )
        raise VoicecoachError("nothing to resume: no session was stopped before its end")
    if last.finished:
        raise VoicecoachError("nothing to resume: the last session was played to the end")
    if digest is not None and digest != last.digest:
        raise VoicecoachError(
            f"cannot resume: the last unfinished session was {last.path}, and this routine"
            " is different (or was changed since)"
        )
    return last
