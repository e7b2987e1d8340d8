"""The coach's languages: the message template is current, every catalogue is complete and
well-formed, and a session in another language says none of the coach's words in English.

Every check runs on every catalogue there is (``languages.available()``), so a language
added to voicecoach/locale/ is checked by adding it; and on a pseudo-language made here
from the template (each message's letters accented, placeholders kept, three plural
forms), so the mechanism is tested whichever catalogues exist.
"""

from __future__ import annotations

import gettext
import io
import json
import os
import re
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from tests.fakes import FAKE_SOUND_LENGTHS, FakeSpeech, fake_length, fake_sounds
from voicecoach.app import session
from voicecoach.core.compiler import compile_routine
from voicecoach.core.messages import (
    ENGLISH,
    FORMS,
    Count,
    Messages,
    capital,
    english_number,
    say,
)
from voicecoach.core.model import Routine
from voicecoach.core.phrases import phrases
from voicecoach.routine import catalogues, languages, loader, resources
from voicecoach.routine.catalogues import Catalogue

ROOT = Path(__file__).resolve().parent.parent
POT = ROOT / "voicecoach" / "locale" / "voicecoach.pot"
DATA = Path(__file__).parent / "data"

# Messages a language may leave as the English words, because they are its words too.
# Each needs a reason; nothing else may stay English.
SAME_AS_ENGLISH: dict[str, dict[str, str]] = {
    "de": {"{n} minute": "German says eine Minute: the English word, capitalised"},
    "fr": {"{n} minute": "French says minute, minutes: the English words"},
    "nl": {
        "in": "Dutch breathes in and out as 'in' and 'uit': the faded breath in is 'in'",
        "Set {set}": "Dutch gyms count 'sets' (a chapter title)",
        "Set {set}, {side}": "Dutch gyms count 'sets' (a chapter title; the side is Dutch)",
        "{work}, {n} set": "Dutch gyms count 'sets': its plural form is the English one",
        "set {set}/{sets}": "Dutch gyms count 'sets' (the status line: 'set 2/3')",
    },
}

PSEUDO = "x-pseudo"
PSEUDO_PLURALS = "nplurals=3; plural=(n==1 ? 0 : n==2 ? 1 : 2);"
_ACCENTS = str.maketrans("aeiouAEIOUcnsyCNSY", "áéíóúÁÉÍÓÚçñšýÇÑŠÝ")


def template() -> Catalog:
    with POT.open("rb") as fp:
        return read_po(fp)


def ids(catalog: Catalog) -> dict[str, Message]:
    return {_key(m): m for m in catalog if m.id}


def _key(message: Message) -> str:
    return message.id[0] if isinstance(message.id, tuple) else message.id


# The placeholders that hold a number (in words, or in digits where the comment says so):
# a translation may say each as {X}, {X_m} or {X_f} (core.messages). All the others hold text
# (the screen's "time" and "elapsed" are clocks, "done", "skipped", "pained" counted phrases).
NUMBERS = {"n", "set", "sets", "round", "rounds", "number", "count", "rep", "reps", "total"}
TEXTS = {"title", "exercise", "block", "side", "work", "duration", "minutes", "seconds",
         "exercises", "effort", "comment", "tracks", "name",
         "time", "elapsed", "done", "skipped", "pained"}  # fmt: skip


def forms(placeholders: set[str]) -> set[str]:
    """Every name a translation may use for ``placeholders``."""
    return placeholders | {f"{p}_{f}" for p in placeholders & NUMBERS for f in "mf"}


def fields(text: str) -> set[str]:
    """The named placeholders of a brace-format string."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def wordless(text: str) -> bool:
    """Whether a message is only placeholders and punctuation ("{minutes} {seconds}"):
    nothing in it is English, so a translation may keep it."""
    return not re.search(r"[^\W\d_]", re.sub(r"\{[a-z_]+\}", "", text))


def pseudo(text: str) -> str:
    """``text`` with its letters accented outside the placeholders: no English word left."""
    parts = re.split(r"(\{[a-z_]+\})", text)
    return "".join(p if p.startswith("{") else p.translate(_ACCENTS) for p in parts)


def pseudo_catalog() -> Catalog:
    out = Catalog(locale=None, domain="voicecoach", fuzzy=False)
    out._num_plurals, out._plural_expr = 3, "(n==1 ? 0 : n==2 ? 1 : 2)"  # no such locale
    for message in ids(template()).values():
        if isinstance(message.id, tuple):
            one, many = message.id
            string_: str | tuple[str, ...] = (pseudo(one), pseudo(many), pseudo(many))
        else:
            string_ = pseudo(message.id)
        out.add(message.id, string_, flags=message.flags)
    return out


def compiled(catalog: Catalog) -> gettext.GNUTranslations:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def shipped() -> dict[str, Catalog]:
    """Every catalogue in voicecoach/locale/, read from its .po."""
    out = {}
    for language in languages.available():
        if language == languages.SOURCE:
            continue
        po = languages.catalogue_folder(language) / "voicecoach.po"
        with po.open("rb") as fp:
            out[language] = read_po(fp)
    return out


def plural_rule(catalog: Catalog) -> tuple[int, str]:
    return catalog.num_plurals, catalog.plural_expr


def problems(language: str, catalog: Catalog) -> list[str]:
    """What is wrong with ``catalog`` against the template (empty: nothing)."""
    found: list[str] = []
    want = ids(template())
    have = {_key(m): m for m in catalog if m.id}
    same = SAME_AS_ENGLISH.get(language, {})
    found += [f"missing: {k!r}" for k in want if k not in have]
    found += [f"stale (not in the template): {k!r}" for k in have if k not in want]
    nplurals, expr = plural_rule(catalog)
    plural = gettext.c2py(expr)
    only_one = {k for k in range(nplurals) if all(plural(n) != k for n in range(1000) if n != 1)}
    for key, message in have.items():
        if key not in want:
            continue
        if message.fuzzy:
            found.append(f"fuzzy: {key!r}")
        english = want[key].id
        if isinstance(english, tuple) != isinstance(message.id, tuple) or (
            isinstance(english, tuple) and english != message.id
        ):
            found.append(f"plural id differs: {key!r}")
            continue
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        if isinstance(english, tuple) and len(texts) != nplurals:
            found.append(f"{key!r} has {len(texts)} forms, the Plural-Forms {nplurals}")
        placeholders = set().union(
            *(fields(e) for e in (english if isinstance(english, tuple) else (english,)))
        )
        for k, text in enumerate(texts):
            if not text:
                found.append(f"untranslated: {key!r}")
                continue
            english_forms = english if isinstance(english, tuple) else (english,)
            if text in english_forms and key not in same and not wordless(text):
                found.append(f"left in English: {key!r}")
            try:
                got = fields(text)
            except ValueError as err:
                found.append(f"{key!r}: {text!r} is not a brace format ({err})")
                continue
            # A number may be said in any of its forms ({n}, {n_m}, {n_f}), and a plural
            # form used only for n == 1 may say it without the number ("eine Minute").
            said = {name[:-2] if name[:-2] in NUMBERS else name for name in got}
            need = placeholders
            if isinstance(english, tuple) and k in only_one:
                need = placeholders - {"n"}
            if not (need <= said and got <= forms(placeholders)):
                found.append(f"{key!r}: {text!r} has {sorted(got)}, the id {sorted(placeholders)}")
    return found


def test_the_template_holds_every_message_id_in_the_code(tmp_path: Path) -> None:
    """voicecoach.pot is extracted again and compared: a message added, changed or removed
    in the code without `tools/catalogues.py extract` fails here."""
    out = tmp_path / "fresh.pot"
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "catalogues.py"), "extract", "--output", str(out)],
        check=True, timeout=120,
    )  # fmt: skip
    with out.open("rb") as fp:
        fresh = read_po(fp)
    committed = template()
    assert {_key(m): m.id for m in fresh if m.id} == {_key(m): m.id for m in committed if m.id}
    assert {_key(m): m.auto_comments for m in fresh if m.id} == {
        _key(m): m.auto_comments for m in committed if m.id
    }
    assert all(m.auto_comments for m in committed if m.id), "a message without a translator comment"
    texts = [t for m in committed if m.id for t in ((m.id,) if isinstance(m.id, str) else m.id)]
    named = set().union(*(fields(t) for t in texts))
    assert named <= NUMBERS | TEXTS, f"classify the new placeholders {named - NUMBERS - TEXTS}"
    assert len(ids(committed)) > 100


def test_every_catalogue_is_complete_translated_and_well_formed() -> None:
    catalogs = {**shipped(), PSEUDO: pseudo_catalog()}
    for language, catalog in catalogs.items():
        assert problems(language, catalog) == [], language


def test_the_checks_find_what_is_wrong() -> None:
    """The catalogue checks fail on each kind of fault (so a clean result means something)."""
    good = pseudo_catalog()
    assert problems(PSEUDO, good) == []
    welcome, rest = "Welcome to {title}", "Rest, {duration}."
    reps = ("{n} rep", "{n} reps")

    def broken(change: str) -> Catalog:
        catalog = pseudo_catalog()
        if change == "missing":
            catalog.delete(welcome)
        elif change == "stale":
            catalog.add("Not a message any more.", "Ñót")
        elif change == "untranslated":
            catalog[welcome].string = ""
        elif change == "english":
            catalog[welcome].string = welcome
        elif change == "placeholder":
            catalog[rest].string = "Rést, {seconds}."
        elif change == "lost placeholder":
            catalog[rest].string = "Rést."
        elif change == "forms":
            catalog[reps].string = ("{n} wdh", "{n} wdhs")
        elif change == "plural placeholder":  # form 1 is for n == 2: it needs {n}
            catalog[reps].string = ("éin", "zwéi", "{n} wdhs")
        elif change == "fuzzy":
            catalog[welcome].flags.add("fuzzy")
        return catalog

    kinds = ["missing", "stale", "untranslated", "english", "placeholder", "lost placeholder",
             "forms", "plural placeholder", "fuzzy"]  # fmt: skip
    for kind in kinds:
        assert problems(PSEUDO, broken(kind)), kind
    singular = pseudo_catalog()
    singular[reps].string = ("éiné Wdh", "{n} Wdh", "{n} Wdh")  # form 0: n == 1 only
    assert problems(PSEUDO, singular) == []
    gendered = pseudo_catalog()  # a number before a feminine noun: {n_f}
    gendered[reps].string = ("{n_f} Wdh", "{n_f} Wdhs", "{n_m} Wdhs")
    gendered[rest].string = "Rést, {duration}."
    assert problems(PSEUDO, gendered) == []
    gendered[rest].string = "Rést, {duration_f}."  # a duration is text: no forms
    assert problems(PSEUDO, gendered)


# -- a session in another language ------------------------------------------------------

ROUTINES = ["back-strength", "desk-break", "lower-back-relief"]
EXTRA = sorted(DATA.glob("*.yaml"))  # rounds, own pace, sides over several sets


def speakers() -> Iterator[tuple[str, Catalogue]]:
    """Every non-English language there is, as the app builds it, and the pseudo-language."""
    for language in languages.available():
        if language != languages.SOURCE:
            yield language, catalogues.messages(language)  # type: ignore[misc]
    yield PSEUDO, Catalogue(PSEUDO, compiled(pseudo_catalog()), None)


def routine_texts(routine: Routine) -> list[str]:
    """What the routine itself says (its names, set-ups, pointers, own lines): these may
    be in any language."""
    texts = [routine.title, routine.safety or ""]
    for block in routine.blocks:
        texts.append(block.name)
        for ex in block.exercises:
            texts += [ex.name, ex.setup or "", ex.cue or "", *ex.form]
            texts += [p.say or "" for p in ex.phases]
            lines = ex.lines
            texts += [lines.intro, lines.start, lines.rep, lines.last, lines.halfway, lines.end]
    return sorted((t.strip().rstrip(".") for t in texts if t and t.strip()), key=len, reverse=True)


def filled(text: str) -> str:
    """A pattern for ``text`` as said, its {variables} filled in (with anything)."""
    return re.sub(r"\\\{[a-z_]+\\\}", ".*?", re.escape(text))


def english_patterns(language: str, messages: Messages) -> list[re.Pattern[str]]:
    """Each English message as a pattern (a placeholder matches anything), and the English
    number words; left out: the messages the language shares with English, and the number
    words it says too (French "six").

    A one-word message ("in", "hold", "left") is English only as a clause of its own
    (", in."): the word may well be the language's own inside a sentence (Italian "in")."""
    same = SAME_AS_ENGLISH.get(language, {})
    texts: list[str] = []
    for key, message in ids(template()).items():
        if key in same:
            continue
        texts += list(message.id) if isinstance(message.id, tuple) else [message.id]
    texts = [t for t in texts if not wordless(t)]
    patterns = []
    for text in texts:
        body = filled(text.rstrip("."))
        if " " in text.strip():
            patterns.append(re.compile(rf"(?<![\w-]){body}(?![\w-])", re.IGNORECASE))
        else:  # a clause alone: after a sentence's start or a comma, before the next
            clause = rf"(?:^|[,.:;!?\x00]\s*){body}\s*(?:[,.:;!?]|$)"
            patterns.append(re.compile(clause, re.IGNORECASE))
    own = {messages.number(n, f).lower() for n in range(0, 200) for f in FORMS}
    numbers = "|".join(w for w in (english_number(n) for n in range(0, 200)) if w not in own)
    if numbers:
        patterns.append(re.compile(rf"(?<![\w-])({numbers})(?![\w-])", re.IGNORECASE))
    return patterns


def foreign_lines(routine: Routine, messages: Messages) -> list[str]:
    """The lines and chapter titles of ``routine`` laid out in ``messages``' language, as
    the session lays them out (the compiler, with stand-in lengths: levelling 80 sessions
    of fake clips took 30 s of this file's 34)."""
    texts = phrases(routine, messages=messages)
    draft = compile_routine(
        routine, {t: fake_length(t) for t in texts}, FAKE_SOUND_LENGTHS, messages=messages
    )
    timeline = draft.finish(fake_length(draft.closing))
    lines = [e.text for e in timeline.events if e.kind in ("speech", "wait")]
    return lines + [c.title for c in timeline.chapters]


def test_a_session_lays_out_each_phrase_as_said_in_its_language() -> None:
    """A real session (clips made and levelled) in each language: every phrase is laid
    out at the length of its own clip, said in that language."""
    routine = loader.load(str(resources.bundled_routines()["desk-break"]))
    for _, messages in speakers():
        prepared = session.prepare(
            routine, speech=FakeSpeech(), sounds=fake_sounds(), messages=messages
        )
        speech = [e for e in prepared.timeline.events if e.kind == "speech"]
        assert speech and all(e.length == len(prepared.say(e.text)) for e in speech)


def test_a_session_in_another_language_says_nothing_of_the_coach_in_english() -> None:
    cases = [loader.load(str(resources.bundled_routines()[n])) for n in ROUTINES]
    cases += [loader.load(str(p)) for p in EXTRA]
    checked = 0
    for language, messages in speakers():
        patterns = english_patterns(language, messages)
        for routine in cases:
            for line in english_lines(routine, messages, patterns):
                raise AssertionError(f"{language}, {routine.title}: {line!r} is English")
            checked += 1
    assert checked >= len(cases)  # the pseudo-language at least
    # The check finds the coach's English: in an English session, nearly every line.
    patterns = english_patterns(PSEUDO, Catalogue(PSEUDO, compiled(pseudo_catalog()), None))
    english = [line for r in cases for line in english_lines(r, ENGLISH, patterns)]
    assert len(english) > 500


def english_lines(
    routine: Routine, messages: Messages, patterns: list[re.Pattern[str]]
) -> Iterator[str]:
    """The lines of ``routine`` said with ``messages`` in which the coach's words (not the
    routine's own) are English."""
    own = routine_texts(routine)
    for line in foreign_lines(routine, messages):
        rest = line
        for text in own:  # as said: capitalised, with a full stop, filled in
            rest = re.sub(filled(text), "\x00", rest, flags=re.IGNORECASE)
        if any(p.search(rest) for p in patterns):
            yield line


def test_the_english_session_is_the_message_ids_themselves() -> None:
    """English needs no catalogue: its words are the ids (and the goldens hold them)."""
    assert catalogues.messages(None) is ENGLISH
    assert catalogues.messages("en-GB") is ENGLISH
    assert ENGLISH.ngettext("{n} rep", "{n} reps", 1) == "{n} rep"
    assert ENGLISH.ngettext("{n} rep", "{n} reps", 0) == "{n} reps"
    assert [ENGLISH.number(n) for n in (21, 130, 1001)] == [
        "twenty-one", "one hundred thirty", "one thousand one",
    ]  # fmt: skip
    assert [ENGLISH.ordinal(n) for n in (1, 2, 12, 21, 40, 103)] == [
        "first", "second", "twelfth", "twenty-first", "fortieth", "one hundred third",
    ]  # fmt: skip


def test_plural_forms_come_from_the_catalogue() -> None:
    """Three forms in the pseudo-language: n == 1, n == 2, the rest, as its header says."""
    words = Catalogue(PSEUDO, compiled(pseudo_catalog()), None)
    said = [words.ngettext("{n} rep", "{n} reps", n) for n in (1, 2, 3)]
    assert said == [pseudo("{n} rep"), pseudo("{n} reps"), pseudo("{n} reps")]
    assert words.number(21) == "21"  # a language num2words does not know: digits


def test_numbers_before_a_noun_take_its_gender() -> None:
    """{X}, {X_m} and {X_f}: counted, before a masculine and before a feminine noun."""
    empty = gettext.NullTranslations()

    def said(language: str, n: int) -> tuple[str, str, str]:
        words = Catalogue(language, empty, catalogues._num2words_code(language))
        return words.number(n), words.number(n, "m"), words.number(n, "f")

    assert said("es", 1) == ("uno", "un", "una")
    assert said("es", 21) == ("veintiuno", "veintiún", "veintiuna")
    assert said("es", 200) == ("doscientos", "doscientos", "doscientas")
    assert said("pt", 2) == ("dois", "dois", "duas")
    assert said("pt-br", 21) == ("vinte e um", "vinte e um", "vinte e uma")
    assert said("fr", 21) == ("vingt et un", "vingt et un", "vingt et une")
    assert said("it", 1) == ("uno", "un", "una")
    assert said("it", 21) == ("ventuno", "ventuno", "ventuno")
    assert said("de", 1) == ("eins", "ein", "eine")
    assert said("de", 21) == ("einundzwanzig",) * 3
    assert said("nl", 1) == ("één",) * 3
    assert ENGLISH.number(1, "f") == "one"
    # In a sentence: each number placeholder in its three forms, digits the same in each.
    words = Catalogue("es", empty, "es")
    assert say(words, "{n_f} serie, {n_m} minuto, {n}; {set_f}", n=Count(1), set=2) == (
        "una serie, un minuto, uno; 2"
    )
    assert capital("één, links.") == "Eén, links." and capital("ijs") == "IJs"


def test_numbers_are_words_in_the_catalogue_language() -> None:
    translations = compiled(pseudo_catalog())
    german = Catalogue("de", translations, catalogues._num2words_code("de"))
    assert [german.number(n) for n in (1, 21, 130)] == [
        "eins",
        "einundzwanzig",
        "einhundertdreißig",
    ]
    assert german.ordinal(3) == "dritte"
    assert catalogues._num2words_code("pt-br") == "pt_BR"
    assert catalogues._num2words_code("nl-be") == "nl"
    assert catalogues._num2words_code("tlh") is None


def test_a_language_is_an_error_until_its_catalogue_is_there() -> None:
    """--language de (and the others to ship): spoken if its catalogue is there, else the
    one-line error that lists the ones there are."""
    from click.testing import CliRunner

    from tests.fakes import fake_env
    from voicecoach.cli import cli

    have = languages.available()
    for tag in ("de", "es", "fr", "it", "pt", "nl"):
        args = ["audition", "desk-break", "--language", tag]
        result = CliRunner().invoke(cli, args, prog_name="voicecoach", obj=fake_env())
        if tag in have:
            assert result.exit_code == 0, result.output
            assert "Welcome to" not in result.stdout and "Let's begin." not in result.stdout
        else:
            assert result.exit_code == 2, result.output
            assert result.stderr.startswith(
                f'Error: --language: no coaching in language "{tag}" (there is: {", ".join(have)})'
            )
            assert result.stderr.count("\n") == 1


def test_the_build_hook_compiles_each_catalogue_into_the_wheel(tmp_path: Path) -> None:
    """hatch_build.py: each .po becomes a .mo at the same place in the wheel (the slow
    test_wheel builds the real wheel; this one gives the hook a pseudo-language)."""
    sys.path.insert(0, str(ROOT))
    try:
        from hatch_build import CatalogueHook
    finally:
        sys.path.remove(str(ROOT))
    folder = tmp_path / "voicecoach" / "locale" / "xx" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    buffer = io.BytesIO()
    write_po(buffer, pseudo_catalog())
    (folder / "voicecoach.po").write_bytes(buffer.getvalue())
    hook = CatalogueHook(str(tmp_path), {}, None, None, str(tmp_path / "dist"), "wheel")
    build_data: dict[str, Any] = {"force_include": {}}
    hook.initialize("standard", build_data)
    ((mo, target),) = build_data["force_include"].items()
    assert target == "voicecoach/locale/xx/LC_MESSAGES/voicecoach.mo"
    with open(mo, "rb") as fp:
        words = gettext.GNUTranslations(fp)
    assert words.gettext("Let's begin.") == pseudo("Let's begin.")
    assert words.ngettext("{n} rep", "{n} reps", 2) == pseudo("{n} reps")
    hook.finalize("standard", build_data, "")
    assert not Path(mo).exists()
    editable: dict[str, Any] = {"force_include": {}}
    hook.initialize("editable", editable)  # the loader compiles the .po in memory
    assert editable["force_include"] == {}


def test_an_interval_timer_names_itself_in_the_coach_language(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`voicecoach intervals --language X`: its exercise ("Work") and title ("Intervals")
    are the coach's words too, and a saved timer keeps the language."""
    from voicecoach.routine import intervals

    words = Catalogue(PSEUDO, compiled(pseudo_catalog()), None)
    monkeypatch.setattr(catalogues, "messages", lambda tag: words if tag == PSEUDO else ENGLISH)
    spec = intervals.Intervals(work=30, rest=10, rounds=8, language=PSEUDO)
    assert (spec.title, spec.exercise) == (pseudo("Intervals"), pseudo("Work"))
    named = intervals.Intervals(work=30, name="Plank", language=PSEUDO)
    assert (named.title, named.exercise) == (
        pseudo("{name} intervals").format(name="Plank"),
        "Plank",
    )
    saved = intervals.to_yaml(spec)
    assert f"language: {PSEUDO}\n" in saved and f"--language {PSEUDO}" in saved
    assert f'name: "{pseudo("Work")}"' in saved
    english = intervals.Intervals(work=30)
    assert (english.title, english.exercise) == ("Intervals", "Work")
    assert "language" not in intervals.to_yaml(english)


def test_the_get_up_line_reads_set_ups_in_the_language_then_in_english() -> None:
    """Whether a session ends lying is read from the last set-up in the coach's language's
    words, else English's (an English routine spoken with --language); never both at once
    (English "stand" is inside German "Vierfüßlerstand", which is lying)."""
    from voicecoach.core.ending import ends_lying

    words = Catalogue(PSEUDO, compiled(pseudo_catalog()), None)

    def ending(setup: str) -> Routine:
        text = f"title: T\nexercises:\n  - {{name: A, time: 5, setup: {json.dumps(setup)}}}\n"
        return loader.load_text(text, "t.yaml")

    assert ends_lying(words, ending(pseudo("Lie on your back.")))
    assert ends_lying(words, ending("Lie on your back."))  # English, said in another language
    assert not ends_lying(words, ending("Stand tall."))
    assert ends_lying(words, ending(pseudo("Lie on your back") + ", stand"))  # its own first
    assert not ends_lying(ENGLISH, ending(pseudo("Lie on your back.")))


def test_a_checkout_compiles_a_catalogue_once_and_keeps_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No .mo (a checkout): the .po is compiled and the .mo kept beside it, which the next
    load reads with gettext alone; an edited .po (newer) is compiled again; a folder that
    cannot be written still gives the catalogue."""
    folder = tmp_path / "xx" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po, mo = folder / "voicecoach.po", folder / "voicecoach.mo"
    buffer = io.BytesIO()
    write_po(buffer, pseudo_catalog())
    po.write_bytes(buffer.getvalue())
    monkeypatch.setattr(languages, "catalogue_folder", lambda language: folder)

    def load() -> str:
        catalogues.load.cache_clear()
        return catalogues.load("xx").gettext("Let's begin.")

    try:
        assert load() == pseudo("Let's begin.") and mo.is_file()
        made = mo.stat().st_mtime_ns
        with monkeypatch.context() as patched:  # the .mo is current: Babel is not used
            patched.setattr(catalogues, "compile_po", lambda source: 1 / 0)
            assert load() == pseudo("Let's begin.")
        po.write_bytes(buffer.getvalue().replace(b"L\xc3\xa9t", b"LET"))
        os.utime(po, ns=(made + 10**10, made + 10**10))  # edited after the .mo was made
        assert load() == pseudo("Let's begin.").replace("Lét", "LET")
        assert mo.stat().st_mtime_ns != made
        mo.unlink()
        folder.chmod(0o500)  # read-only (the test may run as root: then it is kept anyway)
        assert load() == pseudo("Let's begin.").replace("Lét", "LET")
        assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []
    finally:
        folder.chmod(0o700)
        catalogues.load.cache_clear()
