"""YAML syntax errors in plain words: PyYAML's error -> one sentence at the place to change.

PyYAML words its errors for its own parser ("mapping values are not allowed here",
"expected <block end>, but found '<block mapping start>'") and often marks where it
gave up, not where the mistake is (an unclosed quote is reported at the end of the
file). Here each kind of mistake a person makes is recognised from the error's kind,
its marks (``problem_mark``: where parsing failed; ``context_mark``: where the
construct being read began) and the lines around them, and said in plain words at
the place the person must change. Anything not recognised still gets a plain
sentence at PyYAML's mark; none of PyYAML's wording reaches the user.
"""

from __future__ import annotations

import re

from yaml.error import Mark, MarkedYAMLError

from voicecoach.errors import Problem

# PyYAML's line breaks (yaml.reader): its marks count lines by these.
_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
# A block key at the start of a line, after any "- " entry markers: the key and its colon.
_KEY = re.compile(
    r"((?:- +|-$)*)([^\s#'\"\[\]{},:&*!|>%@`](?:[^#\[\]{},:]*?[^\s#\[\]{},:])?"
    r"|\"[^\"]*\"|'[^']*') *:(?=\s|$)"
)
_FLOW = {"[": "]", "{": "}"}
_GENERIC = "this is not valid YAML: check the quotes, colons, brackets and indentation here"

Where = tuple[int, int]  # 0-based line and column, as PyYAML's marks


def syntax_problem(exc: MarkedYAMLError, text: str, path: str) -> Problem:
    """The plain-words problem for a PyYAML scanner, parser or composer error."""
    (line, column), message = _translate(exc, _BREAKS.split(text))
    return Problem(path, line + 1, column + 1, message)


def _where(mark: Mark | None) -> Where | None:
    return None if mark is None else (mark.line, mark.column)


def _translate(exc: MarkedYAMLError, lines: list[str]) -> tuple[Where, str]:
    problem, context = exc.problem or "", exc.context or ""
    opened = _where(exc.context_mark)
    at = _where(exc.problem_mark) or opened or (0, 0)
    if problem.startswith("found character"):  # a character no token can start with
        return _bad_character(lines, at)
    # The file ends (or a '---' comes) before the quote closes: say where it opened.
    unclosed = context == "while scanning a quoted scalar" and problem.startswith("found unexp")
    if unclosed and opened is not None:
        quote = _char(lines, opened)
        return opened, f"the quote {quote} opened here is never closed: add a closing {quote}"
    if context == "while scanning a double-quoted scalar":
        backslash = (at[0], max(0, at[1] - 1)) if "escape character" in problem else at
        return backslash, (
            "a backslash in double quotes starts an escape such as \\n: write \\\\ for a "
            "backslash, or use single quotes"
        )
    if context.startswith("while parsing a flow") and opened is not None:
        return _flow(lines, opened, at, problem)
    if problem == "sequence entries are not allowed here":  # "exercises: - name: A"
        return at, "a list entry ('- ') must start a line of its own"
    if problem == "mapping values are not allowed here":
        return _colon(lines, at)
    if problem.startswith("expected <block end>, but found"):
        return _block_end(lines, at, problem)
    if problem == "could not find expected ':'" and opened is not None:
        return opened, "add a colon after the key (key: value), or '- ' before a list entry"
    return _composer(exc, at, opened) or (at, _GENERIC)


def _char(lines: list[str], where: Where) -> str:
    line, column = where
    return lines[line][column] if line < len(lines) and column < len(lines[line]) else ""


def _bad_character(lines: list[str], at: Where) -> tuple[Where, str]:
    char = _char(lines, at)
    if char == "\t":
        before = lines[at[0]][: at[1]]
        if before.strip(" ") == "":
            return at, "this line is indented with a tab: use spaces, not tabs"
        return at, "a tab here: use spaces, not tabs"
    return at, f"text cannot start with {char!r}: put quotes around it"


def _flow(lines: list[str], opened: Where, at: Where, problem: str) -> tuple[Where, str]:
    bracket = _char(lines, opened)
    close = _FLOW.get(bracket, "]")
    if not _closes(lines, opened):
        return opened, f"the {bracket!r} opened here is never closed: add {close!r}"
    if problem.endswith("got ':'"):
        return at, "put quotes around text that contains a colon"
    return at, f"separate the entries inside {bracket}...{close} with commas"


def _closes(lines: list[str], start: Where) -> bool:
    """Whether the bracket at ``start`` is closed: brackets counted outside quotes and
    comments (plain text inside brackets cannot hold one)."""
    depth, quote = 0, ""
    for number in range(start[0], len(lines)):
        text = lines[number]
        column = start[1] if number == start[0] else 0
        while column < len(text):
            char = text[column]
            if quote:
                if char == "\\" and quote == '"':
                    column += 1
                elif char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char == "#" and (column == 0 or text[column - 1] in " \t"):
                break  # a comment, to the end of the line
            elif char in "[{":
                depth += 1
            elif char in "]}":
                depth -= 1
                if depth == 0:
                    return True
            column += 1
    return False


def _key(text: str) -> tuple[int, str, int] | None:
    """A line's block key: (its column, the key, its colon's column), if it has one."""
    indent = len(text) - len(text.lstrip(" "))
    match = _KEY.match(text, indent)
    if match is None:
        return None
    return match.start(2), match.group(2).strip(), match.end() - 1


def _content(lines: list[str], before: int) -> int | None:
    """The nearest line above ``before`` with something on it (not a comment)."""
    for number in range(before - 1, -1, -1):
        stripped = lines[number].strip()
        if stripped and not stripped.startswith("#"):
            return number
    return None


def _colon(lines: list[str], at: Where) -> tuple[Where, str]:
    """A ': ' where no key may be: in unquoted text, or a key indented more than the
    line above, which YAML reads as a continuation of that line's text."""
    text = lines[at[0]]
    key = _key(text)
    if key is not None and key[2] < at[1]:  # "cue: Lift: slowly"
        value = len(text) - len(text[key[2] + 1 :].lstrip())
        return (at[0], value), "put quotes around text that contains a colon"
    above = _content(lines, at[0])
    if above is not None and _key(lines[above]) is None:
        glued = re.search(r"\S(:)\S", lines[above])  # "title:Test": no space, no key
        if glued:
            return (above, glued.start(1) + 1), "put a space after the colon"
    indent = len(text) - len(text.lstrip(" "))
    return _line_up(lines, (at[0], indent), "key")


def _block_end(lines: list[str], at: Where, problem: str) -> tuple[Where, str]:
    found = problem.rsplit("found ", 1)[1]
    if found in ("'<block mapping start>'", "'?'"):
        return _line_up(lines, at, "key")
    if found in ("'<block sequence start>'", "'-'"):
        return _line_up(lines, at, "dash")
    before = lines[at[0]][: at[1]].rstrip()
    if found == "'<scalar>'" and before.endswith(("'", '"')):
        return at, "text after a closing quote: put the whole text inside the quotes"
    return at, _GENERIC


def _line_up(lines: list[str], at: Where, kind: str) -> tuple[Where, str]:
    """Indentation that does not line up: name the line above it should line up with
    (the nearest key, or '-', in the closest column)."""
    row, column = at
    content = lines[row].lstrip(" ")
    if re.match(r"-[^\s-]", content):  # "-{name: A}": the entry lacks its space
        return (
            row,
            len(lines[row]) - len(content) + 1,
        ), "put a space after the '-' of a list entry"
    best: tuple[int, int, str] | None = None  # (line, column, key)
    for number in range(row - 1, -1, -1):
        text = lines[number]
        if kind == "dash":
            found = [(m.start(), "-") for m in re.finditer(r"(?<!\S)-(?=\s|$)", text)]
            candidates = [c for c in found if text[: c[0]].strip(" -") == ""]
        else:
            key = _key(text)
            candidates = [] if key is None else [(key[0], key[1])]
        for col, name in candidates:
            if col != column and (best is None or abs(col - column) < abs(best[1] - column)):
                best = (number, col, name)
    if best is None:
        return at, "the indentation here does not line up with the lines above"
    number, col, name = best
    if name.startswith("-") and name != "-":  # "-name: A": the entry lacks its space
        return (number, col + 1), "put a space after the '-' of a list entry"
    indent = ""
    if lines[row][:column].strip() == "":  # only spaces before it: say how many to use
        indent = f" (indent it {col} spaces)" if col else " (no spaces before it)"
    if kind == "dash":
        return at, f"this '-' should line up with the '-' on line {number + 1}{indent}"
    word = _key(lines[row])
    what = f"'{word[1]}'" if word is not None and word[0] == column else "this line"
    return at, f"{what} should line up with '{name}' on line {number + 1}{indent}"


def _composer(exc: MarkedYAMLError, at: Where, opened: Where | None) -> tuple[Where, str] | None:
    """Anchors, aliases and documents: the composer's errors."""
    problem, context = exc.problem or "", exc.context or ""
    if context == "expected a single document in the stream":
        return at, "a routine file holds one document: remove this '---' and what follows"
    anchor = re.match(r"found duplicate anchor '(.*)'", context)
    if anchor and opened is not None:
        name, first = anchor.group(1), opened[0] + 1
        return at, f"the anchor '&{name}' is already used on line {first}: rename one of them"
    alias = re.match(r"found undefined alias '(.*)'", problem)
    if alias:
        name = alias.group(1)
        return at, f"'*{name}' refers to no anchor: mark the value above with '&{name}'"
    return None
