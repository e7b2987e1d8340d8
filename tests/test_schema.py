"""The JSON Schema: valid draft 2020-12, shipped, and accepting what the loader accepts
(as far as JSON Schema can say it; see voicecoach/routine/schema.py for what it cannot)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicecoach.core.model import LINE_MOMENTS
from voicecoach.errors import RoutineError
from voicecoach.routine import resources
from voicecoach.routine.loader import load, load_text
from voicecoach.routine.schema import (
    BLOCK_KEYS,
    DEFAULT_KEYS,
    EXERCISE_KEYS,
    PHASE_KEYS,
    TOP_KEYS,
    VOICE_KEYS,
    routine_schema,
)

ROOT = Path(__file__).parent.parent
SCHEMA = routine_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
DOCS = ROOT / "docs" / "routines.md"

# Malformed files whose problem JSON Schema cannot see (the loader does).
NOT_EXPRESSIBLE = {
    "breathing_length": "a list as long as another list",
    "duplicate_key": "YAML parsers keep the last of duplicate keys",
    "duplicate_title": "YAML parsers keep the last of duplicate keys",
    "duration_nan": "NaN compares false with every bound",
    "duration_over_4h": "the length of a duration string",
    "hold_after_out_of_range": "a bound set by another list's length",
    "session_over_24h": "a sum over the whole file",
    "sets_whole_float": "JSON Schema's integer includes 3.0",
    "sound_missing_file": "files on disk",
}


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_keys_are_the_loaders_keys() -> None:
    defs = SCHEMA["$defs"]
    assert tuple(SCHEMA["properties"]) == TOP_KEYS
    assert tuple(SCHEMA["properties"]["voice"]["properties"]) == VOICE_KEYS
    assert tuple(SCHEMA["properties"]["defaults"]["properties"]) == DEFAULT_KEYS
    assert tuple(defs["block"]["properties"]) == BLOCK_KEYS
    assert tuple(defs["exercise"]["properties"]) == EXERCISE_KEYS
    assert tuple(defs["exercise"]["properties"]["phases"]["items"]["properties"]) == PHASE_KEYS
    assert tuple(defs["exercise"]["properties"]["say"]["properties"]) == LINE_MOMENTS


def test_every_property_is_described() -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            described = node.get("type") == "object"  # not the if/then rules
            for key, value in node.get("properties", {}).items() if described else ():
                assert value.get("description") or "$ref" in value, f"{where}.{key}"
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    walk(SCHEMA, "schema")


def test_the_docs_copy_is_current() -> None:
    shipped = (ROOT / "docs" / "routine.schema.json").read_text(encoding="utf-8")
    assert shipped == json.dumps(SCHEMA, indent=2, ensure_ascii=False) + "\n", (
        "regenerate it: voicecoach schema > docs/routine.schema.json"
    )


def test_bundled_routines_validate() -> None:
    bundled = resources.bundled_routines()
    assert bundled, "scripts/ holds the bundled routines"
    for name, path in bundled.items():
        load(name)
        errors = [e.message for e in VALIDATOR.iter_errors(yaml.safe_load(path.read_bytes()))]
        assert errors == [], name


def docs_examples() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)


def test_docs_examples_load_and_validate(tmp_path: Path) -> None:
    examples = docs_examples()
    assert len(examples) >= 10
    for number, text in enumerate(examples, 1):
        data = yaml.safe_load(text)
        if not (isinstance(data, dict) and "title" in data):
            continue  # a fragment, not a whole routine
        for sound in (data.get("sounds") or {}).values():
            (tmp_path / sound).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / sound).write_bytes(b"")
        if isinstance(data.get("music"), dict):  # a folder of music, as the example names
            (tmp_path / data["music"]["path"]).mkdir(parents=True, exist_ok=True)
        load_text(text, str(tmp_path / f"example{number}.yaml"))
        assert [e.message for e in VALIDATOR.iter_errors(data)] == [], f"example {number}"


def test_malformed_files_fail_the_schema_too() -> None:
    checked = 0
    for path in sorted((ROOT / "tests" / "malformed").glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_bytes())
        except yaml.YAMLError:
            continue  # not YAML, or a tag no safe loader builds: no data to check
        checked += 1
        assert VALIDATOR.is_valid(data) == (path.stem in NOT_EXPRESSIBLE), path.stem
    assert checked >= 60


@pytest.mark.parametrize(
    "data",
    [
        {"title": "T"},
        {"title": "T", "exercises": [], "blocks": []},
        {"title": "T", "exercises": [{"name": "A"}]},
        {"title": "T", "exercises": [{"name": "A", "reps": 5, "time": 30}]},
        {"title": "T", "exercises": [{"name": "A", "time": "30s", "tempo": [2, 2]}]},
        {"title": "T", "exercises": [{"name": "A", "hold": 5, "sides": "alternate"}]},
        {"title": "T", "exercises": [{"name": "A", "reps": 5, "estimate": 30}]},
        {"title": "T", "exercises": [{"name": "A", "reps": 5, "say": {"rep": "{count}"}}]},
        {"title": "T", "exercises": [{"name": "A", "reps": True}]},
        {"title": "T", "exercises": [{"name": "A", "time": "1x"}]},
        {"title": "T", "exercises": [{"name": "A", "time": "0s"}]},
        {"title": "T", "rate": 150, "exercises": [{"name": "A", "time": 5}]},
    ],
)
def test_invalid_documents_fail(data: dict[str, Any]) -> None:
    assert not VALIDATOR.is_valid(data)
    with pytest.raises(RoutineError):
        load_text(yaml.safe_dump(data), "r.yaml")


# --- the loader and the schema agree on generated documents ----------------------------

# What the schema cannot say (see NOT_EXPRESSIBLE): the loader may reject these alone.
LOADER_ONLY = ("breathing has ", "hold_after must be a whole number from 1 to ",
               "the session is too long")  # fmt: skip


def pick(valid: list[Any], invalid: list[Any]) -> st.SearchStrategy[Any]:
    """Mostly valid values (so that whole documents are often valid), sometimes not."""
    return st.sampled_from(valid * 12 + invalid)


names = pick(["Bridge", "{rep}", "x" * 200], ["", " ", "x" * 201, 5, True, None])
texts = pick(["Lie down.", "x" * 2000], ["", " ", "x" * 2001, 5, None])
wholes = pick([1, 3], [0, -1, 101, 1001, 2.5, "five", True, None])
durations = pick([0, 2.5, 30, "30s", "0s", "1m30s", "0:45", "1:02:03"],
                 [-1, 14401, "abc", "1x", "", "-3s", True, None, [1]])  # fmt: skip
positive = pick([2.5, 30, "30s", "1m30s", "0:45", "0.5s"], [0, "0s", "0:00", -1, "1x", None])
tempos = st.one_of(st.lists(positive, min_size=1, max_size=3), pick([[2, 2]], [[], "2s", 2]))
breathing = st.one_of(
    st.lists(pick(["in", "out", "hold", None], ["inhale", 1]), min_size=1, max_size=3),
    pick([["in", "out"]], [[], "in"]),
)
templates = pick(["{rep} of {reps}", "Go, {exercise}!", "}}{{"], ["{x}", "{", "{rep:2}", "", 3])
phases = st.one_of(
    st.lists(
        st.fixed_dictionaries(
            {"time": positive},
            optional={"breath": pick(["in", "out", "hold"], ["up", None]), "say": names},
        ),
        min_size=1, max_size=3,
    ),
    pick([[{"time": 2}]], [[], [{"breath": "in"}], [{"time": 1, "bogus": 1}]]),
)  # fmt: skip
values: dict[str, st.SearchStrategy[Any]] = {
    "setup": texts, "cue": texts, "reps": wholes, "time": positive, "hold": positive,
    "breaths": wholes, "tempo": tempos, "breathing": breathing, "phases": phases,
    "hold_after": pick([1, 2], [0, "x", 21]), "manual": pick([True, False], [1]),
    "estimate": positive, "inhale": positive, "exhale": positive, "hold_breath": positive,
    "sides": pick(["both", ["left", "right"], ["right", "left"], "alternate"],
                  ["left", ["left"], 1]),
    "switch": durations, "sets": wholes, "set_rest": durations, "rest": durations,
    "lead_in": durations, "verbosity": pick(["full", "normal", "minimal"], ["loud", None]),
    "count": pick([True, False], ["yes please", 1]),
    "say": st.dictionaries(pick(list(LINE_MOMENTS), ["begin"]), templates, max_size=2),
    "rounds": wholes, "round_rest": durations,
}  # fmt: skip
kind_keys = {"reps": ["tempo", "breathing", "phases", "hold", "hold_after", "manual", "estimate"],
             "time": [], "hold": [], "breaths": ["inhale", "exhale", "hold_breath"]}  # fmt: skip
common = ["setup", "cue", "sides", "switch", "sets", "set_rest", "rest", "lead_in", "verbosity",
          "count", "say"]  # fmt: skip
# Keys that a document of one kind may wrongly carry.
strays = pick([{}], [{"time": 30}, {"reps": 5}, {"hold": 5}, {"breaths": 3}, {"tempo": [1]},
                     {"inhale": 4}, {"estimate": 30}, {"rounds": 2}, {"bogus": 1}])  # fmt: skip


@st.composite
def exercises(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(list(kind_keys)))
    keys = kind_keys[kind] + common
    exercise = draw(st.fixed_dictionaries(
        {"name": names, kind: values[kind]},
        optional={key: values[key] for key in draw(st.lists(st.sampled_from(keys), max_size=4))},
    ))  # fmt: skip
    return {**exercise, **draw(strays)}


exercise_lists = st.one_of(st.lists(exercises(), min_size=1, max_size=3), pick([[]], [{}, 1]))
blocks = st.lists(
    st.fixed_dictionaries(
        {"name": names, "exercises": exercise_lists},
        optional={"rounds": wholes, "round_rest": durations},
    ),
    min_size=1,
    max_size=2,
)
any_documents = st.fixed_dictionaries(
    {"title": names},
    optional={
        "description": texts, "safety": texts,
        "language": pick(["en", "en-gb", "EN_us", "en-x-coach"], ["xx", "eng", "", "en-", 1]),
        "voice": st.fixed_dictionaries({}, optional={
            "voice": names, "language": names, "rate": pick([80, 165, 400], [79, 401, 1.5]),
            "volume": pick([0, 1, 0.5], [2, -0.1, True])}),
        "defaults": st.fixed_dictionaries({}, optional={
            key: values.get(key, durations) for key in DEFAULT_KEYS}),
        "exercises": exercise_lists, "blocks": blocks,
    },
)  # fmt: skip


def with_exercises(doc: dict[str, Any]) -> dict[str, Any]:
    return doc if "exercises" in doc or "blocks" in doc else {**doc, "exercises": []}


documents = any_documents.map(with_exercises)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_loader_and_schema_agree(data: dict[str, Any]) -> None:
    text = yaml.safe_dump(data, sort_keys=False)
    schema_ok = VALIDATOR.is_valid(yaml.safe_load(text))
    try:
        load_text(text, "generated.yaml")
    except RoutineError as err:
        if schema_ok:  # only what the schema cannot say may be caught by the loader alone
            messages = [p.message for p in err.problems]
            assert all(m.startswith(LOADER_ONLY) for m in messages), (text, messages)
    else:
        assert schema_ok, (text, [e.message for e in VALIDATOR.iter_errors(data)])
