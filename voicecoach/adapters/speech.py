"""Speech: phrases to trimmed PCM clips, with pyttsx3 over eSpeak NG and a clip cache.

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
- The driver prints "Audio saved to ..." from eSpeak's thread: stdout is redirected
  while a phrase is synthesized so the user never sees it.
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

Two kinds of clip, both in the cache: the *raw* clip (trimmed engine output, ``clip``/
``clips``) and the *levelled* clip the session plays (``levelled``: the raw clip through
``levelling.normalize_speech`` at the voice's target level). A warm start reads levelled
clips only, so it never measures loudness or imports scipy.
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
import wave
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voicecoach.adapters.clipcache import ClipCache, clip_key, default_cache_dir, level_key, trim
from voicecoach.audio.levelling import LEVEL_VERSION, speech_target
from voicecoach.core.model import Voice
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
class _VoiceEntry:
    info: VoiceInfo
    priorities: tuple[int, ...]  # one per language; lower = better match for it


@dataclass(frozen=True, slots=True)
class _Settings:
    voice: str  # resolved voice id
    rate: int
    volume: int  # percent, as eSpeak gets it (always SYNTH_VOLUME, see the module doc)


class Speech:
    """Turns phrases into trimmed mono int16 clips at ``SAMPLE_RATE``, each synthesized once,
    and levels them for the session, each levelled once.

    Clips are kept in memory and in the on-disk cache (``cache_dir``, default
    ``default_cache_dir()``). The returned arrays are read-only and shared.
    """

    def __init__(self, voice: Voice, cache_dir: Path | None = None) -> None:
        self._voice = voice
        self._cache = ClipCache(cache_dir if cache_dir is not None else default_cache_dir())
        self._memo: dict[str, Clip] = {}
        self._levelled: dict[str, Clip] = {}
        self._settings: _Settings | None = None
        self._target = 0.0
        self._engine_version = ""
        # The cache's keys as listed at the start of a batch of lookups, else None.
        self._listed: frozenset[str] | None = None
        self.synthesized = 0  # phrases this instance had the engine synthesize
        self.levels_made = 0  # clips this instance levelled (not found levelled in the cache)

    @property
    def voice(self) -> Voice:
        return self._voice

    @property
    def cache(self) -> ClipCache:
        return self._cache

    def clip(self, text: str) -> Clip:
        """The clip for one phrase."""
        return self.clips([text])[text]

    def clips(
        self,
        texts: Iterable[str],
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Clip]:
        """Clips for distinct phrases, in first-seen order; synthesizes only the missing.

        ``progress(done, total)`` counts syntheses: it is called with (0, total)
        before the first and after each one; not at all when every clip is cached.
        """
        wanted = list(dict.fromkeys(texts))
        found, todo = self._partition(wanted, self._lookup)
        if todo:
            if progress is not None:
                progress(0, len(todo))
            with self._cache.lock():
                for done, text in enumerate(todo, 1):
                    found[text] = self._raw(text)
                    if progress is not None:
                        progress(done, len(todo))
        return {text: found[text] for text in wanted}

    @property
    def level_target(self) -> float:
        """The level (LUFS in context) of the levelled clips: the voice's volume applied."""
        self._resolve()
        return self._target

    def levelled_clip(self, text: str) -> Clip:
        """The levelled clip for one phrase."""
        return self.levelled([text])[text]

    def levelled(
        self,
        texts: Iterable[str],
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Clip]:
        """Levelled clips for distinct phrases, in first-seen order: what the session plays.

        Each is ``levelling.normalize_speech`` of the raw clip at ``level_target``, read
        from the cache when it is there; else the raw clip (synthesized if missing) is
        levelled and stored. ``progress(done, total)`` counts the clips to make: called
        with (0, total) before the first and after each; not at all when all are cached.
        """
        wanted = list(dict.fromkeys(texts))
        found, todo = self._partition(wanted, self._lookup_levelled)
        if todo:
            if progress is not None:
                progress(0, len(todo))
            self._make_levelled(todo, found, progress)
        return {text: found[text] for text in wanted}

    def is_cached(self, text: str) -> bool:
        """True if the phrase's clip is in memory or intact on disk."""
        return self._lookup(text) is not None

    def missing(self, texts: Iterable[str]) -> list[str]:
        """The distinct phrases that would need synthesizing, in first-seen order."""
        return [text for text in dict.fromkeys(texts) if not self.is_cached(text)]

    def _partition(
        self, wanted: list[str], lookup: Callable[[str], Clip | None]
    ) -> tuple[dict[str, Clip], list[str]]:
        """The clips ``lookup`` finds, and the phrases it does not (to make)."""
        found: dict[str, Clip] = {}
        todo: list[str] = []
        with self._listing(len(wanted)):
            for text in wanted:
                clip = lookup(text)
                if clip is None:
                    todo.append(text)
                else:
                    found[text] = clip
        return found, todo

    def _lookup(self, text: str) -> Clip | None:
        return self._find(text, self._memo, self._key)

    def _lookup_levelled(self, text: str) -> Clip | None:
        return self._find(text, self._levelled, self._level_key)

    @contextlib.contextmanager
    def _listing(self, lookups: int) -> Iterator[None]:
        """For a batch of many lookups, list the cache folder once: a lookup of a key
        not listed then skips opening its file (~0.15 ms a miss). A key stored later in
        the batch is missed: only list where that is harmless or cannot happen."""
        if lookups < _LIST_FROM or self._listed is not None:
            yield
            return
        self._listed = self._cache.keys()
        try:
            yield
        finally:
            self._listed = None

    def _find(self, text: str, memo: dict[str, Clip], key: Callable[[str], str]) -> Clip | None:
        """A clip from ``memo``, else from the cache under ``key(text)`` (then memoized)."""
        clip = memo.get(text)
        if clip is not None:
            return clip
        if not text.strip():
            clip = _empty()
        else:
            k = key(text)
            if self._listed is not None and k not in self._listed:
                return None  # not in the folder a moment ago: no need to try opening it
            clip = self._cache.get(k)
            if clip is None:
                return None
        memo[text] = clip
        return clip

    def _make_levelled(
        self,
        todo: list[str],
        found: dict[str, Clip],
        progress: Callable[[int, int], None] | None,
    ) -> None:
        """Level ``todo``'s clips into ``found``, synthesizing first where needed, and
        store each before the next is made: when this returns, every clip is in the
        cache, so a later lookup (a second session) never misses one being written.

        Phrases are synthesized one after another under the cache's lock (each new raw
        clip is stored before it is released). Levelling is deterministic (gains rounded
        to 0.01 dB), so two processes levelling the same raw clip store the same
        samples: no lock is needed for levelled clips, the atomic rename keeps every
        entry whole.

        Levelling is done here, in line (about 3 ms a phrase: 294 ms CPU for the
        flagship's 103), not in the background. Worker threads levelling while later
        phrases were synthesized and the session written (the mixer fetching a clip
        only when it first mixed it) gained nothing on this 2-core machine shared by
        other work (load 6-9), cold render wall seconds, n = 17-20 runs each, median
        (min): flagship 2.35 (1.02) with the lazy mixer, 2.08 (1.11) with the workers
        and a mixer that waited for every clip, 2.13 (1.06) in line; 2-hour routine
        4.09 (2.05), 3.38 (2.47), 3.92 (2.37). In line also holds 10-19 MB less (peak
        RSS flagship 72-74 MB against 80-85, 2-hour 73-75 against 85-94). Not measured:
        an idle machine, where a worker on the second core could hide at most the
        levelling time (0.3 s for the flagship).
        """
        from voicecoach.audio.levelling import normalize_speech

        target = self.level_target
        with self._cache.lock(), self._listing(len(todo)):
            for done, text in enumerate(todo, 1):
                clip = normalize_speech(self._raw(text), target=target)
                clip.flags.writeable = False
                self._cache.put(self._level_key(text), clip)
                self.levels_made += 1
                self._levelled[text] = clip
                # The raw clip is not needed any more (the cache has it): hold one copy.
                self._memo.pop(text, None)
                found[text] = clip
                if progress is not None:
                    progress(done, len(todo))

    def _level_key(self, text: str) -> str:
        return level_key(self._key(text), level=LEVEL_VERSION, target=self.level_target)

    def _raw(self, text: str) -> Clip:
        """The raw clip: from memory or the cache (another process may have stored it
        while we waited for the lock), else synthesized and stored. Call it holding the
        cache's lock."""
        clip = self._lookup(text)
        if clip is None:
            clip = trim(_engine().synthesize(text, self._resolve()))
            clip.flags.writeable = False
            self.synthesized += 1
            self._cache.put(self._key(text), clip)
            self._memo[text] = clip
        return clip

    def _key(self, text: str) -> str:
        settings = self._resolve()
        return clip_key(
            engine=f"{ENGINE} {self._engine_version}",
            voice=settings.voice,
            rate=settings.rate,
            volume=settings.volume,
            text=text,
        )

    def _resolve(self) -> _Settings:
        if self._settings is None:
            rate, volume = self._voice.rate, self._voice.volume
            if not MIN_RATE <= rate <= MAX_RATE:
                raise SpeechError(
                    f"speech rate {rate} is out of range: use {MIN_RATE} to {MAX_RATE} "
                    "words per minute"
                )
            if not 0.0 <= volume <= 1.0:
                raise SpeechError(f"speech volume {volume:g} is out of range: use 0 to 1")
            engine = _engine()
            self._engine_version = engine.version
            voice_id = resolve_voice(self._voice.voice, engine.voices)
            self._target = speech_target(volume)
            self._settings = _Settings(voice_id, rate, SYNTH_VOLUME)
        return self._settings


def list_voices(language: str | None = None) -> list[VoiceInfo]:
    """The installed eSpeak NG voices, sorted by id; only those speaking ``language`` if given.

    A voice speaks "en" if one of its languages is "en" or starts with "en-".
    """
    voices = [entry.info for entry in _engine().voices]
    if language:
        want = language.strip().lower()
        voices = [v for v in voices if any(_speaks(lang, want) for lang in v.languages)]
    return sorted(voices, key=lambda v: v.id)


def _speaks(language: str, wanted: str) -> bool:
    return language == wanted or language.startswith(wanted + "-")


def resolve_voice(requested: str | None, voices: Iterable[_VoiceEntry]) -> str:
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
        f"unknown voice {_quote(requested or DEFAULT_VOICE)}: "
        "run `voicecoach voices` to list the available voices"
    )


def _empty() -> Clip:
    import numpy as np

    clip: Clip = np.zeros(0, dtype=np.int16)
    clip.flags.writeable = False
    return clip


def _quote(text: str, limit: int = 60) -> str:
    """A phrase fit for a one-line message: whitespace collapsed, shortened, quoted."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return f'"{flat}"'


# Lookups in one batch from which listing the cache folder first is worth it.
_LIST_FROM = 8


class _Engine:
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
        self._current: _Settings | None = None
        info = espeak.Info() or b""
        self.version: str = (info.decode("utf-8", "replace").split() or ["unknown"])[0]
        self.voices: tuple[_VoiceEntry, ...] = _read_voices(espeak)
        engine.connect("finished-utterance", self._on_finished)
        engine.connect("error", self._on_error)

    @classmethod
    def start(cls) -> _Engine:
        try:
            import pyttsx3

            engine = pyttsx3.init("espeak")
            from pyttsx3.drivers import _espeak
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

    def _apply(self, settings: _Settings) -> None:
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

    def synthesize(self, text: str, settings: _Settings) -> Clip:
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
                # The driver prints "Audio saved to ..." (from eSpeak's thread) before it
                # reports the end.
                with contextlib.redirect_stdout(io.StringIO()):
                    try:
                        self._driver.save_to_file(text, buffer)
                        self._driver._start_synthesis(text)
                        finished = self._done.wait(timeout)
                    except BaseException:
                        finished = False
                        raise
                    finally:
                        if not finished or self._errors:
                            # Interrupted (Ctrl-C), failed or timed out: stop eSpeak
                            # before stdout is restored, so the driver's print cannot
                            # reach the user; the next phrase starts clean.
                            self._abandon()
            except BaseException as err:
                if isinstance(err, Exception):
                    msg = f"eSpeak NG failed on {_quote(text)}: {_one_line(err)}"
                    raise SpeechError(msg) from None
                raise
            if self._errors:
                raise SpeechError(f"eSpeak NG failed on {_quote(text)}: {self._errors[0]}")
            if not finished:
                raise SpeechError(
                    f"speech synthesis timed out after {timeout:g} s on {_quote(text)}"
                )
            if not self._completed:
                self._current = None
                raise SpeechError(f"eSpeak NG stopped before finishing {_quote(text)}")
            try:
                buffer.seek(0)
                with wave.open(buffer, "rb") as w:
                    shape = (w.getnchannels(), w.getsampwidth(), w.getframerate())
                    if shape != (1, 2, SAMPLE_RATE):
                        raise SpeechError(f"eSpeak NG returned unexpected audio for {_quote(text)}")
                    data = w.readframes(w.getnframes())
            except (OSError, EOFError, wave.Error) as err:
                msg = f"eSpeak NG output unreadable for {_quote(text)}: {err}"
                raise SpeechError(msg) from None
        samples: Clip = np.frombuffer(data, dtype="<i2").astype(np.int16)
        return samples


def _read_voices(espeak: Any) -> tuple[_VoiceEntry, ...]:
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
        entries.append(_VoiceEntry(info, tuple(prios)))
        i += 1
    return tuple(entries)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


_ENGINE: _Engine | None = None
_ENGINE_LOCK = threading.Lock()


def _engine() -> _Engine:
    """The process's engine, started on first use (kept alive until exit)."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = _Engine.start()
        return _ENGINE
