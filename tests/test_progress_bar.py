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


def test_no_bar_when_nothing_is_made_and_none_after_the_block() -> None:
    """A warm session (nothing to make) draws nothing, not an empty bar for a blink; nor
    does a call after the block (the head start's making thread counting on)."""
    out = Terminal()
    with synthesis_bar("Preparing your session", out) as progress:
        assert progress is not None
        progress(12, 12)  # all there already
    assert progress is not None
    progress(3, 12)  # after the block: the bar is gone for good
    assert out.getvalue() == ""
