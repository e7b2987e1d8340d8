"""Level rules: the meter (whole and streaming) vs pyloudnorm and scipy, the limiter,
speech normalisation, and a whole session of real eSpeak NG speech and the bundled sounds
measured against the -16 LUFS target. pyloudnorm and scipy are the references here only:
the package measures with ``meter`` alone."""

from __future__ import annotations

import math
import subprocess
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyloudnorm
import pytest
import soundfile

from voicecoach.adapters.sounds import load_sounds
from voicecoach.audio import levelling, limiter, meter
from voicecoach.audio.levelling import (
    PEAK_DBFS,
    SOUND_LUFS,
    SPEECH_LUFS,
    TARGET_LUFS,
    match_sound,
    normalize_speech,
    speech_loudness,
)
from voicecoach.audio.limiter import limit
from voicecoach.audio.meter import LoudnessMeter, integrated_loudness, peak_dbfs, true_peak_dbfs
from voicecoach.core.timeline import SAMPLE_RATE

Samples = npt.NDArray[np.int16]
Floats = npt.NDArray[np.float64]
RATE = SAMPLE_RATE


def espeak(tmp_path: Path, text: str) -> Samples:
    """A phrase from the real espeak-ng command, trimmed as the speech adapter does
    (silence is |x| <= 32; 5 ms kept before the first sound, 10 ms after the last)."""
    out = tmp_path / f"phrase-{zlib.crc32(text.encode()):08x}.wav"
    subprocess.run(["espeak-ng", "-w", str(out), text], check=True, capture_output=True)
    data, rate = soundfile.read(str(out), dtype="int16")
    assert rate == RATE and data.ndim == 1
    loud = np.flatnonzero(np.abs(data.astype(np.int32)) > 32)
    clip: Samples = data[max(0, loud[0] - 110) : loud[-1] + 1 + 220]
    return clip


def reference(samples: npt.ArrayLike) -> float:
    """pyloudnorm on the whole signal: the reference every measure here is held to."""
    x = np.asarray(samples)
    scaled = x / 32768.0 if x.dtype == np.int16 else x.astype(np.float64)
    return float(pyloudnorm.Meter(RATE).integrated_loudness(scaled))


def scipy_envelope(x: Floats) -> Floats:
    """The true-peak envelope as scipy computes it: |resample_poly(x, 4, 1)| with a 49-tap
    Kaiser-windowed sinc, each sample taking the largest value on either side of it."""
    from scipy import signal

    taps = signal.firwin(49, 0.25, window=("kaiser", 5.0))
    up = np.abs(signal.resample_poly(x, 4, 1, window=taps))
    groups = up[0 : x.size * 4 : 4]
    for phase in range(1, 4):
        groups = np.maximum(groups, up[phase : x.size * 4 : 4])
    env: Floats = np.maximum(np.abs(x), groups)
    env[1:] = np.maximum(env[1:], groups[:-1])
    return env


def scipy_limiter_gain(env: Floats, ceiling_dbfs: float) -> Floats:
    """The per-sample limiter's gain with scipy's filters: a running minimum over 16 ms,
    then two box means over 8 ms."""
    from scipy import ndimage

    need = np.minimum(1.0, 10 ** (ceiling_dbfs / 20) / np.maximum(env, 1e-12))
    half = round(0.008 * RATE / 2)
    held = ndimage.minimum_filter1d(need, size=4 * half + 1, mode="nearest")
    for _ in range(2):
        held = ndimage.uniform_filter1d(held, size=2 * half + 1, mode="nearest")
    gain: Floats = np.minimum(held, need)
    return gain


def stream(samples: npt.ArrayLike, chunk: int) -> float:
    x = np.asarray(samples)
    meter = LoudnessMeter(RATE)
    for i in range(0, len(x), chunk):
        meter.add(x[i : i + chunk])
    return meter.integrated()


def signals(tmp_path: Path) -> dict[str, npt.NDArray[np.float64]]:
    rng = np.random.default_rng(7)
    t = np.arange(RATE * 5) / RATE
    bursts = np.concatenate(
        [
            np.concatenate([rng.normal(0, 0.2, RATE // 3) * (k + 1) / 8, np.zeros(RATE)])
            for k in range(8)
        ]
    )
    words = ["Rest, twenty seconds.", "one", "Next up: bird-dog.", "two", "Breathe in."]
    speech = np.concatenate(
        [np.concatenate([espeak(tmp_path, w), np.zeros(RATE, np.int16)]) for w in words]
    )
    return {
        "noise": rng.normal(0, 0.1, RATE * 7 + 123),
        "tone": 0.3 * np.sin(2 * np.pi * 997 * t),
        "quiet then loud": np.concatenate(
            [0.01 * np.sin(2 * np.pi * 200 * t), 0.2 * np.sin(2 * np.pi * 3000 * t)]
        ),
        "bursts": bursts,
        "speech": speech / 32768.0,
    }


@pytest.mark.parametrize("chunk", [1000, 4097, 65536])
def test_streaming_meter_equals_pyloudnorm(tmp_path: Path, chunk: int) -> None:
    for name, x in signals(tmp_path).items():
        expected = reference(x)
        assert abs(stream(x, chunk) - expected) < 0.01, name
        assert abs(integrated_loudness(x) - expected) < 0.01, name
        assert abs(levelling.sound_loudness(x) - expected) < 0.01, name
        # One K-weighting: fed in chunks, the meter gives what it gives on the whole.
        assert stream(x, chunk) == pytest.approx(integrated_loudness(x), abs=1e-9), name


def test_streaming_meter_takes_int16_and_tracks_the_peak(tmp_path: Path) -> None:
    clip = espeak(tmp_path, "Lie on your back on the mat.")
    meter = LoudnessMeter()
    for i in range(0, len(clip), 3000):
        meter.add(clip[i : i + 3000])
    assert abs(meter.integrated() - reference(clip)) < 0.01
    assert meter.peak_dbfs() == pytest.approx(peak_dbfs(clip))
    assert meter.samples == len(clip)


def test_short_and_silent_signals() -> None:
    # Shorter than one 400 ms block: pyloudnorm refuses; both measure it as one block.
    x = 0.1 * np.sin(2 * np.pi * 500 * np.arange(3000) / RATE)
    padded_view = integrated_loudness(x)
    assert math.isfinite(padded_view)
    assert stream(x, 700) == pytest.approx(padded_view, abs=1e-9)
    assert integrated_loudness(np.zeros(RATE * 2)) == -math.inf
    assert stream(np.zeros(RATE * 2, np.int16), 4096) == -math.inf
    assert LoudnessMeter().integrated() == -math.inf
    assert integrated_loudness(np.zeros(0, np.int16)) == -math.inf


def test_streaming_meter_memory_stays_flat() -> None:
    """Twenty minutes through the meter: it keeps one float per 100 ms block (~100 kB),
    never the signal (which would be 200 MB as float64)."""
    chunk = (np.random.default_rng(3).normal(0, 0.1, 1 << 16) * 32768).astype(np.int16)
    meter = LoudnessMeter()
    tracemalloc.start()
    try:
        for _ in range(20 * 60 * RATE // len(chunk)):
            meter.add(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024
    assert math.isfinite(meter.integrated())


def test_peak_dbfs() -> None:
    assert peak_dbfs(np.array([0, 16384, -3], np.int16)) == pytest.approx(-6.0206, abs=1e-3)
    assert peak_dbfs(np.array([-32768], np.int16)) == 0.0
    assert peak_dbfs(np.zeros(10, np.int16)) == -math.inf
    assert peak_dbfs(np.zeros(0, np.int16)) == -math.inf


def test_true_peak_sees_between_samples() -> None:
    # A quarter-rate sine sampled at 45 degrees: every sample is 0.707 of the crest.
    n = np.arange(4000)
    fade = np.minimum(1.0, np.minimum(n, n[::-1]) / 400)  # soft edges: no Gibbs overshoot
    x = 0.5 * np.sin(2 * np.pi * n / 4 + np.pi / 4) * fade
    assert peak_dbfs(x) == pytest.approx(20 * math.log10(0.5 * math.sqrt(0.5)), abs=0.01)
    assert true_peak_dbfs(x) == pytest.approx(20 * math.log10(0.5), abs=0.05)


def test_limiter_holds_the_ceiling_without_changing_length() -> None:
    rng = np.random.default_rng(11)
    x = np.clip(rng.normal(0, 0.5, RATE * 2), -1, 1)
    y = limit(x, RATE, -3.0)
    assert y.shape == x.shape
    assert true_peak_dbfs(y) <= -3.0 + 0.01
    quiet = 0.1 * x
    assert np.array_equal(limit(quiet, RATE, -3.0), quiet)  # under the ceiling: untouched


def test_normalize_speech_level_peaks_and_length(tmp_path: Path) -> None:
    for text in [
        "two",
        "Halfway",
        "Inhale through your nose.",
        "Lie on your back on the mat with your knees bent and feet flat on the floor.",
    ]:
        clip = espeak(tmp_path, text)
        out = normalize_speech(clip)
        assert out.dtype == np.int16 and out.shape == clip.shape, text
        assert peak_dbfs(out) <= PEAK_DBFS, text
        assert true_peak_dbfs(out) <= PEAK_DBFS, text
        # Gating makes the loudness of a lone word jump a little as gain changes.
        assert abs(speech_loudness(out) - SPEECH_LUFS) < 0.75, text
        assert np.array_equal(normalize_speech(clip), out), "deterministic"


def test_normalize_speech_edge_cases() -> None:
    empty = np.zeros(0, np.int16)
    assert normalize_speech(empty).size == 0
    assert match_sound(empty).size == 0
    silent = np.zeros(5000, np.int16)
    assert np.array_equal(normalize_speech(silent), silent)
    # A clipped square wave at full scale: far too loud and all peak.
    square = np.where(np.sin(2 * np.pi * 300 * np.arange(RATE) / RATE) >= 0, 32767, -32768)
    out = normalize_speech(square.astype(np.int16))
    assert len(out) == RATE
    assert peak_dbfs(out) <= PEAK_DBFS
    assert abs(speech_loudness(out) - SPEECH_LUFS) < 0.5


# --- speech levelling with numpy alone --------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 13, 14, 16, 17, 4096, 8193, 70001, 300000])
def test_numpy_kernels_equal_scipys(n: int) -> None:
    """The meter's and the limiter's numpy filters against the scipy ones they replace."""
    from scipy import ndimage, signal

    x = np.random.default_rng(n).normal(0, 0.3, n)
    # K-weighting as an FFT convolution: equal to sosfilt to rounding.
    sosfilt = signal.sosfilt(np.array(meter.k_sections(RATE)), x)
    assert np.abs(meter.k_weighted(x, RATE) - sosfilt).max() < 1e-12
    for size in (1, 3, 177, 353):
        exact = ndimage.maximum_filter1d(x, size, mode="nearest")
        assert np.array_equal(limiter.running_max(x, size), exact)
        mean = ndimage.uniform_filter1d(x, size, mode="nearest")
        assert np.abs(limiter.running_mean(x, size) - mean).max() < 1e-12
    taps = signal.firwin(49, 0.25, window=("kaiser", 5.0))
    assert np.allclose(meter._interpolator(), taps, rtol=0, atol=1e-15)
    assert np.abs(meter.envelope(x) - scipy_envelope(x)).max() < 1e-12


@pytest.mark.parametrize("ceiling", [-12.0, -2.5])
def test_per_sample_limiter_equals_scipys(ceiling: float) -> None:
    """limiter_gain (numpy) against the same limiter built from scipy's filters."""
    x = np.random.default_rng(9).normal(0, 0.25, RATE) * (np.sin(np.arange(RATE) / 900) > 0)
    env = scipy_envelope(x)
    gain = limiter.limiter_gain(meter.envelope(x), RATE, ceiling)
    assert gain.min() < 0.8  # the limiter works here (0.75 at -2.5 dB, 0.2 at -12 dB)
    # Rounding: running_mean's running sums grow along the signal (about 1e-12 here).
    assert np.abs(gain - scipy_limiter_gain(env, ceiling)).max() < 1e-10


@pytest.mark.parametrize("n", [1, 2, 13, 16, 17, 100, 4096, 8193, 70001])
@pytest.mark.parametrize("floor", [0.0, 0.3, 0.6, 1.0, 10.0])
def test_step_peaks_are_the_true_peak_envelope_where_it_matters(n: int, floor: float) -> None:
    """Each step's largest 4x-oversampled peak (scipy's resample_poly), exactly wherever
    it is over the floor; elsewhere something not over the floor (and never more than
    the true peak), whatever interpolation was skipped."""
    step = limiter.STEP
    x = np.random.default_rng(n).normal(0, 0.3, n)
    steps = -(-n // step)
    env = np.zeros(steps * step)
    env[:n] = scipy_envelope(x)
    exact = env.reshape(steps, step).max(axis=1)
    peaks = limiter.step_peaks(x, floor)
    over = exact > floor
    assert np.abs(peaks[over] - exact[over]).max(initial=0.0) < 1e-12
    assert np.all(peaks[~over] <= floor)
    assert np.all(peaks <= exact + 1e-12)


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0, 4.0])
def test_step_limiter_holds_the_ceiling_like_the_per_sample_one(scale: float) -> None:
    """The gain worked out per step and interpolated never lets a (true) peak over the
    ceiling, moves as smoothly as the per-sample limiter's, and limits about as much."""
    rng = np.random.default_rng(5)
    # Bursts of noise with quiet gaps, like words: some steps far under the ceiling.
    x = rng.normal(0, 0.25, RATE) * (np.sin(np.arange(RATE) / 900) > 0)
    ceiling = -1.2
    step_limiter = limiter.StepLimiter(x, RATE, ceiling, 4.0)
    gain = scale * limiter.interpolate_steps(step_limiter.gain(scale), x.size)
    env = scipy_envelope(x)
    assert np.all(env * gain <= 10 ** (ceiling / 20) * (1 + 1e-12))
    exact = scale * scipy_limiter_gain(env * scale, ceiling)
    assert np.abs(np.diff(gain)).max() <= 1.5 * np.abs(np.diff(exact)).max() + 1e-12
    db = 20 * np.log10(gain / exact)
    assert np.abs(db).max() < 1.0 and abs(float(np.mean(db))) < 0.1, (db.min(), db.max())
    quiet = limiter.StepLimiter(0.01 * x, RATE, ceiling, 4.0)
    assert np.all(quiet.gain(scale) == 1.0)  # under the ceiling: untouched


def test_speech_levelling_is_close_to_the_per_sample_path(tmp_path: Path) -> None:
    """normalize_speech (numpy, the limiter per step) against the per-sample levelling
    it stands for: as loud, the same ceiling, the same gain to a
    fraction of a dB."""
    for text in [
        "two",
        "Inhale through your nose.",
        "Lie on your back on the mat with your knees bent and feet flat on the floor.",
    ]:
        clip = espeak(tmp_path, text)
        fast = normalize_speech(clip)
        x = clip.astype(np.float64) / 32768.0
        slow = levelling.to_int16(levelling.level(x, RATE, SPEECH_LUFS, 0.4, per_step=False))
        assert abs(speech_loudness(fast) - speech_loudness(slow)) < 0.1, text
        assert true_peak_dbfs(fast) <= levelling.CEILING_DBFS + 0.01, text
        loud = np.abs(clip) > 1000
        db = 20 * np.log10(fast[loud] / slow[loud])
        assert np.abs(db).max() < 0.5, text


def test_speech_target_follows_the_volume() -> None:
    assert levelling.speech_target(1.0) == SPEECH_LUFS
    assert levelling.speech_target(0.5) == pytest.approx(SPEECH_LUFS - 6.02, abs=0.005)
    assert levelling.speech_target(0.0) == -math.inf
    with pytest.raises(ValueError):
        levelling.speech_target(1.5)
    clip = (np.sin(np.arange(RATE) / 7) * 8000).astype(np.int16)
    silent = normalize_speech(clip, target=-math.inf)
    assert silent.dtype == np.int16 and len(silent) == len(clip) and not silent.any()
    half = normalize_speech(clip, target=levelling.speech_target(0.5))
    assert speech_loudness(normalize_speech(clip)) - speech_loudness(half) == pytest.approx(
        6.02, abs=0.1
    )


def test_match_sound_level_and_peaks() -> None:
    t = np.arange(int(0.3 * RATE)) / RATE
    loud = np.sign(np.sin(2 * np.pi * 1000 * t)) * 0.99  # full-scale square
    for sound in (loud, 0.001 * loud, loud[: int(0.05 * RATE)]):
        out = match_sound(sound)
        assert out.shape == sound.shape
        assert levelling.sound_loudness(out) == pytest.approx(SOUND_LUFS, abs=0.3)
        assert peak_dbfs(out) <= PEAK_DBFS


def test_sounds_are_never_louder_than_the_speech(tmp_path: Path) -> None:
    """Every cue sound's own loudness is at or under that of the speech around it."""
    sentences = [
        normalize_speech(espeak(tmp_path, t))
        for t in ["Rest, twenty seconds. Next up: bird-dog.", "Switch sides.", "Breathe out."]
    ]
    quietest_speech = min(levelling.sound_loudness(s) for s in sentences)
    for name, sound in load_sounds().items():
        own = levelling.sound_loudness(sound)
        assert own <= quietest_speech + 0.1, name
        assert own >= quietest_speech - 4.0, f"{name} is much quieter than the speech"


def session_parts(tmp_path: Path) -> list[Samples]:
    """A realistic few minutes of coaching: a welcome, set-up, counted reps with breath
    cues, a hold, rests with a countdown, a side switch and the finish, separated by
    1-5 s silences; each distinct phrase synthesized once and normalised, as the
    session does."""
    sounds = load_sounds()
    said: dict[str, Samples] = {}

    def say(text: str) -> Samples:
        if text not in said:
            said[text] = normalize_speech(espeak(tmp_path, text))
        return said[text]

    script: list[str] = [
        "Welcome to the back strength routine. Take it slowly and stop if anything hurts.",
        "Glute bridge.",
        "Lie on your back, knees bent, feet flat on the floor.",
        "Three, two, one.",
        "#start",
    ]
    counts = ["one", "two", "three", "four", "five", "six", "seven", "eight"]
    for i, count in enumerate(counts):
        script += [
            count,
            "Breathe out as you lift." if i == 0 else "out",
            "Breathe in as you lower." if i == 0 else "in",
        ]
    script += [
        "#hold",
        "Hold it there.",
        "Halfway.",
        "Three, two, one.",
        "#release",
        "#rest",
        "Rest, twenty seconds. Next up: bird-dog.",
        "#tick",
        "#tick",
        "#tick",
        "Bird-dog.",
        "#start",
    ]
    script += [*counts[:5], "Switch sides.", "#switch", *counts[:5]]
    script += ["#finish", "Well done. That was the back strength routine, twelve minutes."]

    rng = np.random.default_rng(2024)
    parts: list[Samples] = []
    for item in script:
        parts.append(sounds[item[1:]] if item.startswith("#") else say(item))
        parts.append(np.zeros(int(rng.uniform(1.0, 5.0) * RATE), np.int16))
    return parts


def test_a_session_of_real_speech_and_sounds_meets_the_target(tmp_path: Path) -> None:
    parts = session_parts(tmp_path)
    session = np.concatenate(parts)
    measured = reference(session)
    assert abs(measured - TARGET_LUFS) <= 1.0, measured
    assert peak_dbfs(session) <= PEAK_DBFS
    assert true_peak_dbfs(session) <= PEAK_DBFS
    # The streaming meter, fed part by part as a render would, agrees.
    meter = LoudnessMeter()
    for part in parts:
        meter.add(part)
    assert abs(meter.integrated() - measured) < 0.1
    assert meter.peak_dbfs() <= PEAK_DBFS
