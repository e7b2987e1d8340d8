"""A cold live run starts playing while its phrases are made (app/headstart.py): what
plays early is laid out from the clips made so far (compiler.compile_prefix) and must be
sample for sample what the whole session, compiled once from every length, has there."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
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
    RecordingOut,
    fake_sounds,
)
from tests.strategies import routines
from voicecoach.app import player, session
from voicecoach.app.headstart import Continuing, play_while_made
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
    """Sets ``heard`` once a stream holds samples."""

    def __init__(self, heard: threading.Event) -> None:
        super().__init__()
        self.heard = heard

    def stream(self, rate: int):  # type: ignore[no-untyped-def]
        feed = super().stream(rate)
        real = feed.feed

        def feed_and_tell(samples: Samples) -> None:
            real(samples)
            self.heard.set()

        feed.feed = feed_and_tell  # type: ignore[method-assign]
        return feed


def test_the_player_goes_on_in_the_same_stream_without_a_seam() -> None:
    levels = GatedLevels()
    made, loaded = making(levels)
    with Releaser(levels) as releaser:
        out = Watched(releaser.heard)
        whole, continuing = play_while_made(made, out, SAMPLE_RATE)
    assert isinstance(continuing, Continuing)
    fed_early = len(out.plays[0].samples)
    assert 0 < fed_early < whole.timeline.length
    result = player.play_session(whole, out=continuing, keys=None, status=None)
    assert result.completed
    (stream,) = out.plays  # one stream from the first sample to the last
    truth = the_truth(loaded).mixer.render(0, whole.timeline.length)
    np.testing.assert_array_equal(stream.samples, truth)


def test_the_head_start_stops_at_the_first_manual_wait() -> None:
    levels = GatedLevels()
    made, _ = making(levels)
    for _ in levels.gated:
        levels.gate.release()
    out = RecordingOut()
    whole, _ = play_while_made(made, out, SAMPLE_RATE)
    wait = next(e for e in whole.timeline.events if e.kind == "wait")
    assert len(out.plays[0].samples) <= wait.start


def test_stopped_while_made_the_sound_and_the_making_stop() -> None:
    levels = GatedLevels()
    made, _ = making(levels)
    out = RecordingOut()

    def interrupt(done: int, total: int) -> None:
        if done >= 2:
            raise KeyboardInterrupt

    with Releaser(levels, every=0.02) as releaser, pytest.raises(KeyboardInterrupt):
        releaser.heard.set()  # every clip let through, one each 20 ms
        play_while_made(made, out, SAMPLE_RATE, progress=interrupt)
    assert made.wait(0)  # the thread stopped after the clip it was making
    assert made.made()[0] < len(levels.gated)
    assert all(p.stopped is not None for p in out.plays)  # silenced at once


@pytest.mark.parametrize("quiet", [False, True], ids=["screen", "quiet"])
def test_a_cold_run_plays_before_every_clip_is_made_and_shows_a_bar(
    tmp_path: Path, quiet: bool
) -> None:
    """`voicecoach run` end to end: the head start, one stream equal to the render, the
    bar counting the clips (Env.progress_bar), then the screen's place."""
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

    with Releaser(levels) as releaser:
        out = Watched(releaser.heard)
        env = replace(
            real_env(), speech=lambda voice: levels, sounds=lambda overrides: fake_sounds(),
            output=lambda: out, keys=no_keys, status=lambda: None, progress_bar=bar,
        )  # fmt: skip
        args = ["run", str(path), *(["--quiet"] if quiet else [])]
        result = CliRunner().invoke(cli, args, catch_exceptions=False, obj=env)
    assert result.exit_code == 0, result.output
    if quiet:  # nothing on the screen
        assert shown == [] and counted == []
    else:
        assert shown == ["Preparing your session"]
        assert counted[-1] == (len(levels.gated), len(levels.gated))
        assert any(0 < done < total for done, total in counted)
    (stream,) = out.plays  # started before the last clip was made, one stream to the end
    np.testing.assert_array_equal(
        stream.samples, the_truth(loaded).mixer.render(0, len(stream.samples))
    )
    assert len(stream.samples) == the_truth(loaded).timeline.length


def test_the_history_begins_with_the_head_starts_first_sound() -> None:
    """The recorder hears the session start at the first sound, and the exercise the
    head start reached counts from its own start, not from the handover (it was short
    by the making time). The fake clock moves only as far as the stream was fed."""
    levels = GatedLevels()
    made, loaded = making(levels)
    truth = the_truth(loaded)
    bridge = next(c for c in truth.timeline.chapters if c.index == 0)
    clock = FakeClock()
    out = RecordingOut(clock=clock)
    recorder = FakeRecorder()
    began: list[float] = []

    def on_sound(early: object) -> None:
        began.append(clock())
        recorder.started(early)  # type: ignore[arg-type]

    def step(done: int, total: int) -> None:
        # Play on as far as was fed, up to 8 s in (inside Bridge), then let a clip through.
        if out.plays:
            stream = out.plays[0]
            edge = stream.started + len(stream.samples) / SAMPLE_RATE - 0.05
            clock.now = max(clock.now, min(edge, stream.started + 8.0))
        levels.gate.release()

    whole, continuing = play_while_made(
        made, out, SAMPLE_RATE, step, on_sound=on_sound, clock=clock
    )
    assert isinstance(continuing, Continuing)
    assert began == [out.plays[0].started] == [continuing.heard[0][1]]
    assert continuing.heard[-1][0] > bridge.start + 2 * SAMPLE_RATE  # well into Bridge
    result = player.play_session(
        whole, out=continuing, keys=None, status=None, recorder=recorder, clock=clock,
        heard=continuing.heard,
    )  # fmt: skip
    assert result.completed
    assert recorder.named("started") == [("started",)]  # once: at the first sound
    assert recorder.calls[:2] == [("started",), ("begin", 0)]
    (done,) = [c for c in recorder.named("done") if c[1] == 0]
    length = (bridge.end - bridge.start) / SAMPLE_RATE
    assert done[2] == pytest.approx(length, abs=0.2)  # from Bridge's first sound
    assert ("set", 1, 1, "left") in recorder.calls  # the rest as before


def test_without_a_head_start_the_player_begins_the_history() -> None:
    session_ = the_truth(loader.load_text(SHORT_ROUTINE, "short.yaml"))
    clock = FakeClock()
    recorder = FakeRecorder()
    out = RecordingOut(clock=clock)
    player.play_session(session_, out=out, keys=None, status=None, recorder=recorder, clock=clock)
    assert recorder.named("started") == [("started",)]
