"""Opus's peaks (``opus``): CELT only, under a block ceiling, one encoding; a file that
still decodes too high gets an output gain in its header (the safety net)."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import soxr

from voicecoach.adapters import encode, opus
from voicecoach.audio.meter import peak_dbfs

RATE = 24000  # the rate the ceiling works at: Opus's, above the session's 22050 Hz
BLOCK = round(opus.BLOCK_SECONDS * RATE)


def decoded(path: Path) -> np.ndarray:
    """ffmpeg's float decode at 48 kHz, as players and test_file_loudness decode it."""
    command = ["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1"]
    out = subprocess.run([*command, "-ar", "48000", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype=np.float32).astype(np.float64)


def header_gain(path: Path) -> float:
    """The OpusHead's output gain, dB."""
    gain: int = struct.unpack("<h", path.read_bytes()[28 + 16 : 28 + 18])[0]
    return gain / 256


def through(ceiling: opus.Ceiling, x: np.ndarray, cuts: list[int]) -> np.ndarray:
    pieces = np.split(x, cuts)
    out = [ceiling.push(p) for p in pieces] + [ceiling.push(x[:0], last=True)]
    return np.concatenate(out)


def test_the_ceiling_lowers_each_loud_block_and_ramps_back_to_unity() -> None:
    limit = 10000.0
    x = np.full(40 * BLOCK + 37, 5000, np.int16)  # under the limit, a partial last block
    x[20 * BLOCK + 10] = 16000  # one block over it
    y = through(opus.Ceiling(limit, BLOCK), x, [])
    assert len(y) == len(x)
    loud = slice(20 * BLOCK, 21 * BLOCK)
    assert np.abs(y[loud]).max() <= limit
    assert (y[: 19 * BLOCK] == x[: 19 * BLOCK]).all()  # a block away: untouched
    assert (y[22 * BLOCK :] == x[22 * BLOCK :]).all()
    down = y[19 * BLOCK : 20 * BLOCK].astype(int)
    assert np.all(np.diff(down) <= 0) and down[-1] < down[0]  # down a ramp, never a step
    up = y[21 * BLOCK : 22 * BLOCK].astype(int)
    assert np.all(np.diff(up) >= 0) and up[0] < up[-1] <= 5000
    # The same samples in any chunks: the same output.
    for cuts in ([1], [BLOCK - 1, 20 * BLOCK + 11], list(range(7, len(x), 53))):
        np.testing.assert_array_equal(through(opus.Ceiling(limit, BLOCK), x, cuts), y)


def test_the_ceiling_counts_the_peaks_between_samples() -> None:
    # A tone at a quarter of the rate, sampled off its crests: the samples peak 3 dB
    # under the wave. The ceiling must bring the wave, not the samples, to the limit.
    n = np.arange(20 * BLOCK)
    wave = 12000 * np.sin(2 * np.pi * 0.25 * n + np.pi / 4)
    x = np.round(wave).astype(np.int16)
    y = through(opus.Ceiling(10000.0, BLOCK), x, [])
    fine = soxr.resample(y.astype(np.float64), RATE, 8 * RATE, quality="VHQ")
    fine = fine[16 * BLOCK : -16 * BLOCK]  # the resampler's edges aside
    assert np.abs(fine).max() <= 10000 * 10 ** (0.1 / 20)  # within 0.1 dB
    assert np.abs(y).max() < 10000 * 10 ** (-1.0 / 20)  # the samples, well under


def test_the_output_gain_is_written_with_a_valid_page(tmp_path: Path) -> None:
    x = (np.sin(2 * np.pi * 440 * np.arange(RATE) / RATE) * 8000).astype(np.int16)
    path = tmp_path / "tone.opus"
    encode.write_audio(path, iter([x]), total=len(x), rate=RATE)
    data = path.read_bytes()
    head = data[: opus._HEAD_PAGE]
    assert opus.with_output_gain(head, 0.0) == head  # the checksum made again, the same
    quieter = tmp_path / "quieter.opus"
    quieter.write_bytes(opus.with_output_gain(head, -6.0) + data[len(head) :])
    assert header_gain(quieter) == -6.0
    a, b = decoded(path), decoded(quieter)
    assert abs(peak_dbfs(b) - peak_dbfs(a) + 6.0) < 0.01


def test_a_file_still_over_the_net_gets_the_gain_that_brings_it_there(tmp_path: Path) -> None:
    """White noise clipped at -3 dBFS: Opus keeps its energy, not its waveform, so it
    decodes with new, higher peaks (measured: +1.6 dBFS) whatever the ceiling."""
    rng = np.random.default_rng(5)
    peak = 32768 * 10 ** (-3.0 / 20)
    x = np.clip(rng.standard_normal(5 * 22050) * peak / 2, -peak, peak).astype(np.int16)
    raw = tmp_path / "raw.opus"
    with raw.open("wb") as pipe_like:  # a stream cannot be rewritten: no net
        job = encode.codec.Job(encode.FORMATS["opus"], 22050, 24000, encode.Tags(), None)
        opus.encode(_Unseekable(pipe_like), job, iter([x]), 32, lambda _: None, "raw")
    netted = tmp_path / "netted.opus"
    encode.write_audio(netted, iter([x]), total=len(x))
    assert peak_dbfs(decoded(raw)) > -1.0  # what the net is for
    assert header_gain(netted) < 0.0
    assert abs(peak_dbfs(decoded(netted)) - opus._NET_DBFS) < 0.05


class _Unseekable:
    """A file seen as a pipe: written through, never rewound."""

    def __init__(self, f: object) -> None:
        self._f = f

    def write(self, data: bytes) -> int:
        return self._f.write(data)  # type: ignore[attr-defined, no-any-return]

    def seekable(self) -> bool:
        return False
