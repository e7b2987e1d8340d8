"""Single key presses from the terminal, without Enter, for a user who is not looking.

``open_keys`` puts the terminal in cbreak mode (no echo, no line buffering, Ctrl-C still
sends SIGINT) and always puts it back: on exit, on an exception, on Ctrl-C and on
SIGTERM. With no terminal on stdin (piped, CI) there are no keys at all and the session
runs straight through.

Keys are reported by name: ``space``, ``n``, ``b``, ``q``, ``?``, ``p``, ``h``, ``+``
(or ``=``, the same key unshifted), ``-``, ``[``, ``]``, ``right``, ``left``, the digits
``1`` to ``5`` (the end-of-session check-in), ``ctrl-c`` (only seen if the terminal does
not turn it into SIGINT), and ``other`` for any other key (the player says how to hear
the keys).
"""

from __future__ import annotations

import os
import select
import signal
import sys
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import IO

from voicecoach.app.ports import DIGITS

KEYS: tuple[str, ...] = (
    "space", "n", "b", "q", "?", "p", "h", "+", "-", "[", "]", "right", "left", *DIGITS,
    "ctrl-c", "other",
)  # fmt: skip
_PLAIN = {b" ": "space", b"n": "n", b"b": "b", b"q": "q", b"?": "?", b"p": "p", b"\x03": "ctrl-c"}
_PLAIN.update({b"h": "h", b"+": "+", b"=": "+", b"-": "-", b"[": "[", b"]": "]"})
_PLAIN.update((d.encode(), d) for d in DIGITS)
OTHER = "other"
_ARROWS = {b"C": "right", b"D": "left"}
# The number pad in "application" mode sends ESC O q .. ESC O u for 1 .. 5.
_KEYPAD = {b"q": "1", b"r": "2", b"s": "3", b"t": "4", b"u": "5"}
_ESC = 0x1B


def parse(data: bytes) -> list[str]:
    """Key names in raw terminal input; any other key is ``other``.

    Arrows come as ``ESC [ C`` (or ``ESC O C`` in application mode); other escape
    sequences (up, F1, ...) are one ``other`` each, and so is a character of several
    UTF-8 bytes. Letters are taken in either case, so Caps Lock does not lock the user out.
    """
    keys: list[str] = []
    i = 0
    while i < len(data):
        byte = data[i]
        if byte == _ESC:
            if i + 2 < len(data) and data[i + 1 : i + 2] in (b"[", b"O"):
                # A CSI/SS3 sequence: parameters, then one final byte in 0x40..0x7E.
                j = i + 2
                while j < len(data) and not 0x40 <= data[j] <= 0x7E:
                    j += 1
                final = data[j : j + 1]
                if j == i + 2 and final in _ARROWS:
                    keys.append(_ARROWS[final])
                elif j == i + 2 and data[i + 1 : i + 2] == b"O" and final in _KEYPAD:
                    keys.append(_KEYPAD[final])
                else:
                    keys.append(OTHER)
                i = j + 1
                continue
            keys.append(OTHER)  # a lone Escape (or Alt+key)
            i += 1
            continue
        char = bytes([byte]).lower()
        if char in _PLAIN:
            keys.append(_PLAIN[char])
        elif not 0x80 <= byte < 0xC0:  # a UTF-8 continuation byte is part of the key before
            keys.append(OTHER)
        i += 1
    return keys


class TerminalKeys:
    """Reads keys from a terminal file descriptor already in cbreak mode (see ``open_keys``)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._pending: deque[str] = deque()

    def get(self, timeout: float) -> str | None:
        if self._pending:
            return self._pending.popleft()
        ready, _, _ = select.select([self._fd], [], [], max(0.0, timeout))
        if ready:
            data = os.read(self._fd, 64)
            if data[-1:] == b"\x1b" or data[-2:] in (b"\x1b[", b"\x1bO"):
                # An arrow key split across reads: its tail follows within microseconds.
                more, _, _ = select.select([self._fd], [], [], 0.05)
                if more:
                    data += os.read(self._fd, 64)
            self._pending.extend(parse(data))
        return self._pending.popleft() if self._pending else None


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    # SIGTERM: unwind like an exception so every `finally` (terminal, sound) runs.
    raise SystemExit(128 + signum)


@contextmanager
def open_keys(stream: IO[str] | None = None) -> Iterator[TerminalKeys | None]:
    """Key reading on ``stream`` (default stdin) if it is a terminal, else None."""
    stream = sys.stdin if stream is None else stream
    try:
        fd = stream.fileno()
        tty_in = os.isatty(fd)
    except (AttributeError, OSError, ValueError):
        tty_in = False
    if not tty_in:
        yield None
        return

    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        old_term = signal.signal(signal.SIGTERM, _raise_exit)
        own_signal = True
    except ValueError:  # not the main thread: the caller owns signals
        own_signal = False
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        yield TerminalKeys(fd)
    finally:
        # TCSAFLUSH also drops keys pressed but not read, so they don't reach the shell.
        termios.tcsetattr(fd, termios.TCSAFLUSH, saved)
        if own_signal:
            signal.signal(signal.SIGTERM, old_term)
