"""A YAML document as written: composed safely and checked, never constructed.

The SafeLoader's composer builds the node tree, keeping where every alias was
written and refusing deep nesting, from libyaml's parser when PyYAML has it (the
pure-Python scanner and parser took 0.1 s of a warm start's 0.75 s on the bench's
2-hour routine; libyaml's about 0.01 s). A document libyaml refuses is parsed again in
Python, so every syntax message is PyYAML's own, as before; ``check_tree`` then
refuses alias bombs and recursive aliases and finds tags that would build objects.
Nodes keep their line and column, so ``yamlread.Reader`` can name the exact place of every problem.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import yaml
from yaml.composer import Composer
from yaml.error import Mark, MarkedYAMLError, YAMLError
from yaml.events import AliasEvent, Event
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import Reader, ReaderError

from voicecoach.core.model import Pos
from voicecoach.errors import Problem, RoutineError
from voicecoach.routine.yamlerrors import syntax_problem

MAX_DEPTH = 50  # nesting of YAML collections; a routine needs about 8
MAX_ALIAS_VALUES = 20_000  # values that aliases may add when expanded

_TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL, MERGE = (
    _TAG + name for name in ("str", "int", "float", "bool", "null", "merge")
)
# Tags that cannot construct anything: the standard scalars and collections, plus the
# ones PyYAML resolves implicitly (timestamps, "<<" merge, "=") which at worst make a
# type error.
_ALLOWED_TAGS = frozenset(
    _TAG + name
    for name in ("str", "int", "float", "bool", "null", "seq", "map", "merge", "timestamp", "value")
)


class Alias(Node):
    """Where an alias (``*name``) was written; ``target`` is the anchored node it means.

    PyYAML returns the anchored node itself, losing the alias's position; keeping it
    lets an alias bomb be reported where the alias is.
    """

    id = "alias"

    def __init__(self, target: Node, anchor: str, start_mark: Mark) -> None:
        super().__init__(target.tag, None, start_mark, start_mark)
        self.target = target
        self.anchor = anchor


class _TooDeep(Exception):
    def __init__(self, mark: Mark) -> None:
        self.mark = mark


class _Limits(Composer):
    """The SafeLoader's composer, keeping alias positions and limiting nesting (the
    composer recurses, so a deep "[[[[..." would otherwise hit Python's limit)."""

    depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event: Event = self.peek_event()  # type: ignore[attr-defined]  # the parser's
        if isinstance(event, AliasEvent):
            target = super().compose_node(parent, index)  # raises on an undefined alias
            assert target is not None and isinstance(event.start_mark, Mark)
            return Alias(target, str(event.anchor), event.start_mark)
        if self.depth >= MAX_DEPTH:
            raise _TooDeep(cast(Mark, event.start_mark))
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Composer(_Limits, yaml.SafeLoader):
    """Composes with PyYAML's own (pure-Python) reader, scanner and parser."""


_FastComposer: Callable[[str], Any] | None = None
if yaml.__with_libyaml__:

    class _CComposer(_Limits, yaml.CSafeLoader):
        """Composes from libyaml's events: the composer above (Python) comes first in
        the order, so only the reading, scanning and parsing are libyaml's."""

        def __init__(self, text: str) -> None:
            yaml.CSafeLoader.__init__(self, text)
            self.anchors = {}  # what Composer.__init__ sets: CSafeLoader does not call it

        def get_event(self) -> Event:
            """The event with PyYAML's own marks (libyaml's are another type), as the
            nodes and messages expect: same line and column, no snippet."""
            event = cast(Event, super().get_event())
            for name in ("start_mark", "end_mark"):
                m = getattr(event, name)
                setattr(event, name, Mark(m.name, m.index, m.line, m.column, None, 0))
            return event

    _FastComposer = _CComposer


def _fast(text: str) -> tuple[bool, Node | None]:
    """(True, the tree) from libyaml's parser; (False, None) if there is no libyaml, it
    refuses the text, or the text has a character PyYAML's reader refuses (then the
    Python parse says why, as always), or a tab: libyaml takes some tabs PyYAML refuses
    (compared on the 5,574 YAML files of a Linux system, the tabs were the one place
    where they took different documents; the trees were alike but for the end mark of
    a document's last collection, which nothing here reads)."""
    if _FastComposer is None or "\t" in text or Reader.NON_PRINTABLE.search(text):
        return False, None
    loader = _FastComposer(text)
    try:
        return True, loader.get_single_node()
    except YAMLError:
        return False, None
    finally:
        loader.dispose()


def compose(text: str, path: str) -> Node | None:
    try:
        done, tree = _fast(text)
        if done:
            return tree
        loader = _Composer(text)
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()
    except _TooDeep as exc:
        problem = at(path, exc.mark, f"nested more than {MAX_DEPTH} levels deep")
    except MarkedYAMLError as exc:
        problem = syntax_problem(exc, text, path)
    except ReaderError as exc:  # a character YAML does not allow, e.g. a control code
        before = text[: exc.position]
        line = before.count("\n") + 1
        column = exc.position - (before.rfind("\n") + 1) + 1
        code = exc.character if isinstance(exc.character, int) else 0
        message = f"character U+{code:04X} is not allowed in a YAML file"
        problem = Problem(path, line, column, message)
    except YAMLError:  # pragma: no cover - PyYAML raises only the kinds above
        problem = Problem(path, 1, 1, "this is not valid YAML")
    raise RoutineError([problem])


def at(path: str, mark: Mark, message: str) -> Problem:
    return Problem(path, mark.line + 1, mark.column + 1, message)


# --- the tree as written: tags and aliases --------------------------------------------


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


class _Recursive(Exception):
    def __init__(self, alias: Alias) -> None:
        self.alias = alias


def _expanded_size(start: Node, memo: dict[int, int]) -> int:
    """How many values ``start`` stands for once every alias in it is expanded.

    Iterative (no recursion limit) and memoized (shared anchors are sized once), so
    even a "billion laughs" document is sized in time linear in its text.
    """
    if id(start) in memo:
        return memo[id(start)]
    stack: list[tuple[Node, list[Node]]] = [(start, _children(start))]
    totals = [1]
    active = {id(start)}
    while stack:
        node, todo = stack[-1]
        if not todo:
            stack.pop()
            active.discard(id(node))
            size = totals.pop()
            memo[id(node)] = size
            if totals:
                totals[-1] += size
            continue
        child = todo.pop()
        if isinstance(child, Alias):
            if id(child.target) in active:
                raise _Recursive(child)
            child = child.target
        if id(child) in memo:
            totals[-1] += memo[id(child)]
            continue
        active.add(id(child))
        stack.append((child, _children(child)))
        totals.append(1)
    return memo[id(start)]


def check_tree(root: Node, path: str) -> list[tuple[Node, str]]:
    """The nodes with a forbidden tag, and why; raises ``RoutineError`` at once for an
    alias bomb or a recursive alias, since such a tree cannot be walked."""
    memo: dict[int, int] = {}
    expanded = 0
    refused: list[tuple[Node, str]] = []
    todo = [root]
    while todo:
        node = todo.pop()
        if isinstance(node, Alias):
            try:
                expanded += _expanded_size(node.target, memo)
            except _Recursive as exc:
                message = f"alias '*{exc.alias.anchor}' refers to a value that contains it"
                raise RoutineError([at(path, exc.alias.start_mark, message)]) from None
            if expanded > MAX_ALIAS_VALUES:
                message = (
                    f"alias '*{node.anchor}' expands the file to more than "
                    f"{MAX_ALIAS_VALUES} values (an alias bomb?)"
                )
                raise RoutineError([at(path, node.start_mark, message)])
            continue
        if node.tag not in _ALLOWED_TAGS:
            tag = node.tag
            tag = "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag
            refused.append((node, f"tag '{clip(tag)}' is not allowed"))
        todo.extend(reversed(_children(node)))
    return refused


def show(node: Node) -> str:
    """A value as a message shows it: 'text' quoted, numbers as written, "a list"..."""
    if isinstance(node, Alias):
        node = node.target
    if isinstance(node, SequenceNode):
        items = [item.target if isinstance(item, Alias) else item for item in node.value]
        if all(isinstance(item, ScalarNode) for item in items):  # short lists as written
            text = "[" + ", ".join(str(item.value) for item in items) + "]"
            if len(text) <= 40:
                return text
        return "a list"
    if isinstance(node, MappingNode):
        return "a mapping"
    value = str(node.value)
    if node.tag == NULL:
        return "empty" if value == "" else "null"
    text = clip(value).replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return f"'{text}'" if node.tag == STR else text


def clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def either(choices: tuple[str, ...] | list[str]) -> str:
    """Choices as a sentence: "a, b or c"."""
    if len(choices) == 1:
        return choices[0]
    return ", ".join(choices[:-1]) + " or " + choices[-1]


def pos(node: Node) -> Pos:
    return Pos(node.start_mark.line + 1, node.start_mark.column + 1)
