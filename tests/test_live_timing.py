"""Proof of timing: `voicecoach run` played live equals the rendered session.

A private PulseAudio server's null sink stands in for the speakers. One run, recorded
once for the module (``live``), is what most tests here assert on: its monitor is
recorded while `voicecoach run` plays a short routine (real eSpeak speech, real sounds)
in a pseudo-terminal, is paused with the space bar halfway through a sentence and
resumed, and the end-of-session check-in is skipped (q) as soon as it is asked; then
every cue of the file `voicecoach render` wrote for the same routine is found in the
recording:

- every speech and sound onset is within 10 ms of where the timeline puts it (each
  side of the pause has its own offset: the pause is as long as the user made it);
- no drift across the session;
- the pause loses nothing and repeats nothing: what was heard before it ends where
  what is played after it begins.

Ctrl-C and a missing sound device need runs of their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from tests.pulse import Capture, PulseServer, Timing, block_rms, find_onsets, locate, to_rate
from tests.terminal import Terminal, voicecoach_command

if TYPE_CHECKING:
    from voicecoach.app.session import Session
    from voicecoach.core.timeline import Event

pytestmark = [pytest.mark.audio, pytest.mark.slow]

ROUTINE = """\
title: Timing check
voice: {rate: 220}
defaults: {lead_in: 4s, rest: 3s}
exercises:
  - name: Bridge
    setup: >-
      Lie on your back with your knees bent and your feet flat on the floor,
      arms long by your sides, palms pressing down.
    hold: 4s
  - name: Bird-dog
    reps: 2
    tempo: [1s, 1s]
    hold: 1s
"""
NOISE = ("ALSA", "Traceback", "pulse", "simpleaudio")


@dataclass(frozen=True)
class Rendered:
    """ROUTINE rendered by `voicecoach render` into a clip cache the module shares (the
    live runs then start warm, and the tests compare the very same samples)."""

    path: Path  # the routine
    wav: Path
    cache: Path

    def env(self, pulse: PulseServer, folder: Path) -> dict[str, str]:
        """A live run's environment: this cache; state and history of its own."""
        return pulse.client_env(
            VOICECOACH_CACHE_DIR=str(self.cache),
            VOICECOACH_STATE_DIR=str(folder / "state"),
            VOICECOACH_DATA_DIR=str(folder / "data"),
            TERM="xterm-256color",  # the screen as a terminal shows it (not a dumb one)
        )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    folder = tmp_path_factory.mktemp("timing")
    path = folder / "timing.yaml"
    path.write_text(ROUTINE)
    wav = folder / "timing.wav"
    cache = folder / "cache"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env.update(
        VOICECOACH_CACHE_DIR=str(cache),
        VOICECOACH_STATE_DIR=str(folder / "state"),
        VOICECOACH_DATA_DIR=str(folder / "data"),
    )
    done = subprocess.run(
        [*voicecoach_command(), "render", str(path), "-o", str(wav)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return Rendered(path, wav, cache)


@dataclass(frozen=True)
class LiveRun:
    """The paused and resumed run of ROUTINE, as recorded, and what to compare it with."""

    prepared: Session  # the session as the run prepared it (same routine, same cache)
    samples: np.ndarray  # the rendered file, int16
    render: np.ndarray  # the same, float
    recording: np.ndarray  # the null sink's monitor, at the timeline's rate, float
    cues: list[Event]
    longest: Event  # the sentence the pause cut
    timing: Timing
    returncode: int
    stderr: str
    screen: str
    restored: bool  # the terminal's settings were put back


@pytest.fixture(scope="module")
def live(
    pulse: PulseServer, rendered: Rendered, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveRun]:
    import soundfile

    from voicecoach.app.env import prepare_ref
    from voicecoach.cli.env import real_env

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VOICECOACH_CACHE_DIR", str(rendered.cache))
        prepared = prepare_ref(real_env(), str(rendered.path))  # for the timeline's cues
        samples, file_rate = soundfile.read(rendered.wav, dtype="int16")
        timeline = prepared.timeline
        rate = timeline.sample_rate
        assert file_rate == rate
        cues = [e for e in timeline.events if e.kind in ("speech", "sound")]
        # Pause in the middle of the longest sentence, so the cut is audible and checkable.
        longest = max((e for e in cues if e.kind == "speech"), key=lambda e: e.length)
        assert longest.length > 3 * rate
        press_at = (longest.start + longest.length * 0.45) / rate - 0.3  # it drains ~0.3 s more

        env = rendered.env(pulse, tmp_path_factory.mktemp("live"))
        with Capture(pulse) as capture:
            term = Terminal([*voicecoach_command(), "run", str(rendered.path)], env)
            try:
                first = capture.wait_for_sound()
                time.sleep(max(0.0, first + press_at - time.monotonic()))
                term.type(b" ")
                time.sleep(2.0)
                term.type(b" ")
                # The check-in would wait 20 s for an answer this check does not need: skip it.
                term.wait_for("How hard was that?", timeout=120)
                term.type(b"q")
            except BaseException:
                term.proc.kill()  # the check failed: no need to wait for the run's end
                raise
            finally:
                code, err, restored = term.finish(timeout=180)
            time.sleep(0.3)
            recording = to_rate(capture.stop(), rate)
        render = samples.astype(np.float64) / 32768
        timing = find_onsets(recording, render, [e.start for e in cues], rate)
        yield LiveRun(
            prepared, samples, render, recording, cues, longest, timing,
            code, err, term.screen, restored,
        )  # fmt: skip


def test_the_rendered_file_is_the_sessions_mix(live: LiveRun) -> None:
    timeline = live.prepared.timeline
    np.testing.assert_array_equal(live.samples, live.prepared.mixer.render(0, timeline.length))


def test_the_run_ends_cleanly_and_puts_the_terminal_back(live: LiveRun) -> None:
    assert live.returncode == 0, live.stderr
    assert not any(word in live.stderr for word in NOISE), live.stderr
    assert live.restored  # the terminal is as it was


def test_the_screen_follows_the_session_and_a_summary_stays(live: LiveRun) -> None:
    # The panel, redrawn in place for anyone who glances (tests/test_screen_live.py reads
    # it in detail); at the end it gives way to the summary, which stays.
    import pyte

    screen = live.screen
    assert "1/2  Bridge" in screen and "2/2  Bird-dog" in screen and "Rep 2 / 2" in screen
    assert "Paused (space: resume, q: stop)" in screen
    term = pyte.Screen(80, 24)
    pyte.Stream(term).feed(screen)  # the pty made each newline \r\n, as a terminal does
    shown = "\n".join(row.rstrip() for row in term.display)
    assert "Workout over: Timing check" in shown and "Saved to your history." in shown
    assert "Next:" not in shown  # the live panel is gone


def test_every_cue_is_within_10_ms_of_the_timeline_and_nothing_drifts(live: LiveRun) -> None:
    timing = live.timing
    segments = {o.segment for o in timing.onsets}
    assert segments == {0, 1}, "exactly one interruption: the pause"
    assert all(o.score > 0.9 for o in timing.onsets)
    print(
        f"\n{len(live.cues)} onsets: max {timing.max_ms:.2f} ms, mean {timing.mean_ms:.2f} ms,"
        f" drift {timing.drift_ms_per_min:+.3f} ms/min"
    )
    assert timing.max_ms <= 10.0
    assert abs(timing.drift_ms_per_min) <= 1.0


def test_the_stream_outlasts_its_buffers_many_times_and_every_cue_is_found(
    live: LiveRun,
) -> None:
    """The run streams the session a block at a time (app/playback.py): every cue, the
    last ones after many blocks were mixed, fed and played, lands on its sample."""
    from voicecoach.app import playback

    rate = live.prepared.timeline.sample_rate
    buffers = round((playback.AHEAD + playback.BLOCK) * rate)
    assert live.prepared.timeline.length > 5 * buffers
    assert len(live.timing.onsets) == len(live.cues)
    late = [o for o in live.timing.onsets if o.start > 5 * buffers]
    assert late and all(o.score > 0.9 for o in late)


def test_the_pause_loses_nothing_and_repeats_nothing(live: LiveRun) -> None:
    from voicecoach.app import player

    timing, recording, render = live.timing, live.recording, live.render
    longest, rate = live.longest, live.prepared.timeline.sample_rate
    # The pause, in timeline samples: sound stopped at `cut` (seen as "Paused." after it)
    # and restarted at `resumed` (right after "Resuming." and the gap).
    o1, o2 = timing.offsets
    last_before = max(o.found for o in timing.onsets if o.segment == 0)
    first_after = min(o.found for o in timing.onsets if o.segment == 1)
    said = {
        text: live.prepared.say(text).astype(np.float64) / 32768
        for text in (player.PAUSED, player.RESUMING)
    }
    paused_at, score = locate(recording, said[player.PAUSED], last_before, first_after)
    assert score > 0.9, "Paused. was said"
    resuming_at, score = locate(recording, said[player.RESUMING], paused_at, first_after)
    assert score > 0.9, "Resuming. was said"
    resumed = round(resuming_at + len(said[player.RESUMING]) + player.CONFIRM_GAP - o2)
    assert longest.start < resumed < longest.end

    # Where the sound really stopped: the first loud stretch of the render (1 ms blocks)
    # not heard before "Paused." came. Printed; the assertions below bound it.
    ms = round(0.001 * rate)
    lo, hi = resumed - 150 * ms, min(resumed + 150 * ms, paused_at - round(o1))
    expected = block_rms(render, lo, hi, ms)
    heard = block_rms(recording, lo + round(o1), hi + round(o1), ms)
    missed = np.flatnonzero((expected > 0.02) & (heard < 0.1 * expected))
    if len(missed):
        print(f"resumed {(resumed - lo - missed[0] * ms) / rate * 1000:+.1f} ms from the cut")

    # 20 ms either way is far below what anyone hears across "Paused." ... "Resuming."
    block = 5 * ms
    margin = 20 * ms
    # Everything up to the resume point was heard before the pause...
    lo = resumed - margin - 150 * ms
    expected = block_rms(render, lo, resumed - margin, block)
    heard = block_rms(recording, lo + round(o1), resumed - margin + round(o1), block)
    loud = expected > 0.01
    assert loud.sum() >= 5
    assert np.all(heard[loud] > 0.5 * expected[loud]), "audio was skipped at the pause"
    # ...and nothing after it: what follows the resume point is played once, after it.
    hi = min(resumed + 250 * ms, paused_at - round(o1) - block)
    expected = block_rms(render, resumed + margin, hi, block)
    heard = block_rms(recording, resumed + margin + round(o1), hi + round(o1), block)
    loud = expected > 0.01
    assert np.all(heard[loud] < 0.1 * expected[loud]), "audio was repeated after the pause"


def test_ctrl_c_stops_the_sound_at_once_restores_the_terminal_and_exits_130(
    pulse: PulseServer, rendered: Rendered, tmp_path: Path
) -> None:
    env = rendered.env(pulse, tmp_path)
    with Capture(pulse) as capture:
        term = Terminal(
            [*voicecoach_command(), "run", "--quiet", str(rendered.path)], env, controlling=True
        )
        capture.wait_for_sound(timeout=120)
        time.sleep(3.0)  # well into the session: something is always playing
        cut = capture.size // 2
        term.type(b"\x03")  # Ctrl-C, typed
        code, err, restored = term.finish(timeout=30)
        time.sleep(1.0)
        recording = capture.stop().astype(np.int32)

    assert code == 130, err
    assert err.splitlines()[-1] == "Interrupted."
    assert "Traceback" not in err
    assert restored
    assert term.screen == ""  # --quiet: no status line (and no echo of the keys)
    loud = np.flatnonzero(np.abs(recording) > 100)
    assert len(loud) and loud[0] < cut
    # Silent well before the next second: stop() does not let the session play on.
    assert loud[-1] < cut + 1.0 * 48000


def test_no_sound_device_is_one_line_and_alsa_noise_is_hidden(tmp_path: Path) -> None:
    path = tmp_path / "timing.yaml"
    path.write_text(ROUTINE)
    config = tmp_path / "alsa.conf"
    # The system's ALSA setup, with the default device pointed at a card that does not
    # exist: ALSA fails, and prints its own complaint on fd 2, whatever the hardware.
    config.write_text('</usr/share/alsa/alsa.conf>\npcm.!default { type hw card "nosuchcard" }\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env.update(
        ALSA_CONFIG_PATH=str(config),
        VOICECOACH_CACHE_DIR=str(tmp_path / "cache"),  # cold: the notice is tried first
        VOICECOACH_STATE_DIR=str(tmp_path / "state"),
        VOICECOACH_DATA_DIR=str(tmp_path / "data"),
    )
    done = subprocess.run(
        [*voicecoach_command(), "run", str(path)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "Preparing your session…",
        "Error: no sound device found: start a sound server (`pulseaudio --start`, or with"
        " PipeWire `systemctl --user start pipewire pipewire-pulse`), or make a file to play"
        f" on any device: `voicecoach render {path} -o timing.mp3`",
    ]
    assert done.stdout == ""


def test_alsa_noise_is_really_there_to_hide(tmp_path: Path) -> None:
    """The check above means something: the same failure, unguarded, is noisy."""
    config = tmp_path / "alsa.conf"
    config.write_text('</usr/share/alsa/alsa.conf>\npcm.!default { type hw card "nosuchcard" }\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env["ALSA_CONFIG_PATH"] = str(config)
    code = (
        "import numpy, simpleaudio\n"
        "try:\n simpleaudio.play_buffer(numpy.zeros(10, numpy.int16), 1, 2, 22050)\n"
        "except Exception:\n pass\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert "ALSA lib" in done.stderr


def test_an_unknown_key_and_the_rate_key_are_answered_by_voice(
    pulse: PulseServer, rendered: Rendered, tmp_path: Path
) -> None:
    """Typed into a real terminal: x gets the hint; ] says "One moment.", lays the session
    out again at the faster rate (real eSpeak), says "Faster." and goes on at it."""
    from voicecoach.app.env import VoiceOptions, prepare_ref
    from voicecoach.app.player import MOMENT
    from voicecoach.cli.env import real_env
    from voicecoach.core import transport

    env = rendered.env(pulse, tmp_path)
    with Capture(pulse) as capture:
        term = Terminal([*voicecoach_command(), "run", str(rendered.path)], env)
        try:
            capture.wait_for_sound(timeout=120)
            time.sleep(2.0)
            term.type(b"x")
            time.sleep(4.0)
            term.type(b"]")
            term.wait_for("How hard was that?", timeout=240)
            term.type(b"q")
        except BaseException:
            term.proc.kill()
            raise
        finally:
            code, err, _ = term.finish(timeout=180)
        time.sleep(0.3)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("VOICECOACH_CACHE_DIR", str(rendered.cache))
            normal = prepare_ref(real_env(), str(rendered.path))
            rate = transport.rate_wpm(normal.routine.voice.rate, 1)
            faster = prepare_ref(real_env(), str(rendered.path), VoiceOptions(rate=rate))
        recording = to_rate(capture.stop(), normal.timeline.sample_rate)
    assert code == 0, err
    assert faster.timeline.length < normal.timeline.length

    def find(clip: np.ndarray, lo: int) -> int:
        at, score = locate(recording, clip.astype(np.float64) / 32768, lo, len(recording))
        assert score > 0.9
        return at

    hint = find(normal.say(transport.HINT), 0)
    moment = find(normal.say(MOMENT), hint)
    said = find(faster.say(transport.FASTER), moment)
    # After it, the rest of the session at the faster rate: its closing line, as laid out.
    closing = next(e for e in reversed(faster.timeline.events) if e.kind == "speech")
    find(faster.mixer.render(closing.start, closing.end), said)
