"""Speech: phrases to trimmed PCM clips, each synthesized once, levelled once, cached.

The facade the session uses: ``Speech`` asks the engine driver (``espeak``: pyttsx3 over
eSpeak NG, and the reference for pyttsx3 2.99's quirks) for the phrases the clip cache
(``clipcache``) does not have, levels them and stores them there.

Two kinds of clip, both in the cache: the *raw* clip (trimmed engine output, ``clip``/
``clips``) and the *levelled* clip the session plays (``levelled``: the raw clip through
``levelling.normalize_speech`` at the voice's target level). A warm start reads levelled
clips only, so it never measures loudness or imports scipy. eSpeak keeps pitch-flutter
state between utterances, so the same phrase said twice in one process differs by a few
samples: the cache makes a phrase's samples stable (once stored, every later use gets
exactly those samples). Phrases are always synthesized at full volume, and the voice's
volume is applied when a clip is levelled (``levelling.speech_target``): volume changes
how loud the coach is, never the timing (see ``espeak``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from voicecoach.adapters.clipcache import ClipCache, clip_key, default_cache_dir, level_key, trim
from voicecoach.audio.levelling import LEVEL_VERSION, speech_target
from voicecoach.core.model import ENGINES, Voice
from voicecoach.errors import SpeechError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Clip = NDArray[np.int16]

MIN_RATE, MAX_RATE = 80, 450  # words per minute (eSpeak NG's range; Piper's length scale
# 165/rate stays between 0.37 and 2.1 there)
# The volume (percent) phrases are always synthesized at; the voice's volume is a level.
SYNTH_VOLUME = 100


class Engine(Protocol):
    """A speech engine for one voice at one rate: phrase in, untrimmed mono int16 PCM at
    ``SAMPLE_RATE`` out (``espeak.EspeakEngine``, ``piper.PiperEngine``). ``Speech`` does
    the rest, the same for every engine: trimming, the cache, levelling."""

    @property
    def engine(self) -> str:
        """The engine's name and version, in the cache key."""
        ...

    @property
    def voice(self) -> str:
        """The voice's identity, in the cache key (for a model file, its hash)."""
        ...

    @property
    def rate(self) -> int: ...

    def synthesize(self, text: str) -> Clip: ...

    def synthesize_many(self, texts: Sequence[str]) -> Iterator[tuple[str, Clip]]:
        """Every phrase's samples as it is made, in any order (on all cores if it pays)."""
        ...


def open_engine(voice: Voice, cache_dir: Path, warn: Callable[[str], None] | None = None) -> Engine:
    """The engine ``voice.engine`` names, for the voice (imports it only now).
    ``warn(message)`` hears of a voice that does not speak the routine's language."""
    if voice.engine == "piper":
        from voicecoach.adapters.piper import PiperEngine

        return PiperEngine(voice, cache_dir, warn)
    if voice.engine == "espeak":
        from voicecoach.adapters.espeak import EspeakEngine

        return EspeakEngine(voice.voice, voice.rate)
    raise SpeechError(f'unknown speech engine "{voice.engine}": use {" or ".join(ENGINES)}')


class Speech:
    """Turns phrases into trimmed mono int16 clips at ``SAMPLE_RATE``, each synthesized once,
    and levels them for the session, each levelled once.

    Clips are kept in memory and in the on-disk cache (``cache_dir``, default
    ``default_cache_dir()``). The returned arrays are read-only and shared.
    """

    def __init__(
        self,
        voice: Voice,
        cache_dir: Path | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self._voice = voice
        self._warn = warn
        self._cache = ClipCache(cache_dir if cache_dir is not None else default_cache_dir())
        self._memo: dict[str, Clip] = {}
        self._levelled: dict[str, Clip] = {}
        self._engine: Engine | None = None
        self._target = 0.0
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
                for done, (text, clip) in enumerate(self._raws(todo), 1):
                    found[text] = clip
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

    def cached_levelled(self, text: str) -> Clip | None:
        """The levelled clip if in memory or intact in the cache, else None: nothing is
        synthesized or levelled (``ports.CachedLevels``)."""
        return self._lookup_levelled(text)

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

        Phrases are synthesized under the cache's lock (each new raw clip is stored
        before it is released), by the engine's ``synthesize_many``: eSpeak one after
        another in order, Piper on all cores, each clip levelled as it arrives.
        Levelling is deterministic (gains rounded to 0.01 dB), so two processes
        levelling the same raw clip store the same samples: no lock is needed for
        levelled clips, the atomic rename keeps every entry whole.

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
            for done, (text, raw) in enumerate(self._raws(todo), 1):
                clip = normalize_speech(raw, target=target)
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

    def _raws(self, texts: list[str]) -> Iterator[tuple[str, Clip]]:
        """The raw clips of ``texts``: those in memory or the cache first (another
        process may have stored them while we waited for the lock), then the others as
        the engine makes them (in any order), each stored as it comes. Call it holding
        the cache's lock."""
        missing: list[str] = []
        for text in texts:
            clip = self._lookup(text)
            if clip is None:
                missing.append(text)
            else:
                yield text, clip
        if not missing:
            return
        for text, samples in self._resolve().synthesize_many(missing):
            clip = trim(samples)
            clip.flags.writeable = False
            self.synthesized += 1
            self._cache.put(self._key(text), clip)
            self._memo[text] = clip
            yield text, clip

    def _key(self, text: str) -> str:
        engine = self._resolve()
        return clip_key(
            engine=engine.engine,
            voice=engine.voice,
            rate=engine.rate,
            volume=SYNTH_VOLUME,
            text=text,
        )

    def _resolve(self) -> Engine:
        if self._engine is None:
            rate, volume = self._voice.rate, self._voice.volume
            if not MIN_RATE <= rate <= MAX_RATE:
                raise SpeechError(
                    f"speech rate {rate} is out of range: use {MIN_RATE} to {MAX_RATE} "
                    "words per minute"
                )
            if not 0.0 <= volume <= 1.0:
                raise SpeechError(f"speech volume {volume:g} is out of range: use 0 to 1")
            self._engine = open_engine(self._voice, self._cache.folder.parent, self._warn)
            self._target = speech_target(volume)
        return self._engine


def _empty() -> Clip:
    import numpy as np

    clip: Clip = np.zeros(0, dtype=np.int16)
    clip.flags.writeable = False
    return clip


# Lookups in one batch from which listing the cache folder first is worth it.
_LIST_FROM = 8
