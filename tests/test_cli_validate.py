"""`voicecoach validate` and `voicecoach schema`: exact output lines and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from voicecoach.cli import cli
from voicecoach.routine.schema import routine_schema

MALFORMED = Path(__file__).parent / "malformed"
VALID = "title: T\nexercises:\n  - {name: Bridge, reps: 10, moves: [hips up, lower]}\n"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("good.yaml").write_text(VALID)
    Path("bad.yaml").write_text("title: T\nexercises:\n  - {name: Bridge, reps: five, rps: 2}\n")
    return tmp_path


def test_valid_file(folder: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", "good.yaml"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "good.yaml: ok\n", "")


def test_reps_with_no_movement_word_are_a_warning(folder: Path) -> None:
    Path("bare.yaml").write_text("title: T\nexercises:\n  - {name: Bridge, reps: 10}\n")
    result = CliRunner().invoke(cli, ["validate", "bare.yaml"])
    assert (result.exit_code, result.stdout) == (0, "bare.yaml: ok\n")
    assert result.stderr == (
        "bare.yaml:3:5: warning: Bridge: its reps say no movement word, only the count and"
        " the breath; name the movement with moves: [...] next to tempo (or say: in phases)\n"
    )


def test_invalid_file_prints_every_problem(folder: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", "bad.yaml"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "bad.yaml:3:26: reps must be a whole number from 1 to 1000, not 'five'\n"
        "bad.yaml:3:32: unknown key 'rps' in an exercise (did you mean 'reps'?)\n"
    )


def test_several_files_all_checked(folder: Path) -> None:
    result = CliRunner().invoke(
        cli, ["validate", "good.yaml", "nope.yaml", "bad.yaml", "good.yaml"]
    )
    assert result.exit_code == 1
    assert result.stdout == "good.yaml: ok\ngood.yaml: ok\n"
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: no routine file or bundled routine named 'nope.yaml'")
    assert lines[1:] == [
        "bad.yaml:3:26: reps must be a whole number from 1 to 1000, not 'five'",
        "bad.yaml:3:32: unknown key 'rps' in an exercise (did you mean 'reps'?)",
    ]


def test_missing_file_alone_exits_1(folder: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", "nope.yaml"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: no routine file or bundled routine named 'nope.yaml'")
    assert result.stderr.count("\n") == 1


def test_bundled_name() -> None:
    result = CliRunner().invoke(cli, ["validate", "back-strength"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "back-strength: ok\n", "")


def test_corpus_file_through_the_cli() -> None:
    path = str(MALFORMED / "several_problems.yaml")
    result = CliRunner().invoke(cli, ["validate", path])
    assert result.exit_code == 1
    assert result.stderr == (
        f"{path}:7:9: rest must be a duration like 30, '30s', '1m30s' or '0:45', not 'soon'\n"
        f"{path}:10:11: reps must be a whole number from 1 to 1000, not 0\n"
        f"{path}:14:13: switch must be 0 seconds or more, not -1\n"
        f"{path}:17:16: breathing has 3 entries but the tempo has 2 phases\n"
    )


def test_no_file_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 2
    assert "Missing argument 'FILE...'" in result.stderr


def test_schema_prints_the_json_schema() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    assert result.stderr == ""
    assert json.loads(result.stdout) == routine_schema()
    assert result.stdout.startswith(
        '{\n  "$schema": "https://json-schema.org/draft/2020-12/schema",'
    )


def test_schema_output_is_the_docs_copy() -> None:
    shipped = Path(__file__).parent.parent / "docs" / "routine.schema.json"
    assert CliRunner().invoke(cli, ["schema"]).stdout == shipped.read_text(encoding="utf-8")


def test_cue_that_cannot_fit_is_a_warning_with_its_line(folder: Path) -> None:
    # Real speech: the set-up takes several seconds to say, the lead-in allows two.
    Path("tight.yaml").write_text(
        "title: T\n"
        "exercises:\n"
        "  - name: Bridge\n"
        "    reps: 3\n"
        "    moves: [hips up, lower]\n"
        "    lead_in: 2\n"
        "    setup: Lie on your back with your knees bent and your feet flat on the floor,"
        " hip-width apart, arms long by your sides.\n"
    )
    result = CliRunner().invoke(cli, ["validate", "tight.yaml"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "tight.yaml: ok\n"
    (line,) = result.stderr.splitlines()
    assert line.startswith("tight.yaml:3:5: warning: Bridge: the lead-in needs ")
    assert line.endswith("longer than its 2 s; it was made longer")
