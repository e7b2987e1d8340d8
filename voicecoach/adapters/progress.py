"""The bar shown on a terminal while a cold session's phrases are synthesized.

One bar for every command that makes clips (run, render, audition: the ``Progress``
port, ``done, total``), drawn with rich on stdout, where the live run's screen is, and
only when stdout is a terminal: piped or redirected, nothing is drawn. It disappears
when the phrases are made (a cold Piper voice takes tens of seconds, eSpeak NG about
one). rich is imported when a bar is first shown, so ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import TextIO

from voicecoach.app.ports import Progress


@contextlib.contextmanager
def synthesis_bar(label: str, out: TextIO | None = None) -> Iterator[Progress | None]:
    """A ``progress(done, total)`` that draws a bar on ``out`` (default: stdout) while
    the block runs; None when ``out`` is not a terminal."""
    out = out if out is not None else sys.stdout
    if not out.isatty():
        yield None
        return
    # The live output's warm-up may hold fd 2 for a moment (stream_out.settle): rich
    # writes to stdout, but let it finish before drawing beside it.
    if (stream_out := sys.modules.get("voicecoach.adapters.stream_out")) is not None:
        stream_out.settle()
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(file=out),
        transient=True,
    )
    task = bar.add_task(label, total=None)
    # Drawn from the first clip that must be made, not at once: a warm session (nothing
    # to make) and a cold run whose head start takes over the screen show no empty bar
    # for a blink. Calls after the block (the head start's making thread) draw nothing.
    state = {"started": False, "closed": False}
    lock = threading.Lock()  # the head start calls from its making thread

    def progress(done: int, total: int) -> None:
        with lock:
            if state["closed"]:
                return
            if not state["started"]:
                if done >= total:
                    return
                bar.start()
                state["started"] = True
            bar.update(task, completed=done, total=total)

    try:
        yield progress
    finally:
        with lock:
            state["closed"] = True
            if state["started"]:
                bar.stop()
