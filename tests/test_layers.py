"""The layers contract (import-linter, configured in pyproject.toml) holds, and it can fail:
a copy of the package with one import running the wrong way breaks it, lazy or not."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_of_package(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(
        ROOT / "voicecoach", tree / "voicecoach", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_package_keeps_every_contract(tmp_path: Path) -> None:
    result = lint(copy_of_package(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # the core reaching up into an adapter, at the top of a module
        ("core/timeline.py", "from voicecoach.adapters import store\n", "Layers"),
        # a use case importing an adapter lazily, inside a function
        (
            "app/session.py",
            "def _f() -> None:\n    from voicecoach.adapters import speech\n",
            "Layers",
        ),
        # the core importing a library with I/O
        ("core/durations.py", "import sqlite3\n", "The core does no I/O"),
    ],
)
def test_an_import_the_wrong_way_breaks_a_contract(
    tmp_path: Path, module: str, line: str, broken: str
) -> None:
    tree = copy_of_package(tmp_path)
    path = tree / "voicecoach" / module
    path.write_text(path.read_text() + "\n" + line)
    result = lint(tree)
    assert result.returncode == 1, result.stdout
    lines = result.stdout.splitlines()
    assert any(s.startswith(broken) and s.endswith("BROKEN") for s in lines), result.stdout


def test_test_modules_do_not_import_each_other() -> None:
    # Shared helpers live in tests/fakes.py, strategies.py, audiocheck.py, pulse.py and
    # terminal.py; a test module importing another one runs its tests' imports twice
    # and ties unrelated tests together.
    offenders = [
        f"{path.name}: {line.strip()}"
        for path in sorted((ROOT / "tests").glob("test_*.py"))
        for line in path.read_text().splitlines()
        if line.lstrip().startswith(("from tests.test_", "import tests.test_"))
    ]
    assert offenders == []
