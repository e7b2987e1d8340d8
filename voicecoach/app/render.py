"""Render sessions to files people use: one file, one track per exercise, or many routines.

- ``render_session``: the whole session to one file (format from the extension), with
  chapters, tags and optional captions.
- ``render_split``: one numbered track per exercise plus an ``.m3u8`` playlist (which
  stretch goes in which track: ``tracks``). The set appears at once: the tracks are
  written into a hidden staging folder and moved in only when all are done, so a
  failed split leaves the folder as it was.
Several routines into a folder, in worker processes: ``batch.render_many``.

Files are written through the ``AudioFiles`` port (the encoders and atomic output files,
``adapters.files``), handed in by the caller.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach.app.ports import AudioFiles, WrittenAudio
from voicecoach.core import captions as captions_mod
from voicecoach.core import lines
from voicecoach.core.tags import Tags
from voicecoach.core.timeline import Timeline
from voicecoach.core.tracks import (
    named_chapters,
    plan_tracks,
    playlist,
    safe_filename,
    track_name,
)
from voicecoach.errors import OutputError, UsageError

if TYPE_CHECKING:
    from voicecoach.app.session import Session
    from voicecoach.audio.mix import Samples

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class RenderResult:
    path: Path
    format: str  # extension without the dot
    sample_rate: int
    duration: float  # seconds
    size: int  # bytes
    chapters: int
    captions: Path | None = None


@dataclass(frozen=True, slots=True)
class SplitResult:
    folder: Path
    tracks: tuple[RenderResult, ...]
    playlist: Path


def quiet_spans(timeline: Timeline) -> list[tuple[int, int]]:
    """The ``[start, stop)`` spans where nothing sounds (no speech, no sound)."""
    spans = []
    pos = 0
    for e in sorted((e for e in timeline.events if e.kind != "wait"), key=lambda e: e.start):
        if e.start > pos:
            spans.append((pos, e.start))
        pos = max(pos, e.end)
    if timeline.length > pos:
        spans.append((pos, timeline.length))
    return spans


def check_targets(
    files: AudioFiles,
    out: Path | None = None,
    captions: Path | None = None,
    folder: Path | None = None,
) -> None:
    """Fail fast, before a session is prepared, on outputs that cannot be written."""
    if out is not None:
        files.check_target(out)
    if captions is not None:
        captions_mod.caption_format(captions)
        files.check_target(captions)
    if folder is not None and folder.is_dir():
        files.check_writable(folder, f"to {folder}", str(folder))
    elif folder is not None:
        if folder.exists():
            raise OutputError(f"cannot write to {folder}: it is a file, not a folder")
        if not folder.parent.is_dir():
            raise OutputError(
                f"cannot write to {folder}: the folder {folder.parent} does not exist"
            )
        files.check_writable(folder.parent, f"to {folder}", str(folder.parent))


def session_tags(session: Session, track: tuple[int, int] | None = None, title: str = "") -> Tags:
    routine_title = session.timeline.title
    m = session.messages
    comment = session.routine.description or m.gettext(lines.TAG_COMMENT)
    music = session.mixer.music
    if music is not None:  # which tracks play under the coach
        comment = m.gettext(lines.TAG_MUSIC).format(
            comment=" ".join(comment.split()), tracks=", ".join(music.source.names)
        )
    return Tags(
        title=title or routine_title,
        album=routine_title,
        comment=" ".join(comment.split()),
        track=track,
    )


def render_session(
    session: Session,
    out: Path,
    *,
    files: AudioFiles,
    out_rate: int | None = None,
    captions: Path | None = None,
    progress: Progress | None = None,
    fmt: str | None = None,
    threads: int | None = None,
    bitrate: int | None = None,
) -> RenderResult:
    """Write the whole session to ``out`` (and its captions to ``captions``)."""
    files.format_ext(out, fmt)  # a bad name fails before any work
    if captions is not None:
        captions_mod.caption_format(captions)
        if Path(os.path.abspath(captions)) == Path(os.path.abspath(out)):
            raise UsageError(f"the captions and the audio would both be written to {out}")
        files.check_target(captions)  # its folder exists: check before the long part
    timeline = session.timeline
    mixer = session.mixer
    with contextlib.ExitStack() as stack:
        if captions is not None:
            # Written first and put in place last, after the audio: if either fails
            # (a full disk, Ctrl-C), neither file appears.
            text = captions_mod.render_captions(timeline, captions_mod.caption_format(captions))
            temp = stack.enter_context(files.atomic(captions))
            with open(temp, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
        written = files.write_audio(
            out,
            mixer.chunks(),
            total=mixer.length,
            rate=timeline.sample_rate,
            out_rate=out_rate,
            chapters=named_chapters(timeline.chapters, session.messages),
            tags=session_tags(session),
            progress=progress,
            fmt=fmt,
            seek=lambda start, stop: mixer.chunks(start, stop),
            # Music fills the silences a parallel MP3 encoder would join its parts in.
            quiet=quiet_spans(timeline) if mixer.music is None else (),
            threads=threads,
            bitrate=bitrate,
        )
    return RenderResult(
        out,
        written.format,
        written.sample_rate,
        mixer.length / timeline.sample_rate,
        written.size,
        len(timeline.chapters),
        captions,
    )


# --- one track per exercise ---------------------------------------------------------


class _Stopped(Exception):
    """Another track failed or the user interrupted: stop this one."""


def _cancellable(chunks: Iterable[Samples], cancel: threading.Event) -> Iterator[Samples]:
    for chunk in chunks:
        if cancel.is_set():
            raise _Stopped
        yield chunk


def make_folder(files: AudioFiles, folder: Path) -> None:
    """Create ``folder`` itself if needed (not its parents: a typo should not make a tree)."""
    check_targets(files, folder=folder)
    if folder.is_dir():
        return
    try:
        folder.mkdir()
    except FileExistsError:
        raise OutputError(f"cannot write to {folder}: it is a file, not a folder") from None
    except OSError as exc:
        raise files.output_error(str(folder), exc, str(folder.parent)) from None


_STAGING = ".voicecoach-split-"


def _remove_stale_staging(files: AudioFiles, folder: Path) -> None:
    """Remove staging folders left by killed processes (never a live one's)."""
    for path in folder.glob(f"{_STAGING}*"):
        pid = path.name[len(_STAGING) :]
        if pid.isdigit() and int(pid) != os.getpid() and not files.alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def render_split(
    session: Session,
    folder: Path,
    ext: str,
    *,
    files: AudioFiles,
    out_rate: int | None = None,
    progress: Progress | None = None,
    threads: int | None = None,
    bitrate: int | None = None,
) -> SplitResult:
    """Write one numbered track per exercise into ``folder``, plus a playlist."""
    form = files.format_ext(folder, ext)
    timeline = replace(
        session.timeline, chapters=named_chapters(session.timeline.chapters, session.messages)
    )
    mixer = session.mixer
    tracks = plan_tracks(timeline)
    names = [track_name(t, len(tracks), form) for t in tracks]
    list_name = f"{safe_filename(timeline.title)}.m3u8"
    make_folder(files, folder)
    _remove_stale_staging(files, folder)
    staging = folder / f"{_STAGING}{os.getpid()}"
    try:
        staging.mkdir(exist_ok=True)
    except OSError as exc:
        raise files.output_error(str(folder / names[0]), exc, str(folder)) from None
    cancel = threading.Event()
    lock = threading.Lock()

    def report(n: int) -> None:
        if progress is not None:
            with lock:
                progress(n)

    def one(i: int) -> WrittenAudio:
        t = tracks[i]
        return files.write_audio(
            staging / names[i],
            _cancellable(mixer.chunks(t.start, t.end), cancel),
            total=t.end - t.start,
            rate=timeline.sample_rate,
            out_rate=out_rate,
            chapters=t.chapters,
            tags=session_tags(session, (t.number, len(tracks)), t.title),
            progress=report,
            fmt=form,
            # The track again, for a lossy encoding whose peaks are over the net.
            seek=lambda start, stop: _cancellable(
                mixer.chunks(t.start + start, t.start + stop), cancel
            ),
            threads=1,
            bitrate=bitrate,
        )

    try:
        workers = max(1, min(threads or os.cpu_count() or 1, len(tracks)))
        written = _run_threads(one, len(tracks), workers, cancel)
        text = playlist(tracks, names, timeline.sample_rate, timeline.title)
        files.write_text(staging / list_name, text)
        for name in [*names, list_name]:
            try:
                os.replace(staging / name, folder / name)
            except OSError as exc:
                raise files.output_error(str(folder / name), exc) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    results = tuple(
        RenderResult(folder / n, w.format, w.sample_rate, w.duration, w.size, len(t.chapters))
        for t, n, w in zip(tracks, names, written, strict=True)
    )
    return SplitResult(folder, results, folder / list_name)


def _run_threads(
    work: Callable[[int], WrittenAudio], count: int, workers: int, cancel: threading.Event
) -> list[WrittenAudio]:
    """Run ``work(0..count-1)`` on ``workers`` threads; the first error stops the rest."""
    with ThreadPoolExecutor(workers, thread_name_prefix="track") as pool:
        futures: list[Future[WrittenAudio]] = [pool.submit(work, i) for i in range(count)]
        try:
            while True:
                _, pending = wait(futures, timeout=0.1, return_when=FIRST_EXCEPTION)
                failed = [f for f in futures if f.done() and f.exception() is not None]
                if failed or not pending:
                    break
        except BaseException:
            cancel.set()
            for f in futures:
                f.cancel()
            raise
        if failed:
            cancel.set()
            for f in futures:
                f.cancel()
            error = failed[0].exception()
            assert error is not None
            raise error
    return [f.result() for f in futures]
