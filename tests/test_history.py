"""The history use case: streaks, week totals, the table and the exports (pure functions,
fixed clocks and time zones)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from voicecoach.app import history
from voicecoach.core.records import EventRecord, ExerciseRecord, SessionRecord

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def local(y: int, mo: int, d: int, h: int = 12, mi: int = 0, tz: tzinfo = BERLIN) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz).astimezone(UTC)


def session(
    started: datetime,
    *,
    status: str = "completed",
    seconds: float = 1200.0,
    sid: int = 1,
    name: str = "back-strength",
    title: str = "Back strength",
    effort: int | None = None,
    exercises: tuple[ExerciseRecord, ...] = (),
    events: tuple[EventRecord, ...] = (),
    total: int | None = None,
) -> SessionRecord:
    return SessionRecord(
        sid,
        name,
        f"/r/{name}.yaml",
        "digest-" + name,
        title,
        started,
        started + timedelta(seconds=seconds),
        status,
        seconds,
        effort,
        exercises,
        events,
        exercises_total=total,
        reached_end=status == "completed",
    )


def done(*names: str) -> tuple[ExerciseRecord, ...]:
    """Exercises played to their end, one after the other."""
    return tuple(
        ExerciseRecord(i, n, 60.0, 1, 0, True, False, 0, 0, 0) for i, n in enumerate(names)
    )


BACK = done("Bridge", "Bird-dog", "Dead bug", "Side plank", "Cat-cow")


def days(*dates: tuple[int, int, int], status: str = "completed") -> list[SessionRecord]:
    return [session(local(*d), status=status, sid=i) for i, d in enumerate(dates, 1)]


NOW = local(2024, 5, 8, 18, 0)  # a Wednesday evening in Berlin


# -- streak -------------------------------------------------------------------------


def test_no_sessions_no_streak() -> None:
    assert history.streak([], NOW, BERLIN) == 0


def test_a_streak_counts_consecutive_days_ending_today() -> None:
    sessions = days((2024, 5, 6), (2024, 5, 7), (2024, 5, 8))
    assert history.streak(sessions, NOW, BERLIN) == 3


def test_a_streak_may_end_yesterday_but_not_the_day_before() -> None:
    assert history.streak(days((2024, 5, 6), (2024, 5, 7)), NOW, BERLIN) == 2
    assert history.streak(days((2024, 5, 5), (2024, 5, 6)), NOW, BERLIN) == 0


def test_a_gap_ends_the_streak() -> None:
    sessions = days((2024, 5, 3), (2024, 5, 4), (2024, 5, 6), (2024, 5, 7), (2024, 5, 8))
    assert history.streak(sessions, NOW, BERLIN) == 3


def test_several_sessions_a_day_count_once_and_stopped_ones_not_at_all() -> None:
    sessions = days((2024, 5, 7), (2024, 5, 7), (2024, 5, 8), (2024, 5, 8))
    assert history.streak(sessions, NOW, BERLIN) == 2
    stopped = days((2024, 5, 6), status="stopped") + days((2024, 5, 5), status="running")
    assert history.streak(stopped + days((2024, 5, 7)), NOW, BERLIN) == 1


def test_days_are_local_days_split_at_midnight() -> None:
    late, early = local(2024, 5, 7, 23, 59), local(2024, 5, 8, 0, 1)
    both = [session(late), session(early, sid=2)]
    assert history.streak(both, NOW, BERLIN) == 2
    # The same two moments are one day in New York (17:59 and 18:01 on the 7th).
    assert history.streak(both, NOW, NEW_YORK) == 1
    # Just after local midnight, yesterday's session still counts, "today" has moved on.
    assert history.streak([session(late)], local(2024, 5, 8, 0, 0), BERLIN) == 1
    assert history.streak([session(late)], local(2024, 5, 9, 0, 0), BERLIN) == 0


def test_a_streak_across_a_daylight_saving_change() -> None:
    # Berlin moved its clocks on 2024-03-31 (a 23-hour day).
    sessions = days((2024, 3, 30), (2024, 3, 31), (2024, 4, 1))
    assert history.streak(sessions, local(2024, 4, 1, 0, 30), BERLIN) == 3


# -- week total ---------------------------------------------------------------------


def test_week_total_is_the_local_iso_week_from_monday() -> None:
    sessions = [
        session(local(2024, 5, 5, 23, 50), seconds=600),  # Sunday before: not this week
        session(local(2024, 5, 6, 0, 10), seconds=900, sid=2),  # Monday 00:10: this week
        session(local(2024, 5, 8, 7, 0), seconds=1500, status="stopped", sid=3),
        session(local(2024, 5, 13, 7, 0), seconds=60, sid=4),  # next Monday
    ]
    assert history.week_seconds(sessions, NOW, BERLIN) == 2400
    # In New York the Monday 00:10 Berlin session is still Sunday.
    assert history.week_seconds(sessions, NOW, NEW_YORK) == 1500


def test_week_total_across_the_new_year() -> None:
    # ISO week 1 of 2025 starts on Monday 2024-12-30.
    sessions = [session(local(2024, 12, 29), seconds=100), session(local(2024, 12, 30), sid=2)]
    assert history.week_seconds(sessions, local(2025, 1, 2), BERLIN) == 1200


# -- formats ------------------------------------------------------------------------


def test_lengths_and_totals() -> None:
    assert [history.format_length(s) for s in (0, 59.4, 59.6, 754, 3599, 3600, 3725.2)] == [
        "00:00",
        "00:59",
        "01:00",
        "12:34",
        "59:59",
        "1:00:00",
        "1:02:05",
    ]
    assert [history.format_total(s) for s in (0, 29, 2880, 3600, 3900, 36000)] == [
        "0m",
        "0m",
        "48m",
        "1h 00m",
        "1h 05m",
        "10h 00m",
    ]


@given(st.floats(min_value=0, max_value=100 * 3600))
def test_a_length_reads_back_as_the_rounded_seconds(seconds: float) -> None:
    text = history.format_length(seconds)
    assert re.fullmatch(r"(\d+:)?\d\d:\d\d", text)
    parts = [int(p) for p in text.split(":")]
    assert sum(p * 60**i for i, p in enumerate(reversed(parts))) == round(seconds)


# -- choosing sessions --------------------------------------------------------------


def mixed() -> list[SessionRecord]:
    return [
        session(local(2024, 5, 6, 7, 30), sid=1, seconds=1450, exercises=BACK, total=5),
        session(
            local(2024, 5, 6, 19, 5),
            sid=2,
            name="stretch",
            title="Evening stretch",
            status="stopped",
            seconds=312,
            exercises=done("Reach"),
            total=3,
        ),
        session(local(2024, 5, 7, 7, 31), sid=3, seconds=1490, effort=3, exercises=BACK, total=5),
        session(local(2024, 5, 8, 7, 29), sid=4, seconds=4000, effort=4, exercises=BACK, total=5),
    ]


def test_select_by_name_title_or_file_and_limit_to_the_latest() -> None:
    sessions = mixed()[::-1]
    assert [s.id for s in history.select(sessions)] == [1, 2, 3, 4]
    assert [s.id for s in history.select(sessions, routine="Back-Strength")] == [1, 3, 4]
    assert [s.id for s in history.select(sessions, routine="evening stretch")] == [2]
    assert [s.id for s in history.select(sessions, routine="stretch.yaml")] == [2]
    assert [s.id for s in history.select(sessions, routine="back-strength", limit=2)] == [3, 4]
    assert history.select(sessions, routine="nothing") == ()


# -- the table ----------------------------------------------------------------------


def test_the_table_newest_first_with_streak_and_week() -> None:
    assert history.report(mixed(), NOW, tz=BERLIN) == (
        "Date              Routine         Length  Done  Skipped  Pain  Effort  Completed\n"
        "2024-05-08 07:29  back-strength  1:06:40   5/5        0     0       4  yes\n"
        "2024-05-07 07:31  back-strength    24:50   5/5        0     0       3  yes\n"
        "2024-05-06 19:05  stretch          05:12   1/3        0     0       -  no\n"
        "2024-05-06 07:30  back-strength    24:10   5/5        0     0       -  yes\n"
        "Exercises: 16 done, 0 skipped, 0 with pain (in the sessions shown)\n"
        "Streak: 3 days · This week: 2h 01m\n"
    )


def test_the_table_is_limited_and_says_so() -> None:
    assert history.report(mixed(), NOW, tz=BERLIN, limit=1) == (
        "Date              Routine         Length  Done  Skipped  Pain  Effort  Completed\n"
        "2024-05-08 07:29  back-strength  1:06:40   5/5        0     0       4  yes\n"
        "1 of 4 sessions shown; --limit N shows more.\n"
        "Exercises: 5 done, 0 skipped, 0 with pain (in the sessions shown)\n"
        "Streak: 3 days · This week: 2h 01m\n"
    )


def test_one_routine_over_time() -> None:
    pained = (
        ExerciseRecord(0, "Bridge", 30, 1, 0, True, False, 0, 0, 2),
        ExerciseRecord(1, "Bird-dog", 3, 0, 0, False, True, 0, 0, 0),
    )
    sessions = [
        *mixed(),
        session(local(2024, 5, 8, 17, 0), sid=5, seconds=95, status="stopped", exercises=pained),
    ]
    assert history.report(sessions, NOW, tz=BERLIN, routine="back-strength") == (
        "Back strength (back-strength): 4 sessions, 3 completed, average effort 3.5\n"
        "Date               Length  Done  Skipped  Pain  Effort  Completed\n"
        "2024-05-08 17:00    01:35   0/2        1     1       -  no\n"
        "2024-05-08 07:29  1:06:40   5/5        0     0       4  yes\n"
        "2024-05-07 07:31    24:50   5/5        0     0       3  yes\n"
        "2024-05-06 07:30    24:10   5/5        0     0       -  yes\n"
        "Exercises: 15 done, 1 skipped, 1 with pain (in the sessions shown)\n"
        "Streak: 3 days · This week: 1h 57m\n"
    )
    assert history.report(sessions, NOW, tz=BERLIN, routine="stretch") == (
        "Evening stretch (stretch): 1 session, 0 completed\n"
        "Date              Length  Done  Skipped  Pain  Effort  Completed\n"
        "2024-05-06 19:05   05:12   1/3        0     0       -  no\n"
        "Exercises: 1 done, 0 skipped, 0 with pain (in the sessions shown)\n"
        "Streak: 0 days · This week: 5m\n"
    )


def test_friendly_lines_when_there_is_nothing_to_show() -> None:
    assert history.report([], NOW) == "No sessions yet. Start one with: voicecoach run\n"
    assert history.report([], NOW, routine="x") == "No sessions of 'x' yet.\n"
    assert history.report(mixed(), NOW, routine="yoga") == (
        "No sessions of 'yoga' yet. Routines in your history: back-strength, stretch.\n"
    )


def test_one_day_streak_is_singular() -> None:
    assert history.report(days((2024, 5, 8)), NOW, tz=BERLIN).endswith(
        "Streak: 1 day · This week: 20m\n"
    )


# -- exports ------------------------------------------------------------------------


def detailed() -> list[SessionRecord]:
    exercises = (
        ExerciseRecord(0, "Bridge", 30.25, 2, 0, True, False, 1, 2, 0),
        ExerciseRecord(1, "Bird-dog", 12.0, 1, 2, False, True, 0, 1, 1),
    )
    events = (
        EventRecord(datetime(2024, 5, 6, 5, 31, 0, 250000, tzinfo=UTC), "pause", 0),
        EventRecord(datetime(2024, 5, 6, 5, 31, 9, tzinfo=UTC), "resume", 0),
        EventRecord(datetime(2024, 5, 6, 5, 32, tzinfo=UTC), "pain", 1),
        EventRecord(datetime(2024, 5, 6, 5, 33, tzinfo=UTC), "skip", 1),
        EventRecord(datetime(2024, 5, 6, 5, 34, tzinfo=UTC), "quit", None),
    )
    return [
        session(
            local(2024, 5, 6, 7, 30),
            status="stopped",
            seconds=245.5,
            effort=2,
            exercises=exercises,
            events=events,
            total=3,
        ),
        session(local(2024, 5, 7, 7, 30), sid=2, name="stretch, gentle", title='The "gentle" one'),
    ]


def test_json_export_parses_back_with_everything() -> None:
    data = json.loads(history.to_json(detailed()))
    assert (data["format"], data["version"]) == ("voicecoach-history", 2)
    first, second = data["sessions"]
    assert {k: v for k, v in first.items() if k not in ("exercises", "events")} == {
        "id": 1,
        "routine_name": "back-strength",
        "routine_path": "/r/back-strength.yaml",
        "routine_digest": "digest-back-strength",
        "title": "Back strength",
        "started_at": "2024-05-06T05:30:00+00:00",
        "ended_at": "2024-05-06T05:34:05+00:00",
        "status": "stopped",
        "completed": False,
        "reached_end": False,
        "seconds": 245.5,
        "effort": 2,
        "exercises_total": 3,
        "exercises_reached": 2,
        "exercises_done": 1,
        "exercises_skipped": 0,
        "exercises_pained": 1,
    }
    assert first["exercises"][1] == {
        "idx": 1,
        "name": "Bird-dog",
        "seconds_spent": 12.0,
        "sets_done": 1,
        "sides_done": 2,
        "done": False,
        "skipped": True,
        "restarts": 0,
        "pauses": 1,
        "pain": 1,
    }
    assert first["events"][0] == {"at": "2024-05-06T05:31:00.250+00:00", "kind": "pause", "idx": 0}
    quit_event = {"at": "2024-05-06T05:34:00.000+00:00", "kind": "quit", "idx": None}
    assert first["events"][-1] == quit_event
    assert datetime.fromisoformat(first["events"][0]["at"]) == detailed()[0].events[0].at
    assert (second["title"], second["completed"]) == ('The "gentle" one', True)
    assert second["exercises"] == second["events"] == []


def test_csv_export_parses_back_one_row_per_session() -> None:
    text = history.to_csv(detailed())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == history.CSV_COLUMNS
    assert rows == [
        {
            "id": "1",
            "started_at": "2024-05-06T05:30:00+00:00",
            "ended_at": "2024-05-06T05:34:05+00:00",
            "routine_name": "back-strength",
            "title": "Back strength",
            "routine_path": "/r/back-strength.yaml",
            "routine_digest": "digest-back-strength",
            "status": "stopped",
            "completed": "false",
            "reached_end": "false",
            "seconds": "245.5",
            "effort": "2",
            "exercises_total": "3",
            "exercises_reached": "2",
            "exercises_done": "1",
            "exercises_skipped": "0",
            "exercises_pained": "1",
            "skip_presses": "1",
            "restart_presses": "0",
            "pause_presses": "1",
            "pain_presses": "1",
        },
        {
            "id": "2",
            "started_at": "2024-05-07T05:30:00+00:00",
            "ended_at": "2024-05-07T05:50:00+00:00",
            "routine_name": "stretch, gentle",
            "title": 'The "gentle" one',
            "routine_path": "/r/stretch, gentle.yaml",
            "routine_digest": "digest-stretch, gentle",
            "status": "completed",
            "completed": "true",
            "reached_end": "true",
            "seconds": "1200.0",
            "effort": "",
            "exercises_total": "",
            "exercises_reached": "0",
            "exercises_done": "0",
            "exercises_skipped": "0",
            "exercises_pained": "0",
            "skip_presses": "0",
            "restart_presses": "0",
            "pause_presses": "0",
            "pain_presses": "0",
        },
    ]


def test_empty_exports() -> None:
    assert json.loads(history.to_json([])) == {
        "format": "voicecoach-history",
        "version": 2,
        "sessions": [],
    }
    assert history.to_csv([]) == ",".join(history.CSV_COLUMNS) + "\n"


def test_times_with_any_offset_are_exported_in_utc() -> None:
    plus_two = datetime(2024, 5, 6, 7, 30, tzinfo=timezone(timedelta(hours=2)))
    data = json.loads(history.to_json([session(plus_two)]))
    assert data["sessions"][0]["started_at"] == "2024-05-06T05:30:00+00:00"
