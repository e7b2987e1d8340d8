"""The skim: which stretches of a session to play so that it is heard whole, quickly.

``audition --play --skim`` plays, at natural speed and from the session's own samples,
each exercise's introduction (everything said before its start sound), its first and its
last rep (or set, for timed work and holds: a hold with its countdown is in there), the
transitions (switching sides, rests between sets and after the exercise, the welcome and
the finish) and, wherever else it first occurs, every phrase and every sound not heard
yet: every distinct phrase of the session is heard at least once.

The plan is a pure function of the timeline: a list of ``Span`` (``[start, end)`` in the
timeline's samples). Chosen cues closer than ``KEEP_GAP`` stay together with the silence
between them, so a rep keeps its tempo; longer silences (the middle of a hold, a rest's
wait) are cut, and the player puts ``CUT_GAP`` of silence at each cut. A span never cuts
a cue in two: one overlapping a span's edge is taken whole.

Measured on the flagship (back-strength, 19:21): its 103 distinct phrases alone last
243 s at natural speed, so a skim that says each of them cannot be shorter than that.
Since every rep names its movement (issue 13) the flagship lasts 17:58 and says 124
distinct phrases, 309 s: its skim is 6:47.

Issue 18's target, the flagship skimmed in under 3 minutes with every distinct phrase
heard, cannot be met at natural speed, and neither can a looser reading. Measured with
the real voice (eSpeak NG, the default cache; gaps as above), the skim would last:

    the issue's list alone (introductions, first and last reps, transitions)   4:22
    that, and every phrase once modulo the count ("Three, knees in." and
      "Four, knees in." the same; 82 such phrases, 223 s said once)              5:01
    that, and every phrase once (today's plan)                                  6:47
    the introductions, the first rep and the transitions only                   3:54

The introductions alone (what each exercise says before its start sound) are 121 s of
speech, the welcome and the finish 31 s, the transitions 9.5 s, the first reps 42 s and
the last reps 40 s (whole, with their kept silences): any skim that plays each
introduction and one rep lasts over 3 minutes. Nothing else is said twice to cut: no
exercise repeats its introduction, and the transitions differ ("Rest, twenty seconds.",
"Rest, thirty seconds."). So the plan keeps literal coverage; a skim under 3 minutes
would have to leave out parts of the introductions.
"""

from __future__ import annotations

from dataclasses import dataclass

from voicecoach.core.timeline import Chapter, Event, Timeline, to_samples

KEEP_GAP = to_samples(1.0)  # a silence this long or shorter is kept
CUT_GAP = to_samples(0.4)  # the silence played where a longer one was cut


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of the timeline to play: ``[start, end)`` samples, in part ``part`` of
    the skim (see ``SkimPlan.parts``)."""

    start: int
    end: int
    part: int

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Part:
    """What n and b move between: the welcome, each exercise (with the rest after it),
    the finish. ``index`` is the exercise's (-1: the welcome or the finish)."""

    title: str
    index: int


@dataclass(frozen=True, slots=True)
class SkimPlan:
    spans: tuple[Span, ...]
    parts: tuple[Part, ...]
    exercises: int  # how many exercises the session has
    gap: int = CUT_GAP

    @property
    def length(self) -> int:
        """Samples played: the spans, and a cut's silence between each two."""
        return sum(s.length for s in self.spans) + self.gap * max(0, len(self.spans) - 1)

    def first_span(self, part: int) -> int:
        """The first span of ``part`` (or of the next part that has one)."""
        return next((i for i, s in enumerate(self.spans) if s.part >= part), len(self.spans))

    def heard(self, timeline: Timeline) -> tuple[Event, ...]:
        """The cues the skim plays whole, in order."""
        return tuple(
            e
            for e in timeline.events
            if e.kind != "wait" and any(s.start <= e.start and e.end <= s.end for s in self.spans)
        )


def plan(timeline: Timeline) -> SkimPlan:
    """Which stretches of ``timeline`` the skim plays (see the module's docstring)."""
    events = [e for e in timeline.events if e.kind != "wait"]
    chosen: set[int] = set()
    parts: list[Part] = []
    part_of: list[int] = []  # the part each event belongs to
    seen_index: set[int] = set()
    for chapter in timeline.chapters:
        inside = [i for i, e in enumerate(events) if chapter.start <= e.start < chapter.end]
        exercise = chapter.index >= 0 and chapter.index not in seen_index
        if exercise or chapter.index < 0:
            parts.append(Part(chapter.title, chapter.index))
            seen_index.add(chapter.index)
        part_of.extend(len(parts) - 1 for _ in inside)
        if exercise:
            chosen.update(_exercise_cues(chapter, [events[i] for i in inside], inside))
        else:  # the welcome, a rest, the finish: all of it (silences cut)
            chosen.update(inside)
    heard: set[tuple[str, str]] = {(events[i].kind, events[i].text) for i in chosen}
    for i, e in enumerate(events):  # every phrase and sound at least once
        if (e.kind, e.text) not in heard:
            heard.add((e.kind, e.text))
            chosen.add(i)
    exercises = len({e.index for e in timeline.events if e.index >= 0})
    return SkimPlan(_spans(events, sorted(chosen), part_of), tuple(parts), exercises)


def _exercise_cues(chapter: Chapter, events: list[Event], ids: list[int]) -> list[int]:
    """The introduction, the first and the last unit of work, and the transitions."""
    start = next((k for k, e in enumerate(events) if e.kind == "sound" and e.text == "start"), 0)
    chosen = ids[:start]  # the introduction
    units: dict[tuple[int | None, str | None, int | None], list[int]] = {}
    for k in range(start, len(events)):
        e = events[k]
        units.setdefault((e.set, e.side, e.rep), []).append(ids[k])
    by_rep = any(e.rep is not None for e in events)
    keys = list(units)
    work = [key for key in keys if key[2] is not None] if by_rep else keys
    if work:
        chosen += units[work[0]] + units[work[-1]]
    if by_rep:  # switching sides, the rest between sets
        chosen += [i for key in keys if key[2] is None for i in units[key]]
    return chosen


def _spans(events: list[Event], chosen: list[int], part_of: list[int]) -> tuple[Span, ...]:
    spans: list[Span] = []
    for i in chosen:
        e = events[i]
        start, end = e.start, e.end
        if spans and start - spans[-1].end <= KEEP_GAP and part_of[i] == spans[-1].part:
            last = spans.pop()
            start, end = last.start, max(last.end, end)
        spans.append(Span(start, end, part_of[i]))
    return tuple(_whole(spans, events))


def _whole(spans: list[Span], events: list[Event]) -> list[Span]:
    """Widen each span over any cue it would cut in two (then merge what overlaps)."""
    out: list[Span] = []
    for s in spans:
        start, end = s.start, s.end
        changed = True
        while changed:
            changed = False
            for e in events:
                if e.start < end and e.end > start and (e.start < start or e.end > end):
                    start, end = min(start, e.start), max(end, e.end)
                    changed = True
        if out and start <= out[-1].end:
            last = out.pop()
            start, end = last.start, max(last.end, end)
            out.append(Span(start, end, last.part))
        else:
            out.append(Span(start, end, s.part))
    return out
