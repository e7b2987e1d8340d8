"""A cold live run starts playing while its phrases are made (app/headstart.py): what
plays early is laid out from the clips made so far (compiler.compile_prefix) and must be
sample for sample what the whole session, compiled once from every length, has there."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakes import (
    SHORT_ROUTINE,
    FakeClock,
    FakeRecorder,
    FakeSpeech,
    FakeStatus,
    RecordingOut,
    ScriptedKeys,
    fake_sounds,
)
from tests.strategies import routines
from voicecoach.app import player, session
from voicecoach.app.headstart import Growing
from voicecoach.app.playback import CONFIRM_GAP
from voicecoach.app.ports import CachedLevels
from voicecoach.app.session import InProcessLevels, Making, Session
from voicecoach.audio.levelling import SPEECH_LUFS
from voicecoach.audio.mix import Music
from voicecoach.core.compiler import Draft, NotMade, Prefix, compile_prefix, compile_routine
from voicecoach.core.model import Routine
from voicecoach.core.phrases import phrases
from voicecoach.core.timeline import SAMPLE_RATE, SOUND_NAMES
from voicecoach.routine import loader

if TYPE_CHECKING:
    from voicecoach.audio.mix import Floats, Samples


# -- the layout: a prefix is the whole layout's start ------------------------------------


class Partly(dict[str, int]):
    """Lengths of which only ``made`` are known: the others raise NotMade."""

    def __init__(self, lengths: dict[str, int], made: set[str]) -> None:
        super().__init__(lengths)
        self.made = made

    def __getitem__(self, text: str) -> int:
        if text not in self.made:
            raise NotMade(text)
        return super().__getitem__(text)


@settings(max_examples=60, deadline=None)
@given(routine=routines(), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_a_prefix_is_the_start_of_the_whole_layout(
    routine: Routine, seed: int, data: st.DataObject
) -> None:
    rng = random.Random(seed)
    texts = phrases(routine)
    lengths = {t: rng.randrange(2_000, 120_000) for t in texts}
    sounds = {name: rng.randrange(500, 20_000) for name in SOUND_NAMES}
    whole = compile_routine(routine, lengths, sounds)
    # Made in timeline order (eSpeak) or in any order (Piper's workers).
    made = set(texts[: data.draw(st.integers(0, len(texts)))])
    if data.draw(st.booleans()):
        made = {t for t in texts if rng.random() < 0.7}
    part = compile_prefix(routine, Partly(lengths, made), sounds)
    if isinstance(part, Draft):
        assert made >= set(texts) and part == whole
        return
    assert isinstance(part, Prefix)
    n = len(part.events)
    assert part.events == whole.events[:n]
    assert all(e.start >= part.horizon for e in whole.events[n:])
    assert all(e.end <= part.horizon for e in part.events)
    assert whole.closing_at >= part.horizon


# -- the session: what a Making plays early is the whole session's own ----------------------


class GatedLevels(InProcessLevels):
    """Levels in process; on its thread each listed phrase's clip waits for the test to
    let it through (``gate``), in timeline order or shuffled. Says which are ready."""

    def __init__(self, shuffle: bool = False) -> None:
        super().__init__(FakeSpeech(), SPEECH_LUFS)
        self.gate = threading.Semaphore(0)
        self.shuffle = shuffle
        self.gated: set[str] = set()

    def levelled(self, texts, progress=None):  # type: ignore[no-untyped-def]
        texts = list(dict.fromkeys(texts))
        todo = [t for t in texts if t in self.gated and t not in self._done]
        if self.shuffle:
            random.Random(7).shuffle(todo)
        if progress is not None and todo:
            progress(0, len(todo))
        for done, text in enumerate(todo, 1):
            assert self.gate.acquire(timeout=30), "the test never let the clip through"
            super().levelled([text])
            if progress is not None:
                progress(done, len(todo))
        return super().levelled(texts)

    def cached_levelled(self, text: str) -> Samples | None:
        return self._done.get(text)


class Hum:
    """A music bed that is a function of the sample position only."""

    names = ("hum",)
    spread = (1.0,)

    def samples(self, start: int, stop: int) -> Floats:
        t = np.arange(start, stop, dtype=np.float64)
        return (0.3 * np.sin(2 * np.pi * 110 * t / SAMPLE_RATE)).astype(np.float32)


def making(levels: GatedLevels) -> tuple[Making, Routine]:
    loaded = loader.load_text(SHORT_ROUTINE, "short.yaml")
    levels.gated = set(phrases(loaded))
    made = session.prepare_live(loaded, speech=levels, sounds=fake_sounds())  # type: ignore[arg-type]
    assert isinstance(made, Making)
    return made, loaded


def the_truth(loaded: Routine) -> Session:
    """The session compiled once from every length, as render makes it."""
    return session.prepare(loaded, speech=FakeSpeech(), sounds=fake_sounds())


def until(check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


@pytest.mark.parametrize("shuffle", [False, True], ids=["in order", "any order"])
def test_every_early_horizon_plays_the_whole_sessions_samples(shuffle: bool) -> None:
    levels = GatedLevels(shuffle)
    assert isinstance(levels, CachedLevels)
    made, loaded = making(levels)
    total = len(levels.gated)
    early: list[tuple[int, Samples]] = []
    for step in range(total + 1):
        until(lambda step=step: made.made()[0] == step or made.wait(0))
        mixer, horizon = made.ready()
        early.append((horizon, mixer.render(0, horizon)))
        levels.gate.release()
    whole = made.session()
    truth = the_truth(loaded)
    assert whole.timeline == truth.timeline  # one truth: the whole compile
    horizons = [h for h, _ in early]
    assert horizons == sorted(horizons)
    assert horizons[-1] > 0.9 * truth.timeline.length  # all but the closing line
    if not shuffle:
        assert len(set(horizons)) > total // 3  # it grows as the clips come
    for horizon, samples in early:
        np.testing.assert_array_equal(samples, truth.mixer.render(0, horizon))


def test_with_music_the_session_is_made_whole_first() -> None:
    # The bed's make-up gain is solved over the whole session: no start of it is final
    # before every clip is made, so there is no head start.
    levels = GatedLevels()
    loaded = loader.load_text(SHORT_ROUTINE, "short.yaml")
    levels.gated = set(phrases(loaded))
    for _ in levels.gated:
        levels.gate.release()
    counted: list[tuple[int, int]] = []
    music = Music(Hum())
    made = session.prepare_live(
        loaded,
        speech=levels,
        sounds=fake_sounds(),
        music=music,
        progress=lambda *p: counted.append(p),  # type: ignore[arg-type]
    )
    assert isinstance(made, Session) and made.mixer.music is music
    assert counted[-1] == (len(levels.gated), len(levels.gated))


def test_a_warm_session_is_not_made_again() -> None:
    levels = GatedLevels()
    made, loaded = making(levels)
    for _ in levels.gated:
        levels.gate.release()
    first = made.session()
    again = session.prepare_live(loaded, speech=levels, sounds=fake_sounds())  # type: ignore[arg-type]
    assert isinstance(again, Session)
    assert again.timeline == first.timeline


class Releaser:
    """Lets a GatedLevels' clips through on a thread: half at once, the rest only once
    the head start is heard (``heard`` set), so the run certainly started early."""

    def __init__(self, levels: GatedLevels, every: float = 0.001) -> None:
        self.levels = levels
        self.every = every
        self.heard = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._release, daemon=True)

    def _release(self) -> None:
        let = 0
        while not self._stop.is_set():
            if let < len(self.levels.gated) // 2 or self.heard.is_set():
                self.levels.gate.release()
                let += 1
            time.sleep(self.every)

    def __enter__(self) -> Releaser:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class Watched(RecordingOut):
    """Sets ``heard`` once a stream holds samples, and calls ``first`` then."""

    def __init__(
        self,
        heard: threading.Event,
        clock: FakeClock | None = None,
        first: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(clock=clock or FakeClock())
        self.heard = heard
        self.first = first

    def stream(self, rate: int):  # type: ignore[no-untyped-def]
        feed = super().stream(rate)
        real = feed.feed

        def feed_and_tell(samples: Samples) -> None:
            real(samples)
            if not self.heard.is_set():
                self.first()
            self.heard.set()

        feed.feed = feed_and_tell  # type: ignore[method-assign]
        return feed


@dataclass
class TimedRecorder(FakeRecorder):
    """Also notes the clock's time when the session is started."""

    clock: FakeClock = field(default_factory=FakeClock)
    began: list[float] = field(default_factory=list)

    def started(self, session: Session) -> None:
        self.began.append(self.clock())
        super().started(session)


def test_the_player_plays_it_as_it_is_made_in_one_stream() -> None:
    """From the first sound the player plays the session as far as it is made (keys
    None: straight through), in one stream equal to the render; the history begins at
    that first sound and the first exercise counts from its own start."""
    levels = GatedLevels()
    made, loaded = making(levels)
    truth = the_truth(loaded)
    clock = FakeClock()
    recorder = TimedRecorder(clock=clock)
    made_at_first_feed: list[int] = []
    with Releaser(levels) as releaser:
        out = Watched(releaser.heard, clock, lambda: made_at_first_feed.append(made.made()[0]))
        growing = Growing(made)
        result = player.play_session(
            growing.session, out=out, keys=None, status=None, recorder=recorder, clock=clock,
            growing=growing,
        )  # fmt: skip
    assert result.completed
    assert made_at_first_feed[0] < len(levels.gated)  # it began before the making ended
    (stream,) = out.plays  # one stream from the first sample to the last
    np.testing.assert_array_equal(stream.samples, truth.mixer.render(0, truth.timeline.length))
    assert recorder.began == [stream.started]  # the history began with the first sound
    bridge = next(c for c in truth.timeline.chapters if c.index == 0)
    (done,) = [c for c in recorder.named("done") if c[1] == 0]
    assert done[2] == pytest.approx((bridge.end - bridge.start) / SAMPLE_RATE, abs=0.2)


class Keys(ScriptedKeys):
    """Scripted keys that tell ``on_key`` each key as it is pressed."""

    def __init__(
        self, script: list[tuple[float, str]], clock: FakeClock, on_key: Callable[[str], None]
    ) -> None:
        super().__init__(script, clock, clock.sleep)
        self.on_key = on_key

    def get(self, timeout: float) -> str | None:
        key = super().get(timeout)
        if key is not None:
            self.on_key(key)
        return key


def made_until(levels: GatedLevels, made: Making, seconds: float) -> int:
    """Let clips through one at a time until the session is laid out past ``seconds``;
    its horizon then."""
    while True:
        _, horizon = made.ready()
        if horizon > seconds * SAMPLE_RATE:
            return horizon
        count = made.made()[0]
        levels.gate.release()
        until(lambda count=count: made.made()[0] > count)


def growing_run(
    script: list[tuple[float, str]], made_to: float, release_on: int
) -> tuple[player.PlayResult, RecordingOut, FakeRecorder, FakeStatus, Session, list[int], int]:
    """A live run with keys, begun with the session laid out to ``made_to`` seconds;
    every other clip is let through when the script's key ``release_on`` (its index) is
    pressed: the keys up to it are pressed in the head start."""
    levels = GatedLevels()
    made, loaded = making(levels)
    horizon = made_until(levels, made, made_to)
    clock = FakeClock()
    made_at: list[int] = []  # clips made when each key was pressed

    def on_key(key: str) -> None:
        made_at.append(made.made()[0])
        if len(made_at) == release_on + 1:
            for _ in levels.gated:
                levels.gate.release()

    t0 = clock()
    keys = Keys([(t0 + at, key) for at, key in script], clock, on_key)
    out, recorder, status = RecordingOut(clock=clock), FakeRecorder(), FakeStatus()
    growing = Growing(made)
    result = player.play_session(
        growing.session, out=out, keys=keys, status=status, recorder=recorder, clock=clock,
        growing=growing,
    )  # fmt: skip
    assert made.wait(5)  # the making ended (or stopped) with the run
    assert max(made_at[: release_on + 1]) < len(levels.gated)  # pressed in the head start
    return result, out, recorder, status, the_truth(loaded), made_at, horizon


def test_pause_during_the_head_start_pauses_at_once_and_resumes_where_it_was() -> None:
    script = [(1.0, "space"), (3.0, "space"), (12.0, "q")]
    result, out, recorder, status, truth, _, _ = growing_run(script, 6.0, 1)
    first, paused, resumed, stopping = out.plays
    at = first.heard
    assert at == round(1.0 * SAMPLE_RATE)  # silent at the key
    np.testing.assert_array_equal(first.samples[:at], truth.mixer.render(0, at))
    np.testing.assert_array_equal(paused.samples, truth.say("Paused."))
    lead = len(truth.say("Resuming.")) + CONFIRM_GAP
    np.testing.assert_array_equal(
        resumed.samples[: len(truth.say("Resuming."))], truth.say("Resuming.")
    )
    after = resumed.samples[lead:]
    np.testing.assert_array_equal(after, truth.mixer.render(at, at + len(after)))
    np.testing.assert_array_equal(stopping.samples, truth.say("Stopping. Well done."))
    assert not result.completed and result.pauses == 1
    assert [c[0] for c in recorder.calls][:4] == ["started", "paused", "resumed", "begin"]
    assert any(line.startswith("Paused") for line in status.lines)
    assert any(line.startswith("Preparing ") for line in status.lines)  # the count


def test_quit_during_the_head_start_stops_cleanly() -> None:
    result, out, recorder, _, truth, _, _ = growing_run([(5.0, "q")], 8.0, 0)
    first, stopping = out.plays
    assert first.heard == round(5.0 * SAMPLE_RATE)
    np.testing.assert_array_equal(stopping.samples, truth.say("Stopping. Well done."))
    assert not result.completed and result.exercise == 0
    assert result.position == first.heard
    bridge = next(c for c in truth.timeline.chapters if c.index == 0)
    seconds = round((first.heard - bridge.start) / SAMPLE_RATE, 1)
    assert recorder.calls == [
        ("started",), ("begin", 0), ("done", 0, seconds, False, False, True), ("finished", False),
    ]  # fmt: skip


def test_a_skip_past_what_is_made_waits_for_it_then_goes_there() -> None:
    script = [(1.0, "n"), (4.0, "n"), (11.0, "q")]
    result, out, recorder, status, truth, _, horizon = growing_run(script, 6.0, 1)
    bird_dog = next(c for c in truth.timeline.chapters if c.index == 1)
    assert horizon < bird_dog.start  # Bird-dog was not laid out yet at the second n
    skipping = truth.say("Skipping to Bird-dog.")
    (there,) = [p for p in out.plays if np.array_equal(p.samples[: len(skipping)], skipping)]
    after = there.samples[len(skipping) + CONFIRM_GAP :]
    assert len(after) > SAMPLE_RATE
    np.testing.assert_array_equal(
        after, truth.mixer.render(bird_dog.start, bird_dog.start + len(after))
    )
    assert any(line.startswith("Waiting for the rest to be made") for line in status.lines)
    (bridge_done,) = [c for c in recorder.named("done") if c[1] == 0]
    assert bridge_done[3]  # skipped
    assert result.skips == 2 and result.exercise == 1


def test_a_new_speech_rate_in_the_head_start_waits_for_the_whole_session() -> None:
    levels = GatedLevels()
    made, loaded = making(levels)
    made_until(levels, made, 6.0)
    clock = FakeClock()
    out = RecordingOut(clock=clock)

    def release(key: str) -> None:
        for _ in levels.gated:
            levels.gate.release()

    keys = Keys([(clock() + 1.0, "]"), (clock() + 8.0, "q")], clock, release)
    asked: list[tuple[int, bool]] = []

    def respeak(level: int) -> Session:
        asked.append((level, made.wait(0)))
        return the_truth(loaded)

    growing = Growing(made)
    result = player.play_session(
        growing.session, out=out, keys=keys, status=None, growing=growing, respeak=respeak
    )
    assert asked == [(1, True)]  # laid out anew once every clip was made
    truth = the_truth(loaded)
    faster = truth.say("Faster.")  # leads the stream that goes on
    assert [p for p in out.plays if np.array_equal(p.samples[: len(faster)], faster)]
    assert not result.completed


def test_the_head_start_stops_at_the_first_manual_wait() -> None:
    loaded = loader.load_text(SHORT_ROUTINE, "short.yaml")
    wait = next(e for e in the_truth(loaded).timeline.events if e.kind == "wait")
    result, out, _, _, truth, _, horizon = growing_run(
        [(wait.start / SAMPLE_RATE + 5.0, "q")], wait.start / SAMPLE_RATE + 1.0, 0
    )
    assert horizon > wait.start  # laid out past the wait, not every clip made
    first = out.plays[0]
    assert first.ended and len(first.samples) == wait.start  # its stream ends at the wait
    np.testing.assert_array_equal(first.samples, truth.mixer.render(0, wait.start))
    assert result.position == wait.start and not result.completed


def test_ctrl_c_during_the_head_start_stops_sound_and_making() -> None:
    levels = GatedLevels()
    made, _ = making(levels)
    made_until(levels, made, 6.0)
    clock = FakeClock()
    out = RecordingOut(clock=clock)
    keys = ScriptedKeys([(clock() + 2.0, "ctrl-c")], clock, clock.sleep)
    growing = Growing(made)
    with Releaser(levels, every=0.02) as releaser, pytest.raises(KeyboardInterrupt):
        releaser.heard.set()  # the other clips let through, one each 20 ms
        player.play_session(growing.session, out=out, keys=keys, status=None, growing=growing)
    assert made.wait(0)  # the thread stopped after the clip it was making
    assert made.made()[0] < len(levels.gated)
    assert all(p.stopped is not None for p in out.plays)  # silenced at once


@pytest.mark.parametrize("quiet", [False, True], ids=["screen", "quiet"])
def test_a_cold_run_plays_before_every_clip_is_made_and_counts_them_on_screen(
    tmp_path: Path, quiet: bool
) -> None:
    """`voicecoach run` end to end: the head start, one stream equal to the render; the
    status line counts the clips as they are made (not the bar, Env.progress_bar: it
    and the status line cannot both hold the terminal)."""
    from click.testing import CliRunner

    from voicecoach.cli import cli
    from voicecoach.cli.env import real_env

    path = tmp_path / "short.yaml"
    path.write_text(SHORT_ROUTINE)
    loaded = loader.load(str(path))
    levels = GatedLevels()
    levels.gated = set(phrases(loaded))
    counted: list[tuple[int, int]] = []
    shown: list[str] = []

    @contextlib.contextmanager
    def bar(label: str) -> Iterator[Callable[[int, int], None]]:
        shown.append(label)
        yield lambda done, total: counted.append((done, total))

    @contextlib.contextmanager
    def no_keys() -> Iterator[None]:
        yield None

    status = FakeStatus()
    with Releaser(levels) as releaser:
        out = Watched(releaser.heard)
        env = replace(
            real_env(), speech=lambda voice: levels, sounds=lambda overrides: fake_sounds(),
            output=lambda: out, keys=no_keys, status=lambda: status, progress_bar=bar,
        )  # fmt: skip
        args = ["run", str(path), *(["--quiet"] if quiet else [])]
        result = CliRunner().invoke(cli, args, catch_exceptions=False, obj=env)
    assert result.exit_code == 0, result.output
    assert counted == []  # the bar (opened while the session is prepared) counts none
    counts = [line.split(" · ")[0] for line in status.lines if line.startswith("Preparing ")]
    if quiet:  # nothing on the screen
        assert status.lines == []
    else:
        total = len(levels.gated)
        assert any(f"Preparing {n}/{total}" in counts for n in range(1, total))
        assert status.summaries  # the screen's summary at the end
    (stream,) = out.plays  # started before the last clip was made, one stream to the end
    np.testing.assert_array_equal(
        stream.samples, the_truth(loaded).mixer.render(0, len(stream.samples))
    )
    assert len(stream.samples) == the_truth(loaded).timeline.length
