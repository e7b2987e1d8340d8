"""The last live session, so ``voicecoach run --resume`` can pick up where it stopped.

A small JSON file in the user's state folder, rewritten (atomically) each time the
session reaches a new exercise, so even a killed process leaves the right place.
Failing to write it never stops a workout: it is a convenience.
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


def save(run: LastRun, path: Path | None = None) -> bool:
    """Write the state atomically; False (and nothing half-written) if it cannot be saved."""
    path = state_file() if path is None else path
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".last_run.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(asdict(run), f)
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


def load(path: Path | None = None) -> LastRun | None:
    """The saved state, or None if there is none or it is unreadable."""
    path = state_file() if path is None else path
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        run = LastRun(
            path=str(data["path"]),
            digest=str(data["digest"]),
            exercise=int(data["exercise"]),
            finished=bool(data["finished"]),
        )
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return run if run.exercise >= 0 else None
