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


# --- YAML syntax errors in plain words: one test per kind, at the place to change --------

# PyYAML's own wording, which must never reach the user.
PYYAML_WORDS = (
    "mapping values are not allowed",
    "expected <",
    "while scanning",
    "while parsing",
    "found character",
    "cannot start any token",
    "could not find expected",
    "found unexpected",
    "but found",
    "but got",
    "invalid YAML",
)


def syntax_error(text: str) -> str:
    with pytest.raises(RoutineError) as info:
        load_text(text, "r.yaml")
    message = str(info.value)
    assert not [words for words in PYYAML_WORDS if words in message], message
    return message


def test_a_tab_used_for_indentation() -> None:
    text = "title: Test\nexercises:\n  - name: Bridge\n\treps: 3\n"
    assert (
        syntax_error(text) == "r.yaml:4:1: this line is indented with a tab: use spaces, not tabs"
    )


def test_a_tab_after_the_indentation_spaces() -> None:
    text = "title: Test\nexercises:\n  - name: Bridge\n  \treps: 3\n"
    assert (
        syntax_error(text) == "r.yaml:4:3: this line is indented with a tab: use spaces, not tabs"
    )


def test_a_tab_after_a_colon() -> None:
    assert syntax_error("title:\tTest\n") == "r.yaml:1:7: a tab here: use spaces, not tabs"


def test_unquoted_text_with_a_colon() -> None:
    # Points at the start of the text, where the opening quote goes.
    text = "title: Test\nexercises:\n  - name: Bridge\n    cue: Lift: slowly\n    reps: 3\n"
    assert syntax_error(text) == "r.yaml:4:10: put quotes around text that contains a colon"


def test_a_colon_in_a_closed_flow_list() -> None:
    assert syntax_error("title: [a: b: c]\n") == (
        "r.yaml:1:13: put quotes around text that contains a colon"
    )


def test_a_key_indented_more_than_the_one_above() -> None:
    text = "title: Test\nexercises:\n  - name: Bridge\n     reps: 3\n"
    assert syntax_error(text) == (
        "r.yaml:4:6: 'reps' should line up with 'name' on line 3 (indent it 4 spaces)"
    )


def test_a_key_indented_less_than_the_one_above() -> None:
    text = "title: Test\nexercises:\n  - name: Bridge\n    reps: 3\n   rest: 5\n"
    assert syntax_error(text) == (
        "r.yaml:5:4: 'rest' should line up with 'reps' on line 4 (indent it 4 spaces)"
    )


def test_a_top_level_key_indented() -> None:
    assert syntax_error("title: Test\n exercises: []\n") == (
        "r.yaml:2:2: 'exercises' should line up with 'title' on line 1 (no spaces before it)"
    )


def test_a_list_entry_that_does_not_line_up() -> None:
    text = "title: Test\nexercises:\n  - name: A\n    time: 3\n - name: B\n   time: 3\n"
    assert syntax_error(text) == (
        "r.yaml:5:2: this '-' should line up with the '-' on line 3 (indent it 2 spaces)"
    )


def test_an_unclosed_quote_points_where_it_opens() -> None:
    text = "title: Test\nexercises:\n  - name: 'Bridge\n    reps: 3\n  - name: B\n    time: 4\n"
    assert syntax_error(text) == (
        "r.yaml:3:11: the quote ' opened here is never closed: add a closing '"
    )


def test_an_unclosed_double_quote_before_a_document_separator() -> None:
    assert syntax_error('title: "Test\n---\nx\n') == (
        'r.yaml:1:8: the quote " opened here is never closed: add a closing "'
    )


def test_an_unclosed_bracket_points_where_it_opens() -> None:
    text = "title: Test\nexercises: [\n  {name: A, time: 3},\n  {name: B, time: 3}\n"
    assert syntax_error(text) == "r.yaml:2:12: the '[' opened here is never closed: add ']'"


def test_an_unclosed_brace_points_where_it_opens() -> None:
    text = "title: Test\nexercises:\n  - {name: A, time: 3\n  - name: B\n    time: 3\n"
    assert syntax_error(text) == "r.yaml:3:5: the '{' opened here is never closed: add '}'"


def test_a_missing_space_after_a_colon() -> None:
    assert syntax_error("title:Test\nexercises: []\n") == "r.yaml:1:7: put a space after the colon"


def test_a_missing_space_after_a_dash() -> None:
    text = "title: Test\nexercises:\n  -name: A\n   time: 3\n"
    assert syntax_error(text) == "r.yaml:3:4: put a space after the '-' of a list entry"


def test_a_key_without_its_colon() -> None:
    text = "title: Test\nexercises:\n  - name: A\n    time\n"
    assert syntax_error(text) == (
        "r.yaml:4:5: add a colon after the key (key: value), or '- ' before a list entry"
    )


def test_text_after_a_closing_quote() -> None:
    assert syntax_error('title: "Test" extra\nexercises: []\n') == (
        "r.yaml:1:15: text after a closing quote: put the whole text inside the quotes"
    )


def test_a_reserved_character_starting_text() -> None:
    assert syntax_error("title: @home\n") == (
        "r.yaml:1:8: text cannot start with '@': put quotes around it"
    )


def test_a_backslash_in_double_quotes() -> None:
    assert syntax_error('title: "a\\qb"\n') == (
        "r.yaml:1:10: a backslash in double quotes starts an escape such as \\n: "
        "write \\\\ for a backslash, or use single quotes"
    )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("title: |x\n  a\n", "1:9"),  # a block scalar's bad indicator
        ("title: & Test\n", "1:9"),  # an anchor without a name
        ("title: !<x Test\n", "1:11"),  # an unclosed verbatim tag
        ("title: Test\n%YAML 1.1\n", "3:1"),  # a directive without a document
    ],
)
def test_other_syntax_errors_in_plain_words_at_pyyamls_mark(text: str, where: str) -> None:
    assert syntax_error(text) == (
        f"r.yaml:{where}: this is not valid YAML: "
        "check the quotes, colons, brackets and indentation here"
    )


def test_a_list_entry_after_a_key_on_the_same_line() -> None:
    assert syntax_error("title: Test\nexercises: - name: A\n") == (
        "r.yaml:2:12: a list entry ('- ') must start a line of its own"
    )


def test_a_key_with_a_space_and_text_with_a_colon() -> None:
    text = "title: Test\nexercises:\n  - name: Box breathing\n    my cue: Lift: slowly\n"
    assert syntax_error(text) == "r.yaml:4:13: put quotes around text that contains a colon"
