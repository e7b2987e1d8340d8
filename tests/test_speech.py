"""The speech adapter with real eSpeak NG (pyttsx3 2.99): clips, trimming, cache, errors."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.fakes import NO_ESPEAK
from voicecoach.adapters import espeak
from voicecoach.adapters.clipcache import (
    FADE,
    LEAD_MARGIN,
    TAIL_MARGIN,
    TRIM_THRESHOLD,
    ClipCache,
    trim,
)
from voicecoach.adapters.espeak import (
    NOT_INSTALLED,
    VoiceEntry,
    VoiceInfo,
    list_voices,
    resolve_voice,
)
from voicecoach.adapters.speech import Speech
from voicecoach.audio.levelling import SPEECH_LUFS, normalize_speech, speech_loudness
from voicecoach.cli import cli
from voicecoach.core.model import Voice
from voicecoach.errors import SpeechError

REPO = Path(__file__).resolve().parent.parent
US = Voice(voice="gmw/en-us", rate=165, volume=1.0)
PHRASES = ("Lift your right leg.", "Hold.", "Six.", "Exhale through your mouth.", "Half way.")


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICECOACH_CACHE_DIR", str(tmp_path / "cache"))


def loud(clip: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.abs(clip.astype(np.int32)) > TRIM_THRESHOLD)


# --- synthesis and trimming ---------------------------------------------------------


def test_clip_is_mono_int16_speech(tmp_path: Path) -> None:
    clip = Speech(US).clip("Lift your right leg.")
    assert clip.dtype == np.int16
    assert clip.ndim == 1
    seconds = len(clip) / 22050
    assert 0.5 < seconds < 3.0
    assert np.abs(clip.astype(np.int32)).max() > 5000  # speech, not silence
    assert (tmp_path / "cache" / "clips").is_dir()  # the environment's cache folder


@pytest.mark.parametrize("text", PHRASES)
def test_clips_are_trimmed(text: str) -> None:
    clip = Speech(US).clip(text)
    idx = loud(clip)
    assert idx.size
    # ends sit at (or below) the threshold: margins and fades, no cut-off speech
    assert abs(int(clip[0])) <= TRIM_THRESHOLD
    assert abs(int(clip[-1])) <= TRIM_THRESHOLD
    # and only the small margins of silence are left
    assert idx[0] <= LEAD_MARGIN + FADE
    assert len(clip) - 1 - idx[-1] <= TAIL_MARGIN + FADE


def test_trimming_removes_the_engines_silence() -> None:
    settings = espeak.Settings("gmw/en-us", 165, 100)
    raw = espeak.engine().synthesize("Hold.", settings)
    idx = loud(raw)
    assert len(raw) - 1 - idx[-1] > 0.2 * 22050  # eSpeak pads ~0.3 s of silence
    clip = trim(raw)
    assert len(clip) < len(raw) - 0.2 * 22050


def test_same_text_gives_identical_samples(tmp_path: Path) -> None:
    first = Speech(US).clip("Breathe in slowly.")
    again = Speech(US).clip("Breathe in slowly.")  # a new instance: from the disk cache
    assert np.array_equal(first, again)
    assert np.array_equal(trim(first), first)  # trimming a trimmed clip changes nothing


def test_blank_text_is_an_empty_clip_without_synthesis() -> None:
    s = Speech(US)
    assert s.clip("").size == 0
    assert s.clip("   \n").size == 0
    assert s.synthesized == 0
    assert s.is_cached("")


def test_synthesis_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    Speech(US).clips(["One.", "Two.", "Three."])
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""


# --- the cache ------------------------------------------------------------------------


def test_cache_hit_skips_the_engine() -> None:
    cold = Speech(US)
    made = cold.clips(PHRASES)
    assert cold.synthesized == len(PHRASES)
    warm = Speech(US)
    assert warm.missing(PHRASES) == []
    again = warm.clips(PHRASES)
    assert warm.synthesized == 0
    for text in PHRASES:
        assert np.array_equal(made[text], again[text])


def test_memory_memo_returns_the_same_array() -> None:
    s = Speech(US)
    a = s.clip("Rest.")
    assert s.clip("Rest.") is a
    assert s.synthesized == 1
    assert not a.flags.writeable


def test_clips_dedupes_keeps_order_and_reports_progress() -> None:
    Speech(US).clip("Two.")  # already cached
    s = Speech(US)
    calls: list[tuple[int, int]] = []
    got = s.clips(["One.", "Two.", "One.", "Three."], progress=lambda d, t: calls.append((d, t)))
    assert list(got) == ["One.", "Two.", "Three."]
    assert calls == [(0, 2), (1, 2), (2, 2)]
    assert s.synthesized == 2
    calls.clear()
    s.clips(["Three.", "One."], progress=lambda d, t: calls.append((d, t)))
    assert calls == []


def test_is_cached_and_missing() -> None:
    s = Speech(US)
    assert s.missing(["A.", "B.", "A."]) == ["A.", "B."]
    s.clip("A.")
    assert s.is_cached("A.")
    assert not s.is_cached("B.")
    assert Speech(US).missing(["A.", "B."]) == ["B."]


def test_voice_by_id_language_or_name_shares_the_cache() -> None:
    Speech(US).clip("Switch sides.")
    for name in ("gmw/en-US", "en-us", "English (America)"):
        s = Speech(Voice(voice=name))
        assert s.is_cached("Switch sides."), name


def test_voice_and_rate_change_the_clip() -> None:
    text = "Sit up straight and breathe slowly."
    base = Speech(US).clip(text)
    fast = Speech(Voice(voice="gmw/en-us", rate=300)).clip(text)
    british = Speech(Voice(voice="en-gb")).clip(text)
    assert len(fast) < 0.75 * len(base)
    assert not np.array_equal(british, base)


def test_volume_sets_the_level_never_the_timing() -> None:
    """eSpeak always speaks at full volume (its volume would trim clips shorter); the
    voice's volume is a gain on the levelled clip: 20 log10(volume) dB."""
    text = "Sit up straight and breathe slowly."
    full = Speech(US)
    loud = full.levelled_clip(text)
    quiet_speech = Speech(Voice(voice="gmw/en-us", volume=0.3))
    quiet = quiet_speech.levelled_clip(text)
    assert quiet_speech.synthesized == 0  # the same raw clip, from the cache
    assert np.array_equal(quiet_speech.clip(text), full.clip(text))
    assert len(quiet) == len(loud)
    drop = speech_loudness(loud) - speech_loudness(quiet)
    assert drop == pytest.approx(-20 * np.log10(0.3), abs=0.3)
    assert quiet_speech.level_target == pytest.approx(SPEECH_LUFS + 20 * np.log10(0.3), abs=0.01)
    mute = Speech(Voice(voice="gmw/en-us", volume=0.0)).levelled_clip(text)
    assert len(mute) == len(loud) and not mute.any()


# --- levelled clips -------------------------------------------------------------------


def test_levelled_clips_equal_a_fresh_levelling() -> None:
    cold = Speech(US)
    made = cold.levelled(PHRASES)
    assert cold.levels_made == len(PHRASES)
    warm = Speech(US)  # a new instance: from the disk cache
    again = warm.levelled(PHRASES)
    assert warm.synthesized == 0 and warm.levels_made == 0
    for text in PHRASES:
        fresh = normalize_speech(warm.clip(text), target=SPEECH_LUFS)
        assert np.array_equal(again[text], fresh), text
        assert np.array_equal(made[text], fresh), text
        assert not again[text].flags.writeable
    assert warm.levelled_clip("").size == 0


def test_levelled_progress_counts_the_clips_to_make() -> None:
    Speech(US).levelled(["Two."])  # already levelled
    Speech(US).clip("Three.")  # synthesized, not levelled
    s = Speech(US)
    calls: list[tuple[int, int]] = []
    got = s.levelled(["One.", "Two.", "Three.", "One."], lambda d, t: calls.append((d, t)))
    assert list(got) == ["One.", "Two.", "Three."]
    assert calls == [(0, 2), (1, 2), (2, 2)]
    assert (s.synthesized, s.levels_made) == (1, 2)
    calls.clear()
    s.levelled(["Three.", "One."], lambda d, t: calls.append((d, t)))
    assert calls == []


def _damage(path: Path, damage: str, flip: bytes) -> None:
    """Damage a stored clip: cut 1001 bytes off its end, XOR ``flip`` into the bytes
    from its middle on, or empty it."""
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) - 1001])
    elif damage == "flip":
        i = len(data) // 2
        flipped = bytes(b ^ m for b, m in zip(data[i : i + len(flip)], flip, strict=True))
        path.write_bytes(data[:i] + flipped + data[i + len(flip) :])
    else:
        path.write_bytes(b"")


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_corrupt_levelled_entry_is_replaced(damage: str) -> None:
    text = "Lower your leg."
    first = Speech(US)
    good = first.levelled_clip(text)
    _damage(first.cache.path(first._level_key(text)), damage, flip=b"\xff")
    s = Speech(US)
    clip = s.levelled_clip(text)
    assert s.cache.discarded == 1
    assert (s.synthesized, s.levels_made) == (0, 1)  # levelled again from the good raw clip
    assert np.array_equal(clip, good)
    stored = ClipCache(s.cache.folder).get(s._level_key(text))
    assert stored is not None and np.array_equal(stored, good)


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_corrupt_cache_entry_is_replaced(damage: str) -> None:
    text = "Lower your leg."
    first = Speech(US)
    good = first.clip(text)
    _damage(first.cache.path(first._key(text)), damage, flip=b"\xff\x0f")
    s = Speech(US)
    assert not s.is_cached(text)
    clip = s.clip(text)
    assert s.synthesized == 1
    assert s.cache.discarded == 1
    assert clip.dtype == np.int16 and abs(len(clip) - len(good)) < 0.05 * len(good)
    stored = ClipCache(s.cache.folder).get(s._key(text))
    assert stored is not None and np.array_equal(stored, clip)


_WORKER = textwrap.dedent(
    """
    import hashlib, json, os, sys, time
    from pathlib import Path
    from voicecoach.core.model import Voice
    from voicecoach.adapters.speech import Speech

    cache, go, phrases = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
    s = Speech(Voice(voice="gmw/en-us"), cache)
    s.clip("Warm up.")  # start the engine before the race
    before = s.synthesized
    while not go.exists():
        time.sleep(0.001)
    clips = getattr(s, sys.argv[4])(phrases)  # "clips" (raw) or "levelled"
    digests = {t: hashlib.sha256(c.tobytes()).hexdigest() for t, c in clips.items()}
    print(json.dumps({"synthesized": s.synthesized - before, "digests": digests}))
    """
)


@pytest.mark.parametrize("kind", ["clips", "levelled"])
def test_two_processes_fill_the_same_cache(tmp_path: Path, kind: str) -> None:
    cache = tmp_path / "shared"
    go = tmp_path / "go"
    all_phrases = [f"Exercise {i}, set two, left side." for i in range(40)]
    a = all_phrases[:28]
    b = list(reversed(all_phrases[12:]))  # the overlap is met from both ends
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(cache), str(go), json.dumps(p), kind],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in (a, b)
    ]
    time.sleep(0.5)  # both engines started; they then race for the same phrases
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert err == ""
        results.append(json.loads(out))  # stdout holds nothing but the result
    ra, rb = results
    shared = set(a) & set(b)
    assert len(shared) == 16
    for text in shared:
        assert ra["digests"][text] == rb["digests"][text]
    # the lock made each phrase be synthesized exactly once between the two
    assert ra["synthesized"] + rb["synthesized"] == len(all_phrases)
    check = ClipCache(cache)
    s = Speech(Voice(voice="gmw/en-us"), cache)
    for text in all_phrases:
        stored = check.get(s._key(text) if kind == "clips" else s._level_key(text))
        assert stored is not None
        digest = hashlib.sha256(stored.tobytes()).hexdigest()
        assert digest == (ra if text in ra["digests"] else rb)["digests"][text]
    assert check.discarded == 0
    assert not list(cache.glob(".*.tmp"))


# --- voices and errors ---------------------------------------------------------------


def test_unknown_voice_is_one_line_error() -> None:
    with pytest.raises(SpeechError) as info:
        Speech(Voice(voice="xx-nowhere")).clip("Hello.")
    assert str(info.value) == (
        'unknown voice "xx-nowhere": run `voicecoach voices` to list the available voices'
    )


def test_default_voice_is_american_english() -> None:
    s = Speech(Voice())
    assert s._resolve().voice == "gmw/en-us"


@pytest.mark.parametrize(
    ("voice", "message"),
    [
        (Voice(rate=20), "speech rate 20 is out of range: use 80 to 450 words per minute"),
        (Voice(volume=1.5), "speech volume 1.5 is out of range: use 0 to 1"),
    ],
)
def test_bad_rate_or_volume(voice: Voice, message: str) -> None:
    with pytest.raises(SpeechError, match=f"^{message}$"):
        Speech(voice).clip("Hello.")


def test_resolve_prefers_the_languages_best_voice() -> None:
    def entry(vid: str, *langs: tuple[str, int]) -> VoiceEntry:
        info = VoiceInfo(vid, vid.upper(), tuple(lang for lang, _ in langs), None)
        return VoiceEntry(info, tuple(prio for _, prio in langs))

    voices = [entry("x/en-us", ("en-us", 2), ("en", 3)), entry("x/en", ("en-gb", 2), ("en", 2))]
    assert resolve_voice("en", voices) == "x/en"
    assert resolve_voice("EN-US", voices) == "x/en-us"
    assert resolve_voice("x/en-us", voices) == "x/en-us"
    assert resolve_voice("X/EN", voices) == "x/en"  # the name
    with pytest.raises(SpeechError):
        resolve_voice("fr", voices)


def test_list_voices() -> None:
    voices = list_voices()
    assert len(voices) > 50
    assert [v.id for v in voices] == sorted(v.id for v in voices)
    us = next(v for v in voices if v.id == "gmw/en-us")
    assert us == VoiceInfo("gmw/en-us", "English (America)", ("en-us", "en"), "male")
    english = list_voices("en")
    assert {"gmw/en", "gmw/en-us", "gmw/en-gb-x-rp"} <= {v.id for v in english}
    assert all(any(lang.split("-")[0] == "en" for lang in v.languages) for v in english)
    assert "gmw/en-us" not in {v.id for v in list_voices("en-gb")}


def test_synthesis_timeout_names_the_phrase(monkeypatch: pytest.MonkeyPatch) -> None:
    class NeverDone:
        def set(self) -> None: ...
        def clear(self) -> None: ...
        def wait(self, timeout: float) -> bool:
            return False

    engine = espeak.engine()
    monkeypatch.setattr(engine, "_done", NeverDone())
    with pytest.raises(SpeechError) as info:
        Speech(US).clip("Hold it.")
    assert str(info.value) == 'speech synthesis timed out after 10 s on "Hold it."'
    monkeypatch.undo()
    assert Speech(US).clip("Hold it.").size  # the engine recovers


def test_voices_command() -> None:
    result = CliRunner().invoke(cli, ["voices"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["ID", "NAME", "LANGUAGES"]
    row = next(line for line in lines if line.startswith("gmw/en-us "))
    assert "English (America)" in row and row.endswith("en-us, en")
    assert len(lines) == len(list_voices()) + 1


def test_voices_command_filters_by_language() -> None:
    result = CliRunner().invoke(cli, ["voices", "--language", "en-gb"])
    assert result.exit_code == 0
    ids = [line.split()[0] for line in result.output.splitlines()[1:]]
    assert "gmw/en" in ids and "gmw/en-gb-x-rp" in ids
    assert "gmw/en-us" not in ids


def test_voices_command_no_match() -> None:
    result = CliRunner().invoke(cli, ["voices", "-l", "xx"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        'Error: no voice for language "xx": run `voicecoach voices` to list them all\n'
    )


@pytest.mark.parametrize(
    "args",
    [["-m", "voicecoach", "voices"], ["-c", "from voicecoach.cli import main; main()", "voices"]],
    ids=["module", "entry-point"],
)
def test_missing_espeak_library_is_one_line_error(tmp_path: Path, args: list[str]) -> None:
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(NO_ESPEAK)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shim), str(REPO)])}
    proc = subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == f"Error: {NOT_INSTALLED}\n"


def test_missing_espeak_library_from_the_api(tmp_path: Path) -> None:
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(NO_ESPEAK)
    code = textwrap.dedent(
        """
        from voicecoach.errors import SpeechError
        from voicecoach.core.model import Voice
        from voicecoach.adapters.speech import Speech
        try:
            Speech(Voice()).clip("Hello.")
        except SpeechError as err:
            print(err)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shim), str(REPO)])}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == NOT_INSTALLED + "\n"
    assert NOT_INSTALLED == (
        "eSpeak NG is not installed: install the libespeak-ng1 package "
        "(sudo apt-get install libespeak-ng1)"
    )


def test_synthesis_on_a_thread_leaves_stdout_alone(capfd: pytest.CaptureFixture[str]) -> None:
    """A cold run makes its phrases on a thread while it plays: meanwhile ``sys.stdout``
    must stay the terminal (the screen looks at it), and the driver's "Audio saved to"
    must not reach it. Redirecting stdout during each phrase broke the first: a live run
    found a StringIO there and showed no screen."""
    import threading

    from voicecoach.adapters.espeak import EspeakEngine

    voice = EspeakEngine(None, 175)
    stdout = sys.stdout
    seen: set[int] = set()
    done = threading.Event()

    def make() -> None:
        try:
            for n in range(40):
                voice.synthesize(f"Phrase number {n}, hold it.")
        finally:
            done.set()

    maker = threading.Thread(target=make)
    maker.start()
    while not done.is_set():
        seen.add(id(sys.stdout))
    maker.join()
    assert seen == {id(stdout)}
    assert "Audio saved" not in capfd.readouterr().out
