"""The live screen in the session's language: the status line, the panel, the states a key
leaves, the head start's count, the check-in's prompt and the summary, through the real
catalogues (German and Spanish), with no English label left; English stays as it was.

No audio: the player runs on the fakes (tests/fakes.py) and the screen is what the fake
status keeps (each glance; its one line, and its panel laid out by adapters.terminal)."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest

from tests.fakes import (
    FakeClock,
    FakeSpeech,
    FakeStatus,
    RecordingOut,
    ScriptedKeys,
    fake_sounds,
    play,
    seconds,
    the_wait,
)
from voicecoach.adapters.terminal import TerminalStatus, panel_rows
from voicecoach.app import checkin, history, session
from voicecoach.app.headstart import Growing
from voicecoach.app.session import Session
from voicecoach.core.records import Summary
from voicecoach.core.status import Guide, clock
from voicecoach.core.timeline import Event
from voicecoach.routine import catalogues, loader

if TYPE_CHECKING:
    from voicecoach.app.session import Making

# The same routine in each language: exercise names in that language (no English word in
# them), a hold, reps on both sides in two sets, timed work, an own-pace exercise.
NAMES = {
    "en": ("Bridge", "Bird-dog", "Plank", "Cat-cow"),
    "de": ("Brücke", "Vogel-Hund", "Unterarmstütz", "Katzenbuckel"),
    "es": ("Puente", "Perro de caza", "Plancha", "Gato-vaca"),
}
TITLES = {"en": "Back", "de": "Rücken", "es": "Espalda"}
ROUTINE = """\
title: {title}
language: {language}
exercises:
  - name: {0}
    hold: 6s
    lead_in: 3s
    rest: 4s
  - name: {1}
    reps: 3
    tempo: [1s, 1s]
    sides: both
    sets: 2
    set_rest: 3s
    lead_in: 3s
    rest: 4s
  - name: {2}
    time: 12s
    lead_in: 3s
  - name: {3}
    reps: 5
    manual: true
    estimate: 20s
    lead_in: 3s
"""
# Keys are named as they are on the keyboard, in every language (the screen's "space: ...",
# "q: ..."); the week's total is "1h 05m" in every language (history.format_total).
SAME_EVERYWHERE = {"space", "n", "q", "h", "m"}
# A language's own word that is also an English label's, each with its reason.
ITS_OWN = {"es": {"rep": "Spanish gyms abbreviate repetición as rep. ('Rep. 3 / 3')"}}


def made(language: str) -> Session:
    text = ROUTINE.format(*NAMES[language], title=TITLES[language], language=language)
    routine = loader.load_text(text, f"screen-{language}.yaml")
    return session.prepare(routine, speech=FakeSpeech(), sounds=fake_sounds())


def rep_event(prepared: Session, exercise: str, *, rep: int, set: int, side: str) -> Event:
    """The event that starts that rep of that set and side."""
    return next(
        e for e in prepared.timeline.events
        if (e.exercise, e.rep, e.set, e.side) == (exercise, rep, set, side)
    )  # fmt: skip


def starts(lines: list[str], prefix: str) -> bool:
    return any(line.startswith(prefix) for line in lines)


def words(texts: list[str]) -> set[str]:
    return {w.casefold() for text in texts for w in re.findall(r"[^\W\d_]+", text)}


def played_screens(prepared: Session) -> list[str]:
    """Every screen a run shows (each glance as one line and as the panel): paused in the
    welcome, the session through, the own-pace wait, then the pain key and q; and the
    finish (which the q came before)."""
    wait_start, _ = the_wait(prepared)
    at_wait = seconds(prepared, wait_start)
    script = [(1.0, "space"), (2.0, "space"), (at_wait + 15, "p"), (at_wait + 17, "q")]
    run = play(prepared, script)  # p and q well into the wait (the pause delayed it)
    finish = Guide(prepared.timeline, prepared.messages).glance(prepared.timeline.length)
    glances = [*run.status.glances, finish]
    return [*run.status.lines, finish.line(), *("\n".join(panel_rows(g)) for g in glances)]


def summary(language: str, **changes: object) -> Summary:
    plain = Summary(
        title=TITLES[language], seconds=1122, total=5, done=3, skipped=1, pained=1,
        effort=None, streak=4, week_seconds=3900, saved=None,
        words=catalogues.messages(language),
    )  # fmt: skip
    return replace(plain, **changes)


def summary_screens(language: str) -> list[str]:
    lines: list[str] = []
    for changes in ({}, {"effort": 4, "streak": 1, "done": 1, "skipped": 2}):
        lines += history.summary_lines(summary(language, **changes))
    return lines


def english_label_words() -> set[str]:
    """The words of the English screens, but the routine's own and the keys'."""
    shown = played_screens(made("en")) + summary_screens("en")
    return words(shown) - words([*NAMES["en"], TITLES["en"]]) - SAME_EVERYWHERE


def test_the_english_screens_are_the_ones_the_check_looks_for() -> None:
    """The check below means something: the English screens hold every label."""
    assert {
        "welcome", "first", "rest", "finish", "well", "done", "side", "set", "hold", "work",
        "rep", "next", "end", "left", "paused", "resume", "stop", "press", "pain", "workout",
        "exercises", "skipped", "effort", "streak", "week", "saved", "history",
    } <= english_label_words()  # fmt: skip


@pytest.mark.parametrize("language", ["de", "es"])
def test_the_screens_of_a_run_show_no_english_label(language: str) -> None:
    shown = played_screens(made(language)) + summary_screens(language)
    left = words(shown) & english_label_words() - set(ITS_OWN.get(language, {}))
    assert left == set(), f"{language}: English left on the screen: {sorted(left)}"


def test_the_german_panel_and_status_line() -> None:
    prepared = made("de")
    shown = played_screens(prepared)
    panels = [s for s in shown if "\n" in s]
    rows = {row for panel in panels for row in panel.split("\n")}
    assert "Willkommen · zuerst: Brücke" in rows
    assert "2/4  Vogel-Hund · linke Seite · Satz 1 von 2" in rows
    assert "2/4  Vogel-Hund · rechte Seite · Satz 2 von 2" in rows
    assert "  Wdh. 2 / 3" in rows
    assert "Pause" in rows  # a rest's heading
    beside = [re.fullmatch(r"  [█▀ ]+   ([^\W\d_]+)", row) for row in rows]
    labels = {found.group(1) for found in beside if found}
    assert labels == {"Halten", "Pause", "Belastung"}  # beside the large digits
    assert any(row.startswith("Danach: Unterarmstütz   ") for row in rows)
    assert any(row.startswith("Danach: Schluss   ") for row in rows)
    assert any(re.fullmatch(r"Danach: .+   \d+:\d\d geschafft · noch \d+:\d\d", r) for r in rows)
    assert "Abschluss · gut gemacht" in rows
    # The states the keys leave, and the one line.
    lines = [s for s in shown if "\n" not in s]
    assert starts(lines, "Angehalten (space: weiter, q: beenden) · Willkommen · noch ")
    assert starts(lines, "space drücken, wenn fertig · 4/4 Katzenbuckel · noch ")
    assert starts(lines, "Schmerz: ausruhen (n: weiter, q: beenden) · 4/4 Katzenbuckel")
    assert starts(lines, "Pause · danach: Vogel-Hund · noch ")


def test_the_german_status_line_where_it_is() -> None:
    """The one-line screen (a narrow terminal): exercise, set, side, rep, time left."""
    prepared = made("de")
    guide, rate = Guide(prepared.timeline, prepared.messages), prepared.timeline.sample_rate
    rep = rep_event(prepared, "Vogel-Hund", rep=2, set=1, side="left")
    left = clock((prepared.timeline.length - rep.start) / rate)
    assert guide.line(rep.start) == f"2/4 Vogel-Hund · Satz 1/2 · links · Wdh. 2/3 · noch {left}"
    assert guide.line(0) == f"Willkommen · noch {clock(prepared.timeline.length / rate)}"
    assert guide.line(prepared.timeline.length) == "Abschluss"
    stream = io.StringIO()
    narrow = TerminalStatus(stream, environ={"TERM": "dumb"}, width=50)
    narrow.show(guide.glance(0))
    assert stream.getvalue().startswith("\rWillkommen · noch ")


def test_the_spanish_panel_and_status_line() -> None:
    prepared = made("es")
    guide, rate = Guide(prepared.timeline, prepared.messages), prepared.timeline.sample_rate
    rep = rep_event(prepared, "Perro de caza", rep=3, set=2, side="right")
    rows = panel_rows(guide.glance(rep.start))
    assert rows[0] == "2/4  Perro de caza · lado derecho · serie 2 de 2"
    assert "  Rep. 3 / 3" in rows
    assert re.fullmatch(r"Siguiente: Plancha   llevas \d+:\d\d · quedan \d+:\d\d", rows[-1])
    left = clock((prepared.timeline.length - rep.start) / rate)
    assert guide.line(rep.start) == (
        f"2/4 Perro de caza · serie 2/2 · derecha · rep. 3/3 · quedan {left}"
    )


def test_the_panel_drawn_on_a_wide_terminal_in_german() -> None:
    """Through rich, as a terminal shows it."""
    prepared = made("de")
    guide = Guide(prepared.timeline, prepared.messages)
    hold = next(e for e in prepared.timeline.events if e.kind == "sound" and e.text == "hold")
    stream = io.StringIO()
    wide = TerminalStatus(stream, environ={"TERM": "xterm"}, width=80)
    wide.show(guide.glance(hold.start + prepared.timeline.sample_rate))
    wide.clear()
    drawn = stream.getvalue()
    assert "1/4  Brücke" in drawn and "Halten" in drawn and "Danach: Vogel-Hund" in drawn
    assert "Hold" not in drawn and "Next" not in drawn


def test_the_summary_in_german_and_spanish_with_plural_forms() -> None:
    assert history.summary_lines(summary("de")) == [
        "Training beendet: Rücken",
        "Zeit: 18:42",
        "Übungen: 3 von 5 geschafft, 1 übersprungen, 1 mit Schmerzen",
        "Anstrengung: keine Antwort, ohne Bewertung gespeichert",
        "Serie: 4 Tage · Diese Woche: 1h 05m",
        "In deinem Verlauf gespeichert.",
    ]
    assert history.summary_lines(summary("de", effort=4, streak=1))[3:5] == [
        "Anstrengung: 4 von 5",
        "Serie: 1 Tag · Diese Woche: 1h 05m",
    ]
    spanish = history.summary_lines(summary("es", done=1, skipped=2, pained=0, streak=1))
    assert spanish[:3] == [
        "Entrenamiento terminado: Espalda",
        "Tiempo: 18:42",
        "Ejercicios: 1 de 5 hecho, 2 saltados, 0 con dolor",
    ]
    assert spanish[4] == "Racha: 1 día · Esta semana: 1h 05m"
    assert history.summary_lines(summary("es"))[2] == (
        "Ejercicios: 3 de 5 hechos, 1 saltado, 1 con dolor"
    )
    # A warning why it was not saved stays as the CLI says it (English, as its errors).
    assert history.summary_lines(summary("de", saved="not saved"))[-1] == "not saved"
    # Left on the screen: plain lines on a narrow terminal, a panel through rich when wide.
    narrow, wide = io.StringIO(), io.StringIO()
    TerminalStatus(narrow, environ={"TERM": "dumb"}, width=50).summary(summary("de"))
    assert narrow.getvalue() == "\n".join(history.summary_lines(summary("de"))) + "\n"
    TerminalStatus(wide, environ={"TERM": "xterm"}, width=80).summary(summary("de"))
    assert "Training beendet: Rücken" in wide.getvalue()
    assert "In deinem Verlauf gespeichert." in wide.getvalue()


def test_the_check_in_prompt_in_german() -> None:
    prepared = made("de")
    for script, answer in (([(1.0, "3")], 3), ([], None)):
        clock_ = FakeClock()
        out, status = RecordingOut(clock_), FakeStatus()
        keys = ScriptedKeys([(clock_.now + t, k) for t, k in script], clock_, clock_.sleep)
        got = checkin.check_in(prepared, out=out, keys=keys, status=status, clock=clock_)
        assert got == answer
        prompt = "Wie anstrengend war das? 1 (leicht) bis 5 (sehr schwer), q: überspringen"
        assert status.lines[0] == prompt
    assert status.lines == [prompt, "Keine Antwort, ohne Bewertung gespeichert."]


class _Making:
    """What ``Growing`` asks of a session being made: 12 of 29 clips made."""

    def __init__(self, prepared: Session) -> None:
        self.prepared = prepared

    def known(self) -> tuple[Session, int]:
        return self.prepared, self.prepared.timeline.length // 2

    def made(self) -> tuple[int, int]:
        return 12, 29


def test_the_head_start_count_in_german() -> None:
    growing = Growing(cast("Making", _Making(made("de"))))
    assert growing.note() == "Vorbereitung 12/29"
    assert growing.note(waiting=True) == "Rest wird vorbereitet 12/29"
    english = Growing(cast("Making", _Making(made("en"))))
    assert (english.note(), english.note(waiting=True)) == (
        "Preparing 12/29",
        "Waiting for the rest to be made 12/29",
    )


def test_a_german_run_shows_its_screen_and_summary_in_german(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`voicecoach run` end to end (fake speech, a recording output, scripted keys): the
    screen, the check-in's prompt and the summary follow the routine's language."""
    from click.testing import CliRunner

    from tests.fakes import fake_env
    from voicecoach.adapters.recorder import BackgroundRecorder
    from voicecoach.cli import cli
    from voicecoach.cli.env import real_env

    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "ruecken.yaml"
    path.write_text(ROUTINE.format(*NAMES["de"], title="Rücken", language="de"))
    wait_start, _ = the_wait(made("de"))
    clock_ = FakeClock()
    out, status = RecordingOut(clock_), FakeStatus()
    began, start = datetime(2026, 12, 2, 12, 0, tzinfo=UTC), clock_.now

    def now() -> datetime:
        return began + timedelta(seconds=clock_.now - start)

    @contextlib.contextmanager
    def keys() -> Iterator[ScriptedKeys]:
        at = clock_.now + seconds(made("de"), wait_start) + 60  # space at the wait, then "2"
        yield ScriptedKeys([(at, "space"), (at + 60, "2")], clock_, clock_.sleep)

    fakes = fake_env()
    env = replace(
        real_env(), speech=fakes.speech, sounds=fakes.sounds, output=lambda: out, keys=keys,
        status=lambda: status, now=now, recorder=lambda: BackgroundRecorder(now=now),
    )  # fmt: skip
    result = CliRunner().invoke(cli, ["run", str(path)], catch_exceptions=False, obj=env)
    assert result.exit_code == 0, result.output
    assert status.lines[0].startswith("Willkommen · noch ")
    assert starts(status.lines, "space drücken, wenn fertig · 4/4 Katzenbuckel")
    assert starts(status.lines, "Wie anstrengend war das?")
    (shown,) = status.summaries
    lines = history.summary_lines(shown)
    assert lines[0] == "Training beendet: Rücken"
    assert lines[2] == "Übungen: 4 von 4 geschafft, 0 übersprungen, 0 mit Schmerzen"
    assert lines[3] == "Anstrengung: 2 von 5"
    assert lines[-1] == "In deinem Verlauf gespeichert."
