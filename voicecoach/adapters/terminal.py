"""The screen during a live run: the app's StatusSink, for anyone who glances at it.

The run is eyes-free; the screen is a courtesy. What it shows is a ``core.status.Glance``
(plain data, computed from the timeline position), laid out here:

- On a terminal at least ``WIDE`` columns wide (and not ``TERM=dumb``): a panel drawn
  again in place by ``rich`` (imported only when the first panel is drawn, so
  ``voicecoach --help`` never loads it): the exercise with its side and set, the time
  left in the current hold, rest or timed work in large digits, the reps as "7 / 12",
  then "Next: …" and the session's elapsed and remaining time.
- Narrower, or on a dumb terminal: one line (``Glance.line``), rewritten with ``\\r``
  (and clear-to-end-of-line where the terminal knows it), cut to the width.
- Not a terminal: nothing (the command line does not make a screen then).

At the end of a workout ``summary`` leaves what was done on the screen.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING, TextIO

from voicecoach.app.history import summary_lines
from voicecoach.core import screen_lines as SL
from voicecoach.core.coaching import side_phrase
from voicecoach.core.records import Summary
from voicecoach.core.status import FINISH, Glance, clock

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

WIDE = 60  # columns the panel needs; below it, one line

# Large digits, three rows each (half blocks, so a digit is 3 columns by 1.5 lines).
FONT: dict[str, tuple[str, str, str]] = {
    "0": ("█▀█", "█ █", "▀▀▀"),
    "1": ("▀█ ", " █ ", "▀▀▀"),
    "2": ("▀▀█", "█▀▀", "▀▀▀"),
    "3": ("▀▀█", " ▀█", "▀▀▀"),
    "4": ("█ █", "▀▀█", "  ▀"),
    "5": ("█▀▀", "▀▀█", "▀▀▀"),
    "6": ("█▀▀", "█▀█", "▀▀▀"),
    "7": ("▀▀█", "  █", "  ▀"),
    "8": ("█▀█", "█▀█", "▀▀▀"),
    "9": ("█▀█", "▀▀█", "▀▀▀"),
    ":": (" ", "▀", "▀"),
}
_TIMER_NAMES = {"hold": SL.HOLD, "rest": SL.REST, "work": SL.WORK}  # message ids


def big(text: str) -> tuple[str, str, str]:
    """``text`` (digits and colons) in large digits: three rows, a space between glyphs."""
    glyphs = [FONT[c] for c in text]
    rows = tuple(" ".join(g[row] for g in glyphs) for row in range(3))
    return rows[0], rows[1], rows[2]


def is_dumb(environ: dict[str, str] | None = None) -> bool:
    """A terminal that does not understand cursor movement (``TERM=dumb``, or unset)."""
    term = (os.environ if environ is None else environ).get("TERM", "")
    return term in ("", "dumb", "unknown")


def panel_rows(glance: Glance) -> list[str]:
    """The panel's text, row by row (plain text: what a glance should catch), in the
    session's language (``glance.words``)."""
    m = glance.words
    if glance.phase == "note":
        return [glance.state or ""]
    if glance.phase == "welcome":
        first = glance.next
        head = SL.show(m, SL.WELCOME_FIRST, exercise=first) if first else SL.show(m, SL.WELCOME)
    elif glance.phase == "rest":
        head = SL.show(m, SL.REST)
    elif glance.phase == "finish":
        head = SL.show(m, SL.FINISH_WELL_DONE)
    else:
        head = f"{glance.number}/{glance.count}  {glance.exercise}"
        if glance.side:
            head += f" · {side_phrase(m, glance.side)}"
        if glance.set is not None and glance.sets > 1:
            head += " · " + SL.show(m, SL.PANEL_SET, set=glance.set, sets=glance.sets)
    rows = [head]
    if glance.state:
        rows.append(glance.state)
    rows.append("")
    if glance.timer is not None and glance.left is not None:
        digits = big(clock(glance.left))
        label = SL.show(m, _TIMER_NAMES[glance.timer])
        rows += [f"  {digits[0]}", f"  {digits[1]}   {label}", f"  {digits[2]}"]
    else:
        rows += ["", "", ""]
    counted = glance.rep is not None and glance.reps  # as ``Glance.rep_count``
    rows.append("  " + SL.show(m, SL.REP, rep=glance.rep, reps=glance.reps) if counted else "")
    rows.append("")
    if glance.phase != "finish":
        upcoming = glance.next and glance.next != FINISH
        nxt = SL.show(m, SL.NEXT, exercise=glance.next) if upcoming else SL.show(m, SL.NEXT_END)
        times = SL.show(m, SL.CLOCK, elapsed=clock(glance.elapsed), time=clock(glance.remaining))
        rows.append(f"{nxt}   {times}")
    return rows


class TerminalStatus:
    """The live display on a terminal stream: a panel redrawn in place, or one line."""

    def __init__(
        self, stream: TextIO, *, environ: dict[str, str] | None = None, width: int | None = None
    ) -> None:
        """``environ``: where ``TERM`` is read (the process's); ``width``: the terminal's
        columns (None: asked each time, so a resized window is followed)."""
        self._stream = stream
        self._fixed_width = width
        self._dumb = is_dumb(environ)
        self._shown = ""  # the one line, or the panel's text, last drawn
        self._live: Live | None = None
        self._console: Console | None = None

    def _width(self) -> int:
        if self._fixed_width is not None:
            return self._fixed_width
        return shutil.get_terminal_size((80, 24)).columns

    def _wide(self) -> bool:
        return not self._dumb and self._width() >= WIDE

    # -- the live display ------------------------------------------------------------------

    def show(self, status: Glance) -> None:
        if self._wide():
            self._panel(status)
        else:
            self._stop_live()
            self._line(status.line())

    def clear(self) -> None:
        self._stop_live()
        if self._shown:
            blank = " " * len(self._shown)
            self._stream.write("\r" + blank + "\r" if self._dumb else "\r\x1b[K")
            self._stream.flush()
        self._shown = ""

    def _line(self, text: str) -> None:
        width = self._width() - 1
        text = text if len(text) <= width else text[: max(0, width - 1)] + "…"
        if text == self._shown:
            return
        if self._dumb:  # no clear-to-end: pad over the longer line before it
            pad = " " * max(0, len(self._shown) - len(text))
            self._stream.write("\r" + text + pad + ("\b" * len(pad)))
        else:
            self._stream.write("\r" + text + "\x1b[K")
        self._stream.flush()
        self._shown = text

    def _panel(self, status: Glance) -> None:
        rows = panel_rows(status)
        text = "\n".join(rows)
        if text == self._shown and self._live is not None:
            return  # the same seconds: nothing to draw (the player asks many times a second)
        self._shown = text
        renderable = self._renderable(rows, status)
        if self._live is None:
            from rich.live import Live

            if self._console is None:
                self._console = self._make_console()
            self._live = Live(
                renderable, console=self._console, auto_refresh=False, transient=True,
                redirect_stdout=False, redirect_stderr=False,
            )  # fmt: skip
            self._live.start(refresh=True)
        else:
            self._live.update(renderable, refresh=True)

    def _make_console(self) -> Console:
        from rich.console import Console

        return Console(file=self._stream, force_terminal=True, highlight=False)

    def _renderable(self, rows: list[str], status: Glance) -> RenderableType:
        from rich.panel import Panel
        from rich.text import Text

        body = Text()
        for i, row in enumerate(rows):
            style = "bold" if i == 0 else ("bold cyan" if row.startswith("  ") else "")
            body.append(row + ("\n" if i < len(rows) - 1 else ""), style=style)
        width = min(self._width(), 72)
        return Panel(body, width=width, title="voicecoach", title_align="left")

    def _stop_live(self) -> None:
        if self._live is not None:
            live, self._live = self._live, None
            live.stop()
            self._shown = ""

    # -- the end ---------------------------------------------------------------------------

    def summary(self, summary: Summary) -> None:
        """What was done, left on the screen (after the live display is gone), in the
        session's language (``summary.words``)."""
        self.clear()
        lines = summary_lines(summary)
        if not self._wide():
            self._stream.write("\n".join(lines) + "\n")
            self._stream.flush()
            return
        from rich.panel import Panel
        from rich.text import Text

        if self._console is None:
            self._console = self._make_console()
        body = Text("\n".join(lines[1:]))
        title = Text(lines[0], style="bold")
        width = min(self._width(), 72)
        self._console.print(Panel(body, title=title, title_align="left", width=width))
