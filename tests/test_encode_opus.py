"""Opus's peak check (``opus.encode``): low-bit-rate Opus overshoots a peak by up to
several dB, so the written stream is decoded and, where a block overshot, encoded again
with a short gain dip there."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from voicecoach.adapters import encode, opus
from voicecoach.audio.meter import integrated_loudness, peak_dbfs

RATE = 22050


def decoded(path: Path) -> np.ndarray:
    """ffmpeg's float decode at 48 kHz, as players and test_file_loudness decode it."""
    command = ["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1"]
    out = subprocess.run([*command, "-ar", "48000", "-"], capture_output=True, check=True)
    return np.frombuffer(out.stdout, dtype=np.float32).astype(np.float64)


def burst() -> np.ndarray:
    """20 s of a 300 Hz tone at -12 dBFS with 60 ms of a 220 Hz square wave in the middle,
    peaking at the limiter's -2.5 dBFS: Opus at 24 kbps rings on the square's edges
    (measured: decoded at +1.06 dBFS unchecked, -1.21 checked)."""
    t = np.arange(20 * RATE) / RATE
    x = np.sin(2 * np.pi * 300 * t) * 10 ** (-12 / 20)
    mid = slice(int(10 * RATE), int(10.06 * RATE))
    x[mid] = np.sign(np.sin(2 * np.pi * 220 * t[mid])) * 10 ** (-2.5 / 20)
    return (x * 32767).astype(np.int16)


def test_an_overshooting_block_is_encoded_again_under_the_ceiling(tmp_path: Path) -> None:
    x = burst()
    unchecked, checked = tmp_path / "unchecked.opus", tmp_path / "checked.opus"
    encode.write_audio(unchecked, iter([x]), total=len(x))  # no seek: no second pass
    encode.write_audio(checked, iter([x]), total=len(x), seek=lambda a, b: iter([x[a:b]]))
    before, after = decoded(unchecked), decoded(checked)
    assert peak_dbfs(before) > -1.0  # what the check is for
    assert peak_dbfs(after) <= -1.0
    assert len(after) == len(before)
    # The dips are short: the loudness hardly moves (measured: -0.09 LU, on a signal
    # whose loudest 60 ms is the very burst that was lowered).
    assert abs(integrated_loudness(after, 48000) - integrated_loudness(before, 48000)) < 0.2


def test_a_dip_lowers_its_block_and_ramps_back_to_unity() -> None:
    x = np.full(1000, 10000, np.int16)
    dip = opus.Dip(start=400, stop=500, gain=0.5, ramp=50)
    y = opus.apply_dips(x, 0, [[dip]])
    assert (y[:350] == 10000).all() and (y[550:] == 10000).all()
    assert (y[400:500] == 5000).all()
    assert np.all(np.diff(y[350:401].astype(int)) <= 0)  # down the ramp, never a step
    # The same samples handed over in two chunks get the same gains.
    z = np.concatenate(
        [opus.apply_dips(x[:420], 0, [[dip]]), opus.apply_dips(x[420:], 420, [[dip]])]
    )
    assert (z == y).all()
    # Within a pass the lowest gain wins; passes multiply.
    other = opus.Dip(start=450, stop=600, gain=0.8, ramp=50)
    assert opus.apply_dips(x, 0, [[dip, other]])[450] == 5000
    assert opus.apply_dips(x, 0, [[dip], [other]])[450] == 4000
