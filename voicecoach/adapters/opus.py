"""Ogg Opus through ffmpeg's libopus: the session's samples piped in, the Ogg stream
piped out into the output file (so OS errors on it are ours to report, as for every
format). The tags and chapters are written afterwards, as for Ogg Vorbis (``tagging``).

Why ffmpeg and not libsndfile, which writes the other formats: measured on the
flagship (19:21 of speech and cues, 2 cores), libsndfile's bundled libopus took
33 s of CPU for a ~21 kbps file where ffmpeg's took 12 s for 24 kbps (both at libopus's
default complexity 10: the wheel's libopus is built without the CPU-specific code),
and libsndfile sets neither a bit rate (only a 0-1 "compression level") nor the
complexity. So writing .opus needs ffmpeg on the PATH (``tools/dev`` installs it;
every distribution packages it); without it, one line says so.

The samples are resampled here with soxr, as for every format (its delay removed, so
every event keeps its time), and handed over at the output rate: ffmpeg only encodes.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, BinaryIO

from voicecoach.errors import OutputError

if TYPE_CHECKING:
    from voicecoach.adapters.codec import Job
    from voicecoach.audio.mix import Samples

_COPY = 1 << 16  # bytes read from ffmpeg at a time


def ffmpeg() -> str:
    """The ffmpeg to encode with, or a one-line OutputError if there is none."""
    path = shutil.which("ffmpeg")
    if path is None:
        raise OutputError(
            "writing .opus needs ffmpeg, which is not installed: install it"
            " (e.g. `sudo apt install ffmpeg`), or write .ogg or .mp3 instead"
        )
    return path


def encode(
    f: BinaryIO,
    job: Job,
    source: Iterable[Samples],
    bitrate: int,
    on_input: Callable[[int], None],
    shown: str,
) -> int:
    """Encode ``source`` (mono int16 at ``job.rate``) to Ogg Opus at ``bitrate`` kbps
    (variable: libopus's default, which spends bits where the speech is) into ``f``;
    returns the samples written at ``job.out_rate``."""
    import numpy as np
    import soxr

    command = [
        ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error",
        "-f", "s16le", "-ar", str(job.out_rate), "-ac", "1", "-i", "pipe:0",
        "-c:a", "libopus", "-b:a", f"{bitrate}k",
        "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
        "-f", "ogg", "pipe:1",
    ]  # fmt: skip
    # A session of its own: Ctrl-C reaches this process, which stops ffmpeg itself
    # after removing the temporary file, rather than ffmpeg dying mid-write first.
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    failure: list[OSError] = []
    errors: list[bytes] = []

    def copy_out() -> None:
        out = proc.stdout
        assert out is not None
        while data := out.read(_COPY):
            if not failure:
                try:
                    f.write(data)
                except OSError as exc:  # a full disk: stop ffmpeg, report it
                    failure.append(exc)
                    proc.kill()

    def keep_errors() -> None:
        assert proc.stderr is not None
        errors.append(proc.stderr.read())

    readers = [threading.Thread(target=t, daemon=True) for t in (copy_out, keep_errors)]
    for t in readers:
        t.start()
    written = 0

    def put(samples: Samples) -> bool:
        """Hand ``samples`` to ffmpeg; False once it has stopped (its reason: below)."""
        nonlocal written
        assert proc.stdin is not None
        try:
            proc.stdin.write(np.ascontiguousarray(samples, "<i2").tobytes())
        except BrokenPipeError:
            return False
        written += len(samples)
        return True

    try:
        resampler = None
        if job.out_rate != job.rate:
            resampler = soxr.ResampleStream(job.rate, job.out_rate, 1, dtype="int16", quality="HQ")
        going = True
        for chunk in source:
            going = put(resampler.resample_chunk(chunk, last=False) if resampler else chunk)
            if not going:
                break
            on_input(len(chunk))
        if going and resampler is not None:
            put(resampler.resample_chunk(np.zeros(0, np.int16), last=True))
        proc.stdin.close()
        code = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        for t in readers:
            t.join()
    if failure:
        raise failure[0]
    if code != 0:
        reason = b"".join(errors).decode(errors="replace").strip().splitlines()
        detail = reason[-1] if reason else f"exit status {code}"
        raise OutputError(f"cannot write {shown}: ffmpeg failed to encode Opus: {detail}")
    return written
