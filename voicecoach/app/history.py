"""The history use case: pure functions over the store's session records (core.records).

Nothing here reads a clock or the database: ``now`` and the records are passed in, so
every answer is deterministic. Dates are local (``tz``; None = the system's local time,
with its daylight-saving rules); a session belongs to the day it started.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta, tzinfo
from pathlib import PurePath
from typing import Any

from voicecoach.core import screen_lines as SL
from voicecoach.core.messages import ENGLISH, Messages
from voicecoach.core.records import SessionRecord, Summary, stamp

TABLE_LIMIT = 10  # sessions the table shows unless --limit says otherwise

CSV_COLUMNS: tuple[str, ...] = (
    "id",  # the session's number in the database
    "started_at",  # UTC, ISO 8601
    "ended_at",  # UTC, ISO 8601; empty if it never ended (the process died)
    "routine_name",
    "title",
    "routine_path",
    "routine_digest",  # sha256 of the routine file
    "status",  # completed (every exercise done) | stopped | running
    "completed",  # true | false: every exercise done, none skipped, none with pain
    "reached_end",  # true | false: played to its end (skips and pain or not)
    "seconds",  # time spent, pauses excluded
    "effort",  # the check-in, 1 (easy) .. 5 (very hard); empty if not answered
    "exercises_total",  # exercises in the session; empty if not known (saved before 0.2)
    "exercises_reached",  # exercises that began to play
    "exercises_done",  # played to their end, not skipped, no pain
    "exercises_skipped",  # skipped (without pain)
    "exercises_pained",  # the pain key was pressed in them
    "skip_presses",  # times an exercise was skipped (n or →)
    "restart_presses",  # times an exercise was started again (b or ←)
    "pause_presses",
    "pain_presses",  # times the pain key was pressed
)


def local_day(moment: datetime, tz: tzinfo | None = None) -> date:
    return moment.astimezone(tz).date()


def streak(sessions: Sequence[SessionRecord], now: datetime, tz: tzinfo | None = None) -> int:
    """Consecutive days with a completed session, ending today (or yesterday: today's
    session may still be to come)."""
    days = {local_day(s.started_at, tz) for s in sessions if s.completed}
    day = local_day(now, tz)
    if day not in days:
        day -= timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= timedelta(days=1)
    return count


def week_seconds(
    sessions: Sequence[SessionRecord], now: datetime, tz: tzinfo | None = None
) -> float:
    """Time spent in sessions (completed or not) started this ISO week, local time."""
    week = local_day(now, tz).isocalendar()[:2]
    return sum(s.seconds for s in sessions if local_day(s.started_at, tz).isocalendar()[:2] == week)


def matches(session: SessionRecord, routine: str) -> bool:
    """Is this a session of ``routine``: its name or title (any case), or its file?"""
    key = routine.casefold()
    if key.endswith((".yaml", ".yml")):
        key = PurePath(key).stem
    return key in (session.routine_name.casefold(), session.title.casefold())


def select(
    sessions: Sequence[SessionRecord], *, routine: str | None = None, limit: int | None = None
) -> tuple[SessionRecord, ...]:
    """The sessions of ``routine`` (all if None), the ``limit`` latest; oldest first."""
    chosen = sorted(
        (s for s in sessions if routine is None or matches(s, routine)),
        key=lambda s: (s.started_at, s.id),
    )
    return tuple(chosen[-limit:] if limit is not None else chosen)


def format_length(seconds: float) -> str:
    """mm:ss, or h:mm:ss from an hour."""
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def format_total(seconds: float) -> str:
    """A total to the minute: "1h 05m", "48m"."""
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _columns(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    """Aligned columns, two spaces apart; numbers right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in [header, *rows]
    ]


def _done_of(s: SessionRecord) -> str:
    """ "4/5": exercises done of the session's (of those reached, where not known)."""
    total = s.exercises_total if s.exercises_total is not None else len(s.exercises)
    return f"{s.exercises_done}/{total}"


def _row(s: SessionRecord, tz: tzinfo | None, per_routine: bool) -> tuple[str, ...]:
    when = s.started_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    effort = "-" if s.effort is None else str(s.effort)
    counts = (_done_of(s), str(s.exercises_skipped), str(s.exercises_pained), effort)
    done = "yes" if s.completed else "no"
    head = (when,) if per_routine else (when, s.routine_name)
    return (*head, format_length(s.seconds), *counts, done)


def _exercise_totals(sessions: Sequence[SessionRecord]) -> str:
    done = sum(s.exercises_done for s in sessions)
    skipped = sum(s.exercises_skipped for s in sessions)
    pained = sum(s.exercises_pained for s in sessions)
    return f"Exercises: {done} done, {skipped} skipped, {pained} with pain"


def report(
    sessions: Sequence[SessionRecord],
    now: datetime,
    *,
    tz: tzinfo | None = None,
    routine: str | None = None,
    limit: int | None = None,
) -> str:
    """The history table (newest first) and its summary line, as the CLI prints it.

    With ``routine``: that routine over time, with effort, skips and pain per session
    (records loaded with details); the streak and week total count that routine only.
    """
    chosen = select(sessions, routine=routine)
    if not chosen:
        if routine is None:
            return "No sessions yet. Start one with: voicecoach run\n"
        known = sorted({s.routine_name for s in sessions})
        also = f" Routines in your history: {', '.join(known)}." if known else ""
        return f"No sessions of {routine!r} yet.{also}\n"
    shown = chosen[-(limit or TABLE_LIMIT) :][::-1]
    rows = [_row(s, tz, routine is not None) for s in shown]
    lines: list[str] = []
    counts = ("Done", "Skipped", "Pain", "Effort", "Completed")
    if routine is None:
        lines += _columns(("Date", "Routine", "Length", *counts), rows, right={2, 3, 4, 5, 6})
    else:
        efforts = [s.effort for s in chosen if s.effort is not None]
        average = f", average effort {sum(efforts) / len(efforts):.1f}" if efforts else ""
        latest = chosen[-1]
        lines.append(
            f"{latest.title} ({latest.routine_name}): {_plural(len(chosen), 'session')},"
            f" {sum(s.completed for s in chosen)} completed{average}"
        )
        lines += _columns(("Date", "Length", *counts), rows, right={1, 2, 3, 4, 5})
    if len(shown) < len(chosen):
        lines.append(f"{len(shown)} of {len(chosen)} sessions shown; --limit N shows more.")
    lines.append(f"{_exercise_totals(shown)} (in the sessions shown)")
    days, week = streak(chosen, now, tz), week_seconds(chosen, now, tz)
    lines.append(f"Streak: {_plural(days, 'day')} · This week: {format_total(week)}")
    return "\n".join(lines) + "\n"


def _session_dict(s: SessionRecord) -> dict[str, Any]:
    return {
        "id": s.id,
        "routine_name": s.routine_name,
        "routine_path": s.routine_path,
        "routine_digest": s.routine_digest,
        "title": s.title,
        "started_at": stamp(s.started_at),
        "ended_at": stamp(s.ended_at) if s.ended_at else None,
        "status": s.status,
        "completed": s.completed,
        "reached_end": s.reached_end,
        "seconds": round(s.seconds, 3),
        "effort": s.effort,
        "exercises_total": s.exercises_total,
        "exercises_reached": len(s.exercises),
        "exercises_done": s.exercises_done,
        "exercises_skipped": s.exercises_skipped,
        "exercises_pained": s.exercises_pained,
        "exercises": [
            {
                "idx": e.idx,
                "name": e.name,
                "seconds_spent": round(e.seconds_spent, 3),
                "sets_done": e.sets_done,
                "sides_done": e.sides_done,
                "done": e.done,
                "skipped": e.skipped,
                "restarts": e.restarts,
                "pauses": e.pauses,
                "pain": e.pain,
            }
            for e in s.exercises
        ],
        "events": [
            {"at": stamp(e.at, "milliseconds"), "kind": e.kind, "idx": e.idx} for e in s.events
        ],
    }


def to_json(sessions: Sequence[SessionRecord]) -> str:
    """Every given session with its exercises and events (times UTC ISO 8601)."""
    data = {
        "format": "voicecoach-history",
        "version": 2,  # 2: exercises_* counts, reached_end; "completed": every exercise done
        "sessions": [_session_dict(s) for s in sessions],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def to_csv(sessions: Sequence[SessionRecord]) -> str:
    """One row per session; the columns are ``CSV_COLUMNS``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in sessions:
        kinds = [e.kind for e in s.events]
        writer.writerow(
            [
                s.id,
                stamp(s.started_at),
                stamp(s.ended_at) if s.ended_at else "",
                s.routine_name,
                s.title,
                s.routine_path,
                s.routine_digest,
                s.status,
                "true" if s.completed else "false",
                "true" if s.reached_end else "false",
                f"{s.seconds:.1f}",
                "" if s.effort is None else s.effort,
                "" if s.exercises_total is None else s.exercises_total,
                len(s.exercises),
                s.exercises_done,
                s.exercises_skipped,
                s.exercises_pained,
                kinds.count("skip"),
                kinds.count("restart"),
                kinds.count("pause"),
                kinds.count("pain"),
            ]
        )
    return out.getvalue()


# -- the end of a workout --------------------------------------------------------------------


def summary(
    record: SessionRecord | None,
    sessions: Sequence[SessionRecord],
    now: datetime,
    *,
    title: str,
    total: int,
    warning: str | None,
    effort: int | None,
    tz: tzinfo | None = None,
    words: Messages = ENGLISH,
) -> Summary:
    """What the screen says at the end of a workout, from the session as saved (``record``;
    None if it could not be saved: then the counts are zero and ``warning`` says why), in
    the session's language (``words``; a warning stays English, as the CLI's errors do)."""
    if record is None:
        return Summary(title, 0.0, total, 0, 0, 0, effort, streak(sessions, now, tz),
                       week_seconds(sessions, now, tz), warning or "not saved", words)  # fmt: skip
    return Summary(
        title=title,
        seconds=record.seconds,
        total=record.exercises_total if record.exercises_total is not None else total,
        done=record.exercises_done,
        skipped=record.exercises_skipped,
        pained=record.exercises_pained,
        effort=record.effort if record.effort is not None else effort,
        streak=streak(sessions, now, tz),
        week_seconds=week_seconds(sessions, now, tz),
        saved=warning,
        words=words,
    )


def summary_lines(s: Summary) -> list[str]:
    """The end-of-workout summary, line by line (the first is its title), in the
    session's language (``s.words``); each count takes its plural form from the catalogue."""
    m = s.words
    effort = (
        SL.show(m, SL.EFFORT_NONE) if s.effort is None else SL.show(m, SL.EFFORT, effort=s.effort)
    )
    exercises = SL.show(
        m, SL.EXERCISES, done=SL.count(m, SL.DONE, s.done, total=s.total),
        skipped=SL.count(m, SL.SKIPPED, s.skipped), pained=SL.count(m, SL.PAINED, s.pained),
    )  # fmt: skip
    return [
        SL.show(m, SL.WORKOUT_OVER, title=s.title),
        SL.show(m, SL.TIME, time=format_length(s.seconds)),
        exercises,
        effort,
        SL.count(m, SL.STREAK, s.streak, time=format_total(s.week_seconds)),
        SL.show(m, SL.SAVED) if s.saved is None else s.saved,
    ]
