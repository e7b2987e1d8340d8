"""A language's catalogue as the core's ``Messages``: gettext, its plural forms, num2words.

The app builds one for the routine's language (``messages``) and passes it into the core,
which never loads a file. English is the source: ``core.messages.ENGLISH``, no catalogue.

Each language is ``locale/<tag>/LC_MESSAGES/voicecoach.po`` in the repository; the wheel
also carries its ``.mo``, compiled by Babel when the wheel is built (``hatch_build.py``).
A checkout or an editable install has only the ``.po``: it is compiled with Babel when
the ``.mo`` is missing or older than the ``.po`` (then kept beside it, if the folder can
be written), so editing a ``.po`` needs no build step. Everything here is
imported lazily: gettext and num2words only when a language other than English is
spoken, so ``voicecoach --help`` and English sessions never load them.

Numbers are words from num2words in the catalogue's language (its region's variant when
num2words has one: pt-br -> pt_BR); a language num2words does not know says digits,
which eSpeak reads in the voice's language. num2words counts ("uno", "eins"); before a
noun some languages say the number by the noun's gender (``core.messages.Form``):
``_GENDERED`` makes those forms from num2words' words.
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach.core.messages import ENGLISH, Form, Messages
from voicecoach.routine import languages

if TYPE_CHECKING:
    import gettext

# A .mo within this many seconds of its .po is current: a wheel's files are unpacked
# in any order, within moments of each other.
_SLACK = 2.0


@dataclass(frozen=True, slots=True, eq=False)
class Catalogue:
    """The words of one language: its gettext catalogue and num2words' language."""

    language: str
    translations: gettext.NullTranslations  # GNUTranslations of the .mo (any, in tests)
    numbers: str | None  # num2words' code for the language; None: digits

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)  # the catalogue's Plural-Forms

    def number(self, n: int, form: Form = "") -> str:
        words = _words(n, self.numbers, "cardinal")
        if not form:
            return words
        for pattern, replacement in _GENDERED.get((self.language.split("-")[0], form), ()):
            words = re.sub(pattern, replacement, words)
        return words

    def ordinal(self, n: int) -> str:
        return _words(n, self.numbers, "ordinal")


# (language, form) -> the changes to num2words' counted words, in order (regex, with).
# Only the words before a noun change: es "uno" -> "un"/"una", "veintiuno" -> "veintiún",
# "doscientos" -> "doscientas"; pt "um" -> "uma", "dois" -> "duas", "duzentos" ->
# "duzentas"; fr "un" -> "une" ("vingt et une"); it "uno" -> "un"/"una" (only one:
# "ventuno minuti"); de "eins" -> "ein"/"eine" (only one: "einundzwanzig Sekunden").
_GENDERED: dict[tuple[str, Form], tuple[tuple[str, str], ...]] = {
    ("es", "m"): ((r"veintiuno$", "veintiún"), (r"uno$", "un")),
    ("es", "f"): ((r"uno$", "una"), (r"cientos\b", "cientas")),
    ("pt", "f"): ((r"\bum$", "uma"), (r"\bdois$", "duas"), (r"entos\b", "entas")),
    ("fr", "f"): ((r"\bun$", "une"),),
    ("it", "m"): ((r"^uno$", "un"),),
    ("it", "f"): ((r"^uno$", "una"),),
    ("de", "m"): ((r"^eins$", "ein"),),
    ("de", "f"): ((r"^eins$", "eine"),),
}


def _words(n: int, lang: str | None, kind: str) -> str:
    if lang is None:
        return str(n) if kind == "cardinal" else f"{n}."
    from num2words import num2words

    return str(num2words(n, lang=lang, to=kind))


def messages(tag: str | None) -> Messages:
    """The coach's words in ``tag``'s language (None: English, the source).

    Raises ``languages.UnknownLanguage`` if no catalogue speaks it (the loader and
    ``--language`` have checked it before)."""
    if tag is None:
        return ENGLISH
    language = languages.catalogue_for(tag)
    if language == languages.SOURCE:
        return ENGLISH
    return load(language)


@cache
def load(language: str) -> Catalogue:
    """The catalogue of an available language (once a process)."""
    import gettext

    folder = languages.catalogue_folder(language)
    po, mo = folder / f"{languages.DOMAIN}.po", folder / f"{languages.DOMAIN}.mo"
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime - _SLACK):
        with mo.open("rb") as fp:
            translations = gettext.GNUTranslations(fp)
    else:
        data = compile_po(po.read_bytes())
        _keep(mo, data)
        translations = gettext.GNUTranslations(io.BytesIO(data))
    return Catalogue(language, translations, _num2words_code(language))


def _keep(mo: Path, data: bytes) -> None:
    """Keep a checkout's compiled catalogue beside its .po (git ignores ``*.mo``), so the
    next process reads it with gettext alone: Babel's import and the compiling took
    about 0.08 s of a 0.16 s load here. A folder that cannot be written only means it is
    compiled again next time."""
    import os
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=".voicecoach-", suffix=".mo", dir=mo.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, mo)  # whole, or not at all: a reader never sees half a file
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def compile_po(source: bytes) -> bytes:
    """A ``.po`` file's bytes compiled to a ``.mo`` file's, with Babel (fuzzy entries
    left out, as ``pybabel compile`` does)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    catalog = read_po(io.BytesIO(source))
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def _num2words_code(language: str) -> str | None:
    from num2words import CONVERTER_CLASSES

    primary, _, region = language.partition("-")
    for code in (f"{primary}_{region.split('-')[0].upper()}" if region else "", primary):
        if code in CONVERTER_CLASSES:
            return code
    return None
