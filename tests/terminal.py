"""Test helpers shared by the end-to-end tests: the `voicecoach` command of this venv, a
command in a pseudo-terminal, and a folder made immutable (read-only even for root)."""

from __future__ import annotations

import array
import fcntl
import os
import shutil
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path


def voicecoach_command() -> list[str]:
    """The `voicecoach` command of the Python running the tests (its venv's script)."""
    exe = shutil.which("voicecoach", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "voicecoach"]


def _controlling_tty() -> None:
    # In the child: a session of its own with the pty as its controlling terminal, so a
    # Ctrl-C typed into the pty is SIGINT for it, as in a real terminal.
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    # A new session is a new autogroup, at nice 0 whatever the process's own nice: keep
    # the tests' priority (tools/dev runs the tests that play nothing at nice 19, beside
    # the live ones).
    if (nice := os.nice(0)) > 0:
        try:
            with open("/proc/self/autogroup", "w") as f:
                f.write(str(nice))
        except OSError:
            pass  # no autogroups here: nice alone ranks the processes


def _pty_number(master: int) -> int:
    """The number of the pty whose master end is ``master`` (TIOCGPTN)."""
    got = array.array("I", [0])
    fcntl.ioctl(master, 0x80045430, got, True)
    return got[0]


class Terminal:
    """A command in a pseudo-terminal: keys typed, the screen read, stderr kept apart.

    With ``controlling``, the pty is the command's controlling terminal (Ctrl-C typed
    is SIGINT), and ``finish`` tells whether its settings were put back. ``size`` (rows,
    columns) sets the window's size (a bare pty has none); ``display`` is the screen as
    a terminal of that size shows it (pyte emulates one)."""

    def __init__(
        self,
        command: list[str],
        env: dict[str, str],
        cwd: Path | None = None,
        *,
        controlling: bool = False,
        size: tuple[int, int] | None = None,
    ) -> None:
        self.master, slave = os.openpty()
        self._pty = os.ttyname(slave)  # which pty: a failure says if the fd changed hands
        if size is not None:  # (rows, columns): a window of that size, as a terminal has
            rows, columns = size
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self._keep = os.dup(slave)  # to read the terminal's settings after the run
        self.before = termios.tcgetattr(self._keep)
        self.proc = subprocess.Popen(
            command, env=env, cwd=cwd, stdin=slave, stdout=slave, stderr=subprocess.PIPE,
            preexec_fn=_controlling_tty if controlling else None,
        )  # fmt: skip
        os.close(slave)
        self._started = time.monotonic()
        try:  # what the command got as stdin and stdout (Popen returns after its exec)
            self._fds = [os.readlink(f"/proc/{self.proc.pid}/fd/{n}") for n in (0, 1)]
        except OSError as e:
            self._fds = [repr(e)]
        self._screen: list[bytes] = []
        self._read_error: BaseException | None = None
        self._reader = threading.Thread(
            target=self._read, daemon=True, name=f"pty reader fd {self.master} {self._pty}"
        )
        self._reader.start()
        # stderr is drained as it comes: a command that writes more than a pipe holds
        # (64 KiB) would otherwise block, and a test wait for its screen in vain.
        self._err: list[bytes] = []
        self._err_reader = threading.Thread(
            target=self._read_err, daemon=True, name=f"stderr reader of {self.proc.pid}"
        )
        self._err_reader.start()

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        fd = self.proc.stderr.fileno()
        while chunk := os.read(fd, 4096):
            self._err.append(chunk)

    @property
    def stderr(self) -> str:
        return b"".join(self._err).decode("utf-8", "replace")

    def _read(self) -> None:
        # The reader owns the master end and closes it when the terminal is gone. Closed
        # by ``finish`` instead, its number could be reused by the next test's terminal
        # before this loop's next read: that read then took the next command's screen
        # (a test saw an empty screen from a run that exited 0).
        try:
            while data := os.read(self.master, 4096):
                self._screen.append(data)
        except OSError as e:
            self._read_error = e  # EIO: every slave end is closed
        finally:
            os.close(self.master)

    @property
    def screen(self) -> str:
        return b"".join(self._screen).decode(errors="replace")

    def display(self, size: tuple[int, int]) -> list[str]:
        """The screen's rows as a (rows, columns) terminal shows them now."""
        import pyte

        rows, columns = size
        screen = pyte.Screen(columns, rows)
        stream = pyte.ByteStream(screen)
        stream.feed(b"".join(self._screen))
        return [row.rstrip() for row in screen.display]

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.screen:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                state = "running" if self.proc.poll() is None else f"exit {self.proc.returncode}"
                if self.proc.poll() is not None:
                    self._err_reader.join(timeout=2)  # the whole of stderr
                raise AssertionError(
                    f"{text!r} never shown ({state}); the screen: {self.screen!r}; "
                    f"stderr: {self.stderr[-2000:]!r}; {self._reader_state()}"
                )
            time.sleep(0.02)

    def _reader_state(self) -> str:
        """For a failure: the reader's thread, what it read, and the pty behind its fd."""
        try:
            now = f"/dev/pts/{_pty_number(self.master)}"
        except OSError as e:
            now = repr(e)
        alive = self._reader.is_alive()
        return (
            f"reader alive={alive} error={self._read_error!r} chunks={len(self._screen)} "
            f"pty={self._pty} master fd {self.master} -> {now}; "
            f"{time.monotonic() - self._started:.1f} s since the start; "
            f"the command's stdin, stdout: {self._fds}; "
            f"threads: {[t.name for t in threading.enumerate()]}"
        )

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def finish(self, timeout: float = 120) -> tuple[int, str, bool]:
        """Exit code, stderr, and whether the terminal's settings are as they were."""
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self._err_reader.join(timeout=10)  # to the end of stderr (the pipe is closed)
        restored = termios.tcgetattr(self._keep) == self.before
        os.close(self._keep)  # the last slave end: the reader reads to the end, then stops
        self._reader.join(timeout=10)
        return self.proc.returncode, self.stderr, restored


def set_immutable(folder: Path, on: bool) -> None:
    """Set or clear FS_IMMUTABLE_FL (needs root): nobody can write in the folder."""
    get_flags, set_flags, immutable = 0x80086601, 0x40086602, 0x10  # FS_IOC_*, the flag
    fd = os.open(folder, os.O_RDONLY)
    try:
        flags = array.array("i", [0])
        fcntl.ioctl(fd, get_flags, flags, True)
        flags[0] = flags[0] | immutable if on else flags[0] & ~immutable
        fcntl.ioctl(fd, set_flags, flags, True)
    finally:
        os.close(fd)
