"""Every third-party package the code imports is declared in pyproject.toml.

A library that is only installed by chance (a dependency of a dependency, or of the
dev tools) works here and breaks on a user's machine. Imports are collected from the
source with ``ast``, those inside functions included (the heavy libraries are all
imported lazily), and ``importlib.import_module("...")`` calls with a literal or an
f-string that starts with the module's name.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "voicecoach"


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def declared() -> set[str]:
    """The distributions [project.dependencies] names (whatever their markers), and the
    optional extras users install (``piper``), not the developers' (``dev``)."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    deps = list(project["dependencies"])
    for extra, more in project.get("optional-dependencies", {}).items():
        if extra != "dev":
            deps += more
    names = set()
    for dep in deps:
        found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", dep)
        assert found, f"cannot read the dependency {dep!r}"
        names.add(_normalized(found.group(1)))
    return names


def _dynamic(node: ast.Call) -> str | None:
    """The module an ``importlib.import_module(...)`` call names, if it can be read."""
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr == "import_module" and node.args):
        return None
    arg = node.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr) and arg.values:  # f"scipy.{module}"
        head = arg.values[0]
        if isinstance(head, ast.Constant) and isinstance(head.value, str) and head.value:
            return head.value
    return None


def imported(source: str) -> Iterator[str]:
    """The top-level names of the absolute imports anywhere in ``source``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and (module := _dynamic(node)) is not None:
            names = [module]
        else:
            continue
        for name in names:
            if top := name.split(".")[0]:
                yield top


def third_party(source: str) -> set[str]:
    ours = {*sys.stdlib_module_names, "voicecoach"}
    return {top for top in imported(source) if top not in ours}


def test_the_collector_sees_lazy_and_dynamic_imports() -> None:
    source = (
        "import os, numpy.typing as npt\n"
        "from . import sibling\n"
        "from voicecoach.core import model\n"
        "def f():\n"
        "    from mutagen.flac import FLAC\n"
        "    import importlib\n"
        "    importlib.import_module(f'scipy.{name}')\n"
        "    importlib.import_module('soxr')\n"
    )
    assert third_party(source) == {"numpy", "mutagen", "scipy", "soxr"}


def test_every_imported_package_is_declared() -> None:
    wanted = declared()
    providers = importlib.metadata.packages_distributions()
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for top in sorted(third_party(path.read_text(encoding="utf-8"))):
            # An import name not installed at all is looked for under its own name.
            dists = {_normalized(d) for d in providers.get(top, [top])}
            if not dists & wanted:
                where = path.relative_to(ROOT)
                missing.append(f"{where}: {top} (distribution {', '.join(sorted(dists))})")
    assert not missing, "imported but not in [project.dependencies] or an extra:\n" + "\n".join(
        missing
    )
