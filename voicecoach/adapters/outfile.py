"""Files written for the user: atomically, with one-line errors.

Every output (audio, captions, playlists) is written to a hidden temporary file in
the target's own folder (``.NAME.part-<pid>``) and renamed over the target only when
it is complete, so an interrupted or failed write leaves nothing at the target; a
SIGKILL leaves at most the hidden temporary, which the next write to the same target
removes. Targets that are not regular files (a device such as ``/dev/full``, a FIFO)
cannot be replaced by a rename: they are written directly.

OS errors become ``OutputError`` with one line that says what to fix.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from voicecoach.errors import OutputError


@dataclass(frozen=True, slots=True)
class Target:
    """Where an output goes. ``real`` is the file actually written (symlinks followed)."""

    shown: str  # the path as the user gave it, for messages
    real: Path
    direct: bool  # not a regular file: written in place, no temporary

    @property
    def folder(self) -> Path:
        return self.real.parent


def _folder_name(path: Path) -> str:
    parent = str(path.parent)
    return "the current folder" if parent in ("", ".") else parent


def target(path: Path) -> Target:
    """Check that ``path`` can be written (its folder exists, it is not a folder)."""
    shown = str(path)
    if path.is_dir():
        raise OutputError(f"cannot write {shown}: it is a folder")
    # Replace the file a symlink points to, not the link (an editor's behaviour).
    real = Path(os.path.realpath(path)) if path.is_symlink() else path
    folder = real.parent
    if not folder.is_dir():
        for p in (folder, *folder.parents):
            if p.exists() and not p.is_dir():
                raise OutputError(f"cannot write {shown}: {p} is not a folder")
        raise OutputError(f"cannot write {shown}: the folder {_folder_name(real)} does not exist")
    try:
        mode = real.stat().st_mode
    except FileNotFoundError:
        mode = stat.S_IFREG
    except OSError as exc:
        raise output_error(shown, exc) from None
    direct = not stat.S_ISREG(mode)
    if not direct:
        check_writable(folder, shown, _folder_name(path))
    return Target(shown, real, direct=direct)


def check_writable(folder: Path, shown: str, where: str | None = None) -> None:
    """Fail now, not after minutes of work, if no file can be made in ``folder``.

    Permission bits do not stop root, but a read-only mount or an immutable folder
    does: only creating a file tells, so a hidden empty one is made and removed.
    """
    try:
        fd, name = tempfile.mkstemp(prefix=".voicecoach-check-", dir=folder)
    except OSError as exc:
        raise output_error(shown, exc, where) from None
    os.close(fd)
    unlink_quietly(Path(name))


def output_error(shown: str, exc: OSError, folder: str | None = None) -> OutputError:
    """An OS error while writing ``shown`` as one line that says what is wrong."""
    where = folder or _folder_name(Path(shown))
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EACCES: f"no permission to write in {where}",
        errno.EPERM: f"no permission to write in {where}",
        errno.EROFS: "the file system is read-only",
        errno.ENOENT: f"the folder {where} does not exist",
        errno.ENOTDIR: f"{where} is not a folder",
        errno.EISDIR: "it is a folder",
        errno.ENAMETOOLONG: "the file name is too long",
        errno.EFBIG: "the file is too large for the file system",
    }
    reason = reasons.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()
    return OutputError(f"cannot write {shown}: {reason}")


def temp_name(real: Path, suffix: str = "") -> Path:
    # The name is cut so that the temporary's name stays under NAME_MAX.
    return real.with_name(f".{real.name[:200]}.part-{os.getpid()}{suffix}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(real: Path) -> None:
    """Remove temporaries of this target left by killed processes (never a live one's)."""
    prefix = f".{real.name[:200]}.part-"
    try:
        names = os.listdir(real.parent)
    except OSError:
        return
    for name in names:
        if not name.startswith(prefix):
            continue
        pid_text = name[len(prefix) :].split(".", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not alive(int(pid_text)):
            with contextlib.suppress(OSError):
                (real.parent / name).unlink()


def unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


@contextlib.contextmanager
def atomic(path: Path) -> Iterator[tuple[Path, Target]]:
    """Yield the file to write (a temporary, or the target itself if it is a device).

    On success the temporary replaces the target (keeping an existing target's
    permissions); on any error or interrupt it is removed and the error re-raised,
    OS errors as ``OutputError``.
    """
    tgt = target(path)
    if tgt.direct:
        try:
            yield tgt.real, tgt
        except OSError as exc:
            raise output_error(tgt.shown, exc) from None
        return
    remove_stale(tgt.real)
    temp = temp_name(tgt.real)
    try:
        # Fail fast (no permission, missing folder) before any work is done.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        os.close(fd)
    except OSError as exc:
        raise output_error(tgt.shown, exc) from None
    try:
        yield temp, tgt
        _finish(temp, tgt.real)
    except OSError as exc:
        unlink_quietly(temp)
        raise output_error(tgt.shown, exc) from None
    except BaseException:
        unlink_quietly(temp)
        raise


def _finish(temp: Path, real: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.chmod(temp, stat.S_IMODE(real.stat().st_mode))
    # fsync first, so that after a power cut the target is the old file or the new one.
    fd = os.open(temp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, real)


def write_text(path: Path, text: str) -> Path:
    """Write a small text file (captions, a playlist) atomically, UTF-8, LF endings."""
    with atomic(path) as (temp, _), open(temp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    return path
