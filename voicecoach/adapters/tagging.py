"""Tags and chapters in the rendered files, the way players read them.

- MP3: an ID3v2.3 tag (v2.3, not v2.4: Windows Explorer and older iTunes read only
  v2.3) with title, artist, album, track, comment (no encoder: LAME's header names it),
  and chapters as a CTOC frame
  (top-level, ordered) plus one CHAP frame per chapter with a TIT2 title. The tag is
  serialized here rather than with mutagen because mutagen orders frames by size,
  which scrambles the CHAP frames: ffprobe 5 and simple parsers list chapters in
  file order. Times are whole milliseconds, the resolution of both formats.
- Ogg Vorbis, Ogg Opus and FLAC: Vorbis comments written with mutagen after the
  audio, with chapters as ``CHAPTER000=HH:MM:SS.mmm`` and ``CHAPTER000NAME=title``
  (the "Ogg chapter" convention that ffmpeg, VLC and podcast apps read).
- WAV: RIFF INFO strings, set through libsndfile while writing (``encode``).

Only the top-level chapters are written (one per exercise, rest, welcome, finish):
players show a flat list, and nested ID3 tables of contents are rarely supported.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from voicecoach import __version__
from voicecoach.core.tags import Tags
from voicecoach.core.timefmt import clock_ms, milliseconds
from voicecoach.core.timeline import Chapter

MAX_VORBIS_CHAPTERS = 1000  # CHAPTER000..CHAPTER999: readers parse exactly 3 digits
_CTOC_MAX = 255  # entries one CTOC frame can list
_ID3_PADDING = 1024  # room for a tag editor to add a field without rewriting the file


# --- ID3v2.3 ---------------------------------------------------------------------


def _encoded(text: str) -> tuple[bytes, bytes]:
    """(encoding byte + text, terminator): Latin-1 when possible, else UTF-16 with BOM."""
    try:
        return b"\x00" + text.encode("latin-1"), b"\x00"
    except UnicodeEncodeError:
        return b"\x01" + text.encode("utf-16"), b"\x00\x00"


def _frame(frame_id: str, data: bytes) -> bytes:
    return frame_id.encode("ascii") + struct.pack(">IH", len(data), 0) + data


def _text_frame(frame_id: str, text: str) -> bytes:
    return _frame(frame_id, _encoded(text)[0])


def _comment_frame(text: str) -> bytes:
    encoded, terminator = _encoded(text)
    desc = b"\xff\xfe" if encoded[0] == 1 else b""  # an empty description, same encoding
    return _frame("COMM", encoded[:1] + b"eng" + desc + terminator + encoded[1:])


def _ctoc(element_id: str, children: Sequence[str], title: str, top: bool) -> bytes:
    flags = (0x02 if top else 0) | 0x01  # top-level, ordered
    data = element_id.encode("ascii") + b"\x00" + bytes([flags, len(children)])
    data += b"".join(c.encode("ascii") + b"\x00" for c in children)
    return _frame("CTOC", data + _text_frame("TIT2", title))


def _syncsafe(n: int) -> bytes:
    return bytes((n >> shift) & 0x7F for shift in (21, 14, 7, 0))


def id3_tag(tags: Tags, chapters: Sequence[Chapter], rate: int) -> bytes:
    """A complete ID3v2.3 tag (header, frames, padding) to put in front of an MP3 stream."""
    frames = [_text_frame("TIT2", tags.title)] if tags.title else []
    if tags.artist:
        frames.append(_text_frame("TPE1", tags.artist))
    if tags.album:
        frames.append(_text_frame("TALB", tags.album))
    if tags.track:
        frames.append(_text_frame("TRCK", f"{tags.track[0]}/{tags.track[1]}"))
    if tags.comment:
        frames.append(_comment_frame(tags.comment))
    # No TSSE ("encoded with") frame: the stream's LAME header already names the encoder
    # (and must stay: it holds the gapless trim), and players show one encoder only.
    ids = [f"chp{i}" for i in range(len(chapters))]
    if ids:
        if len(ids) <= _CTOC_MAX:
            frames.append(_ctoc("toc", ids, tags.title or "Chapters", top=True))
        else:  # a table of tables: one CTOC frame lists at most 255 entries
            groups = [ids[i : i + _CTOC_MAX] for i in range(0, len(ids), _CTOC_MAX)]
            names = [f"toc{g}" for g in range(len(groups))]
            frames.append(_ctoc("toc", names, tags.title or "Chapters", top=True))
            for name, group in zip(names, groups, strict=True):
                frames.append(_ctoc(name, group, f"Chapters from {group[0]}", top=False))
    for element_id, chapter in zip(ids, chapters, strict=True):
        start = milliseconds(chapter.start, rate)
        end = milliseconds(chapter.end, rate)
        data = element_id.encode("ascii") + b"\x00"
        data += struct.pack(">IIII", start, end, 0xFFFFFFFF, 0xFFFFFFFF)  # no byte offsets
        frames.append(_frame("CHAP", data + _text_frame("TIT2", chapter.title)))
    body = b"".join(frames) + bytes(_ID3_PADDING)
    return b"ID3\x03\x00\x00" + _syncsafe(len(body)) + body


# --- Vorbis comments (Ogg Vorbis, Ogg Opus, FLAC) ---------------------------------


def vorbis_comments(tags: Tags, chapters: Sequence[Chapter], rate: int) -> list[tuple[str, str]]:
    """The comments, in order (chapters beyond ``MAX_VORBIS_CHAPTERS`` are left out)."""
    out = [("TITLE", tags.title), ("ARTIST", tags.artist), ("ALBUM", tags.album)]
    out.append(("COMMENT", tags.comment))
    if tags.track:
        out += [("TRACKNUMBER", str(tags.track[0])), ("TRACKTOTAL", str(tags.track[1]))]
    out.append(("ENCODER", f"voicecoach {__version__}"))
    out = [(k, v) for k, v in out if v]
    for i, chapter in enumerate(chapters[:MAX_VORBIS_CHAPTERS]):
        out.append((f"CHAPTER{i:03d}", clock_ms(milliseconds(chapter.start, rate))))
        out.append((f"CHAPTER{i:03d}NAME", chapter.title))
    return out


def write_vorbis_comments(
    path: Path, kind: str, tags: Tags, chapters: Sequence[Chapter], rate: int
) -> None:
    """Replace the comments of an Ogg Vorbis (``kind`` "ogg"), Ogg Opus ("opus") or FLAC file."""
    from mutagen.flac import FLAC
    from mutagen.oggopus import OggOpus
    from mutagen.oggvorbis import OggVorbis

    opener: Any = {"ogg": OggVorbis, "opus": OggOpus, "flac": FLAC}[kind]
    audio = opener(path)
    if audio.tags is None:
        audio.add_tags()
    audio.tags.clear()
    for key, value in vorbis_comments(tags, chapters, rate):
        audio.tags.append((key, value))
    audio.save()
