"""Shared fixtures. Ask the owner of the live-run feature before changing them."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes import SHORT_ROUTINE, FakeSpeech, fake_sounds
from tests.pulse import PulseServer, start_pulse, stop_pulse
from voicecoach.app.session import Session


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C as in a terminal, even when the suite was started where SIGINT is ignored
    (a shell's background job: `cmd &` ignores it, and every process it starts inherits
    that): the tests that press Ctrl-C on a command, or on themselves, need it. A Python
    handler here also gives the commands the tests start the default back (exec resets
    a handled signal; an ignored one stays ignored). Seen: six Ctrl-C tests failed in a
    clean-clone run started with `&`."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist, the modules with slow tests first (each keeps its order): tools/dev
    hands out whole files in this order (``--dist loadfile --no-loadscope-reorder``), so
    the long ones start early and the run does not end with one worker on a flagship
    render while the other waits. A plain run keeps the collection order."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)  # stable: files stay whole


@pytest.fixture(scope="session")
def _suite_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One clip cache for the whole run: cold at its start, as on a clean machine.

    Under pytest-xdist every worker has a base folder of its own inside the run's
    folder; the cache goes in the run's folder, so the workers share it (a new one each
    run: still cold at the start) and make each phrase once between them. The clip cache
    is safe across processes (atomic renames, the synthesis lock: tests/test_speech.py)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        folder = base.parent / "clip-cache"
        folder.mkdir(exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("clip-cache")


@pytest.fixture(autouse=True)
def _private_state(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, _suite_cache: Path
) -> None:
    """Keep the tests out of the user's folders: ``run``'s last-run file (state), the
    history (data) and the clip cache. A test that needs a cache of its own (cold, or
    shared with a child process) sets ``VOICECOACH_CACHE_DIR`` itself; without this,
    tests that make real speech and set none filled the user's cache."""
    monkeypatch.setenv("VOICECOACH_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    monkeypatch.setenv("VOICECOACH_CACHE_DIR", str(_suite_cache))


@pytest.fixture
def make_session() -> Callable[..., Session]:
    """Build a session from routine YAML with the fake speech engine and sounds."""
    from voicecoach.app import session
    from voicecoach.routine import loader as routine

    def make(text: str = SHORT_ROUTINE, path: str = "short.yaml") -> Session:
        return session.prepare(
            routine.load_text(text, path), speech=FakeSpeech(), sounds=fake_sounds()
        )

    return make


@pytest.fixture(scope="session")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    """A private PulseAudio server with a null sink, for the whole test session.

    Clients reach it through ``pulse.client_env()`` (``PULSE_SERVER``); ALSA's default
    device, hence simpleaudio, then plays into it.
    """
    folder: Path = tmp_path_factory.mktemp("pulse")
    server = start_pulse(folder)
    try:
        yield server
    finally:
        stop_pulse(server)
