"""What a player shows about a rendered file: title, artist, album, comment, track.

Plain data: the use cases fill it in, and the encoders write it in each format's own
way (ID3, Vorbis comments, RIFF INFO; see ``adapters.tagging``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tags:
    """What a player shows about the file."""

    title: str = ""
    artist: str = "voicecoach"
    album: str = ""
    comment: str = ""
    track: tuple[int, int] | None = None  # (number, of how many), for split tracks
