"""Where each routine's last live session stopped, so ``voicecoach run --resume`` can
pick up there.

A small JSON file in the user's state folder with one resume point per routine file
(its resolved path; the routine's content hash is kept with it, so a changed file is not
resumed), the latest last. It is rewritten (atomically) each time a session reaches a new
exercise, so even a killed process leaves the right place. Failing to write it never
stops a workout: it is a convenience. A file from before (one point, for whichever
routine ran last) reads as that routine's point.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

# The record and its check are plain data and logic (core.records); named here as well,
# next to the file that keeps the record.
from voicecoach.core.records import LastRun as LastRun
from voicecoach.core.records import resume_point as resume_point

ENV_STATE_DIR = "VOICECOACH_STATE_DIR"
FILE_NAME = "last_run.json"


def state_file() -> Path:
    folder = os.environ.get(ENV_STATE_DIR)
    if not folder:
        import platformdirs

        folder = platformdirs.user_state_dir("voicecoach")
    return Path(folder) / FILE_NAME


VERSION = 2
KEEP = 50  # resume points kept (the oldest go first): one per routine file


def save(run: LastRun, path: Path | None = None) -> bool:
    """Make ``run`` its routine's resume point, and the latest; False (and nothing
    half-written) if it cannot be saved."""
    path = state_file() if path is None else path
    others = [r for r in _read(path) if r.path != run.path]
    runs = [*others[-(KEEP - 1) :], run]
    data = {"version": VERSION, "runs": [asdict(r) for r in runs]}
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".last_run.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        return True
    except OSError:
        return False
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def load(routine: str | None = None, path: Path | None = None) -> LastRun | None:
    """The resume point of ``routine`` (a routine file's resolved path), or with None the
    latest unfinished one (else the latest: it says why there is nothing to resume).
    None if there is none or the file is unreadable."""
    runs = _read(state_file() if path is None else path)
    if routine is not None:
        return next((r for r in reversed(runs) if r.path == routine), None)
    unfinished = [r for r in runs if not r.finished] or runs
    return unfinished[-1] if unfinished else None


def _read(path: Path) -> list[LastRun]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    items = data.get("runs", []) if isinstance(data, dict) and "runs" in data else [data]
    runs: list[LastRun] = []
    for item in items if isinstance(items, list) else []:
        try:
            run = LastRun(
                path=str(item["path"]),
                digest=str(item["digest"]),
                exercise=int(item["exercise"]),
                finished=bool(item["finished"]),
            )
        except (ValueError, TypeError, KeyError):
            continue
        if run.exercise >= 0:
            runs.append(run)
    return runs
