"""Golden timelines: each routine's audition transcript, compared with a checked-in file.

One case per bundled routine (scripts/) plus the routines in tests/data/, which cover what
the bundled ones don't (rounds, manual advance, custom lines with variables, minimal and
full verbosity, right side first over several sets; lang-fr, -it, -pt and -nl: every kind
of coaching line in that language). back-strength-de and -es are German's and Spanish's
(bundled). The clips come from the fake speech
engine (a phrase's length follows its text), so a golden file changes only when what is
said, or when, changes. Any compile warnings are appended to the file.

After a deliberate change, rewrite the files and read the diff:

    VOICECOACH_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from tests.fakes import FakeSpeech, fake_sounds
from voicecoach.app import session
from voicecoach.core import lines as L
from voicecoach.core import transcript as audition
from voicecoach.core.coaching import sentence
from voicecoach.core.messages import say
from voicecoach.core.phrases import phrases
from voicecoach.routine import catalogues, resources
from voicecoach.routine import loader as routine

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden"
UPDATE = os.environ.get("VOICECOACH_UPDATE_GOLDEN") == "1"

BUNDLED = resources.bundled_routines()
EXTRA = {p.stem: p for p in sorted(DATA.glob("*.yaml"))}
CASES = {**BUNDLED, **EXTRA}


def golden_text(path: Path) -> str:
    loaded = routine.load(str(path))
    speech = FakeSpeech()
    prepared = session.prepare(loaded, speech=speech, sounds=fake_sounds())
    # Synthesized first: every phrase the layout may consider, in one batch; then only
    # the closing line, whose words depend on the layout (how long it took).
    listed = phrases(loaded, messages=catalogues.messages(loaded.language))
    closing = prepared.timeline.events[-1].text
    assert speech.synthesized == [*listed, *([closing] if closing not in listed else [])]
    text = audition.transcript(prepared.timeline)
    warnings = prepared.timeline.warnings
    if warnings:
        text += "\nWarnings:\n" + "".join(f"{w.line}:{w.column}: {w.message}\n" for w in warnings)
    return text


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def test_the_cases() -> None:
    assert sorted(BUNDLED) == [
        "back-mobility",
        "back-strength",
        "back-strength-de",
        "back-strength-es",
        "desk-break",
        "five-minute-back",
        "lower-back-relief",
        "spine-three-stage",
    ]
    assert len(EXTRA) >= 2 and not set(EXTRA) & set(BUNDLED)
    # every golden file belongs to a case: none left behind by a renamed routine
    assert sorted(p.stem for p in GOLDEN.glob("*.txt")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_timeline(name: str) -> None:
    actual = golden_text(CASES[name])
    path = GOLDEN / f"{name}.txt"
    if UPDATE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        write_atomically(path, actual)
    assert path.is_file(), f"no golden file {path}: run with VOICECOACH_UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                f"{path.name} (golden)",
                f"{path.name} (now)",
            )
        )
        pytest.fail(
            f"{name}: the timeline changed (if intended: VOICECOACH_UPDATE_GOLDEN=1)\n{diff}"
        )


def test_golden_files_match_what_the_routines_promise() -> None:
    """Cheap sanity checks on the checked-in files themselves, so a careless update that
    writes an empty or broken transcript cannot pass."""
    for name, path in CASES.items():
        text = (GOLDEN / f"{name}.txt").read_text(encoding="utf-8")
        loaded = routine.load(str(path))
        m = catalogues.messages(loaded.language)  # the routine's language
        assert text.startswith(f"{loaded.title} — "), name
        assert "Warnings:" not in text, name  # the routines fit their gaps
        for ex in loaded.exercises:
            named = [f'"{sentence(ex.name)}"']
            named += [
                f'"{sentence(say(m, line, exercise=ex.name))}"' for line in (L.FIRST, L.NEXT_UP)
            ]
            assert any(n in text for n in named), (name, ex.name)
        if loaded.safety:
            assert f'"{loaded.safety.strip()}"' in text, name
        assert "[finish sound]" in text and text.endswith(
            f"Total: {text.splitlines()[0].rsplit(' — ', 1)[1]}\n"
        )
