"""The make-up gain's analysis of each cue, kept beside the clips (``clipcache``), and
the gating of the prediction without its blocks-by-factors array: a session with music
plays the very same samples whether each cue is analysed, read back, or found damaged
and analysed again; warm, no cue is filtered.

The "music" is a generated noise file, a few seconds long, written into the test's folder.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf
from click.testing import CliRunner

from tests.fakes import SHORT_ROUTINE, FakeSpeech, fake_env, fake_sounds
from voicecoach.adapters import music as music_mod
from voicecoach.adapters.clipcache import ANALYSIS_SUFFIX, ClipCache
from voicecoach.app import session as session_mod
from voicecoach.app.session import Session
from voicecoach.audio import makeup, meter
from voicecoach.audio.limiter import StepLimiter
from voicecoach.audio.mix import Music
from voicecoach.cli import cli
from voicecoach.core.timeline import SAMPLE_RATE
from voicecoach.routine import loader

RATE = SAMPLE_RATE
Samples = npt.NDArray[np.int16]


@pytest.fixture(scope="module")
def plain() -> Session:
    # The manual plank: 20 s of bed alone, so the make-up gain is well above 0 dB and
    # the cues are limited (the kept limiter peaks are used).
    return session_mod.prepare(
        loader.load_text(SHORT_ROUTINE, "short.yaml"), speech=FakeSpeech(), sounds=fake_sounds()
    )


def music(folder: Path, analyses: ClipCache | None) -> Music:
    path = folder / "noise.wav"
    if not path.exists():
        sf.write(str(path), np.random.default_rng(3).normal(0.0, 0.1, 20 * 32000), 32000)
    return Music(music_mod.open_music(path, RATE), analyses=analyses)


def mixed(session: Session, bed: Music) -> tuple[float, Samples]:
    mixer = session_mod.with_music(session, bed).mixer
    return mixer.makeup_db, np.concatenate(list(mixer.chunks()))


def distinct_cues(session: Session) -> int:
    return len({(e.kind, e.text) for e in session.timeline.events if e.kind != "wait"})


def test_kept_analyses_give_the_same_samples_and_spare_the_filtering(
    plain: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = ClipCache(tmp_path / "clips")
    gain, fresh = mixed(plain, music(tmp_path, None))
    assert gain > 0.5  # the cues are made up, some limited: the kept peaks matter
    kept_gain, analysed = mixed(plain, music(tmp_path, cache))
    assert kept_gain == gain
    np.testing.assert_array_equal(analysed, fresh)
    kept = sorted((tmp_path / "clips").glob(f"*{ANALYSIS_SUFFIX}"))
    assert len(kept) == distinct_cues(plain)

    def no_filtering(*_: object, **__: object) -> None:
        raise AssertionError("a kept cue was analysed again")

    monkeypatch.setattr(makeup, "k_weighted", no_filtering)
    warm_gain, warm = mixed(plain, music(tmp_path, ClipCache(tmp_path / "clips")))
    assert warm_gain == gain
    np.testing.assert_array_equal(warm, fresh)


def test_the_command_line_keeps_them_where_its_environment_says(
    plain: Session, tmp_path: Path
) -> None:
    folder = tmp_path / "clips"
    routine = tmp_path / "short.yaml"
    routine.write_text(SHORT_ROUTINE)
    music(tmp_path, None)  # writes the noise
    env = fake_env(music=music_mod.open_music, cue_analyses=partial(ClipCache, folder))
    result = CliRunner().invoke(
        cli,
        [
            "render",
            str(routine),
            "-o",
            str(tmp_path / "out.wav"),
            "--music",
            str(tmp_path / "noise.wav"),
        ],
        obj=env,
    )
    assert result.exit_code == 0, result.output
    assert len(list(folder.glob(f"*{ANALYSIS_SUFFIX}"))) == distinct_cues(plain)


def test_a_damaged_analysis_is_made_again(plain: Session, tmp_path: Path) -> None:
    cache = ClipCache(tmp_path / "clips")
    gain, fresh = mixed(plain, music(tmp_path, cache))
    kept = sorted((tmp_path / "clips").glob(f"*{ANALYSIS_SUFFIX}"))
    damaged = kept[0].read_bytes()
    kept[0].write_bytes(damaged[:-9] + bytes([damaged[-9] ^ 0x40]) + damaged[-8:])
    kept[1].write_bytes(b"")
    again = ClipCache(tmp_path / "clips")
    warm_gain, warm = mixed(plain, music(tmp_path, again))
    assert again.discarded == 2
    assert warm_gain == gain
    np.testing.assert_array_equal(warm, fresh)
    assert kept[0].read_bytes() == damaged  # analysed and kept again
    assert kept[1].stat().st_size == len(kept[1].read_bytes()) > 0


def test_an_analysis_under_the_wrong_key_or_rate_is_not_taken(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path / "clips")
    clip = (np.sin(np.arange(4000) / 7.0) * 20000).astype(np.int16)
    data = makeup._packed(RATE, np.ones(3), np.ones(4), 0.5)
    cache.keep_analysis("ab" * 32, data)
    assert cache.analysis("ab" * 32) == data
    assert cache.analysis("cd" * 32) is None  # none kept there
    assert makeup._unpacked(data, RATE + 1) is None
    assert makeup._unpacked(data[:-1], RATE) is None
    assert makeup._key(clip, RATE) != makeup._key(clip, RATE + 1)
    assert makeup._key(clip, RATE) != makeup._key(clip[:-1], RATE)


def test_an_unwritable_folder_only_means_nothing_is_kept(plain: Session, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    gain, fresh = mixed(plain, music(tmp_path, None))
    unkept_gain, unkept = mixed(plain, music(tmp_path, ClipCache(blocker / "clips")))
    assert unkept_gain == gain
    np.testing.assert_array_equal(unkept, fresh)


def test_a_limiter_made_of_its_peaks_gives_the_same_gains() -> None:
    x = np.sin(np.arange(30000) / 5.0) * np.linspace(0.1, 1.0, 30000)
    made = StepLimiter(x, RATE, -1.0, 2.0)
    again = StepLimiter.of_peaks(made.peaks.copy(), RATE, -1.0)
    for scale in (0.5, 1.0, 1.7):
        np.testing.assert_array_equal(again.gain(scale), made.gain(scale))


@pytest.mark.parametrize("seed", range(20))
def test_the_gating_over_the_factors_is_the_meters(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    cues = rng.exponential(1e-3, n) * (rng.random(n) < 0.6)  # blocks of bed alone too
    bed = rng.exponential(1e-4, n) * (rng.random(n) < 0.9)  # and of silence
    factors = np.sort(rng.exponential(1.0, 16))
    every = (np.multiply.outer(bed, factors) + cues[:, None]).reshape(-1)
    assert makeup._gated(cues, bed, factors) == pytest.approx(meter.gate(every), abs=1e-9)


def test_the_gating_of_silence_is_minus_infinity() -> None:
    zeros = np.zeros(5)
    assert makeup._gated(zeros, zeros, np.ones(3)) == -np.inf
