"""The routine format's vocabulary and limits, and its JSON Schema.

The loader (``routine.py``, ``routine_exercise.py``) and the JSON Schema are built from
the same tables here, so an editor using the schema accepts what ``voicecoach validate``
accepts, as far as JSON Schema can say it. What it cannot say (the loader checks it):
durations written as strings over 4h, a breathing list as long as the tempo, hold_after
within the phases, float values such as 5.0 where a whole number is needed, duplicate
keys, the total of 500 exercises and 24 h, and that sound files exist.
"""

from __future__ import annotations

from typing import Any

from voicecoach.core.durations import DURATION_PATTERN
from voicecoach.core.model import (
    BREATHS,
    ENGINES,
    LINE_MOMENTS,
    LINE_VARIABLES,
    MUSIC_LEVEL_RANGE,
    VERBOSITIES,
)
from voicecoach.core.timeline import SOUND_NAMES
from voicecoach.routine import languages

MAX_FILE_BYTES = 1 << 20
MAX_PROBLEMS = 20  # problems reported per file
MAX_NAME = 200  # title, block and exercise names, voice ids, phase words
MAX_TEXT = 2000  # every other text
MAX_REPS = 1000  # reps and breaths
MAX_SETS = 100  # sets and rounds
MAX_PHASES = 20  # entries of tempo, breathing, moves and phases
MAX_FORM = 20  # form pointers per exercise
MAX_EXERCISES = 500
MAX_DURATION = 4 * 3600.0  # any single duration
MAX_SESSION = 24 * 3600.0  # the whole session, without speech
RATES = (80, 400)  # words per minute
SOUND_FORMATS = (".wav", ".flac", ".ogg")

TOP_KEYS = ("title", "description", "source", "safety", "language", "voice", "defaults",
            "sounds", "music", "blocks", "exercises")  # fmt: skip
MUSIC_KEYS = ("path", "level")
VOICE_KEYS = ("engine", "voice", "language", "rate", "volume")
DEFAULT_KEYS = ("rest", "lead_in", "set_rest", "switch", "round_rest", "tempo", "verbosity",
                "count")  # fmt: skip
BLOCK_KEYS = ("name", "rounds", "round_rest", "exercises")
EXERCISE_KEYS = (
    "name", "setup", "cue", "form", "reps", "time", "hold", "breaths", "tempo", "breathing",
    "moves", "phases", "hold_after", "manual", "estimate", "inhale", "exhale", "hold_breath",
    "sides", "switch", "sets", "set_rest", "rest", "lead_in", "verbosity", "count", "say",
)  # fmt: skip
PHASE_KEYS = ("time", "breath", "say")
# Keys that only make sense with one kind of exercise (named by the key that sets it).
ONLY_WITH = {"tempo": "reps", "breathing": "reps", "moves": "reps", "phases": "reps",
             "hold_after": "reps",
             "manual": "reps", "estimate": "reps", "inhale": "breaths", "exhale": "breaths",
             "hold_breath": "breaths"}  # fmt: skip

# Where each key belongs, to tell someone who put one in the wrong place.
_PLACES = (("an exercise", EXERCISE_KEYS), ("defaults", DEFAULT_KEYS), ("a block", BLOCK_KEYS),
           ("voice", VOICE_KEYS), ("the top level", TOP_KEYS))  # fmt: skip


def elsewhere(keys: tuple[str, ...]) -> dict[str, str]:
    """Key -> the places it belongs, for every key of the format not in ``keys``."""
    places: dict[str, list[str]] = {}
    for place, place_keys in _PLACES:
        for key in place_keys:
            if key not in keys:
                places.setdefault(key, []).append(place)
    return {key: " or ".join(where) for key, where in places.items()}


_DURATION_TEXT = "A duration: seconds (45, 1.5) or a string such as '30s', '1m30s', '2h' or '0:45'."
# A duration string with a non-zero digit somewhere is longer than 0.
_POSITIVE_PATTERN = "^(?=[^1-9]*[1-9])" + DURATION_PATTERN[1:]
# Custom lines: literal text, {{ and }} for braces, and {variable} placeholders.
_TEMPLATE_PATTERN = (
    r"^(?:[^{}]|\{\{|\}\}|\{(?:" + "|".join(LINE_VARIABLES) + r")\})*$"
)  # fmt: skip


def _text(limit: int, description: str) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": limit, "pattern": r"\S",
            "description": description}  # fmt: skip


def _whole(low: int, high: int, description: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high, "description": description}


def _duration(description: str, *, positive: bool = False) -> dict[str, Any]:
    ref = "#/$defs/positive_duration" if positive else "#/$defs/duration"
    return {"$ref": ref, "description": description}


def _without(*keys: str) -> dict[str, Any]:
    return {"not": {"anyOf": [{"required": [key]} for key in keys]}}


def _exercise() -> dict[str, Any]:
    breath = {"enum": list(BREATHS)}
    phase = {
        "type": "object",
        "additionalProperties": False,
        "required": ["time"],
        "properties": {
            "time": _duration("How long the phase lasts.", positive=True),
            "breath": {**breath, "description": "Breathe in, out or hold during the phase."},
            "say": _text(MAX_NAME, "A short word said at the start of the phase ('lift')."),
        },
    }
    template = {"allOf": [{"pattern": _TEMPLATE_PATTERN}], **_text(MAX_TEXT, "")}
    variables = ", ".join("{" + v + "}" for v in LINE_VARIABLES)
    say = {
        "type": "object",
        "additionalProperties": False,
        "description": f"Custom spoken lines; they may use {variables}.",
        "properties": {m: {**template, "description": f"Said at '{m}'."} for m in LINE_MOMENTS},
    }
    properties: dict[str, Any] = {
        "name": _text(MAX_NAME, "The exercise's name, said before it starts."),
        "setup": _text(MAX_TEXT, "How to get into position, said during the lead-in."),
        "cue": _text(MAX_TEXT, "The movement cue, said just before the start."),
        "reps": _whole(1, MAX_REPS, "Repetitions per set (per side), each at the tempo."),
        "time": _duration("Moving work for this long (a timed exercise).", positive=True),
        "hold": _duration(
            "With reps: a hold in every rep. Alone: one static hold this long.", positive=True
        ),
        "breaths": _whole(1, MAX_REPS, "Breath-paced work: this many breaths."),
        "tempo": {
            "type": "array", "minItems": 1, "maxItems": MAX_PHASES,
            "items": _duration("One phase of a rep.", positive=True),
            "description": "Seconds per phase of a rep, e.g. [2s, 2s]: 2 s up, 2 s down.",
        },
        "breathing": {
            "type": "array", "minItems": 1, "maxItems": MAX_PHASES,
            "items": {"enum": [*BREATHS, None]},
            "description": "The breath for each tempo phase: in, out, hold or null.",
        },
        "moves": {
            "type": "array", "minItems": 1, "maxItems": MAX_PHASES,
            "items": {"anyOf": [_text(MAX_NAME, "The movement word."), {"type": "null"}]},
            "description": (
                "The movement word for each tempo phase, e.g. [curl up, lower]; said with "
                "the count on every rep. null: that phase says none."
            ),
        },
        "form": {
            "type": "array", "minItems": 1, "maxItems": MAX_FORM,
            "items": _text(MAX_TEXT, "One pointer."),
            "description": (
                "Form pointers ('lower back stays heavy'), said in the gaps of long sets, "
                "holds and timed work."
            ),
        },
        "phases": {
            "type": "array", "minItems": 1, "maxItems": MAX_PHASES, "items": phase,
            "description": "The long form of tempo and breathing: one entry per phase.",
        },
        "hold_after": _whole(1, MAX_PHASES, "The phase (1 = the first) the hold follows."),
        "manual": {"type": "boolean", "description": "Do the reps at your own pace, then a key."},
        "estimate": _duration("Manual: the time allowed in audition and render.", positive=True),
        "inhale": _duration("Breaths: seconds breathing in (default 4s).", positive=True),
        "exhale": _duration("Breaths: seconds breathing out (default 6s).", positive=True),
        "hold_breath": _duration("Breaths: a hold after breathing in.", positive=True),
        "sides": {
            "enum": ["both", "alternate", "left", "right", ["left", "right"], ["right", "left"]],
            "description": (
                "both (left, then right), [right, left], alternate (rep by rep), "
                "or left or right (that side only)."
            ),
        },
        "switch": _duration("Pause to switch sides (default 5s)."),
        "sets": _whole(1, MAX_SETS, "Number of sets (default 1)."),
        "set_rest": _duration("Rest between sets (default 15s)."),
        "rest": _duration("Rest after the exercise (default 20s)."),
        "lead_in": _duration("Time to get into position before the start (default 10s)."),
        "verbosity": {"$ref": "#/$defs/verbosity"},
        "count": {"type": "boolean", "description": "Count the reps aloud (default true)."},
        "say": say,
    }  # fmt: skip
    rules: list[dict[str, Any]] = [
        {"not": {"required": ["phases", "tempo"]}},
        {"not": {"required": ["phases", "breathing"]}},
        {"not": {"required": ["phases", "moves"]}},
        {"if": {"required": ["estimate"]}, "then": {"properties": {"manual": {"const": True}}}},
        {
            "if": {"required": ["sides"], "properties": {"sides": {"const": "alternate"}}},
            "then": {"required": ["reps"]},
        },
    ]
    dependent = {key: [kind] for key, kind in ONLY_WITH.items()}
    dependent["hold_after"] = ["reps", "hold"]
    dependent["estimate"] = ["reps", "manual"]
    return {
        "type": "object",
        "description": "An exercise: exactly one of reps, time, hold or breaths.",
        "additionalProperties": False,
        "required": ["name"],
        "properties": {key: properties[key] for key in EXERCISE_KEYS},
        "oneOf": [
            {"required": ["reps"], **_without("time", "breaths")},
            {"required": ["time"], **_without("reps", "breaths", "hold")},
            {"required": ["hold"], **_without("reps", "time", "breaths")},
            {"required": ["breaths"], **_without("reps", "time", "hold")},
        ],
        "dependentRequired": dependent,
        "allOf": rules,
    }


def routine_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a routine file, for editors and checkers."""
    exercises = {
        "type": "array", "minItems": 1, "maxItems": MAX_EXERCISES,
        "items": {"$ref": "#/$defs/exercise"},
    }  # fmt: skip
    defaults = {
        "rest": _duration("Rest after each exercise (default 20s)."),
        "lead_in": _duration("Time to get into position (default 10s)."),
        "set_rest": _duration("Rest between sets (default 15s)."),
        "switch": _duration("Pause to switch sides (default 5s)."),
        "round_rest": _duration("Rest between a block's rounds (default 30s)."),
        "tempo": {
            "type": "array", "minItems": 1, "maxItems": MAX_PHASES,
            "items": _duration("One phase of a rep.", positive=True),
            "description": "Seconds per phase of a rep (default [2s, 2s]).",
        },
        "verbosity": {"$ref": "#/$defs/verbosity"},
        "count": {"type": "boolean", "description": "Count reps aloud (default true)."},
    }  # fmt: skip
    sound = {
        "type": "string", "minLength": 1, "maxLength": MAX_TEXT,
        "pattern": r"\.(?:[wW][aA][vV]|[fF][lL][aA][cC]|[oO][gG][gG])\s*$",
        "description": "A WAV, FLAC or OGG file, relative to the routine file.",
    }  # fmt: skip
    properties: dict[str, Any] = {
        "title": _text(MAX_NAME, "The routine's title, said at the start."),
        "description": _text(MAX_TEXT, "What the routine is for."),
        "source": _text(MAX_TEXT, "Where the routine comes from (an article, a therapist)."),
        "safety": _text(MAX_TEXT, "A safety note, said before the first exercise."),
        "language": {
            "type": "string", "maxLength": MAX_NAME, "pattern": languages.schema_pattern(),
            "description": "The coach's language, a BCP 47 tag (en, en-gb, de, pt-br): "
                           "its words, and the default voice. One of: "
                           + ", ".join(languages.available()) + " (or a variant of one).",
        },
        "voice": {
            "type": "object", "additionalProperties": False,
            "description": "Speech settings.",
            "properties": {
                "engine": {"type": "string", "enum": list(ENGINES),
                           "description": "The speech engine: espeak (default) or piper."},
                "voice": _text(MAX_NAME, "An eSpeak NG voice id, e.g. gmw/en-us; with engine "
                               "piper, a Piper voice name (en_US-joe-medium) or NAME.onnx path."),
                "language": _text(MAX_NAME, "A language, e.g. en-gb (used if voice is not given)."),
                "rate": _whole(RATES[0], RATES[1], "Words per minute (default 165)."),
                "volume": {"type": "number", "minimum": 0, "maximum": 1,
                           "description": "0 to 1 (default 1)."},
            },
        },
        "defaults": {
            "type": "object", "additionalProperties": False, "properties": defaults,
            "description": "Values every exercise inherits unless it sets them.",
        },
        "sounds": {
            "type": "object", "additionalProperties": False,
            "description": "Replace cue sounds with your own files.",
            "properties": {name: sound for name in SOUND_NAMES},
        },
        "music": {
            "type": "object", "additionalProperties": False, "required": ["path"],
            "description": "Music under the coach, ducked whenever the coach speaks "
                           "(--music on the command line replaces it).",
            "properties": {
                "path": _text(MAX_TEXT, "An audio file (WAV, FLAC, Ogg, Opus, MP3) or a folder "
                              "of them, relative to the routine file; looped to fill the "
                              "session."),
                "level": {"type": "number", "minimum": MUSIC_LEVEL_RANGE[0],
                          "maximum": MUSIC_LEVEL_RANGE[1],
                          "description": "How far the music sits under the speech, in LU "
                                         "(default 12)."},
            },
        },
        "blocks": {
            "type": "array", "minItems": 1, "items": {"$ref": "#/$defs/block"},
            "description": "Parts of the session (warm-up, main, cool-down).",
        },
        "exercises": {**exercises, "description": "The exercises (without blocks)."},
    }  # fmt: skip
    block = {
        "type": "object", "additionalProperties": False, "required": ["name", "exercises"],
        "properties": {
            "name": _text(MAX_NAME, "The block's name ('Warm-up')."),
            "rounds": _whole(1, MAX_SETS, "How many times the block is done (default 1)."),
            "round_rest": _duration("Rest between rounds (default 30s)."),
            "exercises": {**exercises, "description": "The block's exercises."},
        },
    }  # fmt: skip
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "voicecoach routine",
        "description": "A voice-guided workout for voicecoach (see docs/routines.md).",
        "type": "object",
        "additionalProperties": False,
        "required": ["title"],
        "properties": {key: properties[key] for key in TOP_KEYS},
        "oneOf": [{"required": ["blocks"]}, {"required": ["exercises"]}],
        "$defs": {
            "duration": {
                "description": _DURATION_TEXT + " 0 to 4h.",
                "anyOf": [
                    {"type": "number", "minimum": 0, "maximum": MAX_DURATION},
                    {"type": "string", "pattern": DURATION_PATTERN},
                ],
            },
            "positive_duration": {
                "description": _DURATION_TEXT + " Longer than 0, at most 4h.",
                "anyOf": [
                    {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_DURATION},
                    {"type": "string", "pattern": _POSITIVE_PATTERN},
                ],
            },
            "verbosity": {
                "enum": list(VERBOSITIES),
                "description": "How much the coach says: full, normal or minimal.",
            },
            "block": block,
            "exercise": _exercise(),
        },
    }
