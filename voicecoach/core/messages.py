"""The coach's words in one language: the object every sentence comes from.

Every line the coach says (or shows as a caption, chapter title or tag) is a gettext
message: a whole sentence in English with named placeholders (``"Rest, {duration}."``),
so that each language's catalogue orders its own words. The core never loads a
catalogue: the app builds a ``Messages`` for the routine's language
(``routine.catalogues.messages``: gettext's catalogue, its Plural-Forms, num2words) and
passes it in. ``ENGLISH`` is the source language: the message ids themselves.

Message ids are marked where they are written, for ``pybabel extract`` (``N_`` for one
sentence, ``NP_`` for a plural pair; see DEVELOPERS.md, "Languages"), each with a
``# Translators:`` comment saying where it is said and what its placeholders hold.
Numbers inside sentences are words (``Messages.number``): a placeholder ``{n}`` holds
"twenty", not "20", because the clip is what is heard and the caption what is read.
A number placeholder ``{X}`` comes in three forms, the translation picks the one its noun
needs: ``{X}`` as counted ("uno", "eins"), ``{X_m}`` before a masculine noun ("un minuto",
"ein Satz", "veintiún segundos") and ``{X_f}`` before a feminine one ("una serie", "eine
Minute", "duas séries"); num2words gives the first, ``Messages.number`` the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

# How a number is said: counted (""), before a masculine ("m") or a feminine ("f") noun.
Form = Literal["", "m", "f"]
FORMS: tuple[Form, ...] = ("", "m", "f")


class Messages(Protocol):
    """The words of one language (gettext's calls, and numbers in words)."""

    @property
    def language(self) -> str:
        """The catalogue's language tag ("en", "de", "pt-br")."""
        ...

    def gettext(self, message: str) -> str:
        """The translation of ``message`` (a message id)."""
        ...

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The form of ``singular``/``plural`` for ``n``, by the catalogue's Plural-Forms."""
        ...

    def number(self, n: int, form: Form = "") -> str:
        """``n`` in words ("twenty-one"): counted, or before a masculine or feminine noun."""
        ...

    def ordinal(self, n: int) -> str:
        """``n`` as an ordinal in words ("twenty-first")."""
        ...


@dataclass(frozen=True, slots=True)
class Plural:
    """A plural message id: the English singular and plural (``NP_``)."""

    singular: str
    plural: str


def N_(message: str) -> str:
    """Marks ``message`` as a message id for extraction; returns it unchanged."""
    return message


def NP_(singular: str, plural: str) -> Plural:
    """Marks a plural message id for extraction (``pybabel extract -k NP_:1,2``)."""
    return Plural(singular, plural)


@dataclass(frozen=True, slots=True)
class Count:
    """A placeholder's number, said in words: ``{X}``, ``{X_m}`` and ``{X_f}`` (see above)."""

    n: int


def _values(m: Messages, values: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, value in values.items():
        if isinstance(value, Count):
            for form in FORMS:
                out[f"{name}_{form}" if form else name] = m.number(value.n, form)
        elif isinstance(value, int):  # a number in digits ("Set 2"): the same in every form
            for form in FORMS:
                out[f"{name}_{form}" if form else name] = value
        else:
            out[name] = value
    return out


def say(m: Messages, message: str, **values: object) -> str:
    """``message`` in ``m``'s language with its placeholders filled in (a ``Count`` in
    words, in each of its forms; an int in digits, its forms the same)."""
    text = m.gettext(message)
    return text.format(**_values(m, values)) if values else text


def nsay(m: Messages, message: Plural, n: int, **values: object) -> str:
    """The form of plural ``message`` for ``n``; ``{n}`` (``{n_m}``, ``{n_f}``) is ``n``
    in words."""
    text = m.ngettext(message.singular, message.plural, n)
    return text.format(**_values(m, {"n": Count(n), **values}))


def capital(text: str) -> str:
    """``text`` with its first letter in upper case (a sentence that starts with a
    placeholder: "{side} first." -> "Left side first."). Dutch capitalises "één" as
    "Eén" and the digraph "ij" as "IJ"."""
    lower = text[:3].lower()
    if lower == "één":
        return "Eén" + text[3:]
    if lower[:2] == "ij":
        return "IJ" + text[2:]
    return text[:1].upper() + text[1:]


# -- English: the message ids themselves ------------------------------------------------

_ONES = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
]  # fmt: skip
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINAL_ENDS = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                 "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}  # fmt: skip


def english_number(n: int) -> str:
    """0..9999 in words: 21 -> 'twenty-one', 130 -> 'one hundred thirty'.

    English keeps its own speller rather than num2words (which every other language
    uses): num2words says "one hundred and thirty", this coach has always said "one
    hundred thirty" (American, and shorter to hear), and every English golden transcript
    and cached clip holds these words.
    """
    if n < 0:
        return "minus " + english_number(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("-" + _ONES[ones] if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return _ONES[hundreds] + " hundred" + (" " + english_number(rest) if rest else "")
    thousands, rest = divmod(n, 1000)
    return english_number(thousands) + " thousand" + (" " + english_number(rest) if rest else "")


def english_ordinal(n: int) -> str:
    """21 -> 'twenty-first', 12 -> 'twelfth', 40 -> 'fortieth': the cardinal's last word
    made ordinal, as English does."""
    words = english_number(n)
    head, sep, last = words.rpartition("-" if "-" in words.split(" ")[-1] else " ")
    if last in _ORDINAL_ENDS:
        last = _ORDINAL_ENDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


# English's Plural-Forms, as in voicecoach.pot's header: "nplurals=2; plural=(n != 1);".
ENGLISH_PLURALS = "nplurals=2; plural=(n != 1);"


@dataclass(frozen=True, slots=True)
class Source:
    """English, the source language: every message is its own id."""

    language: str = "en"

    def gettext(self, message: str) -> str:
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        # plural=(n != 1): form 0 is the singular, form 1 the plural (ENGLISH_PLURALS).
        return (singular, plural)[int(n != 1)]

    def number(self, n: int, form: Form = "") -> str:
        return english_number(n)  # English numbers have no gender

    def ordinal(self, n: int) -> str:
        return english_ordinal(n)


ENGLISH: Messages = Source()
