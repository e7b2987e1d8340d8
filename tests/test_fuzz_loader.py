"""Hypothesis: whatever the text or bytes, the loader returns a Routine or raises one of
the package's own errors, each problem on one line: never a traceback."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicecoach.errors import RoutineError, VoicecoachError
from voicecoach.model import Routine
from voicecoach.routine import load_text
from voicecoach.schema import BLOCK_KEYS, EXERCISE_KEYS, PHASE_KEYS, TOP_KEYS, VOICE_KEYS

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


def check(text: str | bytes) -> None:
    try:
        result = load_text(text, "fuzz.yaml")
    except RoutineError as err:
        assert 1 <= len(err.problems) <= 20
        for problem in err.problems:
            assert "\n" not in problem.message
            assert problem.line >= 1 and problem.column >= 1
            assert str(problem).startswith("fuzz.yaml:")
    except VoicecoachError:
        raise AssertionError("load_text raises only RoutineError") from None
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
