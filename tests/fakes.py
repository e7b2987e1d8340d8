"""Deterministic stand-ins for the adapters: for unit tests of the core, and the
commands' environment (``fake_env``)."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from voicecoach.core.timeline import SAMPLE_RATE, SOUND_NAMES

if TYPE_CHECKING:
    from voicecoach.app.env import Env
    from voicecoach.core.model import Routine, Verbosity, Voice
    from voicecoach.core.timeline import Timeline

Samples = npt.NDArray[np.int16]


def fake_length(text: str) -> int:
    """A phrase's length: 50 ms a character plus 100 ms, like slow-ish speech."""
    return int((0.1 + 0.05 * len(text)) * SAMPLE_RATE)


def compile_with(
    routine: Routine,
    length: Callable[[str], int] = fake_length,
    *,
    verbosity: Verbosity | None = None,
    include_safety: bool = True,
) -> Timeline:
    """Compile as the session does, with ``length(text)`` for a clip's length: the
    listed phrases' lengths, one layout, then the closing line."""
    from voicecoach.core.compiler import compile_routine
    from voicecoach.core.phrases import phrases

    texts = phrases(routine, verbosity=verbosity, include_safety=include_safety)
    lengths = {text: length(text) for text in texts}
    draft = compile_routine(
        routine, lengths, FAKE_SOUND_LENGTHS, verbosity=verbosity, include_safety=include_safety
    )
    return draft.finish(length(draft.closing))


def tone(length: int, freq: float, amp: float = 0.3) -> Samples:
    t = np.arange(length) / SAMPLE_RATE
    env = np.minimum(1.0, np.minimum(np.arange(length), np.arange(length)[::-1]) / 64)
    return (np.sin(2 * np.pi * freq * t) * env * amp * 32767).astype(np.int16)


class FakeSpeech:
    """Clips are tones whose length depends on the text; counts what it synthesized."""

    def __init__(self, length: Callable[[str], int] = fake_length) -> None:
        self._length = length
        self.synthesized: list[str] = []

    def clip(self, text: str) -> Samples:
        self.synthesized.append(text)
        freq = 200 + zlib.crc32(text.encode()) % 600
        return tone(self._length(text), freq)

    def clips(
        self, texts: Iterable[str], progress: Callable[[int, int], None] | None = None
    ) -> dict[str, Samples]:
        texts = list(dict.fromkeys(texts))
        out = {}
        for i, text in enumerate(texts):
            out[text] = self.clip(text)
            if progress:
                progress(i + 1, len(texts))
        return out


FAKE_SOUND_LENGTHS = {
    "start": 4410,
    "hold": 6615,
    "release": 5512,
    "rest": 8820,
    "switch": 5512,
    "tick": 1323,
    "finish": 17640,
}


def fake_sounds() -> dict[str, Samples]:
    assert set(FAKE_SOUND_LENGTHS) == set(SOUND_NAMES)
    return {
        name: tone(n, 1000 + 150 * i, 0.2) for i, (name, n) in enumerate(FAKE_SOUND_LENGTHS.items())
    }


# -- the environment the commands run in (``voicecoach.app.env.Env``) ---------------------


def fake_speech(voice: Voice) -> FakeSpeech:
    return FakeSpeech()


def fake_sounds_for(overrides: tuple[tuple[str, str], ...]) -> dict[str, Samples]:
    return fake_sounds()


def _unexpected(what: str, *args: object) -> Any:
    raise AssertionError(f"the command used the {what}, which this test did not give it")


def fake_env(**changes: Any) -> Env:
    """An environment with the fake speech and sounds and the real output files; every
    other adapter fails the test if used, unless ``changes`` gives it. Module-level
    functions only, so that it pickles into a many-routine render's worker processes (a
    test's lambda does not)."""
    from voicecoach.adapters.files import AudioFiles
    from voicecoach.app.env import Env

    env = Env(
        speech=fake_speech,
        sounds=fake_sounds_for,
        output=partial(_unexpected, "sound output"),
        quick_level=partial(_unexpected, "notice levelling"),
        keys=partial(_unexpected, "keys"),
        status=partial(_unexpected, "status line"),
        recorder=partial(_unexpected, "history recorder"),
        sessions=partial(_unexpected, "history"),
        load_last_run=partial(_unexpected, "last run"),
        save_last_run=partial(_unexpected, "last run"),
        now=partial(_unexpected, "clock"),
        files=AudioFiles,
    )
    return replace(env, **changes)
