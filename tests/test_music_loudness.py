"""A session with music keeps the loudness targets: about -16 LUFS integrated, peaks
under -1 dBFS, however long its stretches of bed alone (the make-up gain, ``makeup``,
and the mix's limiter, ``mix``). Measured from the output alone, rendered and live.

The "music" is generated here: a steady tone, noise, and noise swelling by +-6 dB.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from tests.fakes import SHORT_ROUTINE, FakeSpeech, fake_sounds, play
from voicecoach.adapters import music as music_mod
from voicecoach.adapters.files import AudioFiles
from voicecoach.app import render
from voicecoach.app import session as session_mod
from voicecoach.app.session import Session
from voicecoach.audio import makeup
from voicecoach.audio.duck import DuckEnvelope
from voicecoach.audio.meter import integrated_loudness, true_peak_dbfs
from voicecoach.audio.mix import Music
from voicecoach.core.timeline import SAMPLE_RATE
from voicecoach.routine import loader

RATE = SAMPLE_RATE
Samples = npt.NDArray[np.int16]

# The short routine ends with a manual plank: 20 s where only the bed plays in a file
# (it read -17.8 LUFS before the make-up gain). Without it, coached densely.
ROUTINES = {
    "dense": SHORT_ROUTINE.split("  - name: Plank")[0],
    "hold 20 s": SHORT_ROUTINE,
    "hold 60 s": SHORT_ROUTINE.replace("estimate: 20s", "estimate: 60s"),
}


def write_music(path: Path, kind: str, seconds: float = 120.0) -> Path:
    rate = 44100
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(7)
    if kind == "tone":
        x = 0.3 * np.sin(2 * np.pi * 3150.0 * t)
    elif kind == "noise":
        x = rng.normal(0.0, 0.1, t.size)
    else:  # "swell": +-6 dB over 8 s, so a block of the bed is not its average
        x = rng.normal(0.0, 0.1, t.size) * 10 ** (6 * np.sin(2 * np.pi * t / 8) / 20)
    sf.write(str(path), x, rate)
    return path


def prepared(routine: str, speech: FakeSpeech | None = None) -> Session:
    return session_mod.prepare(
        loader.load_text(ROUTINES[routine], "short.yaml"),
        speech=speech or FakeSpeech(),
        sounds=fake_sounds(),
    )


def with_music(
    session: Session, tmp_path: Path, kind: str, level: float = 12.0, cache: Path | None = None
) -> Session:
    path = write_music(tmp_path / f"{kind}.wav", kind)
    source = music_mod.open_music(path, RATE, cache=cache)
    return session_mod.with_music(session, Music(source, level))


def rendered(session: Session, path: Path) -> Samples:
    render.render_session(session, path, files=AudioFiles())
    data, rate = sf.read(str(path), dtype="int16")
    assert rate == RATE
    pcm: Samples = data
    return pcm


@pytest.mark.parametrize("routine", list(ROUTINES))
@pytest.mark.parametrize("kind", ["tone", "noise", "swell"])
def test_a_rendered_session_with_music_keeps_the_targets(
    routine: str, kind: str, tmp_path: Path
) -> None:
    session = with_music(prepared(routine), tmp_path, kind)
    pcm = rendered(session, tmp_path / "out.wav")
    assert integrated_loudness(pcm, RATE) == pytest.approx(-16.0, abs=0.3)
    assert true_peak_dbfs(pcm) <= -1.0
    # Long holds need the make-up gain (the bed alone pulled the file down), a dense
    # session hardly any.
    if routine != "dense":
        assert session.mixer.makeup_db > 0.5


def test_a_live_run_with_music_plays_the_targets_too(tmp_path: Path) -> None:
    session = with_music(prepared("hold 20 s"), tmp_path, "noise")
    run = play(session, None)  # no terminal: straight through, the hold lasting 20 s
    heard = np.concatenate([p.samples[: p.heard] for p in run.plays])
    assert heard.size == session.mixer.length
    assert integrated_loudness(heard, RATE) == pytest.approx(-16.0, abs=0.3)
    assert true_peak_dbfs(heard) <= -1.0
    np.testing.assert_array_equal(heard, rendered(session, tmp_path / "out.wav"))


def test_the_prediction_is_the_meter_on_the_cues() -> None:
    # With the bed far under, the predicted loudness is the cues' alone: the meter's
    # figure for the session without music, to rounding.
    session = prepared("hold 20 s")
    mixer = session.mixer
    plain = np.concatenate(list(mixer.chunks()))
    prediction = makeup.Prediction(
        mixer._events, mixer._source, DuckEnvelope.of(session.timeline), 200.0, mixer.length
    )
    assert prediction.loudness(0.0) == pytest.approx(integrated_loudness(plain, RATE), abs=0.01)


def test_a_session_that_is_nearly_all_bed_gets_at_most_the_cap(tmp_path: Path) -> None:
    routine = SHORT_ROUTINE.replace("estimate: 20s", "estimate: 600s")
    session = session_mod.prepare(
        loader.load_text(routine, "long.yaml"), speech=FakeSpeech(), sounds=fake_sounds()
    )
    session = with_music(session, tmp_path, "noise")
    assert session.mixer.makeup_db == makeup.MAX_MAKEUP_DB
    pcm = rendered(session, tmp_path / "out.wav")
    assert -19.5 < integrated_loudness(pcm, RATE) < -16.5  # under the target: not squashed
    assert true_peak_dbfs(pcm) <= -1.0


class _Spiky(FakeSpeech):
    """Clips with a loud click in the middle: levelled, they peak at the ceiling."""

    def clip(self, text: str) -> Samples:
        x = super().clip(text).copy()
        x[x.size // 2 : x.size // 2 + 3] = [32000, -32000, 32000]
        return x


@pytest.mark.parametrize("level", [12.0, 3.0])
def test_the_limiter_holds_the_peaks_and_gives_the_same_samples_in_any_pieces(
    level: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voicecoach.audio import mix

    limited = []
    original = mix.Mixer._limited

    def spy(self: mix.Mixer, window: Any, a: int, b: int) -> Any:
        limited.append(a)
        return original(self, window, a, b)

    monkeypatch.setattr(mix.Mixer, "_limited", spy)
    # Decoded tracks cached: a jump then reads the very samples of reading through (an
    # uncached track's decoder restarting at a jump may differ by 1 LSB).
    session = with_music(prepared("hold 60 s", _Spiky()), tmp_path, "noise", level, tmp_path)
    mixer = session.mixer
    # Made up, the clips' peaks (at -2.5 dBTP) would pass it: each is limited again.
    assert mixer.makeup_db > 1.0
    whole = np.concatenate(list(mixer.chunks()))
    # The bed adds to the cues' peaks; past -1.5 dBTP the mix is limited too: a bed 3 LU
    # under the speech (ducked 14 dB under a cue) gets there, one 12 LU under does not.
    assert true_peak_dbfs(whole) <= -1.5
    assert bool(limited) == (level < 6)
    assert integrated_loudness(whole, RATE) == pytest.approx(-16.0, abs=0.3)
    # Any pieces (a live run's blocks, a skip, split tracks): the very same samples.
    rng = np.random.default_rng(1)
    pos, pieces = 0, []
    while pos < mixer.length:
        stop = min(mixer.length, pos + int(rng.integers(1, 30000)))
        pieces.append(mixer.render(pos, stop))
        pos = stop
    np.testing.assert_array_equal(np.concatenate(pieces), whole)
    at = mixer.length // 3
    np.testing.assert_array_equal(mixer.render(at, at + 5000), whole[at : at + 5000])


def test_duck_energy_is_the_squared_gain_summed() -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        length = int(rng.integers(20_000, 200_000))
        ends = np.sort(rng.integers(-5000, length + 5000, size=2 * int(rng.integers(0, 6))))
        regions: list[tuple[int, int]] = []
        for s, e in zip(ends[::2].tolist(), ends[1::2].tolist(), strict=True):
            if e > s and (not regions or s - regions[-1][1] > round(0.65 * RATE)):
                regions.append((s, e))
        envelope = DuckEnvelope(tuple(regions), RATE)
        gain = envelope.gain(0, length).astype(np.float64)
        cuts = np.unique(np.concatenate([[0], rng.integers(1, length, 30)]))
        np.testing.assert_allclose(
            envelope.energy(cuts, length), np.add.reduceat(gain**2, cuts), rtol=1e-6, atol=1e-3
        )


def test_overlapping_cues_are_limited_together(tmp_path: Path) -> None:
    # A sound under a word, both with peaks at the cues' ceiling at the same sample: the
    # peak bound may not take each cue as capped at the ceiling there.
    from voicecoach.audio.levelling import CEILING_DBFS
    from voicecoach.audio.mix import Mixer
    from voicecoach.core.timeline import Event, Timeline

    n = RATE // 2
    t = np.arange(n) / RATE
    peak = 10 ** (CEILING_DBFS / 20) * 0.98
    clip = (np.sin(2 * np.pi * 300 * t) * 0.05 * 32768).astype(np.int16)
    clip[n // 2] = int(peak * 32768)
    events = (
        Event(RATE, n, "speech", "word", "Main"),
        Event(RATE, n, "sound", "tick", "Main"),
        Event(40 * RATE, n, "speech", "word", "Main"),  # 39 s of bed alone before it
    )
    timeline = Timeline("Overlap", events, ())
    source = music_mod.open_music(write_music(tmp_path / "noise.wav", "noise"), RATE)
    mixer = Mixer(timeline, {"word": clip}, {"tick": clip}, Music(source))
    assert mixer.makeup_db > 0
    whole = np.concatenate(list(mixer.chunks()))
    assert true_peak_dbfs(whole) <= -1.5
