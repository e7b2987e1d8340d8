"""Where the bundled routine scripts and cue sounds live.

In a wheel they are inside the package (``voicecoach/scripts``, ``voicecoach/sounds``);
in a source checkout (editable install, tests) they are the repository's top-level
``scripts/`` and ``sounds/`` folders.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def _find(name: str) -> Path:
    inside = _PACKAGE / name
    if inside.is_dir():
        return inside
    return _PACKAGE.parent / name


def scripts_dir() -> Path:
    return _find("scripts")


def sounds_dir() -> Path:
    return _find("sounds")


DEFAULT_ROUTINE = "back-strength"


def bundled_routines() -> dict[str, Path]:
    """Bundled routine name -> path, sorted by name."""
    folder = scripts_dir()
    if not folder.is_dir():
        return {}
    # By the name, not the path: "back-strength-de.yaml" sorts before "back-strength.yaml"
    # ("-" < "."), and a routine's translations belong after it.
    return {p.stem: p for p in sorted(folder.glob("*.yaml"), key=lambda p: p.stem)}
