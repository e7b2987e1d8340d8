"""The eSpeak NG engine driver: one phrase in, its untrimmed samples out, with pyttsx3.

pyttsx3 2.99's eSpeak driver has quirks this module works around (all measured):

- eSpeak NG can be initialised once per process, and pyttsx3 keeps its engines in a
  weak dictionary, so the process keeps ONE engine, strongly referenced, here.
- ``runAndWait()`` may return before synthesis is done and only the last queued
  utterance is honoured; and its loop sleeps 10 ms between polls, three times what
  eSpeak takes for a short phrase. So ``runAndWait`` is not used: each phrase is handed
  to the driver alone (``save_to_file``, then the driver's own ``_start_synthesis``,
  what the loop would call) and we wait for its ``finished-utterance`` notification,
  which the driver sends from eSpeak's thread after the WAV is written.
- ``say()`` shells out to ``aplay``; we only ever use ``save_to_file()``.
- The driver prints "Audio saved to ..." from eSpeak's thread. Its module's ``print``
  is replaced by one that prints nothing, so the user never sees it. Not by
  redirecting ``sys.stdout`` while a phrase is made (as before): that is process-wide,
  and a cold run makes its phrases on a thread while it plays. Its screen, looking at
  ``sys.stdout`` in that window, found a StringIO and was not shown (a live test saw an
  empty terminal in 4 runs of 5 under load).
- ``engine.setProperty`` is unsafe: failures are swallowed (reported on the ``error``
  topic), and eSpeak queues a rate or volume change in its own FIFO, where the
  ``stop()`` inside a ``runAndWait()`` Cancel()s it, so the change is lost
  (measured: the rate stuck at its first value). Settings go through the driver's
  own setter, then we wait for eSpeak's FIFO to drain. ``getProperty('rate')`` and
  ``('volume')`` lie, so the settings are tracked here, never read back; voices are
  resolved against eSpeak's own list.
- eSpeak keeps pitch-flutter state between utterances, so the same phrase said twice
  in one process differs by a few samples. The cache makes a phrase's samples stable:
  once stored, every later use gets exactly those samples.
- eSpeak's own volume changes more than the level: a quieter phrase trims a few ms
  shorter (its soft edges fall under the silence threshold) and volume 0 gives no
  samples at all. So phrases are always synthesized at full volume, and the voice's
  volume is applied when a clip is levelled (``levelling.speech_target``): volume
  changes how loud the coach is, never the timing.

This module is the driver only: the clips, their cache (``clipcache``) and their
levelling are ``speech.Speech``'s.
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
import wave
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voicecoach.core.timeline import SAMPLE_RATE
from voicecoach.errors import SpeechError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Clip = NDArray[np.int16]

ENGINE = "espeak-ng"
# Used when a routine names no voice; a language, so it resolves on any eSpeak NG.
DEFAULT_VOICE = "en-us"
NOT_INSTALLED = (
    "eSpeak NG is not installed: install the libespeak-ng1 package "
    "(sudo apt-get install libespeak-ng1)"
)
MIN_RATE, MAX_RATE = 80, 450  # words per minute eSpeak NG accepts
# The volume (percent) eSpeak always synthesizes at; the voice's volume is a level.
SYNTH_VOLUME = 100

# eSpeak synthesizes a phrase in ~10 ms; a phrase not done in this long never will be.
TIMEOUT_SECONDS = 10.0
# eSpeak takes a setting change in well under a millisecond.
IDLE_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    """One eSpeak NG voice, as listed by ``voicecoach voices``."""

    id: str  # what a routine's ``voice:`` or ``--voice`` takes, e.g. "gmw/en-us"
    name: str  # e.g. "English (America)"
    languages: tuple[str, ...]  # in eSpeak's order, e.g. ("en-us", "en")
    gender: str | None  # "male", "female" or None


@dataclass(frozen=True, slots=True)
class VoiceEntry:
    info: VoiceInfo
    priorities: tuple[int, ...]  # one per language; lower = better match for it


@dataclass(frozen=True, slots=True)
class Settings:
    voice: str  # resolved voice id
    rate: int
    volume: int  # percent, as eSpeak gets it (always SYNTH_VOLUME, see the module doc)


def list_voices(language: str | None = None) -> list[VoiceInfo]:
    """The installed eSpeak NG voices, sorted by id; only those speaking ``language`` if given.

    A voice speaks "en" if one of its languages is "en" or starts with "en-".
    """
    voices = [entry.info for entry in engine().voices]
    if language:
        want = language.strip().lower()
        voices = [v for v in voices if any(_speaks(lang, want) for lang in v.languages)]
    return sorted(voices, key=lambda v: v.id)


def _speaks(language: str, wanted: str) -> bool:
    return language == wanted or language.startswith(wanted + "-")


def resolve_voice(requested: str | None, voices: Iterable[VoiceEntry]) -> str:
    """A voice id from an id ("gmw/en-us"), a language ("en-gb") or a name; None: the default."""
    wanted = (requested or DEFAULT_VOICE).strip().lower()
    entries = list(voices)
    for entry in entries:
        if entry.info.id == wanted:
            return entry.info.id
    # eSpeak ranks the voices for a language by priority (lower first).
    ranked = sorted(
        (prio, order, entry.info.id)
        for order, entry in enumerate(entries)
        for lang, prio in zip(entry.info.languages, entry.priorities, strict=True)
        if lang == wanted
    )
    if ranked:
        return ranked[0][2]
    for entry in entries:
        if entry.info.name.lower() == wanted:
            return entry.info.id
    raise SpeechError(
        f"unknown voice {quote(requested or DEFAULT_VOICE)}: "
        "run `voicecoach voices` to list the available voices"
    )


def quote(text: str, limit: int = 60) -> str:
    """A phrase fit for a one-line message: whitespace collapsed, shortened, quoted."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return f'"{flat}"'


def _silent(*_: object, **__: object) -> None:
    """``print`` for pyttsx3's eSpeak driver module: it prints nothing."""


class Engine:
    """The process's one pyttsx3 engine. Synthesis is serialized by a lock."""

    def __init__(self, engine: Any, espeak: Any) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._errors: list[str] = []
        self._completed = False
        self._count = 0
        self._espeak = espeak
        # The driver itself, for setters that act at once (see _apply).
        self._driver = engine.proxy._driver
        # What the engine is set to; None = unknown (set it before the next phrase).
        self._current: Settings | None = None
        info = espeak.Info() or b""
        self.version: str = (info.decode("utf-8", "replace").split() or ["unknown"])[0]
        self.voices: tuple[VoiceEntry, ...] = _read_voices(espeak)
        engine.connect("finished-utterance", self._on_finished)
        engine.connect("error", self._on_error)

    @classmethod
    def start(cls) -> Engine:
        try:
            import pyttsx3

            engine = pyttsx3.init("espeak")
            from pyttsx3.drivers import _espeak
            from pyttsx3.drivers import espeak as driver

            driver.print = _silent  # its "Audio saved to ...": see above
        except (OSError, RuntimeError, ImportError) as err:
            if "espeak" in str(err).lower():
                raise SpeechError(NOT_INSTALLED) from None
            raise SpeechError(f"eSpeak NG could not start: {_one_line(err)}") from None
        return cls(engine, _espeak)

    def _on_finished(self, completed: bool = True, **_: object) -> None:
        self._completed = completed
        self._done.set()

    def _on_error(self, exception: BaseException | None = None, **_: object) -> None:
        self._errors.append(_one_line(exception) if exception is not None else "unknown error")

    def _apply(self, settings: Settings) -> None:
        """Set voice, rate and volume with the driver's own setter (it acts at once and
        raises), then let eSpeak's FIFO drain so nothing can cancel them.
        """
        try:
            self._driver.setProperty("voice", settings.voice)
            self._driver.setProperty("rate", settings.rate)
            self._driver.setProperty("volume", settings.volume / 100)
        except (ValueError, KeyError) as err:
            self._current = None
            raise SpeechError(
                f"eSpeak NG cannot use voice {settings.voice}: {_one_line(err)}"
            ) from None
        self._wait_idle()
        self._current = settings

    def _wait_idle(self) -> None:
        deadline = time.monotonic() + IDLE_TIMEOUT_SECONDS
        while self._espeak.IsPlaying():
            if time.monotonic() > deadline:
                self._current = None
                raise SpeechError("eSpeak NG is not responding")
            time.sleep(0.0002)

    def _abandon(self) -> None:
        """Stop an unfinished phrase so none of it reaches the next one: eSpeak's Cancel()
        returns once its output has stopped, and the driver forgets the phrase."""
        with contextlib.suppress(Exception):
            self._espeak.Cancel()
        self._driver._speaking = False
        self._driver._save_file = None
        self._current = None

    def synthesize(self, text: str, settings: Settings) -> Clip:
        """The untrimmed samples of one phrase."""
        import numpy as np

        with self._lock:
            self._wait_idle()  # the last phrase (or a cancelled one) is fully done
            if self._current != settings:
                self._apply(settings)
            self._errors.clear()
            self._count += 1
            # The driver writes its WAV with the wave module, which takes a file object:
            # the phrase stays in memory.
            buffer = io.BytesIO()
            timeout = max(TIMEOUT_SECONDS, len(text) / 50)
            self._completed = False
            self._done.clear()
            try:
                try:
                    self._driver.save_to_file(text, buffer)
                    self._driver._start_synthesis(text)
                    finished = self._done.wait(timeout)
                except BaseException:
                    finished = False
                    raise
                finally:
                    if not finished or self._errors:
                        # Interrupted (Ctrl-C), failed or timed out: stop eSpeak, so
                        # the next phrase starts clean.
                        self._abandon()
            except BaseException as err:
                if isinstance(err, Exception):
                    msg = f"eSpeak NG failed on {quote(text)}: {_one_line(err)}"
                    raise SpeechError(msg) from None
                raise
            if self._errors:
                raise SpeechError(f"eSpeak NG failed on {quote(text)}: {self._errors[0]}")
            if not finished:
                raise SpeechError(
                    f"speech synthesis timed out after {timeout:g} s on {quote(text)}"
                )
            if not self._completed:
                self._current = None
                raise SpeechError(f"eSpeak NG stopped before finishing {quote(text)}")
            try:
                buffer.seek(0)
                with wave.open(buffer, "rb") as w:
                    shape = (w.getnchannels(), w.getsampwidth(), w.getframerate())
                    if shape != (1, 2, SAMPLE_RATE):
                        raise SpeechError(f"eSpeak NG returned unexpected audio for {quote(text)}")
                    data = w.readframes(w.getnframes())
            except (OSError, EOFError, wave.Error) as err:
                msg = f"eSpeak NG output unreadable for {quote(text)}: {err}"
                raise SpeechError(msg) from None
        samples: Clip = np.frombuffer(data, dtype="<i2").astype(np.int16)
        return samples


class EspeakEngine:
    """One eSpeak NG voice at one rate: the ``speech.Engine`` for eSpeak NG.

    Phrases are synthesized one after another in this process (eSpeak takes ~10 ms a
    phrase, and it can be initialised once per process): ``synthesize_many`` keeps the
    order it is given, so the pitch-flutter state, and so the samples, are the same as
    ever for the same sequence of phrases.
    """

    def __init__(self, voice: str | None, rate: int) -> None:
        driver = engine()
        self.engine = f"{ENGINE} {driver.version}"  # in the cache key
        self.voice = resolve_voice(voice, driver.voices)  # in the cache key
        self.rate = rate
        self._settings = Settings(self.voice, rate, SYNTH_VOLUME)

    def synthesize(self, text: str) -> Clip:
        return engine().synthesize(text, self._settings)

    def synthesize_many(self, texts: Sequence[str]) -> Iterator[tuple[str, Clip]]:
        for text in texts:
            yield text, self.synthesize(text)


def _read_voices(espeak: Any) -> tuple[VoiceEntry, ...]:
    """eSpeak's voice list with every language and its priority.

    pyttsx3's own list keeps only the first language; the C list is a sequence of
    (priority byte, NUL-terminated language) pairs ended by a zero byte.
    """
    import ctypes

    genders = {1: "male", 2: "female"}
    entries = []
    voices = espeak.cListVoices(None)
    offset = espeak.VOICE.languages.offset
    i = 0
    while voices[i]:
        v = voices[i][0]
        ptr = ctypes.c_void_p.from_address(ctypes.addressof(v) + offset).value
        langs: list[str] = []
        prios: list[int] = []
        while ptr:
            prio = ctypes.c_ubyte.from_address(ptr).value
            if prio == 0:
                break
            lang = ctypes.string_at(ptr + 1)
            langs.append(lang.decode("utf-8", "replace").lower())
            prios.append(prio)
            ptr += len(lang) + 2
        info = VoiceInfo(
            id=v.identifier.decode("utf-8", "replace").lower(),
            name=v.name.decode("utf-8", "replace"),
            languages=tuple(langs),
            gender=genders.get(v.gender),
        )
        entries.append(VoiceEntry(info, tuple(prios)))
        i += 1
    return tuple(entries)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


_THE_ENGINE: Engine | None = None
_THE_ENGINE_LOCK = threading.Lock()


def engine() -> Engine:
    """The process's engine, started on first use (kept alive until exit)."""
    global _THE_ENGINE
    with _THE_ENGINE_LOCK:
        if _THE_ENGINE is None:
            _THE_ENGINE = Engine.start()
        return _THE_ENGINE
