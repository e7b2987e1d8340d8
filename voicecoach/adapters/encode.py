"""Write a session to an audio file: WAV, FLAC, Ogg Vorbis, Ogg Opus or MP3.

WAV, FLAC, Vorbis and MP3 through libsndfile (soundfile's bundled build), Opus through
ffmpeg (``opus`` says why), a chunk at a time, so memory stays flat however long the
session. The format comes from the extension.

- Resampling (``out_rate``, and always for Opus, which only takes 8/12/16/24/48 kHz)
  is soxr's streaming resampler, chunk by chunk: a real low-pass resampler, no
  dropped or repeated samples, and soxr removes its own delay so every event keeps
  its time.
- MP3 is constant bit rate (64 kbps mono at 16-24 kHz, 96 kbps at 32-48 kHz): podcast
  players seek and jump to chapters exactly in CBR files, only approximately in VBR.
- Opus is 32 kbps (variable) by default, mono at 24 kHz, CELT only: the nearest rate
  Opus takes above the session's 22050 Hz keeps its whole band (48 kHz only adds a
  band with nothing in it: measured, 9% more bytes at the same setting, and more CPU),
  as ``ffmpeg -c:a libopus`` does from a 22050 Hz file. 32 kbps, not 24, for the peaks:
  at 24 kbps CELT's decoded peaks are erratic again (``opus`` has the figures); 32 keeps
  the flagship (17:58) at 4.8 MB. Speech needs no more: measured on the flagship
  (19:21, in Opus's default mode), at 24 kbps the 8-11 kHz band keeps its energy within
  0.3 dB of the session (16 kbps loses 2.2 dB of it: the top of the voice and the cues'
  clicks dull). ``--bitrate`` sets any of the lossy formats.
  A long MP3 is encoded in pieces on all cores and joined exactly (see ``mp3``).
- Peaks: a Vorbis or Opus file that decodes over -1.2 dBFS (music under the coach makes
  it likely: ``codec``, ``opus``) is encoded again from ``seek`` (more bits for Vorbis,
  the blocks over dipped for Opus; each split track from its own span); written to a
  pipe, or without ``seek``, Opus falls back to its header gain and Vorbis stays as
  encoded.
- Tags and chapters: see ``tagging``.
- The file is written atomically (``outfile``): nothing appears at the target until
  it is complete, and OS errors become one-line ``OutputError``s.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from voicecoach.adapters import codec, mp3, opus, outfile, tagging
from voicecoach.adapters.codec import Format
from voicecoach.core.tags import Tags
from voicecoach.core.timeline import SAMPLE_RATE, Chapter
from voicecoach.errors import OutputError, UsageError, VoicecoachError

if TYPE_CHECKING:
    from voicecoach.audio.mix import Samples

__all__ = [
    "BITRATES",
    "FORMATS",
    "Format",
    "Tags",
    "Written",
    "check_bitrate",
    "format_for",
    "output_rate",
    "write_audio",
]

Progress = Callable[[int], None]  # called with the number of input samples just encoded
Seek = Callable[[int, int], Iterable["Samples"]]  # the chunks of samples [start, stop)

FORMATS: dict[str, Format] = {
    f.ext: f
    for f in (
        Format("wav", "WAV", "PCM_16"),
        Format("flac", "FLAC", "PCM_16"),
        Format("ogg", "OGG", "VORBIS"),
        Format("opus", "OGG", "OPUS", (8000, 12000, 16000, 24000, 48000)),
        Format(
            "mp3",
            "MP3",
            "MPEG_LAYER_III",
            (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000),
        ),
    )
}
OPUS_KBPS = 32  # the default: see above
# The bit rates (kbps) each lossy format takes, mono; MP3's also depend on the rate.
BITRATES: dict[str, tuple[int, int]] = {"mp3": (8, 320), "ogg": (11, 31), "opus": (6, 256)}
_NO_TAGS = Tags()
_WAV_LIMIT = 0xFFFFFFFF - 1024  # bytes of samples a RIFF header can count, with room for tags
_NAMES = ", ".join(f".{e}" for e in list(FORMATS)[:-1]) + f" or .{list(FORMATS)[-1]}"


@dataclass(frozen=True, slots=True)
class Written:
    path: Path
    format: str  # the extension, without the dot
    sample_rate: int
    frames: int  # samples written, at ``sample_rate``
    size: int  # bytes

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def format_for(path: Path, name: str | None = None) -> Format:
    """The format named ``name`` ("mp3"), else the one ``path``'s extension names."""
    if name is not None:
        key = name.lower().lstrip(".")
        if key not in FORMATS:
            raise UsageError(f"unknown audio format '{name}': use {_NAMES.replace('.', '')}")
        return FORMATS[key]
    key = path.suffix.lower().lstrip(".")
    if key not in FORMATS:
        raise UsageError(f"cannot tell the audio format of {path}: name it {_NAMES}")
    return FORMATS[key]


def output_rate(fmt: Format, rate: int, requested: int | None = None) -> int:
    """The rate to write: the requested one (default: the format's, else ``rate``),
    raised to the nearest rate the codec takes (Opus: 24000 for a 22050 Hz session)."""
    want = requested or fmt.default_rate or rate
    if not fmt.rates:
        return want
    return min((r for r in fmt.rates if r >= want), default=max(fmt.rates))


def check_bitrate(ext: str, kbps: int | None, rate: int | None = None) -> None:
    """A one-line UsageError if ``kbps`` is not a bit rate format ``ext`` takes (MP3:
    one of the standard rates its MPEG version has at ``rate``, big enough for LAME's
    gapless Info frame)."""
    if kbps is None:
        return
    if ext not in BITRATES:
        raise UsageError(f"--bitrate is for .mp3, .ogg and .opus: .{ext} is lossless")
    if ext == "mp3" and rate is not None:
        allowed = mp3.bitrates(rate)
        if kbps not in allowed:
            rates = ", ".join(map(str, allowed[:-1])) + f" or {allowed[-1]}"
            raise UsageError(f"--bitrate {kbps} is not an MP3 bit rate at {rate} Hz: use {rates}")
        return
    low, high = BITRATES[ext]
    if not low <= kbps <= high:
        raise UsageError(
            f"--bitrate {kbps} is out of range for {ext.upper()}: use {low} to {high} (kbps)"
        )


def write_audio(
    path: Path,
    chunks: Iterable[Samples],
    *,
    total: int,
    rate: int = SAMPLE_RATE,
    out_rate: int | None = None,
    chapters: Sequence[Chapter] = (),
    tags: Tags = _NO_TAGS,
    progress: Progress | None = None,
    fmt: str | None = None,
    seek: Seek | None = None,
    quiet: Sequence[tuple[int, int]] = (),
    threads: int | None = None,
    bitrate: int | None = None,
) -> Written:
    """Write ``chunks`` (mono int16 at ``rate``, ``total`` samples in all) to ``path``.

    The format comes from ``path``'s extension unless ``fmt`` names it. ``chapters``
    are in samples at ``rate``. ``seek(start, stop)``, if given, yields the same
    samples from anywhere and ``quiet`` lists ``[start, stop)`` spans known to be
    silent: with both, a long MP3 is encoded in ``threads`` pieces at once (default:
    one per core). ``bitrate`` (kbps) for the lossy formats. Raises UsageError (unknown
    format, a bit rate out of range) or OutputError.
    """
    form = format_for(path, fmt)
    if total <= 0:
        raise VoicecoachError(f"nothing to write to {path}: the session is empty")
    final_rate = output_rate(form, rate, out_rate)
    check_bitrate(form.ext, bitrate, final_rate)
    if form.ext == "opus":
        opus.ffmpeg()  # none: say so before any work
    if form.ext == "wav" and total * final_rate // rate * 2 > _WAV_LIMIT:
        # A RIFF WAV file cannot pass 4 GiB (a day at 48 kHz): RF64 is WAV's big sibling.
        form = replace(form, container="RF64")
    job = codec.Job(form, rate, final_rate, tags, bitrate)
    again = None  # the same samples again, for an encoding whose peaks are over the net
    if seek is not None:
        again = functools.partial(_again, seek, total)
    workers = threads if threads is not None else (os.cpu_count() or 1)
    with outfile.atomic(path) as (file, tgt):
        if form.ext == "mp3":
            frames = mp3.write_mp3(
                file, tgt, job, chunks, total, chapters, progress, seek, quiet, workers
            )
        else:
            with open(file, "r+b" if not tgt.direct else "wb") as f:
                source = codec.counted(chunks, total)
                if form.ext == "opus":
                    kbps = bitrate or OPUS_KBPS
                    frames = opus.encode(
                        f, job, source, kbps, progress or codec.no_progress, tgt.shown, again
                    )
                else:
                    frames = codec.encode_stream(
                        f, 0, job, source, None, progress or codec.no_progress
                    )
                    if form.ext == "ogg" and again and bitrate is None and not tgt.direct:
                        frames = _vorbis_net(f, file, job, again, frames)
            if form.ext in ("ogg", "opus", "flac") and not tgt.direct:
                _vorbis_comments(file, tgt, form.ext, tags, chapters, rate)
        size = 0
        with contextlib.suppress(OSError):
            size = file.stat().st_size
    return Written(path, form.ext, job.out_rate, frames, size)


def _again(seek: Seek, total: int) -> Iterable[Samples]:
    return codec.counted(seek(0, total), total)


def _vorbis_net(
    f: BinaryIO, file: Path, job: codec.Job, again: Callable[[], Iterable[Samples]], frames: int
) -> int:
    """While the Vorbis file at ``file`` (written through ``f``) decodes over
    ``codec.VORBIS_NET_DBFS``, encode the session again at the next of
    ``codec.VORBIS_DENSE_LEVELS`` (``codec`` has the figures); the samples written."""
    for level in codec.VORBIS_DENSE_LEVELS:
        f.flush()
        if codec.decoded_peak(file) <= codec.VORBIS_NET_DBFS:
            break
        f.seek(0)
        f.truncate()
        dense = replace(job, level=level)
        frames = codec.encode_stream(f, 0, dense, again(), None, codec.no_progress)
    return frames


def _vorbis_comments(
    file: Path, tgt: outfile.Target, kind: str, tags: Tags, chapters: Sequence[Chapter], rate: int
) -> None:
    from mutagen import MutagenError

    try:
        tagging.write_vorbis_comments(file, kind, tags, chapters, rate)
    except MutagenError as exc:  # mutagen wraps the OS error (e.g. disk full)
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, OSError):
            raise outfile.output_error(tgt.shown, cause) from None
        raise OutputError(f"cannot write {tgt.shown}: tagging failed: {exc}") from None
