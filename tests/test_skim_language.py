"""`audition --play`, `audition --play --skim` and the lines printed around a live run in
the session's language: the skim's keys line and status line, its paused state, the
preview's line, the live run's keys line, its "Preparing your session…" and its stopped
line, through the real catalogues (German, Spanish); English stays as it was.

No audio: the skim plays on the fakes (tests/fakes.py), the screen is what the fake status
keeps, and `voicecoach run` runs on the fakes through the command line."""

from __future__ import annotations

import contextlib
import io
import re
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fakes import (
    FakeClock,
    FakeSpeech,
    FakeStatus,
    RecordingOut,
    ScriptedKeys,
    fake_env,
    fake_sounds,
)
from voicecoach.app import session
from voicecoach.app.preview import SKIM_KEYS, play_preview, play_skim, skim_keys
from voicecoach.app.session import Session
from voicecoach.app.workout import keys_line
from voicecoach.cli import cli
from voicecoach.core import screen_lines as SL
from voicecoach.core.messages import ENGLISH
from voicecoach.routine import catalogues, loader

# The same routine in each language: names in that language (no English word in them).
NAMES = {
    "en": ("Bridge", "Bird-dog", "Plank"),
    "de": ("Brücke", "Vogel-Hund", "Unterarmstütz"),
    "es": ("Puente", "Perro de caza", "Plancha"),
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
    lead_in: 3s
    rest: 4s
  - name: {2}
    time: 12s
    lead_in: 3s
"""
# Keys keep their names in every language (space, n, b, q; Ctrl-C).
KEYS = {"space", "n", "b", "q", "ctrl", "c"}
# The keys of the skim: n twice (to the second exercise), space and space again (paused
# and resumed), b (back to its start), then q. Seconds after the start.
SCRIPT = [(2.0, "n"), (4.0, "n"), (6.0, "space"), (8.0, "space"), (10.0, "b"), (12.0, "q")]


def routine_text(language: str) -> str:
    return ROUTINE.format(*NAMES[language], title=TITLES[language], language=language)


def made(language: str) -> Session:
    routine = loader.load_text(routine_text(language), f"skim-{language}.yaml")
    return session.prepare(routine, speech=FakeSpeech(), sounds=fake_sounds())


def words(texts: list[str]) -> set[str]:
    return {w.casefold() for text in texts for w in re.findall(r"[^\W\d_]+", text)}


class _Tty(io.StringIO):
    """stderr on a terminal (the preview prints its line only there)."""

    def isatty(self) -> bool:
        return True


def preview_line(prepared: Session, monkeypatch: pytest.MonkeyPatch) -> str:
    stderr = _Tty()
    monkeypatch.setattr(sys, "stderr", stderr)
    play_preview(prepared, 8.0, out=RecordingOut())
    monkeypatch.undo()
    return stderr.getvalue()


def skim_lines(prepared: Session, script: list[tuple[float, str]]) -> list[str]:
    """Every status line the skim shows, with the keys pressed at the given seconds."""
    clock = FakeClock()
    out, status = RecordingOut(clock, drain=0.3), FakeStatus()
    keys = ScriptedKeys([(clock.now + t, k) for t, k in script], clock, clock.sleep)
    play_skim(prepared, out=out, keys=keys, status=status)
    return status.lines


def screens(language: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What `audition --play` and `--play --skim` show: the preview's line, the skim's
    keys line, the skim's status lines (moved, paused, played to its end)."""
    prepared = made(language)
    return [
        preview_line(prepared, monkeypatch),
        skim_keys(prepared.messages),
        *skim_lines(prepared, SCRIPT),
        *skim_lines(prepared, []),
    ]


def english_label_words(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The words of the English screens, but the routine's own and the keys'."""
    shown = screens("en", monkeypatch)
    return words(shown) - words([*NAMES["en"], TITLES["en"]]) - KEYS


def test_the_english_screens_are_the_ones_the_check_looks_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check below means something: the English screens hold every label."""
    assert {
        "preview", "session", "stops", "keys", "pause", "next", "previous", "exercise",
        "stop", "skim", "welcome", "of", "paused", "resumes", "finish",
    } <= english_label_words(monkeypatch)  # fmt: skip


@pytest.mark.parametrize("language", ["de", "es"])
def test_the_skim_and_preview_show_no_english_label(
    language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    english = english_label_words(monkeypatch)
    left = words(screens(language, monkeypatch)) & english
    assert left == set(), f"{language}: English left on the screen: {sorted(left)}"


def test_the_german_skim_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    prepared = made("de")
    lines = skim_lines(prepared, SCRIPT)
    at = r"Schnelldurchlauf \d\d:\d\d / \d\d:\d\d · "
    assert re.fullmatch(at + "Willkommen", lines[0])
    assert any(re.fullmatch(at + "Übung 1 von 3: Brücke", line) for line in lines)
    assert any(re.fullmatch(at + "Übung 2 von 3: Vogel-Hund", line) for line in lines)
    assert any(
        re.fullmatch(at + r"Übung 2 von 3: Vogel-Hund · angehalten \(space: weiter\)", line)
        for line in lines
    )
    assert re.fullmatch(at + "Abschluss", skim_lines(prepared, [])[-1])
    assert skim_keys(prepared.messages) == (
        "Tasten: space anhalten · n nächste Übung · b vorige Übung · q beenden"
    )
    assert re.fullmatch(
        r"Vorschau: \d\d:\d\d\.\d \(das Training dauert \d\d:\d\d\.\d\)\. Ctrl-C beendet\.\n",
        preview_line(prepared, monkeypatch),
    )


def test_the_english_skim_screen_is_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    prepared = made("en")
    lines = skim_lines(prepared, SCRIPT)
    at = r"Skim \d\d:\d\d / \d\d:\d\d · "
    assert re.fullmatch(at + "Welcome", lines[0])
    assert any(
        re.fullmatch(at + r"exercise 2 of 3: Bird-dog · paused \(space resumes\)", line)
        for line in lines
    )
    assert (
        skim_keys(prepared.messages)
        == SKIM_KEYS
        == ("Keys: space pause · n next exercise · b previous exercise · q stop")
    )
    assert re.fullmatch(
        r"Preview: \d\d:\d\d\.\d \(the session is \d\d:\d\d\.\d\)\. Ctrl-C stops\.\n",
        preview_line(prepared, monkeypatch),
    )


def test_the_keys_line_of_a_live_run() -> None:
    german = catalogues.messages("de")
    assert keys_line(False, german) == (
        "Tasten: space anhalten · n nächste · b zurück · ? wo bin ich · p Schmerz · q beenden"
    )
    assert keys_line(True, german) == (
        "Tasten: space anhalten · n nächste · b zurück · ? wo bin ich (nochmal: "
        "Sicherheitshinweis) · p Schmerz · q beenden"
    )
    assert keys_line(True, catalogues.messages("es")) == (
        "Teclas: space pausa · n siguiente · b atrás · ? dónde estoy (otra vez: aviso de "
        "seguridad) · p dolor · q parar"
    )
    assert keys_line(False, ENGLISH) == (
        "Keys: space pause · n next · b back · ? where · p pain · q stop"
    )
    assert keys_line(True, ENGLISH) == (
        "Keys: space pause · n next · b back · ? where (again: safety note) · p pain · q stop"
    )
    assert SL.show(ENGLISH, SL.STOPPED, exercise="Bridge") == (
        "Stopped. `voicecoach run --resume` starts again at Bridge."
    )


def run_stopped(language: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`voicecoach run` (fake speech, a recording output, scripted keys), q pressed in
    the second exercise and the check-in skipped with q: what it printed on stderr."""
    from voicecoach.adapters.recorder import BackgroundRecorder
    from voicecoach.cli.env import real_env

    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / f"{language}.yaml"
    path.write_text(routine_text(language))
    prepared = made(language)
    second = next(e for e in prepared.timeline.events if e.index == 1)
    clock_ = FakeClock()
    out, status = RecordingOut(clock_), FakeStatus()
    began, start = datetime(2026, 12, 2, 12, 0, tzinfo=UTC), clock_.now

    def now() -> datetime:
        return began + timedelta(seconds=clock_.now - start)

    @contextlib.contextmanager
    def keys() -> Iterator[ScriptedKeys]:
        at = clock_.now + second.start / prepared.timeline.sample_rate + 1.0
        yield ScriptedKeys([(at, "q"), (at + 5, "q")], clock_, clock_.sleep)

    fakes = fake_env()
    env = replace(
        real_env(), speech=fakes.speech, sounds=fakes.sounds, output=lambda: out, keys=keys,
        status=lambda: status, now=now, recorder=lambda: BackgroundRecorder(now=now),
    )  # fmt: skip
    result = CliRunner().invoke(cli, ["run", str(path)], catch_exceptions=False, obj=env)
    assert result.exit_code == 0, result.output
    return result.stderr.splitlines()


STOPPED_RUN = {
    "de": [
        "Dein Training wird vorbereitet …",
        "Tasten: space anhalten · n nächste · b zurück · ? wo bin ich · p Schmerz · q beenden",
        "Beendet. `voicecoach run --resume` macht bei Vogel-Hund weiter.",
    ],
    "en": [  # as it always was
        "Preparing your session…",
        "Keys: space pause · n next · b back · ? where · p pain · q stop",
        "Stopped. `voicecoach run --resume` starts again at Bird-dog.",
    ],
}


@pytest.mark.parametrize("language", ["de", "en"])
def test_a_run_prints_its_lines_in_its_language(
    language: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_stopped(language, tmp_path, monkeypatch) == STOPPED_RUN[language]


@pytest.mark.parametrize(
    ("language", "label"), [("de", "Dein Training wird vorbereitet"), ("en", None)]
)
def test_audition_and_render_label_their_bar_in_the_routines_language(
    tmp_path: Path, language: str, label: str | None
) -> None:
    """The bar shown while a cold session's clips are made says the catalogue's words."""
    path = tmp_path / f"back-{language}.yaml"
    path.write_text(routine_text(language))
    labels: list[str] = []

    @contextlib.contextmanager
    def bar(text: str) -> Iterator[None]:
        labels.append(text)
        yield None

    env = fake_env(progress_bar=bar)
    for args in (["audition", str(path)], ["render", str(path), "-o", str(tmp_path / "a.wav")]):
        result = CliRunner().invoke(cli, args, obj=env)
        assert result.exit_code == 0, result.output
    expected = label or "Preparing your session"
    assert labels == [expected, expected]
