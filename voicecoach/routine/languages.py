"""Which languages the coach can speak: one message catalogue per language.

The coach's words are English in the code (the message ids); every other language is a
gettext catalogue in ``voicecoach/locale/<tag>/LC_MESSAGES/voicecoach.po`` (compiled to
``.mo`` beside it). A routine's ``language:`` is a BCP 47 tag ("de", "pt-br", "en-gb"): it
is spoken with the catalogue of the same tag, else of its primary language ("en-gb" ->
"en"). Listing the folder is I/O, so it lives here and not in the core.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

SOURCE = "en"  # the language of the message ids: needs no catalogue
DOMAIN = "voicecoach"
# BCP 47 as routines write it, normalised: a language, then subtags ("pt-br", "en-x-coach").
_TAG = re.compile(r"[a-z]{2,8}(-[a-z0-9]{1,8})*")
LOCALE = Path(__file__).resolve().parent.parent / "locale"


class UnknownLanguage(ValueError):
    """A language tag with no catalogue; ``str()`` is the one-line message."""


def normal(tag: str) -> str:
    """A tag as compared and stored: lower case, "-" between subtags ("pt_BR" -> "pt-br")."""
    return tag.strip().replace("_", "-").lower()


@cache
def available() -> tuple[str, ...]:
    """The languages with a catalogue, sorted, English (the source) among them."""
    return tuple(sorted({SOURCE, *_folders()}))


@cache
def _folders() -> dict[str, Path]:
    """Each catalogue's language (normalised) -> its LC_MESSAGES folder."""
    found: dict[str, Path] = {}
    if LOCALE.is_dir():
        for ext in ("po", "mo"):
            for file in sorted(LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.{ext}")):
                found.setdefault(normal(file.parent.parent.name), file.parent)
    return found


def catalogue_folder(language: str) -> Path:
    """The LC_MESSAGES folder of an available language's catalogue (not the source's)."""
    return _folders()[normal(language)]


def catalogue_for(tag: str) -> str:
    """The catalogue that speaks ``tag``: its own, else its primary language's.

    Raises UnknownLanguage (listing the ones there are, with a did-you-mean) if none does.
    """
    want = normal(tag)
    if not _TAG.fullmatch(want):
        raise UnknownLanguage(f"{_quoted(tag)} is not a language tag such as de, en-gb or pt-br")
    have = available()
    subtags = want.split("-")
    for n in range(len(subtags), 0, -1):  # "pt-br-x" -> "pt-br" -> "pt"
        if "-".join(subtags[:n]) in have:
            return "-".join(subtags[:n])
    message = f"no coaching in language {_quoted(tag)} (there is: {', '.join(have)})"
    import difflib  # only on this error

    # 0.6: "eng" finds "en" and "de-dx" finds "de", but "de" does not find "en" (0.5).
    close = difflib.get_close_matches(want, have, n=1, cutoff=0.6)
    if close:
        message += f'; did you mean "{close[0]}"?'
    raise UnknownLanguage(message)


def _quoted(tag: str) -> str:
    """The tag as the user wrote it, in double quotes, on one line: a newline or another
    control character (YAML's "de\\nx") is shown escaped, so the error stays one line."""
    import json

    return json.dumps(tag.strip(), ensure_ascii=False)


def schema_pattern() -> str:
    """A JSON-schema pattern for the tags some catalogue speaks, as ``catalogue_for`` finds
    them (any case, "-" or "_", more subtags after a catalogue's own)."""

    def any_case(tag: str) -> str:
        return "".join(f"[{c}{c.upper()}]" if c.isalpha() else "[-_]" for c in tag)

    tags = "|".join(any_case(t) for t in available())
    return rf"^\s*(?:{tags})(?:[-_][a-zA-Z0-9]{{1,8}})*\s*$"
