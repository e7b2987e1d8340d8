"""Routine files: YAML -> a validated, frozen ``Routine`` (see docs/routines.md).

``yamltree`` composes the YAML safely and ``yamlread`` reads it value by value; this
module and ``routine_exercise`` know the format: which keys exist (``schema`` lists
them), what exercises inherit from ``defaults``, how an exercise's keys become the
model's kind, phases and sides. Every problem is one ``FILE:LINE:COL: message`` line;
all of a file's problems (up to ``MAX_PROBLEMS``) are raised together as ``RoutineError``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode

from voicecoach.core.durations import format_duration
from voicecoach.core.model import (
    ENGINES,
    MUSIC_LEVEL_RANGE,
    Block,
    Exercise,
    MusicChoice,
    Routine,
    Voice,
)
from voicecoach.core.timeline import SOUND_NAMES
from voicecoach.errors import Problem, RoutineError, RoutineNotFound
from voicecoach.routine import languages, resources
from voicecoach.routine.exercise import Defaults, ExerciseBuilder
from voicecoach.routine.schema import (
    BLOCK_KEYS,
    DEFAULT_KEYS,
    MAX_EXERCISES,
    MAX_FILE_BYTES,
    MAX_NAME,
    MAX_PROBLEMS,
    MAX_SESSION,
    MAX_SETS,
    MAX_TEXT,
    MUSIC_KEYS,
    RATES,
    SOUND_FORMATS,
    TOP_KEYS,
    VOICE_KEYS,
    elsewhere,
)
from voicecoach.routine.yamlread import Reader, Stop
from voicecoach.routine.yamltree import NULL, compose, pos, show

_START = Mark("", 0, 0, 0, None, 0)  # file-wide problems are reported at 1:1
_TOP_ELSEWHERE = elsewhere(TOP_KEYS)
_VOICE_ELSEWHERE = elsewhere(VOICE_KEYS)
_DEFAULTS_ELSEWHERE = elsewhere(DEFAULT_KEYS)
_BLOCK_ELSEWHERE = elsewhere(BLOCK_KEYS)


def resolve(ref: str) -> Path:
    """A routine argument -> its file: an existing path, else a bundled routine name."""
    path = Path(ref)
    if _is(path, "file"):
        return path
    bundled = resources.bundled_routines()
    name = path.stem if path.suffix in (".yaml", ".yml") and path.name == ref else ref
    if name in bundled:
        return bundled[name]
    if _is(path, "dir"):
        raise RoutineNotFound(f"{ref} is a folder, not a routine file")
    if not bundled:
        raise RoutineNotFound(f"no routine file named '{ref}' (and no bundled routines)")
    import difflib  # only for this message

    close = difflib.get_close_matches(name, list(bundled), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    names = ", ".join(bundled)
    message = f"no routine file or bundled routine named '{ref}'{hint}; bundled: {names}"
    raise RoutineNotFound(message)


def _is(path: Path, kind: str) -> bool:
    try:
        return path.is_file() if kind == "file" else path.is_dir()
    except (OSError, ValueError):  # a name too long, or with a NUL character
        return False


def load(ref: str) -> Routine:
    """Load a routine from a path or a bundled name; raises RoutineError or RoutineNotFound."""
    path = resolve(ref)
    shown = ref if path == Path(ref) else str(path)  # messages name a file as it was given
    try:
        size = path.stat().st_size
        data = b"" if size > MAX_FILE_BYTES else path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise RoutineError([Problem(shown, 1, 1, f"cannot read the file: {reason}")]) from None
    if size > MAX_FILE_BYTES:
        raise RoutineError([Problem(shown, 1, 1, _too_big(size))])
    return load_text(data, shown)


def load_text(text: str | bytes, path: str) -> Routine:
    """Load a routine from its text. ``path`` names it in messages, gives ``Routine.name``
    (its stem) and is where relative sound paths start from."""
    if len(text) > MAX_FILE_BYTES:  # cheap check before encoding or decoding
        raise RoutineError([Problem(path, 1, 1, _too_big(len(text)))])
    if isinstance(text, bytes):
        data, source = text, _decode(text, path)
    else:
        data, source = text.encode("utf-8", "surrogatepass"), text  # the parser rejects those
        if len(data) > MAX_FILE_BYTES:
            raise RoutineError([Problem(path, 1, 1, _too_big(len(data)))])
    root = compose(source, path)
    reader = Reader(path, MAX_PROBLEMS)
    routine = None
    try:
        if root is not None:
            reader.check_tree(root)
        builder = _Builder(reader, Path(path).parent)
        routine = builder.routine(root, path, Path(path).stem, hashlib.sha256(data).hexdigest())
    except Stop:
        pass
    reader.raise_problems()
    assert routine is not None
    return routine


def nominal_length(routine: Routine) -> float:
    """The session's length in seconds without speech: lead-ins, work, pauses, rests."""
    return _blocks_seconds(routine.blocks)


def _too_big(size: int) -> str:
    return f"the file is too large: {size} bytes (the limit is 1 MiB)"


def _decode(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start
        line = data.count(b"\n", 0, start) + 1
        line_start = data.rfind(b"\n", 0, start) + 1
        column = len(data[line_start:start].decode("utf-8", "replace")) + 1
        message = f"invalid UTF-8 (byte 0x{data[start]:02x}): save the file as UTF-8"
        raise RoutineError([Problem(path, line, column, message)]) from None


class _Builder(ExerciseBuilder):
    """Builds the model from the tree; on a wrong value it records the problem and goes
    on with a stand-in, so one pass finds all of a file's problems."""

    def __init__(self, reader: Reader, base: Path) -> None:
        super().__init__(reader)
        self.base = base  # relative sound paths start here
        self.exercise_count = 0

    def routine(self, root: Node | None, path: str, name: str, digest: str) -> Routine:
        r = self.r
        real = None if root is None else r.node(root)
        if root is None or (isinstance(real, ScalarNode) and real.tag == NULL):
            r.error(_START, "the file is empty: a routine needs a title and exercises")
        if real is not None and not isinstance(real, MappingNode):
            message = f"a routine must be a mapping with title:, exercises: ..., not {show(real)}"
            r.error(_START, message)
        if root is None or not isinstance(real, MappingNode):
            raise Stop
        top = r.mapping(real, "a routine", TOP_KEYS, " at the top level", _TOP_ELSEWHERE) or {}
        title = self._required_text(top, "title", real, MAX_NAME, "")
        texts = {key: self._text(top, key, MAX_TEXT) for key in ("description", "source", "safety")}
        language = self._language(top["language"][1]) if "language" in top else None
        voice = self._voice(top["voice"][1] if "voice" in top else None, language)
        defaults = self._defaults(top["defaults"][1]) if "defaults" in top else Defaults()
        sounds = self._sounds(top["sounds"][1]) if "sounds" in top else ()
        music = self._music(top["music"][1]) if "music" in top else None
        if "blocks" in top and "exercises" in top:
            later = max(top["blocks"][0], top["exercises"][0], key=lambda n: n.start_mark.index)
            r.error(later, "use blocks or exercises, not both")
        blocks: tuple[Block, ...] = ()
        if "blocks" in top:
            blocks = self._blocks(top["blocks"][1], defaults)
        if "exercises" in top:
            key, value = top["exercises"]
            exercises = self._exercises(value, defaults)
            blocks = blocks or (
                Block("Main", pos(key), exercises, 1, defaults.round_rest, implicit=True),
            )
        if "blocks" not in top and "exercises" not in top:
            r.error(real, "missing required key 'exercises' (or 'blocks')")
        if not r.problems:
            total = _blocks_seconds(blocks)
            if total > MAX_SESSION:
                where = top["title"][1] if "title" in top else real
                length = format_duration(total)
                message = f"the session is too long: {length} without speech (the limit is 24h)"
                r.error(where, message)
        return Routine(
            title=title or "", blocks=blocks, path=path, name=name, digest=digest,
            description=texts["description"], source=texts["source"], safety=texts["safety"],
            voice=voice, sounds=sounds, music=music, language=language,
        )  # fmt: skip

    # --- top-level sections ----------------------------------------------------------

    def _language(self, node: Node) -> str | None:
        """The top-level language, checked against the catalogues there are."""
        tag = self.r.text(node, "language", MAX_NAME)
        if tag is None:
            return None
        try:
            languages.catalogue_for(tag)
        except languages.UnknownLanguage as err:
            self.r.error(node, str(err))
            return None
        return languages.normal(tag)

    def _voice(self, node: Node | None, routine_language: str | None) -> Voice:
        """``voice:``; its language is the routine's unless it names its own (eSpeak then
        speaks with the language's default voice)."""
        m = {}
        if node is not None:
            m = self.r.mapping(node, "voice", VOICE_KEYS, " in voice", _VOICE_ELSEWHERE) or {}
        base = Voice()
        volume = self.r.number(m["volume"][1], "volume", 0.0, 1.0) if "volume" in m else None
        voice, language = self._text(m, "voice", MAX_NAME), self._text(m, "language", MAX_NAME)
        language = language or routine_language
        engine = self.r.choice(m["engine"][1], "engine", ENGINES) if "engine" in m else None
        engine = engine or base.engine
        return Voice(
            # eSpeak: a voice id, or a language eSpeak maps to one; Piper: a voice name
            # (None: the first installed voice speaking the language).
            voice=voice or language if engine == "espeak" else voice,
            rate=self._whole(m, "rate", RATES[0], RATES[1], base.rate),
            volume=base.volume if volume is None else volume,
            engine=engine,
            language=language,
        )

    def _defaults(self, node: Node) -> Defaults:
        m = (
            self.r.mapping(node, "defaults", DEFAULT_KEYS, " in defaults", _DEFAULTS_ELSEWHERE)
            or {}
        )
        d = Defaults()
        tempo = self._tempo(m["tempo"][1]) if "tempo" in m else None
        return Defaults(
            rest=self._duration(m, "rest", d.rest),
            lead_in=self._duration(m, "lead_in", d.lead_in),
            set_rest=self._duration(m, "set_rest", d.set_rest),
            switch=self._duration(m, "switch", d.switch),
            round_rest=self._duration(m, "round_rest", d.round_rest),
            tempo=tempo or d.tempo,
            verbosity=self._verbosity(m, d.verbosity),
            count=self._bool(m, "count", d.count),
        )

    def _sounds(self, node: Node) -> tuple[tuple[str, str], ...]:
        m = self.r.mapping(node, "sounds", SOUND_NAMES, " in sounds") or {}
        sounds = []
        for name, (_, value) in m.items():
            label = f"sounds.{name}"
            text = self.r.text(value, label, MAX_TEXT)
            if text is None:
                continue
            if Path(text).suffix.lower() not in SOUND_FORMATS:
                self.r.error(value, f"{label} must be a WAV, FLAC or OGG file, not '{text}'")
                continue
            file = self.base / text
            if not _there(file.is_file):
                message = f"{label}: file '{text}' not found (paths are relative to the routine)"
                self.r.error(value, message)
                continue
            sounds.append((name, str(file.resolve())))
        return tuple(sounds)

    def _music(self, node: Node) -> MusicChoice | None:
        """``music: {path, level}``: the path relative to the routine, made absolute.
        Only its existence is checked here: whether it plays is the player's to say."""
        m = self.r.mapping(node, "music", MUSIC_KEYS, " in music")
        if m is None:
            return None
        if "path" not in m:
            self.r.error(node, "music needs a path: an audio file or a folder of them")
            return None
        value = m["path"][1]
        text = self.r.text(value, "music.path", MAX_TEXT)
        low, high = MUSIC_LEVEL_RANGE
        level = self.r.number(m["level"][1], "music.level", low, high) if "level" in m else None
        if text is None:
            return None
        where = self.base / text
        if not _there(where.exists):
            message = f"music.path: '{text}' not found (paths are relative to the routine)"
            self.r.error(value, message)
            return None
        return MusicChoice(str(where.resolve()), level)

    def _blocks(self, node: Node, defaults: Defaults) -> tuple[Block, ...]:
        items = self.r.seq(node, "blocks", "a list of blocks") or []
        blocks = (self._block(item, defaults) for item in items)
        return tuple(block for block in blocks if block is not None)

    def _block(self, node: Node, defaults: Defaults) -> Block | None:
        real = self.r.node(node)
        m = self.r.mapping(node, "a block", BLOCK_KEYS, " in a block", _BLOCK_ELSEWHERE)
        if real is None or m is None:
            return None
        name = self._required_text(m, "name", real, MAX_NAME, " in a block")
        exercises: tuple[Exercise, ...] = ()
        if "exercises" in m:
            exercises = self._exercises(m["exercises"][1], defaults)
        else:
            self.r.error(real, "missing required key 'exercises' in a block")
        return Block(
            name=name or "",
            pos=pos(real),
            exercises=exercises,
            rounds=self._whole(m, "rounds", 1, MAX_SETS, 1),
            round_rest=self._duration(m, "round_rest", defaults.round_rest),
        )

    def _exercises(self, node: Node, defaults: Defaults) -> tuple[Exercise, ...]:
        items = self.r.seq(node, "exercises", "a list of exercises") or []
        exercises = []
        for item in items:
            if self.exercise_count >= MAX_EXERCISES:
                self.r.error(item, f"too many exercises: the limit is {MAX_EXERCISES}")
                break
            self.exercise_count += 1
            exercise = self.exercise(item, defaults)
            if exercise is not None:
                exercises.append(exercise)
        return tuple(exercises)


def _exercise_seconds(ex: Exercise) -> float:
    sides = max(1, len(ex.sides))
    if ex.manual:
        work = ex.estimate
    elif ex.kind == "timed":
        work = ex.sets * sides * ex.time
    elif ex.kind == "hold":
        work = ex.sets * sides * ex.hold
    else:
        work = ex.sets * sides * ex.reps * (sum(p.seconds for p in ex.phases) + ex.hold)
    pauses = (ex.sets - 1) * ex.set_rest
    if ex.side_mode == "each":
        pauses += ex.sets * (len(ex.sides) - 1) * ex.switch
    return ex.lead_in + work + pauses + ex.rest


def _blocks_seconds(blocks: tuple[Block, ...]) -> float:
    total = 0.0
    for block in blocks:
        one_round = sum(_exercise_seconds(ex) for ex in block.exercises)
        total += block.rounds * one_round + (block.rounds - 1) * block.round_rest
    return total


def _there(check: Callable[[], bool]) -> bool:
    """A path test (``is_file``, ``exists``) that says False for a name the OS cannot
    even look up (e.g. one with a NUL character) instead of raising."""
    try:
        return check()
    except (OSError, ValueError):
        return False
