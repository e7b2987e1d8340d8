"""Sound output: the simpleaudio adapter against the private PulseAudio null sink, hiding
ALSA's noise, and the recording fake the player's tests rely on."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.fakes import FakeClock, RecordingOut
from tests.pulse import CAPTURE_RATE, Capture, PulseServer
from voicecoach.adapters.audio_out import captured_stderr

RATE = 22050


def test_captured_stderr_hides_what_is_written_below_python_and_gives_it_back() -> None:
    with captured_stderr() as noise:
        os.write(2, b"ALSA lib pcm.c: Unknown PCM default\n")
    assert noise == ["ALSA lib pcm.c: Unknown PCM default\n"]
    # fd 2 is back: a write goes where it went before (checked in a child with a pipe).
    code = (
        "import os\nfrom voicecoach.adapters.audio_out import captured_stderr\n"
        "with captured_stderr():\n    os.write(2, b'hidden')\nos.write(2, b'shown')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.stderr == b"shown"


def test_no_device_is_a_one_line_error_with_the_details_kept_as_notes(tmp_path: Path) -> None:
    config = tmp_path / "alsa.conf"
    config.write_text('</usr/share/alsa/alsa.conf>\npcm.!default { type hw card "nosuchcard" }\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env["ALSA_CONFIG_PATH"] = str(config)
    code = (
        "import numpy\nfrom voicecoach.adapters.audio_out import SimpleaudioOut\n"
        "from voicecoach.errors import AudioDeviceError\n"
        "try:\n    SimpleaudioOut().play(numpy.zeros(100, numpy.int16), 22050)\n"
        "except AudioDeviceError as err:\n"
        "    print(err)\n    print(err.exit_code)\n    print(*err.__notes__, sep='\\n')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0] == (
        "no sound device found: use `voicecoach render ROUTINE -o FILE.mp3` to make a file instead"
    )
    assert lines[1] == "1"
    assert lines[2].startswith("simpleaudio: Error opening PCM device")
    assert any("ALSA lib" in line for line in lines[3:])


# The device tests run in a child process: ALSA reads its configuration (and whether
# PulseAudio is there) once per process, so this process's earlier use must not matter.
PLAYER = """
import sys, time, numpy as np
from voicecoach.adapters.audio_out import SimpleaudioOut
RATE = 22050
t = np.arange(round(float(sys.argv[1]) * RATE)) / RATE
tone = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
out = SimpleaudioOut()
{body}
"""


def _child(pulse: PulseServer, body: str, seconds: float) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PLAYER.format(body=body), str(seconds)],
        capture_output=True, text=True, env=pulse.client_env(), timeout=60,
    )  # fmt: skip
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout.split()


@pytest.mark.audio
def test_simpleaudio_plays_and_stop_reports_what_was_really_heard(pulse: PulseServer) -> None:
    body = """
handle = out.play(tone, RATE)
playing = handle.is_playing()
time.sleep(1.0)
early = handle.played()
waited = handle.wait(0.05)
reached = handle.stop()
print(playing, early, waited, reached, handle.is_playing(), handle.stop(), handle.played())
"""
    with Capture(pulse) as capture:
        words = _child(pulse, body, 5.0)
        time.sleep(0.3)
        recorded = capture.stop()
    playing, early, waited, reached, after, again, played = words
    assert (playing, waited, after) == ("True", "False", "False")
    assert 0.5 * RATE < int(early) < 2.0 * RATE
    assert reached == again == played
    loud = np.flatnonzero(np.abs(recorded.astype(np.int32)) > 1000)
    heard = (loud[-1] - loud[0]) / CAPTURE_RATE
    print(f"\nstop(): reported {int(reached) / RATE:.4f} s, heard {heard:.4f} s")
    # The drain after stop() is counted: the report matches the sound within 20 ms.
    assert abs(int(reached) / RATE - heard) < 0.020
    assert heard > 1.1  # it did play on after stop() was called


@pytest.mark.audio
def test_simpleaudio_wait_returns_when_the_buffer_has_played(pulse: PulseServer) -> None:
    body = """
handle = out.play(tone, RATE)
print(handle.wait(5.0), handle.played(), handle.stop(), handle.is_playing())
print(out.play(np.zeros(0, np.int16), RATE).wait(0.0))
"""
    n = str(round(0.3 * RATE))
    assert _child(pulse, body, 0.3) == ["True", n, n, "False", "True"]


# -- the live run's stream (sounddevice) ----------------------------------------------------

STREAMER = """
import sys, time, numpy as np
from voicecoach.adapters.audio_out import SimpleaudioOut
from voicecoach.adapters.stream_out import StreamOut
RATE = 22050
t = np.arange(round(float(sys.argv[1]) * RATE)) / RATE
tone = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
BLOCK = RATE // 2
{body}
"""


def _streamer(pulse: PulseServer, body: str, seconds: float) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", STREAMER.format(body=body), str(seconds)],
        capture_output=True, text=True, env=pulse.client_env(), timeout=60,
    )  # fmt: skip
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout.split()


def _silences_ms(recorded: np.ndarray) -> list[float]:
    """The silent stretches (2 ms windows under -30 dBFS) inside the recorded tone."""
    x = np.abs(recorded.astype(np.int32))
    loud = np.flatnonzero(x > 500)
    x = x[loud[0] : loud[-1]]
    w = 96  # 2 ms at 48 kHz: the 440 Hz tone peaks in every window
    peaks = x[: len(x) // w * w].reshape(-1, w).max(axis=1)
    quiet = np.concatenate([[False], peaks < 1000, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    return [float(n) * w / CAPTURE_RATE * 1000 for n in edges[1::2] - edges[::2]]


@pytest.mark.audio
def test_a_stream_fed_in_blocks_plays_without_a_gap(pulse: PulseServer) -> None:
    body = """
s = StreamOut().stream(RATE)
for at in range(0, len(tone), BLOCK):
    while s.queued() > RATE:  # about a second ahead, as the player keeps it
        time.sleep(0.02)
    s.feed(tone[at : at + BLOCK])
s.end()
print(s.wait(30.0), s.played(), s.is_playing(), s.underruns)
"""
    with Capture(pulse) as capture:
        words = _streamer(pulse, body, 6.0)
        time.sleep(0.3)
        recorded = capture.stop()
    assert words == ["True", str(6 * 22050), "False", "0"]
    loud = np.flatnonzero(np.abs(recorded.astype(np.int32)) > 500)
    heard = (loud[-1] - loud[0]) / CAPTURE_RATE
    print(f"\n12 blocks: heard {heard:.4f} s of 6 s, silences {_silences_ms(recorded)} ms")
    assert _silences_ms(recorded) == []  # not one seam heard
    assert abs(heard - 6.0) < 0.005  # all of it, the end too


@pytest.mark.audio
def test_simpleaudio_buffers_back_to_back_leave_a_gap_at_every_seam(pulse: PulseServer) -> None:
    """Why the live run streams with sounddevice: simpleaudio, one play_buffer per block,
    each started as the one before ends, leaves a hole at every seam (measured 9-20 ms)."""
    body = """
import simpleaudio
handle = None
for at in range(0, len(tone), 2 * BLOCK):
    while handle is not None and handle.is_playing():
        time.sleep(0.0005)
    handle = simpleaudio.play_buffer(np.ascontiguousarray(tone[at : at + 2 * BLOCK]), 1, 2, RATE)
handle.wait_done()
"""
    with Capture(pulse) as capture:
        _streamer(pulse, body, 5.0)
        time.sleep(0.3)
        recorded = capture.stop()
    gaps = _silences_ms(recorded)
    print(f"\nsimpleaudio, 5 blocks of 1 s: gaps {gaps} ms")
    assert len(gaps) == 4 and min(gaps) >= 2.0


@pytest.mark.audio
def test_a_stopped_stream_reports_exactly_what_was_heard(pulse: PulseServer) -> None:
    body = """
s = StreamOut().stream(RATE)
s.feed(tone)
playing = s.is_playing()
time.sleep(1.0)
early = s.played()
t0 = time.monotonic()
reached = s.stop()
took = time.monotonic() - t0
print(playing, early, reached, s.is_playing(), s.stop(), s.played(), round(took, 3))
"""
    with Capture(pulse) as capture:
        words = _streamer(pulse, body, 5.0)
        time.sleep(0.3)
        recorded = capture.stop()
    playing, early, reached, after, again, played, took = words
    assert (playing, after) == ("True", "False")
    assert 0.7 * RATE < int(early) < 1.3 * RATE
    assert reached == again == played
    loud = np.flatnonzero(np.abs(recorded.astype(np.int32)) > 1000)
    heard = (loud[-1] - loud[0]) / CAPTURE_RATE
    print(f"\nstop(): reported {int(reached) / RATE:.4f} s, heard {heard:.4f} s, took {took} s")
    assert abs(int(reached) / RATE - heard) < 0.010
    assert float(took) < 0.3  # silent as fast as simpleaudio's drain, or faster


def test_recording_out_streams_what_is_fed_and_plays_on_until_the_end() -> None:
    clock = FakeClock()
    out = RecordingOut(clock)
    feed = out.stream(RATE)
    feed.feed(np.ones(RATE, np.int16))
    assert feed.queued() == RATE
    assert not feed.wait(0.5) and feed.queued() == RATE // 2
    feed.feed(np.ones(RATE, np.int16))
    feed.end()
    assert feed.wait(5.0) and clock.now == pytest.approx(1002.0)
    assert out.plays[0].heard == 2 * RATE
    late = out.stream(RATE)
    late.feed(np.ones(RATE, np.int16))
    clock.sleep(2.0)
    with pytest.raises(AssertionError, match="ran dry"):
        late.feed(np.ones(RATE, np.int16))


def test_recording_out_plays_in_fake_time_and_drains_on_stop() -> None:
    clock = FakeClock()
    out = RecordingOut(clock, drain=0.3)
    handle = out.play(np.ones(RATE * 2, np.int16), RATE)
    assert handle.is_playing() and handle.played() == 0
    assert not handle.wait(0.5)
    assert handle.played() == RATE // 2
    assert handle.stop() == round(0.8 * RATE)
    assert clock.now == pytest.approx(1000.8)
    assert not handle.is_playing()
    second = out.play(np.ones(RATE, np.int16), RATE)
    assert second.wait(5.0) and clock.now == pytest.approx(1001.8)
    assert [p.heard for p in out.plays] == [round(0.8 * RATE), RATE]


def test_recording_out_refuses_overlapping_buffers_like_a_careful_device() -> None:
    out = RecordingOut()
    out.play(np.ones(RATE, np.int16), RATE)
    with pytest.raises(AssertionError):
        out.play(np.ones(RATE, np.int16), RATE)


# -- the timing analysis the audio tests rely on ----------------------------------------------


def _fake_recording(render: np.ndarray, shift_at: int, shift: int, lead: int) -> np.ndarray:
    """The render "played" into a 48 kHz sink: a silent lead, and ``shift`` samples of
    silence slipped in at ``shift_at`` (a late cue, as a sleep-timed player would make)."""
    import soxr

    late = np.concatenate([render[:shift_at], np.zeros(shift), render[shift_at:]])
    played = np.concatenate([np.zeros(lead), late])
    resampled = soxr.resample(played / 32768.0, RATE, CAPTURE_RATE)
    return np.round(np.asarray(resampled) * 32768).astype(np.int16)


def test_find_onsets_measures_exactly_and_sees_a_late_cue() -> None:
    from tests.fakes import tone
    from tests.pulse import find_onsets, to_rate

    starts = [round(s * RATE) for s in (0.5, 1.7, 2.2, 3.9, 5.0, 6.4, 7.1)]
    render = np.zeros(8 * RATE, np.int16)
    for i, start in enumerate(starts):
        clip = tone(round(0.3 * RATE), 300 + 70 * i)
        render[start : start + len(clip)] = clip
    exact = find_onsets(to_rate(_fake_recording(render, 0, 0, 1234), RATE), render, starts, RATE)
    assert exact.max_ms < 0.1 and len(exact.offsets) == 1
    assert exact.offsets[0] == pytest.approx(1234, abs=1)
    late = round(0.012 * RATE)
    shifted = _fake_recording(render, starts[4] - 100, late, 1234)
    timing = find_onsets(to_rate(shifted, RATE), render, starts, RATE)
    errors = timing.errors_ms()
    assert timing.max_ms > 5  # 12 ms late for the last three, against the median offset
    assert float(np.ptp(errors)) == pytest.approx(12.0, abs=0.2)
    assert abs(timing.drift_ms_per_min) > 10
