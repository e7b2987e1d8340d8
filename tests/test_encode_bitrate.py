"""Bit rates of the lossy formats (``--bitrate``), and Opus through ffmpeg: what the
files hold is read back with ffprobe and real decoders."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.audiocheck import decode, ffprobe, synthetic, write
from voicecoach.adapters import codec, encode, mp3
from voicecoach.audio.mix import Mixer
from voicecoach.errors import OutputError, UsageError


@pytest.fixture(scope="module")
def session() -> Mixer:
    return synthetic(30.0)


def stream(path: Path) -> dict[str, str]:
    streams: list[dict[str, str]] = ffprobe(path)["streams"]
    assert len(streams) == 1
    return streams[0]


def kbps(path: Path, seconds: float) -> float:
    return path.stat().st_size * 8 / seconds / 1000


def test_opus_defaults_to_32_kbps_mono_at_24k(session: Mixer, tmp_path: Path) -> None:
    path = tmp_path / "s.opus"
    written = write(session, path)
    info = stream(path)
    # ffmpeg decodes every Opus stream at 48 kHz; it was encoded at 24 kHz (the OpusHead).
    assert (info["codec_name"], info["channels"], info["sample_rate"]) == ("opus", 1, "48000")
    assert written.sample_rate == 24000
    # Variable bit rate: 32 kbps is the most a second of speech takes, pauses take less.
    seconds = session.length / 22050
    assert 6 < kbps(path, seconds) <= 32 * 1.1
    louder = tmp_path / "s96.opus"
    write(session, louder, bitrate=96)
    assert kbps(louder, seconds) > 1.5 * kbps(path, seconds)
    data, rate = decode(louder)
    assert (rate, len(data)) == (24000, written.frames)


@pytest.mark.parametrize(("rate", "bitrate"), [(22050, 56), (22050, 160), (44100, 128), (8000, 24)])
def test_mp3_is_written_at_the_bit_rate_asked(
    session: Mixer, tmp_path: Path, rate: int, bitrate: int
) -> None:
    path = tmp_path / "s.mp3"
    written = write(session, path, out_rate=rate, bitrate=bitrate)
    info = stream(path)
    assert (int(info["sample_rate"]), int(info["bit_rate"])) == (rate, bitrate * 1000)
    # LAME's Info frame is there (the decoder trims delay and padding to the sample).
    data, got = decode(path)
    assert (got, len(data)) == (rate, written.frames)


def test_mp3_default_bit_rates_are_unchanged(session: Mixer, tmp_path: Path) -> None:
    for rate, expected in ((22050, 64), (44100, 96), (11025, 32)):
        path = tmp_path / f"s{rate}.mp3"
        write(session, path, out_rate=rate)
        assert int(stream(path)["bit_rate"]) == expected * 1000


def test_every_mp3_bit_rate_offered_keeps_its_info_frame(tmp_path: Path) -> None:
    short = synthetic(3.0)
    for rate in (8000, 16000, 22050, 24000, 32000, 48000):
        allowed = mp3.bitrates(rate)
        for bitrate in (allowed[0], allowed[-1]):
            path = tmp_path / f"s{rate}-{bitrate}.mp3"
            written = write(short, path, out_rate=rate, bitrate=bitrate, threads=1)
            data, _ = decode(path)
            assert len(data) == written.frames, (rate, bitrate)


def test_vorbis_bit_rate_follows_the_measured_levels(session: Mixer, tmp_path: Path) -> None:
    seconds = session.length / 22050
    sizes = []
    for bitrate in (11, 20, 31):
        path = tmp_path / f"s{bitrate}.ogg"
        write(session, path, bitrate=bitrate)
        assert stream(path)["codec_name"] == "vorbis"
        sizes.append(kbps(path, seconds))
    assert sizes == sorted(sizes) and sizes[-1] > 1.5 * sizes[0]
    assert codec.vorbis_level_for(31.6) == 0.0 and codec.vorbis_level_for(5) == 0.95
    assert codec.vorbis_level_for(20.5) == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("ext", "bitrate", "rate", "message"),
    [
        ("opus", 5, None, "--bitrate 5 is out of range for OPUS: use 6 to 256 (kbps)"),
        ("opus", 300, None, "--bitrate 300 is out of range for OPUS: use 6 to 256 (kbps)"),
        ("ogg", 40, None, "--bitrate 40 is out of range for OGG: use 11 to 31 (kbps)"),
        (
            "mp3",
            48,
            22050,
            "--bitrate 48 is not an MP3 bit rate at 22050 Hz: use 56, 64, 80, 96, 112, 128,"
            " 144 or 160",
        ),
        (
            "mp3",
            144,
            44100,
            "--bitrate 144 is not an MP3 bit rate at 44100 Hz: use 56, 64, 80, 96, 112, 128,"
            " 160, 192, 224, 256 or 320",
        ),
        ("wav", 64, None, "--bitrate is for .mp3, .ogg and .opus: .wav is lossless"),
    ],
)
def test_bit_rates_out_of_range_are_one_line(
    session: Mixer, tmp_path: Path, ext: str, bitrate: int, rate: int | None, message: str
) -> None:
    with pytest.raises(UsageError) as err:
        write(session, tmp_path / f"s.{ext}", bitrate=bitrate, out_rate=rate)
    assert str(err.value) == message
    assert list(tmp_path.iterdir()) == []


def test_opus_without_ffmpeg_says_so(
    session: Mixer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(OutputError) as err:
        write(session, tmp_path / "s.opus")
    assert str(err.value) == (
        "writing .opus needs ffmpeg, which is not installed: install it"
        " (e.g. `sudo apt install ffmpeg`), or write .ogg or .mp3 instead"
    )
    assert list(tmp_path.iterdir()) == []
    write(session, tmp_path / "s.ogg")  # the other formats need no ffmpeg


def test_a_failing_ffmpeg_is_one_line(
    session: Mixer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin" / "ffmpeg"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\ncat >/dev/null\necho 'Unknown encoder libopus' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(OutputError) as err:
        write(session, out / "s.opus")
    assert str(err.value) == (
        f"cannot write {out}/s.opus: ffmpeg failed to encode Opus: Unknown encoder libopus"
    )
    assert list(out.iterdir()) == []


def test_opus_progress_counts_every_input_sample(session: Mixer, tmp_path: Path) -> None:
    seen: list[int] = []
    encode.write_audio(
        tmp_path / "s.opus", session.chunks(), total=session.length, progress=seen.append
    )
    assert sum(seen) == session.length
