"""Hypothesis: whatever the text or bytes, the loader returns a Routine or raises one of
the package's own errors, each problem on one line: never a traceback.

Text and bytes go through ``load_text`` (what ``load`` hands a file's bytes to), files
through ``load`` itself, and files through ``voicecoach validate``, as a user's would.
Bounded: a few seconds in all.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicecoach.cli import cli
from voicecoach.core.model import Routine
from voicecoach.errors import RoutineError, VoicecoachError
from voicecoach.routine.loader import load, load_text
from voicecoach.routine.schema import BLOCK_KEYS, EXERCISE_KEYS, PHASE_KEYS, TOP_KEYS, VOICE_KEYS

# PyYAML's wording, which the loader translates into plain words (see test_malformed).
PYYAML_WORDS = (
    "mapping values",
    "expected <",
    "while scanning",
    "while parsing",
    "found character",
    "could not find expected",
    "found unexpected",
    "but found",
    "but got",
    "invalid YAML",
)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VALID = """title: Fuzz
voice: {language: en-gb, rate: 150}
defaults: {rest: 10s, tempo: [2s, 2s]}
blocks:
  - name: Main
    rounds: 2
    exercises:
      - &a {name: Bridge, reps: 10, hold: 3s, hold_after: 1, breathing: [out, in]}
      - {name: March, time: 1:30, sides: both}
      - name: Breaths
        breaths: 5
        inhale: 4s
        say: {start: "{exercise}, {reps}"}
      - <<: *a
        name: Bird-dog
        reps: 8
      - {name: Cat-cow, reps: 5, phases: [{time: 2s, breath: in, say: up}, {time: 2s}]}
"""


def check(text: str | bytes, path: str | None = None) -> None:
    """Load ``text`` (or, given ``path``, the file there, holding it)."""
    name = path or "fuzz.yaml"
    source = text if isinstance(text, str) else text.decode("utf-8", "replace")
    try:
        result = load(path) if path is not None else load_text(text, name)
    except RoutineError as err:
        assert 1 <= len(err.problems) <= 20
        for problem in err.problems:
            assert "\n" not in problem.message
            words = [w for w in PYYAML_WORDS if w in problem.message]
            assert not [w for w in words if w not in source], problem.message  # unless quoted
            assert problem.line >= 1 and problem.column >= 1
            assert str(problem).startswith(f"{name}:")
    except VoicecoachError:
        raise AssertionError("the loader raises only RoutineError") from None
    else:
        assert isinstance(result, Routine)


def test_the_valid_seed_loads() -> None:
    assert len(load_text(VALID, "fuzz.yaml").exercises) == 5


@FUZZ
@given(st.text(max_size=300))
def test_any_text(text: str) -> None:
    check(text)


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes(data: bytes) -> None:
    check(data)


KEYS = [*sorted(set(TOP_KEYS + VOICE_KEYS + BLOCK_KEYS + EXERCISE_KEYS + PHASE_KEYS)), "<<", "x"]
VALUES = ["1", "0", "-1", "2.5", "1e9", "true", "null", "~", "''", "five", "30s", "1:30", "0:45",
          "5h", "[in, out]", "[2s, 2s]", "[left, right]", "both", "alternate", "{}", "[]",
          "&a x", "*a", "&b {name: B, reps: 1}", "*b", "!!python/name:os.system", "!x 1",
          "'{rep} {x} {'", ".nan", "0x_", "._", "1_000", "!!binary aGk=", "[*a, *a]", "|\n  text",
          "\"\\0.wav\"", "{<<: *b}"]  # fmt: skip
line = st.tuples(
    st.sampled_from(["", "  ", "    ", "  - ", "    - ", "      ", "- "]),
    st.sampled_from(KEYS),
    st.sampled_from(["", *VALUES]),
).map(lambda t: f"{t[0]}{t[1]}: {t[2]}")


@FUZZ
@given(st.lists(line, min_size=1, max_size=25))
def test_routine_shaped_yaml(lines: list[str]) -> None:
    check("\n".join(lines) + "\n")


@FUZZ
@given(
    st.lists(
        st.tuples(st.integers(0, len(VALID)), st.integers(0, 12), st.sampled_from(["", *VALUES])),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_valid_routine(edits: list[tuple[int, int, str]]) -> None:
    text = VALID
    for at, cut, insert in edits:
        text = text[:at] + insert + text[at + cut :]
    check(text)


# Bytes: invalid UTF-8, NULs, a BOM, UTF-16, cut multi-byte characters: in any text.
raw = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.text(max_size=100).map(lambda t: t.encode("utf-16")),
    st.text(max_size=200).map(lambda t: b"\xef\xbb\xbf" + t.encode("utf-8", "surrogatepass")),
)


@FUZZ
@given(
    st.lists(
        st.tuples(st.integers(0, len(VALID.encode())), st.integers(0, 8), st.binary(max_size=6)),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_valid_routine_bytes(edits: list[tuple[int, int, bytes]]) -> None:
    data = VALID.encode()
    for at, cut, insert in edits:
        data = data[:at] + insert + data[at + cut :]
    check(data)


@FUZZ
@given(raw)
def test_any_file(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yaml"
        path.write_bytes(data)
        check(data, str(path))


LINE = re.compile(r"^.+:\d+:\d+: .+$")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw)
def test_validate_command_on_any_file(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yaml"
        path.write_bytes(data)
        # The cache is private in case a file happens to load (its cues are then spoken).
        env = {"VOICECOACH_CACHE_DIR": str(Path(tmp) / "cache")}
        result = CliRunner().invoke(cli, ["validate", str(path)], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 1)
    if result.exit_code == 1:
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert lines and all(line.startswith(f"{path}:") and LINE.match(line) for line in lines)
    else:
        assert result.stdout.startswith(f"{path}: ok")
