"""Every phrase a routine's layout may need, listed before any clip is made.

The session synthesizes these, then lays the session out once from their lengths
(``compiler.compile_routine``). The list comes from the layout code itself, run with
stand-in lengths, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from voicecoach.core.compiler import SEC, compile_routine
from voicecoach.core.messages import ENGLISH, Messages
from voicecoach.core.model import Routine, Verbosity
from voicecoach.core.timeline import SOUND_NAMES


class _Listing(Mapping[str, int]):
    """Records each phrase looked up, in first-asked order, and says it lasts a second
    (any length would do: the layout looks up the same phrases whatever their lengths)."""

    def __init__(self) -> None:
        self.asked: dict[str, None] = {}

    def __getitem__(self, text: str) -> int:
        self.asked[text] = None
        return SEC

    def __iter__(self) -> Iterator[str]:
        return iter(self.asked)

    def __len__(self) -> int:
        return len(self.asked)


def phrases(
    routine: Routine,
    *,
    verbosity: Verbosity | None = None,
    include_safety: bool = True,
    messages: Messages = ENGLISH,
) -> tuple[str, ...]:
    """Every phrase ``compile_routine`` may look up for ``routine``, in the order the
    session first considers them: each cue with all its shorter variants, whichever
    the layout then chooses. The closing line is not among them: its words depend on
    the layout (``compiler.Draft``).

    It is one layout run with stand-in lengths, recording what it looks up. Every
    choice looks up all its candidates first (``compiler._Builder.candidates``), so the
    list does not depend on the lengths.
    """
    listing = _Listing()
    sounds = {name: SEC for name in SOUND_NAMES}
    compile_routine(
        routine,
        listing,
        sounds,
        verbosity=verbosity,
        include_safety=include_safety,
        messages=messages,
    )
    return tuple(listing.asked)
