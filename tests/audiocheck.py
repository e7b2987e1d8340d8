"""Helpers for the render/encode tests: synthetic sessions, real decoders, onset finding."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

from voicecoach.adapters import encode
from voicecoach.app.render import quiet_spans
from voicecoach.audio.mix import Mixer
from voicecoach.core.tags import Tags
from voicecoach.core.timeline import SAMPLE_RATE, Chapter, Event, Timeline

Samples = npt.NDArray[np.int16]


def burst(length: int, seed: int, amp: float = 0.3) -> Samples:
    """A speech-like clip: band-limited noise with a syllable envelope, distinct per seed."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(length + 64)
    smooth = np.convolve(noise, np.hanning(9) / 4, mode="same")[:length]  # below ~5 kHz
    t = np.arange(length) / SAMPLE_RATE
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * (3 + seed % 5) * t)
    edge = np.minimum(1.0, np.minimum(np.arange(length), np.arange(length)[::-1]) / 64)
    x = smooth * envelope * edge
    out: Samples = (x / np.max(np.abs(x)) * amp * 32767).astype(np.int16)
    return out


def chirp(length: int, freq: float, amp: float = 0.25) -> Samples:
    """A cue-like sound sweeping from ``freq`` up an octave: unlike a steady tone, it
    matches itself at one lag only, so its onset can be found exactly."""
    t = np.arange(length) / SAMPLE_RATE
    sweep = freq * t + freq * t**2 / (2 * t[-1])
    edge = np.minimum(1.0, np.minimum(np.arange(length), np.arange(length)[::-1]) / 64)
    out: Samples = (np.sin(2 * np.pi * sweep) * edge * amp * 32767).astype(np.int16)
    return out


def synthetic(seconds: float = 20.0, spacing: float = 2.3, title: str = "Synthetic") -> Mixer:
    """A session of distinct speech-like clips and a beep every ``spacing`` seconds (odd
    sample offsets), with chapters Welcome / Bird-dog / Rest / Plank / Finish."""
    rate = SAMPLE_RATE
    total = int(seconds * rate)
    events: list[Event] = []
    clips: dict[str, Samples] = {}
    sounds = {"start": chirp(2205, 900.0)}
    t = 1001
    i = 0
    while True:
        if i % 4 == 3:
            if t + 2205 > total:
                break
            events.append(Event(t, 2205, "sound", "start", "Main", None, 0))
            t += 2205 + int(spacing * rate) + 37 * i
        else:
            n = 4000 + 997 * (i % 7)
            if t + n > total:
                break
            text = f"phrase {i}"
            clips[text] = burst(n, i)
            events.append(Event(t, n, "speech", text, "Main", None, 0))
            t += n + int(spacing * rate) + 37 * i
        i += 1
    length = events[-1].end
    cuts = [0, length // 10, length * 4 // 10, length // 2, length * 9 // 10, length]
    titles = [("Welcome", -1), ("Bird-dog", 0), ("Rest", 0), ("Plank", 1), ("Finish", -1)]
    chapters = tuple(
        Chapter(name, cuts[k], cuts[k + 1], index) for k, (name, index) in enumerate(titles)
    )
    timeline = Timeline(title, tuple(events), chapters)
    return Mixer(timeline, clips, sounds)


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-show_chapters",
         "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def ffmpeg_decode(path: Path) -> Samples:
    """Decode with ffmpeg (a second, independent decoder) to mono int16 at the file's rate."""
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-"],
        capture_output=True, check=True,
    )  # fmt: skip
    return np.frombuffer(out.stdout, dtype=np.int16)


def decode(path: Path) -> tuple[Samples, int]:
    data, rate = sf.read(str(path), dtype="int16")
    return data, rate


def lag(signal: npt.NDArray[Any], template: npt.NDArray[Any], at: int, search: int) -> int:
    """Where ``template`` best matches ``signal`` near ``at`` (cross-correlation), as an
    offset from ``at`` within +-``search`` samples."""
    lo = max(0, at - search)
    window = signal[lo : at + len(template) + search].astype(np.float64)
    tpl = template.astype(np.float64)
    n = len(window) + len(tpl)
    size = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(window, size) * np.conj(np.fft.rfft(tpl, size)), size)
    valid = corr[: len(window) - len(tpl) + 1]
    return int(np.argmax(valid)) + lo - at


# --- encoding a synthetic session ---------------------------------------------

TAGS = Tags(title="Morning back", album="Back strength", comment="A test render")
LOSSY_ONSET_TOLERANCE = 22  # samples at 22050 Hz: 1 ms


def write(mixer: Mixer, path: Path, **kw: object) -> encode.Written:
    tl = mixer.timeline
    options: dict[str, object] = {
        "total": mixer.length,
        "chapters": tl.chapters,
        "tags": TAGS,
        "seek": lambda a, b: mixer.chunks(a, b),
        "quiet": quiet_spans(tl),
    }
    options.update(kw)
    return encode.write_audio(path, mixer.chunks(), **options)  # type: ignore[arg-type]


def stream_start(raw: bytes) -> int:
    """Where the MP3 frames start: after the ID3v2 tag (its size is "syncsafe")."""
    assert raw[:3] == b"ID3"
    return 10 + (raw[6] << 21 | raw[7] << 14 | raw[8] << 7 | raw[9])


def to_session_rate(data: Samples, rate: int) -> Samples:
    if rate == 22050:
        return data
    import soxr

    out: Samples = soxr.resample(data, rate, 22050, quality="HQ")
    return out


def assert_onsets(mixer: Mixer, data: Samples, tolerance: int) -> None:
    """Every sounding event is found where the timeline puts it."""
    reference = mixer.render(0, mixer.length)
    for event in mixer.timeline.events:
        template = reference[event.start : event.end]
        found = lag(data, template, event.start, search=1000)
        assert abs(found) <= tolerance, f"{event.text} at {event.start}: off by {found} samples"
