"""Real speech, real file: every cue of a rendered WAV starts at its timeline sample.

`voicecoach render` and `voicecoach audition --json` run as the user runs them (two
processes, real eSpeak NG speech, the bundled cue sounds). The WAV is decoded with
libsndfile (soundfile), and each event of the JSON is looked for in it by
cross-correlation with its own source: the phrase as the speech engine says it, or the
cue sound's file. The reference is the clip itself, never the session's mix, so a cue
misplaced by the mixer or the encoder could not hide.

Other tests cover the neighbours: test_encode (every format against the mix, synthetic
clips), test_live_timing (the live run against the rendered file, needs PulseAudio).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.audiocheck import decode, lag

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

# Holds (a static hold per side, holds within reps), a rest, a switch with ticks.
ROUTINE = """\
title: Onsets
voice: {voice: gmw/en-us, rate: 200}
defaults: {lead_in: 9s, rest: 6s}
exercises:
  - name: Knee hug
    setup: Lie on your back.
    hold: 8s
    sides: both
    switch: 6s
  - name: Bridge
    reps: 2
    tempo: [2s, 2s]
    breathing: [out, in]
    hold: 4s
"""


def voicecoach(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voicecoach", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_every_cue_starts_at_its_timeline_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voicecoach.adapters.sounds import load_sounds
    from voicecoach.adapters.speech import Speech
    from voicecoach.routine import loader as routine

    cache = tmp_path / "cache"
    env = {**os.environ, "VOICECOACH_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    path = tmp_path / "onsets.yaml"
    path.write_text(ROUTINE)

    rendered = voicecoach("render", str(path), "-o", "onsets.wav", env=env, cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    assert rendered.stderr == ""  # no warnings: every cue fits
    shown = voicecoach("audition", str(path), "--json", env=env, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)

    audio, rate = decode(tmp_path / "onsets.wav")
    assert rate == data["sample_rate"] == 22050
    assert len(audio) == round(data["duration"] * rate)
    events = data["events"]
    assert {e["sound"] for e in events if e["kind"] == "sound"} == {
        "start", "hold", "release", "rest", "switch", "tick", "finish",
    }  # fmt: skip

    monkeypatch.setenv("VOICECOACH_CACHE_DIR", str(cache))
    speech = Speech(routine.load(str(path)).voice)
    sounds = load_sounds()
    sounding = np.zeros(len(audio), dtype=bool)
    offsets = []
    for e in events:
        assert e["kind"] != "wait"
        start, end = round(e["t"] * rate), round(e["end"] * rate)
        assert abs(start / rate - e["t"]) < 1e-6  # the JSON's times are whole samples
        source = sounds[e["sound"]] if e["kind"] == "sound" else speech.clip(e["text"])
        assert end - start == len(source), e
        found = lag(audio, source, start, search=rate // 10)
        offsets.append(found)
        # the same waveform, up to the session's gain:
        piece = audio[start:end].astype(np.float64)
        ref = np.asarray(source, dtype=np.float64)
        score = float(piece @ ref / (np.linalg.norm(piece) * np.linalg.norm(ref)))
        # Sounds are mixed as they are; speech is levelled for the session (its gain
        # follows its loudness), so its waveform matches the engine's clip less closely.
        assert score > (0.999 if e["kind"] == "sound" else 0.8), (e, score)
        sounding[start:end] = True
    assert max(abs(o) for o in offsets) == 0, offsets  # lossless: exact to the sample
    assert len(offsets) > 40
    assert not audio[~sounding].any()  # and nothing else is heard
