"""The malformed-routine corpus: every file fails with exactly its expected lines.

Each file in tests/malformed/ starts with one ``# expect: LINE:COL: message`` comment per
problem the loader must report (in order); the test prefixes them with the path as
given and compares with ``str(RoutineError)`` exactly. Files too big to commit are made
here, at run time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from voicecoach.errors import RoutineError
from voicecoach.routine.loader import load, load_text

CORPUS = Path(__file__).parent / "malformed"
FILES = sorted(CORPUS.glob("*.yaml"))
PREFIX = b"# expect: "


def expected_lines(path: Path) -> list[str]:
    lines = []
    for line in path.read_bytes().splitlines():
        if not line.startswith(PREFIX):
            break
        lines.append(f"{path}:{line[len(PREFIX) :].decode()}")
    return lines


def load_error(ref: str) -> str:
    with pytest.raises(RoutineError) as info:
        load(ref)
    return str(info.value)


def test_the_corpus_is_large() -> None:
    assert len(FILES) >= 45


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_malformed_file(path: Path) -> None:
    expected = expected_lines(path)
    assert expected, f"{path.name} must start with '# expect: LINE:COL: message'"
    assert load_error(str(path)) == "\n".join(expected)


def test_problem_lines_are_single_lines_with_positions() -> None:
    for path in FILES:
        with pytest.raises(RoutineError) as info:
            load(str(path))
        for problem in info.value.problems:
            assert "\n" not in problem.message and "Traceback" not in problem.message
            assert problem.line >= 1 and problem.column >= 1


def test_at_most_twenty_problems_are_reported() -> None:
    with pytest.raises(RoutineError) as info:
        load(str(CORPUS / "many_problems.yaml"))
    assert len(info.value.problems) == 20


def test_a_one_megabyte_string(tmp_path: Path) -> None:
    path = tmp_path / "long.yaml"
    path.write_text(
        "title: Long\ndescription: " + "x" * 1_000_000 + "\nexercises: [{name: A, time: 5}]\n"
    )
    assert load_error(str(path)) == (
        f"{path}:2:14: description is too long: 1000000 characters (the limit is 2000)"
    )


def test_a_file_over_one_mebibyte(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    data = b"title: Huge\n# " + b"x" * (1 << 20) + b"\nexercises: [{name: A, time: 5}]\n"
    path.write_bytes(data)
    message = f"1:1: the file is too large: {len(data)} bytes (the limit is 1 MiB)"
    assert load_error(str(path)) == f"{path}:{message}"
    with pytest.raises(RoutineError) as info:
        load_text(data, "huge.yaml")
    assert str(info.value) == f"huge.yaml:{message}"
    with pytest.raises(RoutineError) as info:
        load_text(data.decode(), "huge.yaml")
    assert str(info.value) == f"huge.yaml:{message}"


def test_multibyte_text_over_one_mebibyte_when_encoded() -> None:
    text = "title: " + "é" * 600_000 + "\n"  # 600,000 characters, 1.2 MB as UTF-8
    with pytest.raises(RoutineError) as info:
        load_text(text, "r.yaml")
    size = len(text.encode())
    assert (
        str(info.value) == f"r.yaml:1:1: the file is too large: {size} bytes (the limit is 1 MiB)"
    )


def test_relative_path_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS.parent)
    assert load_error("malformed/reps_zero.yaml") == (
        "malformed/reps_zero.yaml:5:11: reps must be a whole number from 1 to 1000, not 0"
    )
