"""Proof of timing: `voicecoach run` played live equals the rendered session.

A private PulseAudio server's null sink stands in for the speakers. The test records
its monitor while `voicecoach run` plays a short routine (real eSpeak speech, real
sounds) in a pseudo-terminal, pauses it with the space bar halfway through a sentence
and resumes it, then finds every cue of the file `voicecoach render` wrote for the
same routine in the recording:

- every speech and sound onset is within 10 ms of where the timeline puts it (each
  side of the pause has its own offset: the pause is as long as the user made it);
- no drift across the session;
- the pause loses nothing and repeats nothing: what was heard before it ends where
  what is played after it begins.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.pulse import Capture, PulseServer, block_rms, find_onsets, locate, to_rate

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


def _voicecoach() -> list[str]:
    exe = shutil.which("voicecoach", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "voicecoach"]


def _drain(fd: int) -> list[bytes]:
    """Read the terminal's output (the status line) so the child never blocks on it."""
    shown: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(fd, 4096)
            except OSError:
                return
            if not data:
                return
            shown.append(data)

    threading.Thread(target=read, daemon=True).start()
    return shown


def _controlling_tty() -> None:
    # In the child: a session of its own with the pty as controlling terminal, so that
    # Ctrl-C typed into the pty becomes SIGINT for it, as in a real terminal.
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@pytest.fixture
def env(pulse: PulseServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    cache = tmp_path / "cache"
    # The test renders with the same clip cache, so it compares the very same samples.
    monkeypatch.setenv("VOICECOACH_CACHE_DIR", str(cache))
    return pulse.client_env(
        VOICECOACH_CACHE_DIR=str(cache),
        VOICECOACH_STATE_DIR=str(tmp_path / "state"),
        VOICECOACH_DATA_DIR=str(tmp_path / "data"),
    )


def test_live_run_is_the_rendered_session_even_across_a_pause(
    pulse: PulseServer, env: dict[str, str], tmp_path: Path
) -> None:
    import soundfile

    from voicecoach.app import player
    from voicecoach.app.env import prepare_ref
    from voicecoach.cli.env import real_env

    path = tmp_path / "timing.yaml"
    path.write_text(ROUTINE)
    # The file `render` writes (this also fills the clip cache: the run starts warm).
    wav = tmp_path / "timing.wav"
    done = subprocess.run(
        [*_voicecoach(), "render", str(path), "-o", str(wav)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    samples, file_rate = soundfile.read(wav, dtype="int16")
    prepared = prepare_ref(real_env(), str(path))  # for the timeline's cues
    timeline = prepared.timeline
    rate = timeline.sample_rate
    assert file_rate == rate
    np.testing.assert_array_equal(samples, prepared.mixer.render(0, timeline.length))
    render = samples.astype(np.float64) / 32768
    cues = [e for e in timeline.events if e.kind in ("speech", "sound")]
    # Pause in the middle of the longest sentence, so the cut is audible and checkable.
    longest = max((e for e in cues if e.kind == "speech"), key=lambda e: e.length)
    assert longest.length > 3 * rate
    press_at = (longest.start + longest.length * 0.45) / rate - 0.3  # it drains ~0.3 s more

    master, slave = os.openpty()
    keep = os.dup(slave)  # to read the terminal's settings after the run
    before = termios.tcgetattr(keep)
    with Capture(pulse) as capture:
        proc = subprocess.Popen(
            [*_voicecoach(), "run", str(path)],
            stdin=slave, stdout=slave, stderr=subprocess.PIPE, env=env,
        )  # fmt: skip
        os.close(slave)
        shown = _drain(master)
        first = capture.wait_for_sound()
        time.sleep(max(0.0, first + press_at - time.monotonic()))
        os.write(master, b" ")
        time.sleep(2.0)
        os.write(master, b" ")
        _, err = proc.communicate(timeout=180)
        time.sleep(0.3)
        recording = to_rate(capture.stop(), rate)
    after = termios.tcgetattr(keep)
    os.close(keep)
    os.close(master)

    stderr = err.decode()
    assert proc.returncode == 0, stderr
    assert not any(word in stderr for word in NOISE), stderr
    assert after == before  # the terminal is as it was
    screen = b"".join(shown).decode()
    # One status line, rewritten in place, for anyone who glances; cleared at the end.
    assert "\r1/2 Bridge · " in screen and "\r2/2 Bird-dog · rep 2/2 · " in screen
    assert "\rPaused (space: resume, q: stop) · 1/2 Bridge · " in screen
    assert screen.endswith("\r\x1b[K") and "\n" not in screen

    timing = find_onsets(recording, render, [e.start for e in cues], rate)
    segments = {o.segment for o in timing.onsets}
    assert segments == {0, 1}, "exactly one interruption: the pause"
    assert all(o.score > 0.9 for o in timing.onsets)
    print(
        f"\n{len(cues)} onsets: max {timing.max_ms:.2f} ms, mean {timing.mean_ms:.2f} ms,"
        f" drift {timing.drift_ms_per_min:+.3f} ms/min"
    )
    assert timing.max_ms <= 10.0
    assert abs(timing.drift_ms_per_min) <= 1.0

    # The pause, in timeline samples: sound stopped at `cut` (seen as "Paused." after it)
    # and restarted at `resumed` (right after "Resuming." and the gap).
    o1, o2 = timing.offsets
    last_before = max(o.found for o in timing.onsets if o.segment == 0)
    first_after = min(o.found for o in timing.onsets if o.segment == 1)
    said = {
        text: prepared.say(text).astype(np.float64) / 32768
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
    pulse: PulseServer, env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "timing.yaml"
    path.write_text(ROUTINE)
    master, slave = os.openpty()
    keep = os.dup(slave)
    before = termios.tcgetattr(keep)
    with Capture(pulse) as capture:
        proc = subprocess.Popen(
            [*_voicecoach(), "run", "--quiet", str(path)],
            stdin=slave, stdout=slave, stderr=subprocess.PIPE, env=env,
            preexec_fn=_controlling_tty,
        )  # fmt: skip
        os.close(slave)
        shown = _drain(master)
        capture.wait_for_sound(timeout=120)
        time.sleep(3.0)  # well into the session: something is always playing
        cut = capture.size // 2
        os.write(master, b"\x03")  # Ctrl-C, typed
        _, err = proc.communicate(timeout=30)
        time.sleep(1.0)
        recording = capture.stop().astype(np.int32)
    after = termios.tcgetattr(keep)
    os.close(keep)
    os.close(master)

    assert proc.returncode == 130, err.decode()
    assert err.decode().splitlines()[-1] == "Interrupted."
    assert "Traceback" not in err.decode()
    assert after == before
    assert b"".join(shown) == b""  # --quiet: no status line (and no echo of the keys)
    loud = np.flatnonzero(np.abs(recording) > 100)
    assert len(loud) and loud[0] < cut
    # Silent well before the next second: stop() does not let the session play on.
    assert loud[-1] < cut + 1.0 * 48000


def test_no_sound_device_is_one_line_and_alsa_noise_is_hidden(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "timing.yaml"
    path.write_text(ROUTINE)
    config = tmp_path / "alsa.conf"
    # The system's ALSA setup, with the default device pointed at a card that does not
    # exist: ALSA fails, and prints its own complaint on fd 2, whatever the hardware.
    config.write_text('</usr/share/alsa/alsa.conf>\npcm.!default { type hw card "nosuchcard" }\n')
    env = {k: v for k, v in env.items() if not k.startswith("PULSE_")}
    env["ALSA_CONFIG_PATH"] = str(config)
    done = subprocess.run(
        [*_voicecoach(), "run", str(path)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "Preparing your session…",
        "Error: no sound device found: use `voicecoach render ROUTINE -o FILE.mp3`"
        " to make a file instead",
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
