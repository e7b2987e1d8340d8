"""Session assembly: levelled clips from the cache (real eSpeak NG), the in-process
levelling of other synths, extra phrases in the same voice and level, progress."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.fakes import SHORT_ROUTINE, FakeSpeech, fake_sounds
from voicecoach.adapters.sounds import load_sounds
from voicecoach.adapters.speech import Speech
from voicecoach.app import session
from voicecoach.app.session import InProcessLevels, Session
from voicecoach.audio.levelling import SPEECH_LUFS, normalize_speech, speech_target
from voicecoach.core.model import Routine
from voicecoach.routine import loader as routine

REPO = Path(__file__).resolve().parent.parent

# Prepares SHORT_ROUTINE with the real engine and reports what it took.
_PREPARE = textwrap.dedent(
    """
    import json, sys
    from voicecoach.routine import loader as routine
    from voicecoach.app import session
    from voicecoach.adapters.sounds import load_sounds
    from voicecoach.adapters.speech import Speech

    loaded = routine.load_text(sys.argv[1], "short.yaml")
    speech = Speech(loaded.voice)
    prepared = session.prepare(loaded, speech=speech, sounds=load_sounds(loaded.sounds))
    paused = prepared.say("Paused.")
    print(json.dumps({
        "scipy": sorted(m for m in sys.modules if m == "scipy" or m.startswith("scipy.")),
        "synthesized": speech.synthesized,
        "levelled": speech.levels_made,
        "length": prepared.timeline.length,
        "paused": len(paused),
    }))
    """
)


def prepare_in_child(cache: Path) -> dict[str, object]:
    env = {**os.environ, "VOICECOACH_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", _PREPARE, SHORT_ROUTINE],
        env=env, capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_warm_prepare_reads_levelled_clips_and_never_imports_scipy(tmp_path: Path) -> None:
    cold = prepare_in_child(tmp_path / "cache")
    assert cold["synthesized"] and cold["levelled"] == cold["synthesized"]
    # Speech levelling needs numpy only, even on a cold cache.
    assert cold["scipy"] == []
    warm = prepare_in_child(tmp_path / "cache")
    assert warm["scipy"] == []
    assert warm["synthesized"] == 0
    assert warm["levelled"] == 0  # no loudness measured: every clip came levelled
    assert warm["length"] == cold["length"] and warm["paused"] == cold["paused"]


def test_session_speech_is_the_cached_levelled_clips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICECOACH_CACHE_DIR", str(tmp_path / "cache"))
    loaded = routine.load_text(SHORT_ROUTINE, "short.yaml")
    prepared = session.prepare(
        loaded, speech=Speech(loaded.voice), sounds=load_sounds(loaded.sounds)
    )
    said = prepared.say("Paused.")
    assert prepared.say("Paused.") is said
    check = Speech(loaded.voice)
    phrases = prepared.timeline.phrases()
    stored = check.levelled([*phrases, "Paused."])
    assert check.synthesized == 0 and check.levels_made == 0  # all on disk already
    for text in phrases:
        assert np.array_equal(prepared.mixer._clips[text], stored[text]), text
    assert np.array_equal(said, stored["Paused."])
    assert np.array_equal(said, normalize_speech(check.clip("Paused."), target=SPEECH_LUFS))


def real(loaded: Routine, progress: Callable[[int, int], None]) -> Session:
    """The session with the real speech engine and sounds."""
    return session.prepare(
        loaded, speech=Speech(loaded.voice), sounds=load_sounds(loaded.sounds), progress=progress
    )


def test_prepare_reports_progress_only_when_clips_must_be_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICECOACH_CACHE_DIR", str(tmp_path / "cache"))
    loaded = routine.load_text(SHORT_ROUTINE, "short.yaml")
    calls: list[tuple[int, int]] = []
    real(loaded, progress=lambda d, t: calls.append((d, t)))
    total = calls[0][1]
    assert calls == [(i, total) for i in range(total + 1)]
    calls.clear()
    real(loaded, progress=lambda d, t: calls.append((d, t)))
    assert calls == []


def test_other_synths_are_levelled_in_process(make_session: Callable[..., Session]) -> None:
    prepared = make_session()
    assert isinstance(prepared.levels, InProcessLevels)
    fake = FakeSpeech()
    for text in prepared.timeline.phrases()[:5]:
        expected = normalize_speech(fake.clip(text), target=SPEECH_LUFS)
        assert np.array_equal(prepared.mixer._clips[text], expected), text
    synth = prepared.synth
    assert isinstance(synth, FakeSpeech)
    before = len(synth.synthesized)
    said = prepared.say("Resuming.")
    assert prepared.say("Resuming.") is said  # levelled once
    assert synth.synthesized[before:] == ["Resuming."]


@pytest.mark.parametrize("volume", [1.0, 0.5, 0.0])
def test_volume_of_a_plain_synth_is_its_level(volume: float) -> None:
    text = SHORT_ROUTINE.replace("title: Test\n", f"title: Test\nvoice: {{volume: {volume}}}\n")
    loaded = routine.load_text(text, "short.yaml")
    prepared = session.prepare(loaded, speech=FakeSpeech(), sounds=fake_sounds())
    said = prepared.say("Paused.")
    expected = normalize_speech(FakeSpeech().clip("Paused."), target=speech_target(volume))
    assert np.array_equal(said, expected)
    assert len(said) == len(FakeSpeech().clip("Paused."))  # volume never changes timing
