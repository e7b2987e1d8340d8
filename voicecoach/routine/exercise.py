"""Exercises: one exercise's keys -> the model's ``Exercise`` (kind, phases, sides...).

Part of the routine loader (``routine.py``): exercises inherit ``Defaults`` and are
read with a ``yamlread.Reader``, which records each problem and lets the builder go
on with a stand-in value, so one pass finds all of a file's problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from yaml.nodes import Node, ScalarNode, SequenceNode

from voicecoach.core.model import (
    BREATHS,
    LINE_MOMENTS,
    LINE_VARIABLES,
    SIDE_NAMES,
    VERBOSITIES,
    Breath,
    Exercise,
    Kind,
    Lines,
    Phase,
    SideMode,
    Verbosity,
)
from voicecoach.routine.schema import (
    EXERCISE_KEYS,
    MAX_DURATION,
    MAX_FORM,
    MAX_NAME,
    MAX_PHASES,
    MAX_REPS,
    MAX_SETS,
    MAX_TEXT,
    ONLY_WITH,
    PHASE_KEYS,
    elsewhere,
)
from voicecoach.routine.yamlread import Reader
from voicecoach.routine.yamltree import NULL, STR, pos, show

Map = dict[str, tuple[Node, Node]]  # key -> (key node, value node)
_ELSEWHERE = elsewhere(EXERCISE_KEYS)
_KINDS: dict[str, Kind] = {"reps": "reps", "time": "timed", "hold": "hold", "breaths": "breaths"}


@dataclass(frozen=True, slots=True)
class Defaults:
    """What exercises (and blocks) inherit; the values mirror the model's defaults."""

    rest: float = 20.0
    lead_in: float = 10.0
    set_rest: float = 15.0
    switch: float = 5.0
    round_rest: float = 30.0
    tempo: tuple[float, ...] = (2.0, 2.0)
    verbosity: Verbosity = "normal"
    count: bool = True


class ExerciseBuilder:
    """Reads exercises. The small helpers return a key's value, or the default when the
    key is absent or its value is wrong (the problem is then recorded)."""

    def __init__(self, reader: Reader) -> None:
        self.r = reader

    def _required_text(self, m: Map, key: str, node: Node, limit: int, where: str) -> str | None:
        if key not in m:
            self.r.error(node, f"missing required key '{key}'{where}")
            return None
        return self.r.text(m[key][1], key, limit)

    def _text(self, m: Map, key: str, limit: int, label: str | None = None) -> str | None:
        return self.r.text(m[key][1], label or key, limit) if key in m else None

    def _duration(self, m: Map, key: str, default: float, *, positive: bool = False) -> float:
        if key not in m:
            return default
        value = self.r.duration(m[key][1], key, MAX_DURATION, positive=positive)
        return default if value is None else value

    def _whole(self, m: Map, key: str, low: int, high: int, default: int) -> int:
        value = self.r.whole(m[key][1], key, low, high) if key in m else None
        return default if value is None else value

    def _bool(self, m: Map, key: str, default: bool) -> bool:
        value = self.r.boolean(m[key][1], key) if key in m else None
        return default if value is None else value

    def _verbosity(self, m: Map, default: Verbosity) -> Verbosity:
        if "verbosity" not in m:
            return default
        value = self.r.choice(m["verbosity"][1], "verbosity", VERBOSITIES)
        return default if value is None else cast(Verbosity, value)

    def exercise(self, node: Node, defaults: Defaults) -> Exercise | None:
        r = self.r
        real = r.node(node)
        m = r.mapping(node, "an exercise", EXERCISE_KEYS, " in an exercise", _ELSEWHERE)
        if real is None or m is None:
            return None
        name = self._required_text(m, "name", real, MAX_NAME, " in an exercise")
        kind_key = self._kind_key(m, real, name)
        sides = self._sides(m["sides"][1], kind_key) if "sides" in m else None
        side_mode, side_names = sides or ("none", ())
        sets = self._whole(m, "sets", 1, MAX_SETS, 1)
        reps, hold, hold_after, time, manual, estimate = 0, 0.0, 0, 0.0, False, 0.0
        phases: tuple[Phase, ...] = ()
        if kind_key == "reps":
            reps = self._whole(m, "reps", 1, MAX_REPS, 1)
            phases = self._rep_phases(m, defaults)
            hold = self._duration(m, "hold", 0.0, positive=True)
            hold_after = self._hold_after(m, len(phases))
            manual = self._bool(m, "manual", False)
            per_rep = sum(p.seconds for p in phases) + hold
            estimate = sets * max(1, len(side_names)) * reps * per_rep if manual else 0.0
            if "estimate" in m and not manual:
                r.error(m["estimate"][0], "estimate only applies with manual: true")
            elif manual:
                estimate = self._duration(m, "estimate", estimate, positive=True)
        elif kind_key == "time":
            time = self._duration(m, "time", 1.0, positive=True)
        elif kind_key == "hold":
            hold = self._duration(m, "hold", 1.0, positive=True)
        elif kind_key == "breaths":
            reps = self._whole(m, "breaths", 1, MAX_REPS, 1)
            phases = self._breath_phases(m)
        return Exercise(
            name=name or "", pos=pos(real), kind=_KINDS.get(kind_key or "", "reps"),
            setup=self._text(m, "setup", MAX_TEXT), cue=self._text(m, "cue", MAX_TEXT),
            form=self._form(m["form"][1]) if "form" in m else (),
            reps=reps, phases=phases, hold=hold, hold_after=hold_after, time=time,
            manual=manual, estimate=estimate, side_mode=side_mode, sides=side_names,
            switch=self._duration(m, "switch", defaults.switch), sets=sets,
            set_rest=self._duration(m, "set_rest", defaults.set_rest),
            rest=self._duration(m, "rest", defaults.rest),
            lead_in=self._duration(m, "lead_in", defaults.lead_in),
            verbosity=self._verbosity(m, defaults.verbosity),
            count=self._bool(m, "count", defaults.count),
            lines=self._lines(m["say"][1]) if "say" in m else Lines(),
        )  # fmt: skip

    def _kind_key(self, m: Map, node: Node, name: str | None) -> str | None:
        """The key that sets the exercise's kind: reps, time, hold or breaths."""
        r = self.r
        given: list[str] = sorted((k for k in ("reps", "time", "breaths") if k in m),
                                  key=lambda k: m[k][0].start_mark.index)  # fmt: skip
        for key in given[1:]:
            message = f"{key} cannot be used with {given[0]}: an exercise has one of them"
            r.error(m[key][0], message)
        kind_key: str | None = given[0] if given else ("hold" if "hold" in m else None)
        if kind_key is None and set(_KINDS) & r.suggested.get(id(node), set()):
            return None  # a misspelled kind key ("rpes"): its did-you-mean says it all
        if kind_key is None:
            which = f"exercise '{name}'" if name else "an exercise"
            r.error(node, f"{which} needs one of reps, time, hold or breaths")
            return None
        if "hold" in m and kind_key == "time":
            message = "hold cannot be used with time: time is moving work, hold a still one"
            r.error(m["hold"][0], message)
        if "hold" in m and kind_key == "breaths":
            r.error(m["hold"][0], "hold cannot be used with breaths: use hold_breath")
        for key, needs in ONLY_WITH.items():
            if key in m and kind_key != needs:
                r.error(m[key][0], f"{key} only applies to exercises with {needs}")
        return kind_key

    def _sides(self, node: Node, kind_key: str | None) -> tuple[SideMode, tuple[str, ...]] | None:
        real = self.r.node(node)
        if real is None:
            return None
        if isinstance(real, ScalarNode) and real.tag == STR and real.value in ("both", "alternate"):
            if real.value == "both":
                return "each", SIDE_NAMES
            if kind_key in ("reps", None):
                return "alternate", SIDE_NAMES
            self.r.error(real, "sides: alternate only applies to exercises with reps")
            return None
        if isinstance(real, ScalarNode) and real.tag == STR and real.value in SIDE_NAMES:
            return "each", (str(real.value),)  # one side only: no switch
        if isinstance(real, SequenceNode):
            items = [self.r.node(item) for item in real.value]
            names = tuple(i.value if isinstance(i, ScalarNode) else None for i in items)
            if names in (("left", "right"), ("right", "left")):
                return "each", cast(tuple[str, ...], names)
        choices = "both, alternate, left, right, [left, right] or [right, left]"
        message = f"sides must be {choices}, not {show(real)}"
        self.r.error(real, message)
        return None

    def _rep_phases(self, m: Map, defaults: Defaults) -> tuple[Phase, ...]:
        if "phases" in m:
            for key in ("tempo", "breathing", "moves"):
                if key in m:
                    message = f"{key} cannot be used with phases: give each phase its own"
                    self.r.error(m[key][0], message)
            return self._phase_list(m["phases"][1])
        given = self._tempo(m["tempo"][1]) if "tempo" in m else None
        tempo = given or defaults.tempo
        breaths: tuple[Breath | None, ...] = (None,) * len(tempo)
        if "breathing" in m:
            # A wrong tempo is reported already; its phases are unknown, so the breathing's
            # length is not checked against the default's (that message would be false).
            known = given is not None or "tempo" not in m
            read = self._breathing(m["breathing"][1], len(tempo) if known else None)
            breaths = read if read is not None and len(read) == len(tempo) else breaths
        moves: tuple[str | None, ...] = (None,) * len(tempo)
        if "moves" in m:
            known = given is not None or "tempo" not in m
            said = self._moves(m["moves"][1], len(tempo) if known else None)
            moves = said if said is not None and len(said) == len(tempo) else moves
        return tuple(
            Phase(seconds, breath, move)
            for seconds, breath, move in zip(tempo, breaths, moves, strict=True)
        )

    def _moves(self, node: Node, phases: int | None) -> tuple[str | None, ...] | None:
        """One movement word (or null) per tempo phase, as ``_breathing`` reads breaths."""
        items = self.r.seq(node, "moves", "a list of movement words or null, one per phase")
        if items is None:
            return None
        if phases is not None and len(items) != phases:
            entries = "1 entry" if len(items) == 1 else f"{len(items)} entries"
            tempo = "1 phase" if phases == 1 else f"{phases} phases"
            self.r.error(node, f"moves has {entries} but the tempo has {tempo}")
            return None
        moves: list[str | None] = []
        for item in items:
            real = self.r.node(item)
            if isinstance(real, ScalarNode) and real.tag == NULL:
                moves.append(None)
            elif real is not None:
                moves.append(self.r.text(real, "moves", MAX_NAME))
        return tuple(moves) if len(moves) == len(items) else None

    def _form(self, node: Node) -> tuple[str, ...]:
        """Form pointers: a list of short texts."""
        items = self.r.seq(node, "form", "a list of short pointers", MAX_FORM)
        said = [self.r.text(item, "form", MAX_TEXT) for item in items or ()]
        return tuple(s for s in said if s)

    def _tempo(self, node: Node) -> tuple[float, ...] | None:
        expected = "a list of durations, one per phase, such as [2s, 2s]"
        items = self.r.seq(node, "tempo", expected, MAX_PHASES)
        if items is None:
            return None
        values = [self.r.duration(item, "tempo", MAX_DURATION, positive=True) for item in items]
        return tuple(v for v in values if v is not None) if None not in values else None

    def _breathing(self, node: Node, phases: int | None) -> tuple[Breath | None, ...] | None:
        """One breath per phase; ``phases`` None: the tempo is wrong, check the entries only."""
        items = self.r.seq(node, "breathing", "a list of in, out, hold or null, one per phase")
        if items is None:
            return None
        if phases is not None and len(items) != phases:
            entries = "1 entry" if len(items) == 1 else f"{len(items)} entries"
            tempo = "1 phase" if phases == 1 else f"{phases} phases"
            message = f"breathing has {entries} but the tempo has {tempo}"
            self.r.error(node, message)
            return None
        breaths: list[Breath | None] = []
        for item in items:
            real = self.r.node(item)
            if isinstance(real, ScalarNode) and real.tag == STR and real.value in BREATHS:
                breaths.append(cast(Breath, real.value))
            elif isinstance(real, ScalarNode) and real.tag == NULL:
                breaths.append(None)
            elif real is not None:
                self.r.error(real, f"breathing must be in, out, hold or null, not {show(real)}")
        return tuple(breaths) if len(breaths) == len(items) else None

    def _phase_list(self, node: Node) -> tuple[Phase, ...]:
        expected = "a list of phases such as {time: 2s, breath: in}"
        items = self.r.seq(node, "phases", expected, MAX_PHASES)
        phases = []
        for item in items or ():
            real = self.r.node(item)
            m = self.r.mapping(item, "a phase", PHASE_KEYS, " in a phase")
            if real is None or m is None:
                continue
            seconds = 1.0
            if "time" in m:
                seconds = self._duration(m, "time", seconds, positive=True)
            else:
                self.r.error(real, "missing required key 'time' in a phase")
            breath = self.r.choice(m["breath"][1], "breath", BREATHS) if "breath" in m else None
            say = self._text(m, "say", MAX_NAME)
            phases.append(Phase(seconds, cast(Breath | None, breath), say))
        return tuple(phases) or (Phase(1.0),)

    def _hold_after(self, m: Map, phases: int) -> int:
        if "hold_after" not in m:
            return 0
        if "hold" not in m:
            self.r.error(m["hold_after"][0], "hold_after needs hold (the hold in every rep)")
            return 0
        return self._whole(m, "hold_after", 1, phases, 1) - 1  # 1-based in the file

    def _breath_phases(self, m: Map) -> tuple[Phase, ...]:
        inhale = Phase(self._duration(m, "inhale", 4.0, positive=True), "in")
        exhale = Phase(self._duration(m, "exhale", 6.0, positive=True), "out")
        if "hold_breath" not in m:
            return inhale, exhale
        return inhale, Phase(self._duration(m, "hold_breath", 1.0, positive=True), "hold"), exhale

    def _lines(self, node: Node) -> Lines:
        m = self.r.mapping(node, "say", LINE_MOMENTS, " in say") or {}
        lines: dict[str, str | None] = {}
        for moment, (_, value) in m.items():
            lines[moment] = self.r.template(value, f"say.{moment}", MAX_TEXT, LINE_VARIABLES)
        return Lines(**lines)
