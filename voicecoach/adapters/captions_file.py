"""A captions file on disk: the text ``core.captions`` makes, written atomically."""

from __future__ import annotations

from pathlib import Path

from voicecoach.adapters import outfile
from voicecoach.core.captions import caption_format, render_captions
from voicecoach.core.timeline import Timeline


def write_captions(path: Path, timeline: Timeline) -> Path:
    """Write ``timeline``'s captions to ``path`` (format from the extension), atomically."""
    return outfile.write_text(path, render_captions(timeline, caption_format(path)))
