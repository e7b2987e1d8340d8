"""The status line on the terminal: the app's StatusSink, for anyone who glances at it.

The run is eyes-free; the line is a courtesy (what ``Guide.line`` says: exercise, set,
rep, time left). It goes to a text stream, cut to the terminal's width.
"""

from __future__ import annotations

import shutil
from typing import TextIO


class TerminalStatus:
    """One line, rewritten in place (``\\r`` + clear to end of line), cut to the width."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._shown = ""

    def show(self, text: str) -> None:
        width = shutil.get_terminal_size((80, 24)).columns - 1
        text = text if len(text) <= width else text[: max(0, width - 1)] + "…"
        if text != self._shown:
            self._stream.write("\r" + text + "\x1b[K")
            self._stream.flush()
            self._shown = text

    def clear(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._shown = ""
