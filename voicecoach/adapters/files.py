"""``app.ports.AudioFiles`` over the encoders (``encode``) and the atomic output files
(``outfile``): what ``app.render`` writes with. Each call looks its function up in those
modules when it is made."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach.adapters import encode, outfile
from voicecoach.core.tags import Tags

if TYPE_CHECKING:
    from voicecoach.audio.mix import Samples
    from voicecoach.core.timeline import Chapter
    from voicecoach.errors import OutputError


class AudioFiles:
    """The real output files. No state: it pickles into worker processes."""

    def format_ext(self, path: Path, name: str | None = None) -> str:
        return encode.format_for(path, name).ext

    def write_audio(
        self,
        path: Path,
        chunks: Iterable[Samples],
        *,
        total: int,
        rate: int,
        out_rate: int | None = None,
        chapters: Sequence[Chapter] = (),
        tags: Tags | None = None,
        progress: Callable[[int], None] | None = None,
        fmt: str | None = None,
        seek: Callable[[int, int], Iterable[Samples]] | None = None,
        quiet: Sequence[tuple[int, int]] = (),
        threads: int | None = None,
        bitrate: int | None = None,
    ) -> encode.Written:
        return encode.write_audio(
            path, chunks, total=total, rate=rate, out_rate=out_rate, chapters=chapters,
            tags=tags if tags is not None else Tags(), progress=progress, fmt=fmt, seek=seek,
            quiet=quiet, threads=threads, bitrate=bitrate,
        )  # fmt: skip

    def check_target(self, path: Path) -> None:
        outfile.target(path)

    def check_writable(self, folder: Path, shown: str, where: str | None = None) -> None:
        outfile.check_writable(folder, shown, where)

    def output_error(self, shown: str, exc: OSError, folder: str | None = None) -> OutputError:
        return outfile.output_error(shown, exc, folder)

    def alive(self, pid: int) -> bool:
        return outfile.alive(pid)

    @contextlib.contextmanager
    def atomic(self, path: Path) -> Iterator[Path]:
        with outfile.atomic(path) as (temp, _):
            yield temp

    def write_text(self, path: Path, text: str) -> Path:
        return outfile.write_text(path, text)
