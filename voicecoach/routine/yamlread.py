"""Reading a composed YAML tree value by value, one ``Problem`` per mistake.

Each getter returns the value, or ``None`` when it is missing or wrong; the problem
is then recorded (``FILE:LINE:COL: message``) and the caller carries on, so one pass
finds all of a file's problems, up to a limit. Numbers are converted by PyYAML's own
safe constructor, one scalar at a time; nothing else is ever constructed.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping

from yaml.constructor import SafeConstructor
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from voicecoach.core.durations import format_duration, read_seconds
from voicecoach.errors import Problem, RoutineError
from voicecoach.routine.yamltree import (
    BOOL,
    FLOAT,
    INT,
    MERGE,
    NULL,
    STR,
    Alias,
    at,
    check_tree,
    clip,
    either,
    show,
)


class Stop(Exception):
    """The problem limit is reached: stop reading, report what was found."""


class Reader:
    """Reads a composed tree value by value, collecting one ``Problem`` per mistake.

    Getters return the value, or ``None`` when it is missing or wrong (the problem is
    then recorded), so the caller can carry on and find the file's other problems.
    """

    def __init__(self, path: str, max_problems: int) -> None:
        self.path = path
        self.max_problems = max_problems
        self.problems: list[Problem] = []
        self._seen: set[tuple[int, int, str]] = set()
        self._bad: set[int] = set()
        # id(mapping node) -> the known keys suggested for its misspelled ones, so that a
        # check can leave to the typo message what it would only repeat less precisely.
        self.suggested: dict[int, set[str]] = {}

    def error(self, where: Node | Mark, message: str) -> None:
        """Record a problem at a node (or mark); raise ``Stop`` at the limit."""
        mark = where if isinstance(where, Mark) else where.start_mark
        problem = at(self.path, mark, message)
        key = (problem.line, problem.column, message)
        if key in self._seen:  # the same anchored value, reached through an alias again
            return
        self._seen.add(key)
        self.problems.append(problem)
        if len(self.problems) >= self.max_problems:
            raise Stop

    def raise_problems(self) -> None:
        if self.problems:
            raise RoutineError(sorted(self.problems, key=lambda p: (p.line, p.column)))

    def check_tree(self, root: Node) -> None:
        """Reject alias bombs and recursive aliases (raises ``RoutineError`` at once: the
        tree cannot be walked), and report nodes with forbidden tags (getters skip them)."""
        for node, message in check_tree(root, self.path):
            self._bad.add(id(node))
            self.error(node, message)

    # --- getters ------------------------------------------------------------------

    def node(self, node: Node) -> Node | None:
        """The value a node stands for (an alias's target); None if its tag was refused."""
        real = node.target if isinstance(node, Alias) else node
        return None if id(real) in self._bad else real

    def mapping(
        self,
        node: Node,
        label: str,
        keys: tuple[str, ...],
        where: str,
        elsewhere: Mapping[str, str] | None = None,
    ) -> dict[str, tuple[Node, Node]] | None:
        """Key -> (key node, value node). Unknown keys are reported, saying where they
        belong (``elsewhere``: key -> place) or what known key is closest; duplicate keys
        are reported; "<<" merges are applied (written keys win)."""
        real = self.node(node)
        if real is None:
            return None
        if not isinstance(real, MappingNode):
            self.error(real, f"{label} must be a mapping of keys and values, not {show(real)}")
            return None
        items: dict[str, tuple[Node, Node]] = {}
        for name, key, value in self._items(real, 0):
            items.setdefault(name, (key, value))  # written keys first, then merged ones
        unset = tuple(k for k in keys if k not in items)  # what a typo most likely meant
        for name, (key, _) in items.items():
            if name not in keys:
                close = None if name in (elsewhere or {}) else _closest(name, unset, keys)
                if close:
                    self.suggested.setdefault(id(real), set()).add(close)
                self.error(key, _unknown(name, keys, where, elsewhere or {}, close))
        return {name: pair for name, pair in items.items() if name in keys}

    def _items(self, node: MappingNode, depth: int) -> list[tuple[str, Node, Node]]:
        written: list[tuple[str, Node, Node]] = []
        merged: list[tuple[str, Node, Node]] = []
        first_line: dict[str, int] = {}
        for key_node, value in node.value:
            key = self.node(key_node)
            if key is None:
                continue
            if isinstance(key, ScalarNode) and key.tag == MERGE:
                merged.extend(self._merged(value, depth))
                continue
            if not isinstance(key, ScalarNode):
                self.error(key_node, f"a key must be a word, not {show(key)}")
                continue
            name = str(key.value)
            if name in first_line:
                line = first_line[name]
                self.error(key_node, f"duplicate key '{clip(name)}' (first given on line {line})")
                continue
            first_line[name] = key_node.start_mark.line + 1
            written.append((name, key_node, value))
        return written + merged

    def _merged(self, value: Node, depth: int) -> list[tuple[str, Node, Node]]:
        """The items a "<<" key merges in: a mapping, or a list of them (earlier wins)."""
        real = self.node(value)
        if real is None:
            return []
        if depth >= 5:
            self.error(value, "'<<' merges are nested more than 5 deep")
            return []
        found = (
            [self.node(item) for item in real.value] if isinstance(real, SequenceNode) else [real]
        )
        given = [s for s in found if s is not None]  # forbidden tags are reported already
        sources = [s for s in given if isinstance(s, MappingNode)]
        if not found or len(sources) != len(given):
            self.error(value, f"'<<' must merge a mapping or a list of mappings, not {show(real)}")
            return []
        return [item for source in sources for item in self._items(source, depth + 1)]

    def seq(self, node: Node, label: str, expected: str, most: int = 0) -> list[Node] | None:
        """A list of one or more (and at most ``most``, if given) entries."""
        real = self.node(node)
        if real is None:
            return None
        if not isinstance(real, SequenceNode):
            self.error(real, f"{label} must be {expected}, not {show(real)}")
            return None
        if not real.value:
            self.error(real, f"{label} must not be empty")
            return None
        if most and len(real.value) > most:
            self.error(real, f"{label} has {len(real.value)} entries (the limit is {most})")
            return None
        return list(real.value)

    def text(self, node: Node, label: str, limit: int) -> str | None:
        """Text (a YAML string), not empty, at most ``limit`` characters; stripped."""
        real = self.node(node)
        if real is None:
            return None
        if not isinstance(real, ScalarNode) or real.tag != STR:
            quote = isinstance(real, ScalarNode) and real.tag not in (STR, NULL)
            hint = " (put it in quotes)" if quote else ""
            self.error(real, f"{label} must be text, not {show(real)}{hint}")
            return None
        value = str(real.value)
        if len(value) > limit:
            self.error(real, f"{label} is too long: {len(value)} characters (the limit is {limit})")
            return None
        if not value.strip():
            self.error(real, f"{label} must not be empty")
            return None
        return value.strip()

    def template(
        self, node: Node, label: str, limit: int, variables: tuple[str, ...]
    ) -> str | None:
        """Text whose {placeholders} are all plain ``variables`` (no format, no conversion),
        so that ``text.format(**values)`` cannot fail."""
        text = self.text(node, label, limit)
        if text is None:
            return None
        try:
            fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(text)]
        except ValueError:
            self.error(node, f"{label} has an unmatched brace (write {{{{ or }}}} for a brace)")
            return None
        ok = True
        for name, spec, conversion in fields:
            if name is None:
                continue
            if name not in variables:
                close = _close(name, variables)
                known = either([f"{{{v}}}" for v in variables])
                hint = f" (did you mean {{{close[0]}}}?)" if close else f"; use {known}"
                # One line per problem: a line break inside the braces is shown as \n.
                shown = clip(name).replace("\r", "\\r").replace("\n", "\\n")
                self.error(node, f"{label} uses an unknown variable {{{shown}}}{hint}")
                ok = False
            elif spec or conversion:
                self.error(node, f"{label}: write {{{name}}} without a format or conversion")
                ok = False
        return text if ok else None

    def whole(self, node: Node, label: str, low: int, high: int) -> int | None:
        real = self.node(node)
        if real is None:
            return None
        value = _number(real)
        if isinstance(value, int) and low <= value <= high:
            return value
        self.error(real, f"{label} must be a whole number from {low} to {high}, not {show(real)}")
        return None

    def number(self, node: Node, label: str, low: float, high: float) -> float | None:
        real = self.node(node)
        if real is None:
            return None
        value = _number(real, floats=True)
        if value is not None and low <= value <= high:
            return float(value)
        self.error(real, f"{label} must be a number from {low:g} to {high:g}, not {show(real)}")
        return None

    def boolean(self, node: Node, label: str) -> bool | None:
        real = self.node(node)
        if real is None:
            return None
        if isinstance(real, ScalarNode) and real.tag == BOOL:
            return bool(_CONSTRUCTOR.construct_yaml_bool(real))
        self.error(real, f"{label} must be true or false, not {show(real)}")
        return None

    def choice(self, node: Node, label: str, choices: tuple[str, ...]) -> str | None:
        real = self.node(node)
        if real is None:
            return None
        if isinstance(real, ScalarNode) and real.tag == STR and real.value in choices:
            return str(real.value)
        self.error(real, f"{label} must be {either(choices)}, not {show(real)}")
        return None

    def duration(
        self, node: Node, label: str, maximum: float, *, positive: bool = False
    ) -> float | None:
        """Seconds from a number or a duration string, from 0 (or above 0) to ``maximum``."""
        real = self.node(node)
        if real is None:
            return None
        value: object = None
        if isinstance(real, ScalarNode):
            value = real.value if real.tag == STR else _number(real, floats=True)
        seconds = read_seconds(value)
        shown = show(real)
        if seconds is None:
            message = f"{label} must be a duration like 30, '30s', '1m30s' or '0:45', not {shown}"
        elif positive and seconds <= 0:
            message = f"{label} must be longer than 0 seconds, not {shown}"
        elif seconds < 0:
            message = f"{label} must be 0 seconds or more, not {shown}"
        elif seconds > maximum:
            message = f"{label} must be at most {format_duration(maximum)}, not {shown}"
        else:
            return seconds
        self.error(real, message)
        return None


_CONSTRUCTOR = SafeConstructor()


def _number(node: Node, *, floats: bool = False) -> int | float | None:
    """An int (or, with ``floats``, a finite float) scalar's value; None otherwise.
    Bools are not numbers, and floats are not whole numbers."""
    if not isinstance(node, ScalarNode) or node.tag not in (INT, FLOAT):
        return None
    if node.tag == FLOAT and not floats:
        return None
    try:  # PyYAML's resolver lets through a few it cannot convert ("0x_", "._")
        if node.tag == INT:
            return int(_CONSTRUCTOR.construct_yaml_int(node))
        value = float(_CONSTRUCTOR.construct_yaml_float(node))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _close(name: str, choices: tuple[str, ...]) -> list[str]:
    import difflib  # only for messages: keep loading valid files light

    return difflib.get_close_matches(name, choices, n=1)


def _closest(name: str, unset: tuple[str, ...], keys: tuple[str, ...]) -> str | None:
    """The known key ``name`` is closest to, preferring keys the mapping does not set:
    'rpes' beside 'rest: 30s' means 'reps'."""
    close = _close(name, unset) or _close(name, keys)
    return close[0] if close else None


def _unknown(
    name: str, keys: tuple[str, ...], where: str, elsewhere: Mapping[str, str], close: str | None
) -> str:
    message = f"unknown key '{clip(name)}'{where}"
    if name in elsewhere:
        return f"{message}: {name} belongs in {elsewhere[name]}"
    if close:
        return f"{message} (did you mean '{close}'?)"
    if len(keys) <= 10:
        return f"{message}; use {either(keys)}"
    return message
