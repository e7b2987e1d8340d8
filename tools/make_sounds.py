"""Generate the bundled cue sounds, sounds/*.wav, reproducibly.

    .venv/bin/python tools/make_sounds.py [--out DIR]

Pure numpy with fixed parameters (no randomness), then voicecoach.audio.levelling.match_sound,
so running it twice gives byte-identical files; tests/test_sounds.py regenerates them
and compares bytes with the committed ones. Each sound is mono 16-bit PCM at 22050 Hz,
distinct by pitch and shape, short, and click-free: every note has raised-cosine
attack and release envelopes, and each file starts and ends on an exact zero.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import wave
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Wave = npt.NDArray[np.float64]

RATE = 22050
ROOT = Path(__file__).resolve().parent.parent

# Harmonic recipes: (multiple of the fundamental, relative amplitude).
WARM = ((1.0, 1.0), (2.0, 0.35), (3.0, 0.12))
BRIGHT = ((1.0, 1.0), (2.0, 0.45), (3.0, 0.25), (4.0, 0.12))
PURE = ((1.0, 1.0), (2.0, 0.08))
# Bell/chime partials are inharmonic, which is what makes a chime sound like one.
CHIME = ((1.0, 1.0), (2.0, 0.25), (2.76, 0.18), (5.4, 0.06))
# A woodblock: a damped body mode plus a higher, faster-dying one.
WOOD = ((1.0, 1.0), (2.57, 0.35))


def _times(seconds: float) -> Wave:
    import numpy as np

    return np.arange(round(seconds * RATE), dtype=np.float64) / RATE


def _ramp(n: int) -> Wave:
    """Raised-cosine rise over n samples, starting at exactly 0."""
    import numpy as np

    return 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)


def _fall(n: int) -> Wave:
    """Raised-cosine fall over n samples, ending at exactly 0."""
    import numpy as np

    return 0.5 + 0.5 * np.cos(np.pi * np.arange(1, n + 1) / n)


def _edges(x: Wave, attack: float, release: float) -> Wave:
    """Raised-cosine attack and release; the first and last samples become exactly 0."""
    y = x.copy()
    a = max(2, round(attack * RATE))
    r = max(2, round(release * RATE))
    y[:a] *= _ramp(a)
    y[-r:] *= _fall(r)
    return y


def _partials(phase: Wave, recipe: Sequence[tuple[float, float]]) -> Wave:
    import numpy as np

    total = sum(amp for _, amp in recipe)
    out = np.zeros_like(phase)
    for multiple, amp in recipe:
        out += amp * np.sin(multiple * phase)
    return out / total


def _steady(freq: float, seconds: float) -> Wave:
    return 2.0 * math.pi * freq * _times(seconds)


def _glide(f0: float, f1: float, seconds: float) -> Wave:
    """Phase of an exponential glide from f0 to f1 (equal musical steps per second)."""
    import numpy as np

    t = _times(seconds)
    freq = f0 * (f1 / f0) ** (t / seconds)
    return 2.0 * np.pi * np.cumsum(freq) / RATE


def _decay(seconds: float, tau: float) -> Wave:
    import numpy as np

    return np.exp(-_times(seconds) / tau)


def _place(total: float, *notes: tuple[float, Wave]) -> Wave:
    """Mix notes (start time, samples) into a buffer of ``total`` seconds."""
    import numpy as np

    out = np.zeros(round(total * RATE))
    for at, note in notes:
        i = round(at * RATE)
        out[i : i + note.size] += note[: out.size - i]
    return out


def _chime_note(freq: float, seconds: float, tau: float) -> Wave:
    # In a real chime the higher partials die sooner; at these lengths one exponential
    # for all of them sounds the same and keeps the recipe readable.
    return _edges(_partials(_steady(freq, seconds), CHIME) * _decay(seconds, tau), 0.006, 0.03)


def start() -> Wave:
    """Bright rising two-tone chirp: A5 then E6, each note sweeping up a little."""
    low = _edges(_partials(_glide(880.0, 930.0, 0.11), BRIGHT), 0.006, 0.012)
    high = _edges(_partials(_glide(1318.5, 1390.0, 0.17), BRIGHT), 0.006, 0.06)
    return _place(0.30, (0.0, low), (0.12, high))


def hold() -> Wave:
    """A low sustained tone (A3), warm, softly in and out."""
    return _edges(_partials(_steady(220.0, 0.5), WARM), 0.03, 0.12)


def release() -> Wave:
    """A falling tone: an octave glide from D5 down to D4, fading as it falls."""
    x = _partials(_glide(587.3, 293.7, 0.4), PURE) * _decay(0.4, 0.35)
    return _edges(x, 0.01, 0.1)


def rest() -> Wave:
    """A soft, low two-note descending chime: E4 then B3."""
    first = _chime_note(329.6, 0.34, 0.16)
    second = _chime_note(246.9, 0.36, 0.2)
    return _place(0.58, (0.0, first), (0.22, second))


def switch() -> Wave:
    """Two quick mid blips (B5), a hollow square-ish timbre."""
    blip = _edges(_partials(_steady(987.8, 0.06), ((1.0, 1.0), (3.0, 0.2))), 0.008, 0.015)
    return _place(0.17, (0.0, blip), (0.11, blip))


def tick() -> Wave:
    """A short woodblock-like tick, 60 ms: fast decay, no click at the onset."""
    x = _partials(_steady(1900.0, 0.06), WOOD) * _decay(0.06, 0.012)
    return _edges(x, 0.004, 0.02)


def finish() -> Wave:
    """A three-note rising major arpeggio (C5 E5 G5) that rings out."""
    notes = [
        (0.0, _chime_note(523.25, 0.5, 0.15)),
        (0.14, _chime_note(659.26, 0.5, 0.15)),
        (0.28, _chime_note(783.99, 0.82, 0.3)),
    ]
    return _place(1.1, *notes)


SOUNDS: dict[str, Callable[[], Wave]] = {
    "start": start,
    "hold": hold,
    "release": release,
    "rest": rest,
    "switch": switch,
    "tick": tick,
    "finish": finish,
}


def render(name: str) -> npt.NDArray[np.int16]:
    """The finished sound: its waveform brought to the cue-sound loudness, as int16."""
    import numpy as np

    from voicecoach.audio.levelling import match_sound

    samples = match_sound(SOUNDS[name](), RATE)
    if samples[0] != 0 or samples[-1] != 0:  # the envelopes must end on exact zeros
        raise RuntimeError(f"{name}: does not start and end at zero")
    return np.ascontiguousarray(samples)


def wav_bytes(samples: npt.NDArray[np.int16]) -> bytes:
    """A minimal mono 16-bit PCM WAV (stdlib wave: a fixed header, nothing variable)."""
    import io

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


def generate(out_dir: Path) -> list[Path]:
    """Write every sound to ``out_dir/NAME.wav`` (atomically); returns the paths."""
    from voicecoach.core.timeline import SOUND_NAMES

    missing = set(SOUND_NAMES) ^ set(SOUNDS)
    if missing:
        raise RuntimeError(f"sound recipes and timeline.SOUND_NAMES differ: {sorted(missing)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SOUND_NAMES:
        path = out_dir / f"{name}.wav"
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out_dir)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(wav_bytes(render(name)))
            os.chmod(tmp, 0o644)  # mkstemp makes it private; these are ordinary repo files
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "sounds", help="output folder")
    args = parser.parse_args(argv)
    # Run from a checkout without installing: make the repository's package importable.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    for path in generate(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
