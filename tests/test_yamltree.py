"""The YAML composer: libyaml's parser (fast) and PyYAML's own give the same tree, and
a document libyaml cannot take, or takes where PyYAML would not, goes the Python way."""

from __future__ import annotations

import pytest
import yaml
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, SequenceNode

from voicecoach.errors import RoutineError
from voicecoach.routine import resources, yamltree

pytestmark = pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml")


def _python(text: str) -> Node | None:
    loader = yamltree._Composer(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _flat(node: Node | None) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    todo = [node] if node is not None else []
    while todo:
        n = todo.pop()
        if isinstance(n, yamltree.Alias):
            out.append(("alias", n.anchor, n.start_mark.line, n.start_mark.column))
            continue
        assert isinstance(n.start_mark, Mark)  # PyYAML's marks, whichever parser
        value = None if isinstance(n, (MappingNode, SequenceNode)) else n.value
        out.append((type(n).__name__, n.tag, value, n.start_mark.line, n.start_mark.column))
        if isinstance(n, SequenceNode):
            todo.extend(reversed(n.value))
        elif isinstance(n, MappingNode):
            todo.extend(reversed([part for pair in n.value for part in pair]))
    return out


ANCHORS = """\
title: Anchors
defaults: &d {lead_in: 12s, rest: 15s}
exercises:
  - &bridge {name: Bridge, hold: 30s}
  - name: "Bird-dog ünïcode"
    reps: 8
    tempo: [2s, 2s]
  - *bridge
more: *d
"""


@pytest.mark.parametrize("name", sorted(resources.bundled_routines()))
def test_bundled_routines_compose_alike(name: str) -> None:
    text = resources.bundled_routines()[name].read_text(encoding="utf-8")
    done, fast = yamltree._fast(text)
    assert done
    assert _flat(fast) == _flat(_python(text))
    assert _flat(fast)


def test_anchors_aliases_and_unicode_columns_alike() -> None:
    done, fast = yamltree._fast(ANCHORS)
    assert done
    assert _flat(fast) == _flat(_python(ANCHORS))
    assert any(row[0] == "alias" for row in _flat(fast))


@pytest.mark.parametrize(
    "text",
    [
        "a: [1,\n\t2]\n",  # a tab libyaml takes and PyYAML refuses
        "a: b: c\n",  # refused by both: the message must be PyYAML's
        "a: *nowhere\n",
        "a: \x07\n",  # a control character PyYAML's reader refuses
    ],
)
def test_what_libyaml_should_not_decide_goes_the_python_way(text: str) -> None:
    assert yamltree._fast(text) == (False, None)
    with pytest.raises(RoutineError):
        yamltree.compose(text, "r.yaml")


def test_empty_document_is_none_without_a_second_parse() -> None:
    assert yamltree._fast("# nothing\n") == (True, None)
    assert yamltree.compose("# nothing\n", "r.yaml") is None
