"""``audition --play``: hear a routine quickly, silences shortened, cues at natural speed."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from voicecoach.app.ports import AudioOut
from voicecoach.core import transcript

if TYPE_CHECKING:
    from voicecoach.app.session import Session


def play_preview(session: Session, speed: float, *, out: AudioOut) -> float:
    """Play the preview of ``session`` at ``speed`` on ``out``; returns its length in seconds.

    Ctrl-C stops the sound at once (the CLI then exits 130)."""
    import numpy as np

    timeline = transcript.preview(session.timeline, speed)
    mixer = session.mixer.retimed(timeline)
    samples = np.concatenate([*mixer.chunks(), np.zeros(0, dtype=np.int16)])
    seconds = len(samples) / timeline.sample_rate
    if sys.stderr.isatty():
        print(
            f"Preview: {transcript.clock(timeline.duration)} "
            f"(the session is {transcript.clock(session.timeline.duration)}). Ctrl-C stops.",
            file=sys.stderr,
        )
    playback = out.play(samples, timeline.sample_rate)
    try:
        while not playback.wait(0.1):
            pass
    except KeyboardInterrupt:
        playback.stop(wait=False)
        raise
    return seconds
