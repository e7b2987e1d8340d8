"""The routine model: frozen, validated data built by ``routine.load``.

Everything here is plain data. Durations are seconds (float); the compiler turns
them into exact sample positions. Every exercise and block remembers the line and
column it came from, so warnings can name the routine's line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Verbosity = Literal["full", "normal", "minimal"]
VERBOSITIES: tuple[Verbosity, ...] = ("full", "normal", "minimal")

Breath = Literal["in", "out", "hold"]
BREATHS: tuple[Breath, ...] = ("in", "out", "hold")

# What an exercise is made of:
#   reps    - a number of repetitions, each a sequence of timed phases (tempo),
#             optionally with a hold after one phase ("hold 5 s at the top")
#   timed   - moving work for a fixed time ("march on the spot for 30 s")
#   hold    - one static hold for a fixed time ("hold the stretch 45 s")
#   breaths - breath-paced work ("5 breaths, 4 s in, 6 s out")
Kind = Literal["reps", "timed", "hold", "breaths"]

# How sides are worked: none; each side in turn (all reps left, switch, all reps
# right), or one side only (``sides`` holds just that side: no switch); or
# alternating sides rep by rep (no switch pause).
SideMode = Literal["none", "each", "alternate"]

SIDE_NAMES: tuple[str, ...] = ("left", "right")

# Custom spoken lines, keyed by the moment they are said. See docs/routines.md.
LINE_MOMENTS: tuple[str, ...] = ("intro", "start", "rep", "halfway", "last", "end")
# Variables a custom line may use.
LINE_VARIABLES: tuple[str, ...] = ("exercise", "side", "rep", "reps", "set", "sets", "seconds")


@dataclass(frozen=True, slots=True)
class Pos:
    """A 1-based line and column in the routine file."""

    line: int
    column: int


# The speech engines: eSpeak NG (the default, always there) and Piper (an optional extra).
ENGINES: tuple[str, ...] = ("espeak", "piper")


@dataclass(frozen=True, slots=True)
class Voice:
    """Speech settings. ``voice`` is, for eSpeak NG, a voice id or language ("gmw/en-us",
    "en"); for Piper, a voice name ("en_US-joe-medium") or a path to its ``.onnx``."""

    voice: str | None = None
    rate: int = 165  # words per minute
    volume: float = 1.0  # 0.0 to 1.0
    engine: str = "espeak"  # one of ENGINES
    language: str | None = None  # the routine's language, if it names one ("en-gb")


@dataclass(frozen=True, slots=True)
class Phase:
    """One timed part of a repetition (e.g. 2 s up, breathing in)."""

    seconds: float
    breath: Breath | None = None
    say: str | None = None  # a short word for the movement ("lift", "lower")


@dataclass(frozen=True, slots=True)
class Lines:
    """Custom spoken lines; ``None`` means the coach's own words. May use {variables}."""

    intro: str | None = None  # after the set-up, during the lead-in
    start: str | None = None  # right after the start sound
    rep: str | None = None  # replaces the count at the start of every rep
    halfway: str | None = None  # halfway through a set, hold or timed work
    last: str | None = None  # at the start of the last rep
    end: str | None = None  # when the exercise is finished

    def get(self, moment: str) -> str | None:
        value: str | None = getattr(self, moment)
        return value


@dataclass(frozen=True, slots=True)
class Exercise:
    name: str
    pos: Pos
    kind: Kind
    setup: str | None = None  # how to get into position, said during the lead-in
    cue: str | None = None  # the movement cue, said just before the start
    form: tuple[str, ...] = ()  # form pointers, said in the gaps of long work
    reps: int = 0  # reps per set (per side); breaths for kind "breaths"
    phases: tuple[Phase, ...] = ()  # reps and breaths: the phases of one rep / breath
    hold: float = 0.0  # reps: hold per rep; hold: the whole hold
    hold_after: int = 0  # reps: index of the phase the hold follows (0 = "at the top")
    time: float = 0.0  # timed: the work time
    manual: bool = False  # user does the reps at their own pace, then presses a key
    estimate: float = 0.0  # manual: seconds allowed for it in audition and render
    side_mode: SideMode = "none"
    sides: tuple[str, ...] = ()  # e.g. ("left", "right"), in the order worked; ("left",)
    switch: float = 5.0  # pause to switch sides
    sets: int = 1
    set_rest: float = 15.0  # rest between sets
    rest: float = 20.0  # rest after the exercise
    lead_in: float = 10.0  # time to get into position before the start
    verbosity: Verbosity = "normal"
    count: bool = True  # count the reps aloud
    lines: Lines = field(default_factory=Lines)


@dataclass(frozen=True, slots=True)
class Block:
    name: str
    pos: Pos
    exercises: tuple[Exercise, ...]
    rounds: int = 1
    round_rest: float = 30.0  # rest between rounds
    # The one block of a routine that lists ``exercises:`` without blocks: its name is
    # the coach's word for it in the session's language (core.lines.MAIN_BLOCK), shown
    # in the transcript and the timeline's JSON, never spoken.
    implicit: bool = False


# The music bed's level, in LU under the speech's loudness target (audio.duck uses it).
MUSIC_LEVEL = 12.0
MUSIC_LEVEL_RANGE = (6.0, 40.0)  # closer than 6 LU, the bed fights the coach (and peaks)


@dataclass(frozen=True, slots=True)
class MusicChoice:
    """A routine's ``music:``: a file or folder (absolute) and its level (None: default)."""

    path: str
    level: float | None = None


@dataclass(frozen=True, slots=True)
class Routine:
    title: str
    blocks: tuple[Block, ...]
    path: str  # the file it was loaded from (as given or bundled)
    name: str  # the bundled name or file stem ("back-strength")
    digest: str  # sha256 of the file's bytes, for history
    description: str | None = None
    source: str | None = None
    safety: str | None = None
    voice: Voice = field(default_factory=Voice)
    sounds: tuple[tuple[str, str], ...] = ()  # (cue name, absolute path to a sound file)
    music: MusicChoice | None = None  # music under the coach
    # The top-level language: as written, lower case ("en-gb"); None: not given. The
    # catalogue that speaks it was checked when the routine was loaded.
    language: str | None = None

    @property
    def exercises(self) -> tuple[Exercise, ...]:
        return tuple(ex for block in self.blocks for ex in block.exercises)
