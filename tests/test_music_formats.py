"""Music under the coach in every format ``render`` writes (issue 17): the file, decoded
by ffmpeg as float (a lossy codec's overshoot kept), is about -16 LUFS with no sample
over -1 dBFS, and it has the chapters, captions and tags of the same render without
music, its comment naming the tracks.

With music the speech is made up and limited hard (here +4.7 dB, for 12 s of bed
alone), and that is what lossy codecs overshoot on: Vorbis decoded at -0.79 and -0.18
dBFS, and Opus needed its header gain (-0.4 dB, the whole file quieter), before the
encoders were taught to encode such a file again (``codec``, ``opus``). The speech is
speech-like noise (``audiocheck.burst``), the same in every run (eSpeak's clips move a
little from one run to the next, and the codecs' overshoot with them); the cue sounds
are the bundled ones. The "music" is made here: a chord, and noise."""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from tests.audiocheck import burst, ffprobe
from tests.fakes import FakeSpeech, fake_length
from voicecoach.adapters import music as music_mod
from voicecoach.adapters.files import AudioFiles
from voicecoach.adapters.sounds import load_sounds
from voicecoach.app import render
from voicecoach.app import session as session_mod
from voicecoach.audio.meter import integrated_loudness, peak_dbfs
from voicecoach.audio.mix import Music
from voicecoach.core.timeline import SAMPLE_RATE
from voicecoach.routine import loader

pytestmark = pytest.mark.slow  # 10 renders with music: about 16 s

FORMATS = ["wav", "flac", "ogg", "opus", "mp3"]  # every one ``render -o`` takes
Floats = npt.NDArray[np.float64]

# 57 s: both sides of a bird-dog, then a manual plank: 12 s of bed alone.
ROUTINE = """\
title: Test
exercises:
  - name: Bird-dog
    reps: 3
    tempo: [1s, 1s]
    sides: both
    lead_in: 3s
    rest: 4s
  - name: Plank
    reps: 5
    manual: true
    estimate: 12s
    lead_in: 3s
"""


def write_music(path: Path, kind: str, seconds: float = 60.0, rate: int = 44100) -> Path:
    """A chord (A minor), or white noise: the densest bed, whose high band takes bits
    from the speech at Opus's 32 kbps."""
    t = np.arange(int(seconds * rate)) / rate
    if kind == "chord":
        x = sum(0.15 * np.sin(2 * np.pi * f * t) for f in (220.0, 261.63, 329.63))
    else:
        x = np.random.default_rng(7).normal(0.0, 0.1, t.size)
    sf.write(str(path), np.stack([x, x], axis=1), rate)
    return path


def decode_float(path: Path) -> tuple[Floats, int]:
    """ffmpeg's float decode, at 48 kHz for Opus (as players decode it)."""
    rate = 48000 if path.suffix == ".opus" else SAMPLE_RATE
    command = ["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1"]
    out = subprocess.run([*command, "-ar", str(rate), "-"], capture_output=True, check=True)
    return np.frombuffer(out.stdout, dtype=np.float32).astype(np.float64), rate


def tags_of(info: dict[str, Any]) -> dict[str, str]:
    """The tags ffprobe reads, the container's and the stream's (Ogg keeps them there)."""
    found = dict(info["format"].get("tags", {}))
    for stream in info["streams"]:
        found.update(stream.get("tags", {}))
    return {k.lower(): v for k, v in found.items()}


def chapters_of(info: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(c["start_time"], c["end_time"], c["tags"]["title"]) for c in info["chapters"]]


class Bursts(FakeSpeech):
    """Speech-like clips: band-limited noise in syllables, one per phrase."""

    def clip(self, text: str) -> npt.NDArray[np.int16]:
        return burst(fake_length(text), zlib.crc32(text.encode()) % 1000)


@pytest.fixture(scope="module")
def plain() -> session_mod.Session:
    routine = loader.load_text(ROUTINE, "short.yaml")
    return session_mod.prepare(routine, speech=Bursts(), sounds=load_sounds())


@pytest.mark.parametrize("kind", ["chord", "noise"])
@pytest.mark.parametrize("ext", FORMATS)
def test_every_format_with_music_keeps_the_targets_chapters_and_tags(
    plain: session_mod.Session, tmp_path: Path, ext: str, kind: str
) -> None:
    music = write_music(tmp_path / f"{kind}.wav", kind)
    mixed = session_mod.with_music(plain, Music(music_mod.open_music(music, SAMPLE_RATE)))
    assert 40 < mixed.mixer.length / SAMPLE_RATE < 70
    assert mixed.mixer.makeup_db > 3.0  # the speech made up and limited: the hard case
    files = {}
    for name, session in (("plain", plain), ("music", mixed)):
        out = tmp_path / f"{name}.{ext}"
        render.render_session(session, out, files=AudioFiles(), captions=out.with_suffix(".vtt"))
        files[name] = out
        x, rate = decode_float(out)
        lufs, peak = integrated_loudness(x, rate), peak_dbfs(x)
        assert abs(lufs + 16.0) <= 1.0, f"{name} {ext}: {lufs:.2f} LUFS"
        assert peak <= -1.0, f"{name} {ext}: peak {peak:.2f} dBFS"
        if ext == "opus":  # no gain in its header: the whole file was not made quieter
            assert struct.unpack("<h", out.read_bytes()[44:46]) == (0,), name

    plain_info, music_info = ffprobe(files["plain"]), ffprobe(files["music"])
    assert chapters_of(music_info) == chapters_of(plain_info)
    assert ext == "wav" or len(chapters_of(plain_info)) >= 4  # WAV has no chapters
    plain_tags, music_tags = tags_of(plain_info), tags_of(music_info)
    comment = music_tags.pop("comment")
    assert comment == plain_tags.pop("comment") + f" Music: {kind}.wav."
    assert music_tags == plain_tags and plain_tags["title"] == "Test"
    captions = [files[n].with_suffix(".vtt").read_text(encoding="utf-8") for n in files]
    assert captions[0] == captions[1] and "Plank" in captions[0]


@pytest.mark.parametrize("ext", ["ogg", "opus"])
def test_split_tracks_with_music_keep_their_peaks_under_the_ceiling(
    plain: session_mod.Session, tmp_path: Path, ext: str
) -> None:
    """Each track of ``render --split`` is encoded again from its own span when its
    peaks are over the net, as a whole render is (before, a split Opus track took the
    header gain and a Vorbis track stayed over -1 dBFS)."""
    music = write_music(tmp_path / "noise.wav", "noise")
    mixed = session_mod.with_music(plain, Music(music_mod.open_music(music, SAMPLE_RATE)))
    result = render.render_split(mixed, tmp_path / "tracks", ext, files=AudioFiles())
    tracks = sorted((tmp_path / "tracks").glob(f"*.{ext}"))
    assert len(tracks) == len(result.tracks) >= 2
    whole = np.concatenate([decode_float(t)[0] for t in tracks])
    rate = decode_float(tracks[0])[1]
    for track in tracks:
        x, _ = decode_float(track)
        assert peak_dbfs(x) <= -1.0, f"{track.name}: peak {peak_dbfs(x):.2f} dBFS"
        if ext == "opus":
            assert struct.unpack("<h", track.read_bytes()[44:46]) == (0,), track.name
    assert abs(integrated_loudness(whole, rate) + 16.0) <= 1.0
