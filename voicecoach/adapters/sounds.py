"""The cue sounds: the bundled ones (sounds/*.wav) and a routine's own sound files.

Bundled sounds are made by tools/make_sounds.py already levelled and click-free, so
they are used exactly as stored. A user's file (WAV, FLAC, OGG, anything libsndfile
reads) is mixed down to mono, resampled to ``SAMPLE_RATE`` with soxr, trimmed of
leading and trailing digital silence, cut to ``MAX_SECONDS``, loudness-matched to the
speech (``levelling.match_sound``) and given 3 ms raised-cosine fades so it cannot click.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach.core.timeline import SAMPLE_RATE, SOUND_NAMES
from voicecoach.errors import VoicecoachError
from voicecoach.routine import resources

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.int16]
    Floats = npt.NDArray[np.float64]

MAX_SECONDS = 5.0  # a cue is a cue: longer user sounds are cut (and faded) here
FADE_SECONDS = 0.003
# Below this (about -80 dBFS) a sample counts as digital silence: exact zeros, dither.
SILENCE = 1e-4
_MIN_SECONDS = 0.01  # room for both fades and something between them
_BLOCK_FRAMES = 1 << 15
# What soundfile raises for a file it cannot decode: LibsndfileError is a RuntimeError;
# TypeError and ValueError for formats it opens but cannot read as floats.
_DECODE_ERRORS = (RuntimeError, TypeError, ValueError, OSError)


class SoundError(VoicecoachError):
    """A cue sound file cannot be used (missing, not audio, empty, silent)."""


def load_sounds(overrides: tuple[tuple[str, str], ...] = ()) -> dict[str, Samples]:
    """Cue name -> mono int16 samples at ``SAMPLE_RATE``, for every name in SOUND_NAMES.

    ``overrides`` are a routine's own sounds, (cue name, path to an audio file).
    The arrays are read-only (the bundled ones are shared within the process).
    """
    sounds = dict(_bundled())
    for name, path in overrides:
        if name not in SOUND_NAMES:
            raise SoundError(
                f"{path}: unknown cue sound {name!r} (one of: {', '.join(SOUND_NAMES)})"
            )
        sounds[name] = load_sound_file(path)
    return sounds


@functools.cache
def _bundled() -> dict[str, Samples]:
    folder = resources.sounds_dir()
    return {name: _read_bundled(folder / f"{name}.wav") for name in SOUND_NAMES}


def _read_bundled(path: Path) -> Samples:
    import numpy as np
    import soundfile

    try:
        info = soundfile.info(str(path))
        data, _ = soundfile.read(str(path), dtype="int16")
    except _DECODE_ERRORS as exc:  # libsndfile reports missing and corrupt files alike
        raise SoundError(
            f"{path}: bundled cue sound unreadable ({_reason(exc)}); reinstall voicecoach"
        ) from exc
    if info.channels != 1 or info.samplerate != SAMPLE_RATE or data.size == 0:
        raise SoundError(
            f"{path}: bundled cue sound is not mono {SAMPLE_RATE} Hz audio; "
            "regenerate it with tools/make_sounds.py"
        )
    samples: Samples = np.ascontiguousarray(data, dtype=np.int16)
    samples.flags.writeable = False
    return samples


def _reason(exc: BaseException) -> str:
    """libsndfile's complaint, on one line and without its own "Error opening 'PATH':"."""
    text = " ".join(str(exc).split())
    text = re.sub(r"^Error( opening '.*?')?\s*:\s*", "", text).rstrip(".")
    return (text or type(exc).__name__)[:200]


def load_sound_file(path: str | Path) -> Samples:
    """A user's sound file made ready to use as a cue (see the module docstring).

    Raises SoundError, with a one-line message naming the file, if it is missing, not
    audio, empty or silent.
    """
    import numpy as np
    import soxr

    from voicecoach.audio.levelling import match_sound

    where = Path(path)
    if not where.exists():
        raise SoundError(f"{where}: sound file not found")
    if not where.is_file():
        raise SoundError(f"{where}: not a sound file (a folder?)")
    if where.stat().st_size == 0:
        raise SoundError(f"{where}: the sound file is empty (0 bytes)")
    mono, rate = _read_trimmed(where)
    if rate != SAMPLE_RATE:
        mono = np.asarray(soxr.resample(mono, rate, SAMPLE_RATE, quality="VHQ"))
    if mono.size < _MIN_SECONDS * SAMPLE_RATE:
        raise SoundError(f"{where}: sound too short (under {_MIN_SECONDS * 1000:.0f} ms)")
    # Resampling can ring just past full scale; the level match limits peaks anyway.
    levelled = match_sound(np.clip(mono, -1.0, 1.0)).astype(np.float64)
    samples: Samples = np.round(_fade(levelled)).astype(np.int16)
    samples.flags.writeable = False
    return samples


def _read_trimmed(path: Path) -> tuple[Floats, int]:
    """Mono float samples from the first to the last non-silent frame, at most
    ``MAX_SECONDS`` of them, and the file's rate. Reads block by block, so a long file
    costs only what is kept."""
    import numpy as np
    import soundfile

    kept: list[Floats] = []
    frames = 0
    try:
        with soundfile.SoundFile(str(path)) as f:
            rate = int(f.samplerate)
            room = round(MAX_SECONDS * rate)
            for block in f.blocks(blocksize=_BLOCK_FRAMES, dtype="float64", always_2d=True):
                frames += len(block)
                mono = np.nan_to_num(np.asarray(block, dtype=np.float64).mean(axis=1))
                if not kept:
                    loud = np.flatnonzero(np.abs(mono) > SILENCE)
                    if loud.size == 0:
                        continue
                    mono = mono[loud[0] :]
                kept.append(mono[:room])
                room -= min(room, mono.size)
                if room == 0:
                    break
    except _DECODE_ERRORS as exc:  # not audio, unsupported, truncated, unreadable
        raise SoundError(f"{path}: not a readable audio file ({_reason(exc)})") from exc
    if frames == 0:
        raise SoundError(f"{path}: the sound file is empty (no audio frames)")
    if not kept:
        raise SoundError(f"{path}: the sound file is silent")
    samples = np.concatenate(kept)
    loud = np.flatnonzero(np.abs(samples) > SILENCE)
    return samples[: loud[-1] + 1], rate


def _fade(x: Floats) -> Floats:
    """3 ms raised-cosine fade in and out: the first and last samples become exactly 0."""
    import numpy as np

    n = min(round(FADE_SECONDS * SAMPLE_RATE), x.size // 2)
    y = x.copy()
    y[:n] *= 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)
    y[-n:] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(1, n + 1) / n)
    return y
