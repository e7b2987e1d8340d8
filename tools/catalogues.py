"""The coach's message catalogues: extract, update, compile, with Babel.

    .venv/bin/python tools/catalogues.py extract   # voicecoach/ -> voicecoach/locale/voicecoach.pot
    .venv/bin/python tools/catalogues.py extract --output FILE
    .venv/bin/python tools/catalogues.py update    # each <tag>/LC_MESSAGES/voicecoach.po from it
    .venv/bin/python tools/catalogues.py init de   # a new language's .po from the .pot
    .venv/bin/python tools/catalogues.py compile   # each .po -> .mo beside it (not committed)

Message ids are marked in the code with ``N_`` and ``NP_`` (voicecoach/core/messages.py),
each with a ``# Translators:`` comment above it, which goes into the .pot for the
translator. The wheel compiles the .mo files itself (hatch_build.py), and a checkout
compiles a .po in memory when its .mo is missing or stale, so ``compile`` is only for
looking at the .mo files.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "voicecoach" / "locale"
POT = LOCALE / "voicecoach.pot"


def pybabel(*args: str) -> None:
    """Run a pybabel command from the repository's root (the .pot's locations are
    relative to it: "voicecoach/core/lines.py:15")."""
    import os

    from babel.messages.frontend import CommandLineInterface

    os.chdir(ROOT)
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract(output: Path = POT) -> None:
    pybabel(
        "extract", "-F", str(ROOT / "babel.cfg"), "--no-default-keywords", "-k", "N_",
        "-k", "NP_:1,2", "-c", "Translators:", "--sort-by-file", "--no-wrap",
        "--project", "voicecoach", "--version", "0.1.0", "--copyright-holder",
        "voicecoach developers",
        "-o", str(output), "voicecoach",
    )  # fmt: skip


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("extract", "update", "init", "compile"):
        print(__doc__, file=sys.stderr)
        return 2
    command = argv[0]
    if command == "extract":  # --output FILE: somewhere else (the tests compare it)
        extract(Path(argv[2]).resolve() if argv[1:2] == ["--output"] else POT)
    elif command == "update":
        pybabel("update", "-D", "voicecoach", "-i", str(POT), "-d", str(LOCALE), "--no-wrap",
                "--ignore-obsolete", "--no-fuzzy-matching")  # fmt: skip
    elif command == "init":
        for tag in argv[1:]:
            pybabel("init", "-D", "voicecoach", "-i", str(POT), "-d", str(LOCALE), "-l", tag,
                    "--no-wrap")  # fmt: skip
    else:
        pybabel("compile", "-D", "voicecoach", "-d", str(LOCALE), "--statistics")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
