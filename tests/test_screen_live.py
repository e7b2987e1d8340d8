"""The screen of a real `voicecoach run`, read as a terminal shows it.

The command runs in a pseudo-terminal of 24 rows by 80 columns (real eSpeak speech, the
private PulseAudio null sink as the speakers); what it writes is fed to a terminal
emulator (pyte), and the screen is read while the session plays, as someone glancing
at it would: the exercise with its side, the hold's time left in large digits, the reps
as "2 / 3", what is next and the session's clock; then the summary that stays after the
check-in is answered.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.pulse import PulseServer
from tests.terminal import Terminal, voicecoach_command
from voicecoach.adapters.terminal import FONT

pytestmark = [pytest.mark.audio, pytest.mark.slow]

ROUTINE = """\
title: Screen check
voice: {rate: 240}
defaults: {lead_in: 3s, rest: 3s}
exercises:
  - name: Side bridge
    hold: 6s
    sides: both
  - name: Bird-dog
    reps: 3
    tempo: [1s, 1s]
"""
SIZE = (24, 80)


def read_big(rows: list[str]) -> str:
    """Large digits (three rows, as adapters.terminal draws them) read back."""
    glyphs = {v: k for k, v in FONT.items()}
    width = max(len(r) for r in rows)
    rows = [r.ljust(width) for r in rows]
    out, col = "", 0
    while col < width:
        for size in (3, 1):
            cell = tuple(r[col : col + size] for r in rows)
            if cell in glyphs and (size == 3 or glyphs[cell] == ":"):
                out += glyphs[cell]
                col += size + 1
                break
        else:
            return out
    return out


def until(term: Terminal, found: Callable[[list[str]], bool], timeout: float = 60) -> list[str]:
    """The screen as soon as ``found(rows)``; fails with the screen if it never is."""
    deadline = time.monotonic() + timeout
    while True:
        rows = term.display(SIZE)
        if found(rows):
            return rows
        if time.monotonic() > deadline or term.proc.poll() is not None:
            raise AssertionError("never shown; the screen:\n" + "\n".join(rows))
        time.sleep(0.05)


def body(rows: list[str]) -> list[str]:
    """The panel's inner text, row by row (its frame taken off)."""
    return [r.strip("│ ").rstrip() for r in rows if r.startswith("│")]


def test_the_live_screen_and_the_summary_that_stays(pulse: PulseServer, tmp_path: Path) -> None:
    path = tmp_path / "screen.yaml"
    path.write_text(ROUTINE)
    env = pulse.client_env(
        VOICECOACH_CACHE_DIR=str(tmp_path / "cache"),
        VOICECOACH_STATE_DIR=str(tmp_path / "state"),
        VOICECOACH_DATA_DIR=str(tmp_path / "data"),
        TERM="xterm-256color",
    )
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    warm = subprocess.run(  # every phrase into the cache: the run starts at once
        [*voicecoach_command(), "audition", str(path)], env=env, capture_output=True, timeout=300
    )
    assert warm.returncode == 0, warm.stderr
    term = Terminal([*voicecoach_command(), "run", str(path)], env, size=SIZE)
    try:
        # A hold: the exercise, its side, the time left in large digits, next, the clock.
        rows = until(term, lambda rows: any("Hold" in r for r in rows))
        inner = body(rows)
        assert inner[0] == "1/2  Side bridge · left side"
        big = next(i for i, r in enumerate(inner) if r.endswith("Hold"))
        digits = read_big(
            [inner[big - 1], inner[big].removesuffix("Hold").rstrip(), inner[big + 1]]
        )
        assert digits in {f"0:0{s}" for s in range(1, 7)}, inner
        footer = inner[-1]
        assert footer.startswith("Next: Bird-dog") and " done · " in footer, footer
        assert footer.endswith(" left")
        first = int(digits[-1])
        # Drawn again in place: a second later it shows less time, on the same rows.
        later = until(term, lambda rows: read_big(body(rows)[big - 1 : big + 2]) != digits)
        assert body(later)[0] == inner[0]
        assert int(read_big(body(later)[big - 1 : big + 2])[-1]) < first
        # Reps: "2 / 3", and after the last exercise comes the end.
        rows = until(term, lambda rows: any("Rep 2 / 3" in r for r in rows))
        inner = body(rows)
        assert inner[0] == "2/2  Bird-dog"
        assert inner[-1].startswith("Next: the end")
        term.wait_for("How hard was that?", timeout=60)
        term.type(b"3")
    except BaseException:
        term.proc.kill()
        raise
    finally:
        code, err, restored = term.finish(timeout=120)
    assert code == 0, err
    assert restored
    shown = [r for r in term.display(SIZE) if r]
    summary = body(shown)
    assert any(r.startswith("╭─ Workout over: Screen check") for r in shown), shown
    assert summary[0].startswith("Time: 0:") or summary[0].startswith("Time: 00:")
    assert summary[1:] == [
        "Exercises: 2 of 2 done, 0 skipped, 0 with pain",
        "Effort: 3 of 5",
        "Streak: 1 day · This week: 1m",
        "Saved to your history.",
    ]
    assert not any("Next:" in r for r in shown)  # the live panel is gone
    assert "Keys: space pause" in err and os.linesep.join(["Preparing your session…"]) in err
