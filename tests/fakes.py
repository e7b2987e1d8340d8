"""Every fake the tests share, deterministic stand-ins for the adapters (one module: the
test modules import their fakes from here, never from each other or from the package).

- speech and sounds: ``FakeSpeech``, ``fake_sounds`` (tones whose length follows the text),
  and ``compile_with`` (compiles as the session does, with those lengths);
- output and time: ``FakeClock``, ``RecordingOut`` (plays nothing, keeps every buffer as a
  ``Played``, in the fake clock's time);
- keys: ``ScriptedKeys``;
- the player's other ports: ``FakeRecorder``, ``FakeStatus``; ``play`` drives the player
  with all of them;
- the history: ``make_routine``, ``fake_session`` (what the store reads of a session);
- a machine without eSpeak NG: ``NO_ESPEAK``;
- the environment the commands run in: ``fake_env`` (fake speech and sounds; any other
  adapter fails the test unless given).
"""

from __future__ import annotations

import textwrap
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from voicecoach.core.model import Block, Exercise, Pos, Routine
from voicecoach.core.records import Summary
from voicecoach.core.status import Glance
from voicecoach.core.timeline import SAMPLE_RATE, SOUND_NAMES, Event, Timeline

if TYPE_CHECKING:
    from voicecoach.app.env import Env
    from voicecoach.app.player import PlayResult
    from voicecoach.app.ports import Playback
    from voicecoach.app.session import Session
    from voicecoach.core.model import Verbosity, Voice

Samples = npt.NDArray[np.int16]

# A short routine with every kind of stretch the player cares about: a hold, a rest,
# reps on both sides over two sets, and a manual-advance exercise (a wait).
SHORT_ROUTINE = """\
title: Test
exercises:
  - name: Bridge
    hold: 6s
    lead_in: 3s
    rest: 4s
  - name: Bird-dog
    reps: 3
    tempo: [1s, 1s]
    sides: both
    sets: 2
    set_rest: 3s
    lead_in: 3s
    rest: 4s
  - name: Plank
    reps: 5
    manual: true
    estimate: 20s
    lead_in: 3s
"""


# -- speech and sounds ----------------------------------------------------------------------


def fake_length(text: str) -> int:
    """A phrase's length: 50 ms a character plus 100 ms, like slow-ish speech."""
    return int((0.1 + 0.05 * len(text)) * SAMPLE_RATE)


def compile_with(
    routine: Routine,
    length: Callable[[str], int] = fake_length,
    *,
    verbosity: Verbosity | None = None,
    include_safety: bool = True,
) -> Timeline:
    """Compile as the session does, with ``length(text)`` for a clip's length: the
    listed phrases' lengths, one layout, then the closing line."""
    from voicecoach.core.compiler import compile_routine
    from voicecoach.core.phrases import phrases

    texts = phrases(routine, verbosity=verbosity, include_safety=include_safety)
    lengths = {text: length(text) for text in texts}
    draft = compile_routine(
        routine, lengths, FAKE_SOUND_LENGTHS, verbosity=verbosity, include_safety=include_safety
    )
    return draft.finish(length(draft.closing))


def tone(length: int, freq: float, amp: float = 0.3) -> Samples:
    t = np.arange(length) / SAMPLE_RATE
    env = np.minimum(1.0, np.minimum(np.arange(length), np.arange(length)[::-1]) / 64)
    return (np.sin(2 * np.pi * freq * t) * env * amp * 32767).astype(np.int16)


class FakeSpeech:
    """Clips are tones whose length depends on the text; counts what it synthesized."""

    def __init__(self, length: Callable[[str], int] = fake_length) -> None:
        self._length = length
        self.synthesized: list[str] = []

    def clip(self, text: str) -> Samples:
        self.synthesized.append(text)
        freq = 200 + zlib.crc32(text.encode()) % 600
        return tone(self._length(text), freq)

    def clips(
        self, texts: Iterable[str], progress: Callable[[int, int], None] | None = None
    ) -> dict[str, Samples]:
        texts = list(dict.fromkeys(texts))
        out = {}
        for i, text in enumerate(texts):
            out[text] = self.clip(text)
            if progress:
                progress(i + 1, len(texts))
        return out


FAKE_SOUND_LENGTHS = {
    "start": 4410,
    "hold": 6615,
    "release": 5512,
    "rest": 8820,
    "switch": 5512,
    "tick": 1323,
    "finish": 17640,
}


def fake_sounds() -> dict[str, Samples]:
    assert set(FAKE_SOUND_LENGTHS) == set(SOUND_NAMES)
    return {
        name: tone(n, 1000 + 150 * i, 0.2) for i, (name, n) in enumerate(FAKE_SOUND_LENGTHS.items())
    }


# A sitecustomize.py that makes libespeak-ng unloadable, as on a machine without the
# libespeak-ng1 package (put its folder first on a child process's PYTHONPATH).
NO_ESPEAK = textwrap.dedent(
    """
    # Makes libespeak-ng unloadable, as on a machine without the libespeak-ng1 package.
    import ctypes

    _real_init = ctypes.CDLL.__init__

    def _init(self, name, *args, **kwargs):
        if name is not None and "espeak" in str(name).lower():
            raise OSError(f"{name}: cannot open shared object file: No such file or directory")
        _real_init(self, name, *args, **kwargs)

    ctypes.CDLL.__init__ = _init
    """
)


# -- sound output and time ------------------------------------------------------------------


class FakeClock:
    """A clock that only moves when told to; ``sleep`` advances it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


@dataclass
class Played:
    """One buffer given to a ``RecordingOut``: what, when, and how much was heard."""

    samples: Samples
    rate: int
    started: float
    stopped: int | None = None  # samples heard when stopped; None if it played to the end
    ended: bool = True  # a stream: False until its end() (it plays on, silent, till then)

    @property
    def heard(self) -> int:
        return len(self.samples) if self.stopped is None else self.stopped


@dataclass
class RecordingOut:
    """Plays nothing; keeps every buffer and "plays" it in the fake clock's time.

    ``drain`` imitates simpleaudio: a stopped buffer goes on for that many more seconds.
    """

    clock: FakeClock = field(default_factory=FakeClock)
    drain: float = 0.0
    plays: list[Played] = field(default_factory=list)

    def play(self, samples: Samples, rate: int) -> Playback:
        played = self._new(samples.copy(), rate)
        return _FakePlayback(self, played)

    def stream(self, rate: int) -> _FakeFeed:
        """A stream: one entry in ``plays``, its samples growing as they are fed. It starts
        when opened (the player feeds its first block at once)."""
        return _FakeFeed(self, self._new(np.zeros(0, dtype=np.int16), rate, ended=False))

    def _new(self, samples: Samples, rate: int, ended: bool = True) -> Played:
        for earlier in self.plays:  # like a real device, one buffer ends before the next
            if earlier.stopped is None and (
                not earlier.ended or self._at(earlier) < len(earlier.samples)
            ):
                raise AssertionError("a new buffer started while another was still playing")
        played = Played(samples, rate, self.clock(), ended=ended)
        self.plays.append(played)
        return played

    def _at(self, played: Played) -> int:
        heard = round((self.clock() - played.started) * played.rate)
        return min(played.heard, max(0, heard))


class _FakePlayback:
    def __init__(self, out: RecordingOut, played: Played) -> None:
        self._out = out
        self._played = played

    def is_playing(self) -> bool:
        played = self._played
        return (played.stopped is None and not played.ended) or self._out._at(played) < played.heard

    def played(self) -> int:
        return self._out._at(self._played)

    def _left(self) -> float:
        return (self._played.heard - self._out._at(self._played)) / self._played.rate

    def wait(self, timeout: float) -> bool:
        left = self._left()
        if left <= timeout and (self._played.ended or self._played.stopped is not None):
            self._out.clock.sleep(left)
            return True
        self._out.clock.sleep(timeout)
        return False

    def stop(self, *, wait: bool = True) -> int:
        if not self.is_playing():
            return self._played.heard
        at = self._out._at(self._played)
        extra = round(self._out.drain * self._played.rate) if wait else 0
        self._played.stopped = min(len(self._played.samples), at + extra)
        if wait:
            self._out.clock.sleep((self._played.stopped - at) / self._played.rate)
        return self._played.stopped


class _FakeFeed(_FakePlayback):
    """A stream the player feeds. Fed too late, it would have gone silent: that fails."""

    def feed(self, samples: Samples) -> None:
        played = self._played
        assert not played.ended, "fed after end()"
        if self._out._at(played) >= len(played.samples) > 0:
            raise AssertionError("the stream ran dry: fed too late")
        played.samples = np.concatenate([played.samples, samples])

    def queued(self) -> int:
        return len(self._played.samples) - self._out._at(self._played)

    def end(self) -> None:
        self._played.ended = True


# -- keys -----------------------------------------------------------------------------------


class ScriptedKeys:
    """Keys pressed at given times on a fake clock. ``sleep`` moves the clock."""

    def __init__(
        self,
        script: Iterable[tuple[float, str]],
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self._script = deque(sorted(script, key=lambda item: item[0]))
        self._clock = clock
        self._sleep = sleep
        self.asked = 0  # how many times get() was called

    def get(self, timeout: float) -> str | None:
        self.asked += 1
        now = self._clock()
        if self._script and self._script[0][0] <= now + timeout:
            at, key = self._script.popleft()
            self._sleep(at - now)
            return key
        self._sleep(timeout)
        return None

    @property
    def left(self) -> int:
        return len(self._script)


# -- the player's other ports, and the player driven with every fake ----------------------------

DRAIN = 0.3  # like simpleaudio: a stopped buffer plays on this long


@dataclass
class FakeRecorder:
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    def started(self, session: Session) -> None:
        self.calls.append(("started",))

    def exercise_started(self, index: int) -> None:
        self.calls.append(("begin", index))

    def exercise_done(
        self, index: int, seconds: float, skipped: bool, restarted: bool, stopped: bool = False
    ) -> None:
        self.calls.append(("done", index, round(seconds, 1), skipped, restarted, stopped))

    def set_done(self, index: int, set_no: int, side: str | None = None) -> None:
        self.calls.append(("set", index, set_no, side))

    def paused(self) -> None:
        self.calls.append(("paused",))

    def resumed(self) -> None:
        self.calls.append(("resumed",))

    def pain(self, index: int | None) -> None:
        self.calls.append(("pain", index))

    def finished(self, completed: bool) -> None:
        self.calls.append(("finished", completed))

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [c for c in self.calls if c[0] == name]


@dataclass
class FakeStatus:
    """Keeps each different screen as its one line (``Glance.line``), and the summaries."""

    lines: list[str] = field(default_factory=list)
    glances: list[Glance] = field(default_factory=list)
    cleared: int = 0
    summaries: list[Summary] = field(default_factory=list)

    def show(self, status: Glance) -> None:
        text = status.line()
        if not self.lines or self.lines[-1] != text:
            self.lines.append(text)
            self.glances.append(status)

    def clear(self) -> None:
        self.cleared += 1

    def summary(self, summary: Summary) -> None:
        self.summaries.append(summary)


@dataclass
class Run:
    session: Session
    out: RecordingOut
    result: PlayResult | None
    recorder: FakeRecorder
    status: FakeStatus
    exercises: list[int]

    @property
    def plays(self) -> list[Played]:
        return self.out.plays

    def render(self, start: int, stop: int | None = None) -> np.ndarray:
        end = self.session.timeline.length if stop is None else stop
        return self.session.mixer.render(start, end)

    def said(self, text: str, gap: bool = True) -> np.ndarray:
        from voicecoach.app import player

        head = self.session.say(text)
        return np.concatenate([head, np.zeros(player.CONFIRM_GAP if gap else 0, np.int16)])


def play(
    session: Session,
    script: list[tuple[float, str]] | None = (),  # type: ignore[assignment]
    *,
    start_index: int = 0,
    drain: float = DRAIN,
) -> Run:
    """Play with keys pressed at the given seconds after the start (None: no terminal)."""
    from voicecoach.app.player import play_session

    clock = FakeClock()
    out = RecordingOut(clock, drain=drain)
    keys = None
    if script is not None:
        keys = ScriptedKeys([(clock.now + t, k) for t, k in script], clock, clock.sleep)
    recorder = FakeRecorder()
    status = FakeStatus()
    exercises: list[int] = []
    result = play_session(
        session, out=out, keys=keys, status=status, start_index=start_index,
        recorder=recorder, on_exercise=exercises.append, clock=clock,
    )  # fmt: skip
    return Run(session, out, result, recorder, status, exercises)


def seconds(session: Session, samples: int) -> float:
    return samples / session.timeline.sample_rate


def chapter(session: Session, title: str, nth: int = 0) -> tuple[int, int]:
    found = [c for c in session.timeline.chapters if c.title == title]
    return found[nth].start, found[nth].end


def the_wait(session: Session) -> tuple[int, int]:
    wait = next(e for e in session.timeline.events if e.kind == "wait")
    return wait.start, wait.end


def middle(span: tuple[int, int], session: Session) -> float:
    return seconds(session, (span[0] + span[1]) // 2)


# -- the history ------------------------------------------------------------------------------


def make_routine(name: str = "back-strength", digest: str = "d1gest") -> Routine:
    bridge = Exercise(name="Bridge", pos=Pos(3, 5), kind="reps", reps=10)
    dog = Exercise(
        name="Bird-dog",
        pos=Pos(8, 5),
        kind="reps",
        reps=8,
        side_mode="each",
        sides=("left", "right"),
        sets=2,
    )
    return Routine(
        title="Back strength",
        blocks=(Block("Main", Pos(2, 1), (bridge, dog), rounds=2),),
        path=f"/routines/{name}.yaml",
        name=name,
        digest=digest,
    )


@dataclass(frozen=True)
class FakeSession:
    """What the history store reads of a session: its routine and its timeline."""

    routine: Routine
    timeline: Timeline


def fake_session(routine: Routine | None = None, events: tuple[Event, ...] = ()) -> FakeSession:
    routine = routine or make_routine()
    return FakeSession(routine, Timeline(routine.title, events, ()))


# -- the environment the commands run in (``voicecoach.app.env.Env``) ---------------------


def fake_speech(voice: Voice) -> FakeSpeech:
    return FakeSpeech()


def fake_sounds_for(overrides: tuple[tuple[str, str], ...]) -> dict[str, Samples]:
    return fake_sounds()


def _unexpected(what: str, *args: object) -> Any:
    raise AssertionError(f"the command used the {what}, which this test did not give it")


def fake_env(**changes: Any) -> Env:
    """An environment with the fake speech and sounds and the real output files; every
    other adapter fails the test if used, unless ``changes`` gives it. Module-level
    functions only, so that it pickles into a many-routine render's worker processes (a
    test's lambda does not)."""
    from voicecoach.adapters.files import AudioFiles
    from voicecoach.app.env import Env

    env = Env(
        speech=fake_speech,
        sounds=fake_sounds_for,
        output=partial(_unexpected, "sound output"),
        quick_level=partial(_unexpected, "notice levelling"),
        keys=partial(_unexpected, "keys"),
        status=partial(_unexpected, "status line"),
        recorder=partial(_unexpected, "history recorder"),
        sessions=partial(_unexpected, "history"),
        load_last_run=partial(_unexpected, "last run"),
        save_last_run=partial(_unexpected, "last run"),
        now=partial(_unexpected, "clock"),
        files=AudioFiles,
    )
    return replace(env, **changes)
