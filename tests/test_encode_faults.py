"""encode's faults: one-line errors for every bad target (missing folder, no permission,
read-only folder, disk full, a folder in the way), and nothing half-written after an
error, Ctrl-C or SIGKILL at any point."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.audiocheck import Samples, synthetic, write
from tests.terminal import set_immutable
from voicecoach.adapters import encode
from voicecoach.audio.mix import Mixer
from voicecoach.errors import OutputError, UsageError, VoicecoachError


@pytest.fixture(scope="module")
def session() -> Mixer:
    return synthetic(20.0)


@pytest.fixture(scope="module")
def long_session() -> Mixer:
    return synthetic(150.0, spacing=3.1)


# --- errors ---------------------------------------------------------------------------------


def tiny() -> list[Samples]:
    return [np.zeros(1000, np.int16)]


def test_missing_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError) as err:
        encode.write_audio(Path("out/x.wav"), tiny(), total=1000)
    assert str(err.value) == "cannot write out/x.wav: the folder out does not exist"
    assert list(tmp_path.iterdir()) == []


def test_folder_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("notes").write_text("x")
    with pytest.raises(OutputError) as err:
        encode.write_audio(Path("notes/x.mp3"), tiny(), total=1000)
    assert str(err.value) == "cannot write notes/x.mp3: notes is not a folder"


def test_target_is_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("x.wav").mkdir()
    with pytest.raises(OutputError) as err:
        encode.write_audio(Path("x.wav"), tiny(), total=1000)
    assert str(err.value) == "cannot write x.wav: it is a folder"


def test_no_permission_from_the_kernel() -> None:
    # sysfs refuses new files even to root: a real EACCES.
    with pytest.raises(OutputError) as err:
        encode.write_audio(Path("/sys/x.wav"), tiny(), total=1000)
    assert str(err.value) == "cannot write /sys/x.wav: no permission to write in /sys"


def test_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    # Root ignores permission bits; an immutable folder refuses even root.
    as_root = os.geteuid() == 0
    if as_root:
        set_immutable(folder, True)
    else:
        folder.chmod(0o555)
    try:
        with pytest.raises(OutputError) as err:
            encode.write_audio(folder / "x.flac", tiny(), total=1000)
    finally:
        if as_root:
            set_immutable(folder, False)
        else:
            folder.chmod(0o755)
    assert str(err.value) == f"cannot write {folder}/x.flac: no permission to write in {folder}"
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "opus", "mp3"])
def test_disk_full(session: Mixer, ext: str, tmp_path: Path) -> None:
    with pytest.raises(OutputError) as err:
        write(session, Path("/dev/full"), fmt=ext)
    assert str(err.value) == "cannot write /dev/full: the disk is full"
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)  # written in place, not replaced
    link = tmp_path / f"full.{ext}"
    link.symlink_to("/dev/full")
    with pytest.raises(OutputError) as err:
        write(session, link)
    assert str(err.value) == f"cannot write {link}: the disk is full"
    assert link.is_symlink() and os.readlink(link) == "/dev/full"
    assert sorted(p.name for p in tmp_path.iterdir()) == [link.name]


def test_dev_full_needs_a_format() -> None:
    with pytest.raises(UsageError):
        encode.write_audio(Path("/dev/full"), tiny(), total=1000)


# --- atomicity ------------------------------------------------------------------------------


class Boom(Exception):
    pass


def failing(mixer: Mixer, after: int, exc: type[BaseException] = Boom) -> Iterator[Samples]:
    for i, chunk in enumerate(mixer.chunks(size=8192)):
        if i == after:
            raise exc
        yield chunk


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "opus", "mp3"])
@pytest.mark.parametrize("exc", [Boom, KeyboardInterrupt])
def test_an_error_midway_leaves_nothing(
    session: Mixer, tmp_path: Path, ext: str, exc: type[BaseException]
) -> None:
    with pytest.raises(exc):
        encode.write_audio(tmp_path / f"s.{ext}", failing(session, 5, exc), total=session.length)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_render_keeps_the_old_file(session: Mixer, tmp_path: Path) -> None:
    target = tmp_path / "s.mp3"
    target.write_bytes(b"old")
    target.chmod(0o600)
    with pytest.raises(Boom):
        encode.write_audio(target, failing(session, 3), total=session.length)
    assert target.read_bytes() == b"old"
    write(session, target)
    assert target.stat().st_size > 1000
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # the file's permissions are kept


def test_a_failing_piece_stops_the_parallel_mp3(long_session: Mixer, tmp_path: Path) -> None:
    def seek(a: int, b: int) -> Iterator[Samples]:
        for i, chunk in enumerate(long_session.chunks(a, b, size=8192)):
            if a > 0 and i == 20:
                raise Boom
            yield chunk

    with pytest.raises(Boom):
        write(long_session, tmp_path / "p.mp3", threads=2, seek=seek)
    assert list(tmp_path.iterdir()) == []


def test_stale_temporaries_of_dead_processes_are_removed(session: Mixer, tmp_path: Path) -> None:
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = tmp_path / f".s.wav.part-{dead.stdout.strip()}"
    stale.write_bytes(b"x")
    live = tmp_path / f".s.wav.part-{os.getppid()}"  # a process that is still running
    live.write_bytes(b"x")
    write(session, tmp_path / "s.wav")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "s.wav"])


KILL_SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.audiocheck import synthetic
from voicecoach.adapters import encode
from voicecoach.app.render import quiet_spans
m = synthetic(1800.0, spacing=3.0)
print("ready", flush=True)
encode.write_audio(Path({target!r}), m.chunks(), total=m.length,
                   seek=lambda a, b: m.chunks(a, b), quiet=quiet_spans(m.timeline))
print("done", flush=True)
"""


def test_sigkill_mid_render_leaves_no_target(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    target = tmp_path / "long.mp3"
    root = str(Path(__file__).resolve().parent.parent)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT.format(root=root, target=str(target))],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 60
        while not any(p.name.startswith(".long.mp3.part-") for p in tmp_path.iterdir()):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.01)
        time.sleep(0.5)  # well into the encoding
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    left = [p.name for p in tmp_path.iterdir()]
    assert left and all(name.startswith(".long.mp3.part-") for name in left)
    assert not target.exists()
    # The next render of the same target cleans up after the killed one.
    encode.write_audio(target, [np.zeros(22050, np.int16)], total=22050)
    assert [p.name for p in tmp_path.iterdir()] == ["long.mp3"]
    assert sf.info(str(target)).frames == 22050


def test_an_empty_session_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(VoicecoachError) as err:
        encode.write_audio(tmp_path / "e.mp3", [], total=0)
    assert str(err.value) == f"nothing to write to {tmp_path}/e.mp3: the session is empty"
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_stops_the_parallel_mp3_and_leaves_nothing(
    long_session: Mixer, tmp_path: Path
) -> None:
    import signal

    pressed: list[int] = []

    def progress(n: int) -> None:
        if not pressed:  # one Ctrl-C, handled in the main thread as a real one is
            pressed.append(n)
            signal.raise_signal(signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        write(long_session, tmp_path / "p.mp3", threads=2, progress=progress)
    assert pressed and list(tmp_path.iterdir()) == []


def test_ctrl_c_inside_libsndfile_write_callback_is_not_lost(
    session: Mixer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cffi prints and swallows exceptions raised in callbacks: a Ctrl-C handled while
    libsndfile is calling back to write would be lost (and the file silently cut short).
    It is held until the next chunk instead."""
    import signal

    from voicecoach.adapters import codec

    real_write = codec.Sink.write
    calls: list[int] = []

    def write_and_interrupt(self: codec.Sink, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) == 3:
            signal.raise_signal(signal.SIGINT)  # its handler runs here, inside the callback
        return real_write(self, data)

    monkeypatch.setattr(codec.Sink, "write", write_and_interrupt)
    with pytest.raises(KeyboardInterrupt):
        encode.write_audio(tmp_path / "s.ogg", session.chunks(size=4096), total=session.length)
    assert len(calls) >= 3 and list(tmp_path.iterdir()) == []
