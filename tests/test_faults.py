"""Faults, end to end: the real `voicecoach` command in a child process, real eSpeak NG,
real files and, for `run`, a private PulseAudio null sink.

Each test asserts what the user sees (one line, never a traceback), the exit code, and
that nothing is half-written or lost: no file at a target that failed, every clip in
the cache intact, the last-run file whole. What the lower layers already prove on
their own (encode's errors and atomic writes, the cache's checks, the player with
fakes) is in test_encode_faults.py, test_clipcache.py, test_speech.py, test_render.py,
test_player.py, test_audio_out.py and test_live_timing.py; here is the rest, through
the command line.

Read-only folders: root ignores permission bits, so as root a folder is made immutable
(the ``chattr +i`` ioctl), which refuses even root, or mounted read-only where the file
system has no such flag; as another user it is chmod 555.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from tests.pulse import Capture, PulseServer
from tests.terminal import Terminal, set_immutable
from voicecoach.adapters.audio_out import NO_DEVICE
from voicecoach.adapters.clipcache import ClipCache
from voicecoach.adapters.espeak import NOT_INSTALLED

# No warnings (every lead-in fits its words): stderr holds only what a test expects.
TINY = """\
title: Tiny
exercises:
  - name: Bridge
    hold: 3s
    lead_in: 8s
"""
# Two exercises, so a run stopped in the second has an exercise to resume from.
TWO = """\
title: Two
defaults: {lead_in: 5s, rest: 2s}
exercises:
  - name: Bridge
    hold: 2s
    lead_in: 7s
  - name: Bird-dog
    reps: 1
    tempo: [1s, 1s]
"""
INTERRUPTED = "Interrupted."
PREPARING = "Preparing your session…"


def many(exercises: int, hold: str = "4s") -> str:
    """A routine with many distinct phrases: a cold cache takes a while to fill."""
    lines = ["title: Many", "defaults: {lead_in: 12s, rest: 3s}", "exercises:"]
    for i in range(1, exercises + 1):
        lines += [
            f"  - name: Move {i}",
            f"    setup: Get ready for movement number {i}, slowly and with care.",
            f"    hold: {hold}",
        ]
    return "\n".join(lines) + "\n"


def voicecoach() -> list[str]:
    exe = shutil.which("voicecoach", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "voicecoach"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The command's environment: private cache, state and data, and no sound server."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "ALSA_"))}
    return {
        **base,
        "VOICECOACH_CACHE_DIR": str(tmp_path / "cache"),
        "VOICECOACH_STATE_DIR": str(tmp_path / "state"),
        "VOICECOACH_DATA_DIR": str(tmp_path / "data"),
    }


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """The folder the command runs in, holding tiny.yaml and nothing else."""
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "tiny.yaml").write_text(TINY)
    return folder


def vc(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*voicecoach(), *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def assert_cache_sound(folder: Path, *, temporaries: bool = False) -> int:
    """Every clip in the cache passes its checks (size, CRC, key); returns how many.

    ``temporaries``: a SIGKILL may leave a hidden temporary (a later process sweeps it).
    """
    clips = folder / "clips"
    cache = ClipCache(clips)
    names = sorted(p.name for p in clips.iterdir() if p.is_file())
    entries = [n for n in names if n.endswith(".clip")]
    for name in entries:
        assert cache.get(name.removesuffix(".clip")) is not None, f"{name} is damaged"
    assert cache.discarded == 0
    others = [n for n in names if not n.endswith(".clip")]
    if temporaries:
        assert all(n.startswith(".") and n.endswith(".tmp") for n in others), others
    else:
        assert others == []
    return len(entries)


# --- output folders: missing, read-only, in the way; a full disk ------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "missing/x.mp3"], "cannot write missing/x.mp3: the folder missing does not exist"),
        (["--split", "missing/tracks"],
         "cannot write to missing/tracks: the folder missing does not exist"),
        (["-o", "x.mp3", "--captions", "missing/x.vtt"],
         "cannot write missing/x.vtt: the folder missing does not exist"),
        (["-o", "tiny.yaml/x.mp3"], "cannot write tiny.yaml/x.mp3: tiny.yaml is not a folder"),
        (["--split", "tiny.yaml"], "cannot write to tiny.yaml: it is a file, not a folder"),
    ],
)  # fmt: skip
def test_output_folder_missing_or_a_file_in_the_way(
    work: Path, env: dict[str, str], tmp_path: Path, args: list[str], message: str
) -> None:
    done = vc(["render", "tiny.yaml", *args], env, work)
    assert (done.returncode, done.stdout, done.stderr) == (1, "", f"Error: {message}\n")
    assert listing(work) == ["tiny.yaml"]
    assert not (tmp_path / "cache").exists()  # it failed before any speech was made


@contextmanager
def read_only(folder: Path) -> Iterator[str]:
    """A folder nobody, root included, can create files in: chmod 555 for a user; for
    root, the immutable flag or, on a file system without it, a read-only bind mount.
    Yields the reason voicecoach should give."""
    no_permission = f"no permission to write in {folder.name}"
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield no_permission
        finally:
            folder.chmod(0o755)
        return
    try:
        set_immutable(folder, True)
    except OSError:  # e.g. tmpfs has no immutable flag
        subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
        try:
            yield "the file system is read-only"
        finally:
            subprocess.run(["umount", str(folder)], check=True)
        return
    try:
        yield no_permission
    finally:
        set_immutable(folder, False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "ro/x.mp3"], "cannot write ro/x.mp3: {reason}"),
        (["-o", "ro/"], "cannot write to ro: {reason}"),
        (["--split", "ro"], "cannot write to ro: {reason}"),
        (["--split", "ro/tracks"], "cannot write to ro/tracks: {reason}"),
        (["-o", "x.mp3", "--captions", "ro/x.vtt"], "cannot write ro/x.vtt: {reason}"),
    ],
)
def test_read_only_output_folder(
    work: Path, env: dict[str, str], tmp_path: Path, args: list[str], message: str
) -> None:
    (work / "ro").mkdir()
    with read_only(work / "ro") as reason:
        done = vc(["render", "tiny.yaml", *args], env, work)
    expected = message.format(reason=reason)
    assert (done.returncode, done.stdout, done.stderr) == (1, "", f"Error: {expected}\n")
    assert listing(work) == ["ro", "tiny.yaml"]  # no audio without its captions, either
    assert not (tmp_path / "cache").exists()  # refused before the session was prepared


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["-o", "/dev/full", "--format", "mp3"], "/dev/full"),
        (["-o", "full.flac"], "full.flac"),  # a link to /dev/full
        (["-o", "x.wav", "--captions", "full.vtt"], "full.vtt"),
    ],
)
def test_disk_full(work: Path, env: dict[str, str], args: list[str], shown: str) -> None:
    for name in ("full.flac", "full.vtt"):
        (work / name).symlink_to("/dev/full")
    done = vc(["render", "tiny.yaml", *args], env, work)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"Error: cannot write {shown}: the disk is full\n"
    # Nothing else appeared (x.wav neither: audio and captions go in together or not at
    # all), and the links are still links to the device.
    assert listing(work) == ["full.flac", "full.vtt", "tiny.yaml"]
    assert all(os.readlink(work / n) == "/dev/full" for n in ("full.flac", "full.vtt"))


# --- the clip cache: SIGKILL, damage, two processes -------------------------------------


def _wait_until(
    check: Callable[[], bool], proc: subprocess.Popen[Any], timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _clips(cache: Path) -> int:
    folder = cache / "clips"
    return len(list(folder.glob("*.clip"))) if folder.is_dir() else 0


@pytest.mark.slow
def test_sigkill_mid_render_leaves_no_file_and_a_sound_cache(
    work: Path, env: dict[str, str], tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    (work / "many.yaml").write_text(many(40))
    args = [*voicecoach(), "render", "many.yaml", "-o", "out.mp3"]

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            args, env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def kill(proc: subprocess.Popen[str]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL

    # 1. Killed while the cache is being filled (cold cache, real speech).
    proc = start()
    _wait_until(lambda: _clips(cache) >= 20, proc)
    kill(proc)
    assert listing(work) == ["many.yaml", "tiny.yaml"]
    kept = assert_cache_sound(cache, temporaries=True)
    assert kept >= 20

    # 2. Killed while encoding: the temporary is all there is, hidden.
    proc = start()
    _wait_until(lambda: any(".part-" in p.name for p in work.iterdir()), proc)
    time.sleep(0.3)
    kill(proc)
    left = [p.name for p in work.iterdir() if not p.name.endswith(".yaml")]
    assert left and all(n.startswith(".out.mp3.part-") for n in left)
    assert_cache_sound(cache, temporaries=True)

    # 3. Left alone, the same command writes the file and clears what the killed left.
    done = vc(args[len(voicecoach()) :], env, work)
    assert done.returncode == 0, done.stderr
    assert listing(work) == ["many.yaml", "out.mp3", "tiny.yaml"]
    info = soundfile.info(str(work / "out.mp3"))
    assert info.frames > 10 * 60 * info.samplerate
    assert assert_cache_sound(cache, temporaries=True) > kept


@pytest.mark.slow
def test_damaged_cache_clips_are_made_again(
    work: Path, env: dict[str, str], tmp_path: Path
) -> None:
    done = vc(["render", "tiny.yaml", "-o", "first.wav"], env, work)
    assert done.returncode == 0, done.stderr
    # Every entry (raw and levelled clips alike), each damaged one of three ways.
    clips = sorted((tmp_path / "cache" / "clips").glob("*.clip"))
    assert len(clips) >= 6
    for i, clip in enumerate(clips):
        data = clip.read_bytes()
        if i % 3 == 0:
            clip.write_bytes(data[: len(data) // 2])  # truncated
        elif i % 3 == 1:
            flipped = bytearray(data)
            flipped[len(data) // 2] ^= 0xFF  # one byte changed
            clip.write_bytes(bytes(flipped))
        else:
            clip.write_bytes(b"")  # emptied

    done = vc(["render", "tiny.yaml", "-o", "second.wav"], env, work)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("Wrote second.wav (")
    assert assert_cache_sound(tmp_path / "cache") == len(clips)  # all made again
    first, _ = soundfile.read(work / "first.wav", dtype="int16")
    second, _ = soundfile.read(work / "second.wav", dtype="int16")
    assert abs(len(first) - len(second)) < 0.02 * len(first)
    assert np.abs(second.astype(np.int32)).max() > 5000


@pytest.mark.slow
def test_two_commands_fill_the_same_cache_at_once(
    work: Path, env: dict[str, str], tmp_path: Path
) -> None:
    (work / "many.yaml").write_text(many(30))  # a few seconds of speech to make
    args = [*voicecoach(), "render", "many.yaml", "-o"]
    procs = [
        subprocess.Popen(
            [*args, name], env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for name in ("a.wav", "b.wav")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert (proc.returncode, err) == (0, b"")
    a, _ = soundfile.read(work / "a.wav", dtype="int16")
    b, _ = soundfile.read(work / "b.wav", dtype="int16")
    # The same session from both: whichever made a clip, the other read it whole.
    # (That each phrase is made only once between them is test_speech's.)
    np.testing.assert_array_equal(a, b)
    assert assert_cache_sound(tmp_path / "cache") > 50


@pytest.mark.slow
def test_ctrl_c_while_render_prepares(work: Path, env: dict[str, str], tmp_path: Path) -> None:
    """Ctrl-C while the speech is being made (cold cache): no file, a sound cache."""
    cache = tmp_path / "cache"
    (work / "many.yaml").write_text(many(60))
    proc = subprocess.Popen(
        [*voicecoach(), "render", "many.yaml", "-o", "out.mp3", "--captions", "out.vtt"],
        env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        _wait_until(lambda: _clips(cache) >= 20, proc)
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, out, err) == (130, "", f"{INTERRUPTED}\n")
    assert listing(work) == ["many.yaml", "tiny.yaml"]
    assert_cache_sound(cache)


# --- eSpeak NG missing ------------------------------------------------------------------


@pytest.fixture
def no_espeak(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The environment of a machine without libespeak-ng1: pyttsx3 loads the library by
    its soname, and the dynamic loader finds these broken files first."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    for name in ("libespeak-ng.so.1", "libespeak.so.1"):
        (shadow / name).write_text("not a library\n")
    return {**env, "LD_LIBRARY_PATH": str(shadow)}


@pytest.mark.parametrize(
    ("args", "stdout", "stderr", "code"),
    [
        (["render", "tiny.yaml", "-o", "x.mp3"], "", [f"Error: {NOT_INSTALLED}"], 1),
        (["audition", "tiny.yaml"], "", [f"Error: {NOT_INSTALLED}"], 1),
        (["run", "tiny.yaml"], "", [PREPARING, f"Error: {NOT_INSTALLED}"], 1),
        (["voices"], "", [f"Error: {NOT_INSTALLED}"], 1),
        (["validate", "tiny.yaml"], f"tiny.yaml: ok (timing not checked: {NOT_INSTALLED})\n",
         [], 0),
    ],
)  # fmt: skip
def test_espeak_ng_missing(
    work: Path,
    no_espeak: dict[str, str],
    args: list[str],
    stdout: str,
    stderr: list[str],
    code: int,
) -> None:
    assert "libespeak-ng1" in NOT_INSTALLED
    done = vc(args, no_espeak, work)
    assert (done.returncode, done.stdout, done.stderr.splitlines()) == (code, stdout, stderr)
    assert listing(work) == ["tiny.yaml"]


# --- no sound device ----------------------------------------------------------------------


def _last_run(env: dict[str, str]) -> Path:
    return Path(env["VOICECOACH_STATE_DIR"]) / "last_run.json"


def _earlier_run(env: dict[str, str], path: Path) -> bytes:
    """A last-run file as an earlier, stopped session left it; its bytes."""
    import hashlib

    state = _last_run(env)
    state.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    record = {"path": str(path), "digest": digest, "exercise": 1, "finished": False}
    state.write_text(json.dumps(record))
    return state.read_bytes()


@pytest.mark.parametrize("cache", ["cold", "warm"])
@pytest.mark.parametrize("alsa", ["system", "broken"])
def test_no_sound_device(
    work: Path, env: dict[str, str], tmp_path: Path, cache: str, alsa: str
) -> None:
    """A sound server that is not there (PULSE_SERVER pointing at nothing), with the
    system's ALSA setup or one whose default device is a card that does not exist.
    With a cold cache the first sound is the "Preparing" notice; warm, the session."""
    if cache == "warm":
        assert vc(["audition", "--json", "tiny.yaml"], env, work).returncode == 0
    env = {**env, "PULSE_SERVER": f"unix:{tmp_path}/no-such-server"}
    if alsa == "broken":
        config = tmp_path / "alsa.conf"
        config.write_text(
            '</usr/share/alsa/alsa.conf>\npcm.!default { type hw card "nosuchcard" }\n'
        )
        env["ALSA_CONFIG_PATH"] = str(config)
    before = _earlier_run(env, work / "tiny.yaml")
    done = vc(["run", "tiny.yaml"], env, work, timeout=120)
    assert (done.returncode, done.stdout) == (1, "")
    # One line, no ALSA noise: how to start a sound server, and the render command that
    # makes the very routine asked for a file.
    assert done.stderr.splitlines() == [PREPARING, NO_SOUND.format("tiny.yaml", "tiny.mp3")]
    assert _last_run(env).read_bytes() == before  # the stopped session can still resume


NO_SOUND = (
    "Error: no sound device found: start a sound server (`pulseaudio --start`, or with"
    " PipeWire `systemctl --user start pipewire pipewire-pulse`), or make a file to play on"
    " any device: `voicecoach render {} -o {}`"
)


@pytest.mark.parametrize(
    ("args", "render"),
    [
        (["run", "lower-back-relief"], "lower-back-relief -o lower-back-relief.mp3"),
        (["run"], "back-strength -o back-strength.mp3"),
        (["audition", "--play", "my routine.yaml"], "'my routine.yaml' -o 'my routine.mp3'"),
        (["audition", "--skim", "tiny.yaml"], "tiny.yaml -o tiny.mp3"),
    ],
)
def test_no_sound_device_names_the_routine_asked_for(
    work: Path, env: dict[str, str], tmp_path: Path, args: list[str], render: str
) -> None:
    (work / "my routine.yaml").write_text((work / "tiny.yaml").read_text())
    env = {**env, "PULSE_SERVER": f"unix:{tmp_path}/no-such-server"}
    done = vc(args, env, work, timeout=300)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines()[-1] == NO_SOUND.format(*render.split(" -o "))
    assert NO_DEVICE not in done.stderr  # the adapter's bare line never reaches the user


# --- live runs: the routine changed under a session; Ctrl-C at each stage ----------------


@pytest.fixture
def live(pulse: PulseServer, env: dict[str, str], work: Path) -> dict[str, str]:
    """The environment of a run that plays into the null sink, with TWO in two.yaml."""
    (work / "two.yaml").write_text(TWO)
    return {**env, **pulse.env}


def _timeline(env: dict[str, str], cwd: Path, name: str) -> dict[str, object]:
    """`voicecoach audition --json`; it also fills the cache, so the run starts warm."""
    done = vc(["audition", "--json", name], env, cwd)
    assert done.returncode == 0, done.stderr
    data: dict[str, object] = json.loads(done.stdout)
    return data


@pytest.mark.audio
@pytest.mark.slow
def test_routine_changed_then_deleted_during_a_run_plays_what_was_loaded(
    pulse: PulseServer, live: dict[str, str], work: Path
) -> None:
    from voicecoach.adapters import last_run
    from voicecoach.routine import loader as routine

    path = work / "two.yaml"
    duration = float(_timeline(live, work, "two.yaml")["duration"])  # type: ignore[arg-type]
    digest = routine.load(str(path)).digest
    with Capture(pulse) as capture:
        started = time.monotonic()
        proc = subprocess.Popen(
            [*voicecoach(), "run", "two.yaml"], env=live, cwd=work, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        capture.wait_for_sound(timeout=120)
        path.write_text("title: Other\nexercises: [{name: Plank, hold: 1h}]\n")
        time.sleep(1.0)
        path.unlink()
        out, err = proc.communicate(timeout=duration + 60)
        took = time.monotonic() - started
    assert (proc.returncode, out, err) == (0, "", f"{PREPARING}\n"), err
    assert took > duration - 1.0  # it played the whole session it had loaded
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VOICECOACH_STATE_DIR", live["VOICECOACH_STATE_DIR"])
        saved = last_run.load()
    assert saved == last_run.LastRun(str(path), digest, 2, True)


def _assert_interrupted(code: int, err: str, restored: bool) -> None:
    lines = err.splitlines()
    assert code == 130, lines
    assert lines[-1] == INTERRUPTED
    # Nothing else: no traceback, no noise (with a terminal, the keys are listed first).
    others = [x for x in lines if x not in (PREPARING, INTERRUPTED) and not x.startswith("Keys: ")]
    assert others == [], lines
    assert restored, "the terminal settings were not put back"


@pytest.mark.audio
@pytest.mark.slow
def test_ctrl_c_while_preparing(live: dict[str, str], work: Path, tmp_path: Path) -> None:
    (work / "many.yaml").write_text(many(120))
    cache = tmp_path / "cache"
    before = _earlier_run(live, work / "two.yaml")
    term = Terminal([*voicecoach(), "run", "many.yaml"], live, work, controlling=True)
    _wait_until(lambda: _clips(cache) >= 30, term.proc)  # cold: the speech is being made
    term.type(b"\x03")
    _assert_interrupted(*term.finish())
    assert "Audio saved" not in term.screen  # the speech driver's own print
    # The earlier session can still resume. A cold run plays while its speech is made
    # (the head start), so by now it may have begun its first exercise: then it is the
    # latest run, at its start, beside the earlier one (else the file is untouched).
    from voicecoach.adapters import last_run
    from voicecoach.routine import loader as routine

    state = _last_run(live)
    if state.read_bytes() != before:
        earlier = json.loads(before)
        assert last_run.load(earlier["path"], state) == last_run.LastRun(**earlier)
        many_path = str((work / "many.yaml").resolve())
        assert last_run.load(None, state) == last_run.LastRun(
            many_path, routine.load(many_path).digest, 0, False
        )
    assert_cache_sound(cache)
    assert listing(work) == ["many.yaml", "tiny.yaml", "two.yaml"]


@pytest.mark.audio
@pytest.mark.slow
def test_ctrl_c_while_playing_then_resume_refuses_a_changed_routine(
    pulse: PulseServer, live: dict[str, str], work: Path
) -> None:
    from voicecoach.adapters import last_run
    from voicecoach.routine import loader as routine

    path = work / "two.yaml"
    timeline = _timeline(live, work, "two.yaml")
    events: list[dict[str, object]] = timeline["events"]  # type: ignore[assignment]
    second = min(float(e["t"]) for e in events if e["exercise"] == "Bird-dog")  # type: ignore[arg-type]
    digest = routine.load(str(path)).digest
    with Capture(pulse) as capture:
        term = Terminal([*voicecoach(), "run", "two.yaml"], live, work, controlling=True)
        first = capture.wait_for_sound(timeout=120)
        time.sleep(max(0.0, first + second + 1.0 - time.monotonic()))  # in Bird-dog
        term.type(b"\x03")
        _assert_interrupted(*term.finish())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VOICECOACH_STATE_DIR", live["VOICECOACH_STATE_DIR"])
        assert last_run.load() == last_run.LastRun(str(path), digest, 1, False)

    # The routine is edited: --resume refuses it, in one line, and plays nothing.
    path.write_text(TWO.replace("hold: 2s", "hold: 3s"))
    done = vc(["run", "--resume"], live, work)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("Error: cannot resume: ")
    assert str(path) in done.stderr and len(done.stderr.splitlines()) == 1
    # Deleted: one line that names it.
    path.unlink()
    done = vc(["run", "--resume"], live, work)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"Error: cannot resume: {path}, the routine of the last unfinished session,"
        " is gone (deleted or moved)\n"
    )


@pytest.mark.audio
@pytest.mark.slow
def test_ctrl_c_while_paused(pulse: PulseServer, live: dict[str, str], work: Path) -> None:
    from voicecoach.adapters import last_run
    from voicecoach.routine import loader as routine

    path = work / "two.yaml"
    _timeline(live, work, "two.yaml")
    with Capture(pulse) as capture:
        term = Terminal([*voicecoach(), "run", "two.yaml"], live, work, controlling=True)
        capture.wait_for_sound(timeout=120)
        time.sleep(1.0)
        term.type(b" ")  # pause
        _wait_until(lambda: "Paused" in term.screen, term.proc, timeout=30)
        time.sleep(2.0)  # "Paused." is said, then nothing
        heard = capture.size
        time.sleep(0.5)
        quiet = capture.samples()[heard // 2 :]
        term.type(b"\x03")
        _assert_interrupted(*term.finish())
    assert np.abs(quiet.astype(np.int32)).max() < 100  # it was really paused
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VOICECOACH_STATE_DIR", live["VOICECOACH_STATE_DIR"])
        saved = last_run.load()
    assert saved == last_run.LastRun(str(path), routine.load(str(path)).digest, 0, False)
