"""PortAudio's initialisation starts on a thread when the live output is made, and
``settle`` waits for it to give fd 2 back, so a message printed then is not lost."""

from __future__ import annotations

import os
import threading
import time

import pytest

from voicecoach.adapters import stream_out
from voicecoach.adapters.audio_out import captured_stderr
from voicecoach.cli.group import settle_output
from voicecoach.errors import AudioDeviceError


@pytest.fixture
def slow_import(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A stand-in for the import: holds fd 2 for 0.3 s, as ALSA's listing may."""
    noise: list[str] = []

    def fake() -> None:
        with captured_stderr() as captured:
            os.write(2, b"ALSA lib: cannot find card\n")
            time.sleep(0.3)
        noise.extend(captured)

    monkeypatch.setattr(stream_out, "_sounddevice", fake)
    monkeypatch.setattr(stream_out, "_warming", None)
    monkeypatch.setattr(stream_out, "_sd", None)
    return noise


def test_a_message_after_settle_is_printed(
    slow_import: list[str], capfd: pytest.CaptureFixture[str]
) -> None:
    stream_out.StreamOut()
    assert stream_out._warming is not None and stream_out._warming.is_alive()
    settle_output()
    os.write(2, b"Error: the message\n")
    assert "Error: the message" in capfd.readouterr().err
    assert slow_import and "cannot find card" in slow_import[0]  # the noise stays hidden


def test_a_failed_warm_up_is_left_for_the_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise AudioDeviceError("no PortAudio")

    failures: list[object] = []
    monkeypatch.setattr(threading, "excepthook", failures.append)
    monkeypatch.setattr(stream_out, "_sounddevice", broken)
    monkeypatch.setattr(stream_out, "_warming", None)
    monkeypatch.setattr(stream_out, "_sd", None)
    out = stream_out.StreamOut()
    stream_out.settle()
    assert failures == []
    with pytest.raises(AudioDeviceError, match="no PortAudio"):
        out.stream(22050)
