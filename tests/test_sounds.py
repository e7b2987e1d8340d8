"""The cue sounds: the bundled files (format, length, no clicks, distinct, level,
reproducible) and a routine's own sound files (decoded, resampled, levelled, errors)."""

from __future__ import annotations

import importlib.util
import itertools
import math
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt
import pytest
import soundfile

from voicecoach.adapters.sounds import MAX_SECONDS, SoundError, load_sound_file, load_sounds
from voicecoach.audio.levelling import PEAK_DBFS, SOUND_LUFS, sound_loudness
from voicecoach.audio.meter import peak_dbfs, true_peak_dbfs
from voicecoach.core.timeline import SAMPLE_RATE, SOUND_NAMES
from voicecoach.errors import VoicecoachError
from voicecoach.routine import resources

Samples = npt.NDArray[np.int16]
RATE = SAMPLE_RATE
ROOT = Path(__file__).resolve().parent.parent


def make_sounds() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_sounds", ROOT / "tools" / "make_sounds.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def spectrum(x: Samples) -> tuple[float, float]:
    """(dominant frequency, spectral centroid) in Hz, at 1 Hz resolution."""
    power = np.abs(np.fft.rfft(x / 32768.0, n=RATE)) ** 2
    freqs = np.fft.rfftfreq(RATE, 1 / RATE)
    return float(freqs[np.argmax(power)]), float((freqs * power).sum() / power.sum())


def assert_click_free(x: Samples, what: str) -> None:
    """Exact zeros at both ends, and no faster onset or ending than a 2 ms raised cosine."""
    assert x[0] == 0 and x[-1] == 0, what
    n = round(0.002 * RATE)
    bound = np.abs(x).max() * (0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)) + 2
    assert np.all(np.abs(x[:n]) <= bound), f"{what}: clicks in"
    assert np.all(np.abs(x[::-1][:n]) <= bound), f"{what}: clicks out"


def test_every_bundled_sound_is_a_mono_16_bit_22050_hz_wav() -> None:
    for name in SOUND_NAMES:
        path = resources.sounds_dir() / f"{name}.wav"
        info = soundfile.info(str(path))
        assert (info.format, info.subtype) == ("WAV", "PCM_16"), name
        assert (info.channels, info.samplerate) == (1, RATE), name


def test_lengths() -> None:
    sounds = load_sounds()
    assert set(sounds) == set(SOUND_NAMES)
    for name, x in sounds.items():
        seconds = len(x) / RATE
        if name == "tick":
            assert 0.03 <= seconds <= 0.1
        elif name == "finish":
            assert 0.15 <= seconds <= 1.2
        else:
            assert 0.15 <= seconds <= 0.6, name


def test_bundled_sounds_are_click_free() -> None:
    for name, x in load_sounds().items():
        assert_click_free(x, name)


def test_bundled_sounds_are_distinct_by_pitch_or_timbre() -> None:
    features = {name: spectrum(x) for name, x in load_sounds().items()}
    for (a, (dom_a, cen_a)), (b, (dom_b, cen_b)) in itertools.combinations(features.items(), 2):
        pitch_apart = abs(math.log2(dom_a / dom_b)) > 0.14  # more than ~1.5 semitones
        colour_apart = abs(math.log2(cen_a / cen_b)) > 0.2
        assert pitch_apart or colour_apart, f"{a} {features[a]} vs {b} {features[b]}"


def test_bundled_sounds_are_levelled() -> None:
    for name, x in load_sounds().items():
        assert sound_loudness(x) == pytest.approx(SOUND_LUFS, abs=0.3), name
        assert peak_dbfs(x) <= PEAK_DBFS, name
        assert true_peak_dbfs(x) <= PEAK_DBFS, name


def test_bundled_sounds_are_loaded_as_stored_and_cached() -> None:
    first, second = load_sounds(), load_sounds()
    assert first is not second  # callers get their own dict...
    for name in SOUND_NAMES:
        stored, _ = soundfile.read(str(resources.sounds_dir() / f"{name}.wav"), dtype="int16")
        assert np.array_equal(first[name], stored)
        assert first[name] is second[name]  # ...of arrays read once per process
        assert not first[name].flags.writeable


def test_generation_is_reproducible(tmp_path: Path) -> None:
    """The committed files are exactly what tools/make_sounds.py makes."""
    written = make_sounds().generate(tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{n}.wav" for n in SOUND_NAMES)
    for path in written:
        committed = resources.sounds_dir() / path.name
        assert path.read_bytes() == committed.read_bytes(), f"{path.name}: run tools/make_sounds.py"


def tone_file(
    path: Path,
    rate: int,
    seconds: float,
    *,
    stereo: bool,
    lead: float = 0.0,
    tail: float = 0.0,
    freq: float = 441.0,
    fmt: str | None = None,
) -> int:
    """A test tone with digital silence around it; returns the tone's frame count."""
    n = round(seconds * rate)
    tone = 0.5 * np.cos(2 * np.pi * freq * np.arange(n) / rate)
    body = np.concatenate([np.zeros(round(lead * rate)), tone, np.zeros(round(tail * rate))])
    data = np.stack([body, 0.5 * body], axis=1) if stereo else body
    soundfile.write(str(path), data, rate, format=fmt, subtype="PCM_16" if fmt != "OGG" else None)
    return n


def test_override_stereo_44100_flac_is_resampled_and_levelled(tmp_path: Path) -> None:
    path = tmp_path / "ding.flac"
    frames = tone_file(path, 44100, 0.5, stereo=True, lead=0.1, tail=0.2)
    sounds = load_sounds((("start", str(path)),))
    x = sounds["start"]
    assert x.dtype == np.int16 and x.ndim == 1
    assert abs(len(x) - frames * RATE / 44100) <= 1  # silence trimmed, rate converted
    dominant, _ = spectrum(x)
    assert dominant == pytest.approx(441, abs=2)  # same pitch: really resampled
    assert sound_loudness(x) == pytest.approx(SOUND_LUFS, abs=0.3)
    assert peak_dbfs(x) <= PEAK_DBFS
    assert_click_free(x, "override")
    assert np.array_equal(sounds["hold"], load_sounds()["hold"])  # the rest stay bundled


def test_override_ogg_at_the_session_rate(tmp_path: Path) -> None:
    path = tmp_path / "bell.ogg"
    tone_file(path, RATE, 0.3, stereo=False, fmt="OGG", freq=660.0)
    x = load_sound_file(path)
    assert abs(len(x) - 0.3 * RATE) < 0.02 * RATE  # Vorbis may smear the edges a little
    assert spectrum(x)[0] == pytest.approx(660, abs=3)
    assert_click_free(x, "ogg override")


def test_long_override_is_cut_to_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    tone_file(path, 16000, 8.0, stereo=False)
    x = load_sound_file(path)
    assert abs(len(x) - MAX_SECONDS * RATE) <= 1
    assert_click_free(x, "cut override")


def one_line_error(path: Path) -> str:
    with pytest.raises(SoundError) as caught:
        load_sounds((("tick", str(path)),))
    message = str(caught.value)
    assert isinstance(caught.value, VoicecoachError)
    assert "\n" not in message and str(path) in message
    return message


def test_bad_override_files_give_one_line_errors(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage that is not audio" * 3)
    assert "not a readable audio file" in one_line_error(corrupt)

    not_audio = tmp_path / "notes.ogg"
    not_audio.write_text("these are my notes, not a sound\n")
    assert "not a readable audio file" in one_line_error(not_audio)

    zero_bytes = tmp_path / "empty.flac"
    zero_bytes.write_bytes(b"")
    assert "empty" in one_line_error(zero_bytes)

    no_frames = tmp_path / "no-frames.wav"
    soundfile.write(str(no_frames), np.zeros(0), RATE, subtype="PCM_16")
    assert "empty" in one_line_error(no_frames)

    silent = tmp_path / "silent.wav"
    soundfile.write(str(silent), np.zeros(RATE), RATE, subtype="PCM_16")
    assert "silent" in one_line_error(silent)

    assert "not found" in one_line_error(tmp_path / "missing.wav")
    assert "not a sound file" in one_line_error(tmp_path)


def test_truncated_override_is_an_error_or_usable(tmp_path: Path) -> None:
    """A file cut short mid-way (an interrupted copy) either loads what is there or
    fails with the one-line error; it never raises anything else."""
    whole = tmp_path / "whole.flac"
    tone_file(whole, 44100, 1.0, stereo=True)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) // 2])
    try:
        x = load_sound_file(cut)
    except SoundError as err:
        assert "\n" not in str(err) and str(cut) in str(err)
    else:
        assert 0 < len(x) <= RATE
        assert_click_free(x, "truncated override")


def test_unknown_cue_name_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "ding.wav"
    tone_file(path, RATE, 0.2, stereo=False)
    with pytest.raises(SoundError, match="unknown cue sound 'gong'"):
        load_sounds((("gong", str(path)),))
