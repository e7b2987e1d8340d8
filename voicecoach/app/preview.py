"""``audition --play``: hear a routine quickly, cues at natural speed: with the silences
shortened (``play_preview``), or skimmed (``play_skim``: the plan is ``core.skim``'s),
with keys and a status line."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from voicecoach.app.ports import AudioOut, KeySource, Playback, StatusSink
from voicecoach.core import screen_lines as SL
from voicecoach.core import transcript
from voicecoach.core.messages import Messages
from voicecoach.core.skim import SkimPlan
from voicecoach.core.status import Glance
from voicecoach.core.timeline import SAMPLE_RATE

if TYPE_CHECKING:
    from voicecoach.app.session import Session
    from voicecoach.audio.mix import Samples


def play_preview(session: Session, speed: float, *, out: AudioOut) -> float:
    """Play the preview of ``session`` at ``speed`` on ``out``; returns its length in seconds.

    Ctrl-C stops the sound at once (the CLI then exits 130)."""
    import numpy as np

    timeline = transcript.preview(session.timeline, speed)
    mixer = session.mixer.retimed(timeline)
    samples = np.concatenate([*mixer.chunks(), np.zeros(0, dtype=np.int16)])
    seconds = len(samples) / timeline.sample_rate
    if sys.stderr.isatty():
        length, whole = timeline.duration, session.timeline.duration
        line = SL.show(
            session.messages, SL.PREVIEW,
            time=transcript.clock(length), duration=transcript.clock(whole),
        )  # fmt: skip
        print(line, file=sys.stderr)
    playback = out.play(samples, timeline.sample_rate)
    try:
        while not playback.wait(0.1):
            pass
    except KeyboardInterrupt:
        playback.stop(wait=False)
        raise
    return seconds


# -- the skim (``audition --play --skim``) ------------------------------------------------

POLL = 0.05  # seconds between looks at the keys (and status line updates)
SKIM_KEYS = SL.SKIM_KEYS  # printed before the skim (English; ``skim_keys``: translated)


def skim_keys(m: Messages) -> str:
    """The keys line printed before the skim, in ``m``'s language (the keys keep their
    names)."""
    return SL.show(m, SKIM_KEYS)


@dataclass(frozen=True, slots=True)
class SkimResult:
    seconds: float  # of sound played (pauses excluded)
    stopped: bool  # q (or the keys' Ctrl-C) before the end


def play_skim(
    session: Session,
    *,
    out: AudioOut,
    keys: KeySource | None = None,
    status: StatusSink | None = None,
    plan: SkimPlan | None = None,
) -> SkimResult:
    """Play the skim of ``session`` (``core.skim.plan``) from the mixer's own samples, one
    buffer per part (the welcome, each exercise with its rest, the finish), with keys:
    space pause/resume, n/right next exercise, b/left previous (the part's start if it has
    played for more than a few seconds), q stop. The status line says where it is.

    Ctrl-C stops the sound at once and is raised again (the CLI then exits 130)."""
    import numpy as np

    from voicecoach.core import skim

    skim_plan = plan if plan is not None else skim.plan(session.timeline)
    rate = session.timeline.sample_rate
    gap = np.zeros(skim_plan.gap, dtype=np.int16)

    def part_samples(part: int) -> Samples:
        pieces: list[Samples] = []
        for s in skim_plan.spans:
            if s.part == part:
                pieces += [*([gap] if pieces else []), session.mixer.render(s.start, s.end)]
        return np.concatenate([*pieces, gap]) if pieces else gap[:0]

    total = skim_plan.length / rate
    played_before = 0.0
    part, offset = _next_part(skim_plan, -1), 0
    stopped = False
    try:
        while part < len(skim_plan.parts):
            samples = part_samples(part)
            playback = out.play(samples[offset:], rate)
            where = partial(_line, skim_plan, part, total=total, m=session.messages)
            move = _wait(playback, keys, status, where, played_before + offset / rate)
            heard = playback.stop() if move != "end" else len(samples) - offset
            played_before += heard / rate
            at = offset + heard
            offset = 0
            if move == "end" or move == "n":
                part = _next_part(skim_plan, part)
            elif move == "b":
                if at < 3 * rate:  # near its start: the previous one
                    part = _prev_part(skim_plan, part)
            elif move == "pause":
                paused = f"{where(played_before)} · {SL.show(session.messages, SL.SKIM_PAUSED)}"
                if _paused(keys, status, paused) == "q":
                    stopped = True
                    break
                offset = at
            else:  # q
                stopped = True
                break
    except KeyboardInterrupt:
        if status is not None:
            status.clear()
        raise
    if status is not None:
        status.clear()
    return SkimResult(played_before, stopped)


def _next_part(plan: SkimPlan, part: int) -> int:
    """The next part that has something to play (len(parts): none is left)."""
    later = [s.part for s in plan.spans if s.part > part]
    return min(later) if later else len(plan.parts)


def _prev_part(plan: SkimPlan, part: int) -> int:
    earlier = [s.part for s in plan.spans if s.part < part]
    return max(earlier) if earlier else part


def _line(plan: SkimPlan, part: int, seconds: float, *, total: float, m: Messages) -> str:
    """The status line: how far the skim is, and in which part (in ``m``'s language; the
    part's title, a chapter's, is in it already)."""
    p = plan.parts[part]
    at = {"elapsed": transcript.clock(seconds)[:-2], "time": transcript.clock(total)[:-2]}
    if p.index < 0:  # the welcome or the finish
        return SL.show(m, SL.SKIM_AT, **at, title=p.title)
    return SL.show(
        m, SL.SKIM_AT_EXERCISE, **at, number=p.index + 1, count=plan.exercises, title=p.title
    )


def _wait(
    playback: Playback,
    keys: KeySource | None,
    status: StatusSink | None,
    line: Callable[[float], str],
    start: float,
) -> str:
    """Wait for the buffer's end ("end") or a key that moves: "pause", "n", "b" or "q"."""
    moves = {"space": "pause", "n": "n", "right": "n", "b": "b", "left": "b", "q": "q"}
    rate = SAMPLE_RATE
    while True:
        if status is not None:
            status.show(Glance.note(line(start + playback.played() / rate)))
        if keys is None:
            if playback.wait(POLL * 2):
                return "end"
            continue
        if not playback.is_playing():
            return "end"
        key = keys.get(POLL)
        if key == "ctrl-c":
            playback.stop(wait=False)
            raise KeyboardInterrupt
        if key in moves:
            return moves[key]


def _paused(keys: KeySource | None, status: StatusSink | None, line: str) -> str:
    """Paused until space again ("resume") or q ("q"); ``line`` says so."""
    if status is not None:
        status.show(Glance.note(line))
    while keys is not None:
        key = keys.get(POLL * 4)
        if key == "ctrl-c":
            raise KeyboardInterrupt
        if key == "space":
            return "resume"
        if key == "q":
            return "q"
    return "resume"
