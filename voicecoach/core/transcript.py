"""Audition: read or hear a routine's timing without doing it.

``transcript`` prints what is said and played when, grouped by chapter, with
per-exercise and total durations; ``as_json`` gives the same timeline as data, times in
seconds exactly as rendered; ``preview`` shortens every silence N times for a quick listen.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from voicecoach.core.timeline import Event, Timeline, to_seconds


def clock(seconds: float) -> str:
    """mm:ss.s (h:mm:ss.s past an hour)."""
    tenths = round(seconds * 10)
    minutes, tenth_secs = divmod(tenths, 600)
    hours, minutes = divmod(minutes, 60)
    secs = f"{tenth_secs // 10:02d}.{tenth_secs % 10}"
    return f"{hours}:{minutes:02d}:{secs}" if hours else f"{minutes:02d}:{secs}"


def _describe(event: Event) -> str:
    if event.kind == "speech":
        return f'"{event.text}"'
    if event.kind == "sound":
        return f"[{event.text} sound]"
    return f"[wait for the user: {event.text}]"


def transcript(timeline: Timeline) -> str:
    rate = timeline.sample_rate
    lines = [f"{timeline.title} — {clock(timeline.duration)}"]
    events = list(timeline.events)
    i = 0
    block = None
    seen: set[int] = set()  # a chapter whose index came before is that exercise's rest
    for chapter in timeline.chapters:
        ev_block = next((e.block for e in events[i:] if e.start >= chapter.start), "")
        rest = chapter.index in seen
        seen.add(chapter.index)
        if chapter.index >= 0 and not rest and ev_block and ev_block != block:
            block = ev_block
            lines.append("")
            lines.append(f"== {block} ==")
        length = clock(to_seconds(chapter.end - chapter.start, rate))
        lines.append("")
        lines.append(f"{chapter.title} ({length})")
        while i < len(events) and events[i].start < chapter.end:
            event = events[i]
            lines.append(f"  {clock(to_seconds(event.start, rate))}  {_describe(event)}")
            i += 1
    while i < len(events):  # nothing should be past the last chapter, but never hide it
        lines.append(f"  {clock(events[i].t)}  {_describe(events[i])}")
        i += 1
    lines.append("")
    lines.append(f"Total: {clock(timeline.duration)}")
    return "\n".join(lines) + "\n"


def as_json(timeline: Timeline) -> dict[str, Any]:
    rate = timeline.sample_rate

    def sec(samples: int) -> float:
        return round(samples / rate, 6)

    events = []
    for e in timeline.events:
        item: dict[str, Any] = {"t": sec(e.start), "end": sec(e.end), "kind": e.kind}
        item["sound" if e.kind == "sound" else "text"] = e.text
        item.update(block=e.block, exercise=e.exercise, set=e.set, side=e.side, rep=e.rep)
        events.append(item)
    return {
        "title": timeline.title,
        "duration": sec(timeline.length),
        "sample_rate": rate,
        "events": events,
        "chapters": [
            {"title": c.title, "start": sec(c.start), "end": sec(c.end)} for c in timeline.chapters
        ],
        "warnings": [
            {"line": w.line, "column": w.column, "message": w.message} for w in timeline.warnings
        ],
    }


def preview(timeline: Timeline, speed: float) -> Timeline:
    """The same cues with every silence between them shortened ``speed`` times."""
    if speed < 1:
        raise ValueError("speed must be at least 1")
    events = []
    shift = 0  # how much earlier everything after this point moves
    prev_end = 0
    marks: list[tuple[int, int]] = []  # (original time, new time) to move chapters
    for e in timeline.events:
        gap = max(0, e.start - prev_end)
        shift += gap - round(gap / speed)
        length = round(e.length / speed) if e.kind == "wait" else e.length
        new = replace(e, start=e.start - shift, length=length)
        if e.kind == "wait":
            shift += e.length - length
        marks.append((e.start, new.start))
        events.append(new)
        prev_end = max(prev_end, e.end)

    def move(t: int) -> int:
        before = [m for m in marks if m[0] <= t]
        if not before:
            return t
        orig, new = before[-1]
        return new + round((t - orig) / speed)

    chapters = tuple(
        replace(c, start=move(c.start), end=move(c.end), parts=()) for c in timeline.chapters
    )
    return replace(timeline, events=tuple(events), chapters=chapters)
