"""The bar counting the clips a cold session makes (adapters/progress.py): drawn on a
terminal, nothing when stdout is not one."""

from __future__ import annotations

import io

from voicecoach.adapters.progress import synthesis_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_on_a_terminal_counts_the_clips() -> None:
    out = Terminal()
    with synthesis_bar("Preparing your session", out) as progress:
        assert progress is not None
        progress(0, 12)
        progress(7, 12)
    drawn = out.getvalue()
    assert "Preparing your session" in drawn and "7/12" in drawn


def test_nothing_when_stdout_is_not_a_terminal() -> None:
    out = io.StringIO()
    with synthesis_bar("Preparing your session", out) as progress:
        assert progress is None
    assert out.getvalue() == ""
