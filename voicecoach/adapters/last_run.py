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
from dataclasses import asdict, dataclass
from pathlib import Path

from voicecoach.errors import VoicecoachError

ENV_STATE_DIR = "VOICECOACH_STATE_DIR"
FILE_NAME = "last_run.json"


@dataclass(frozen=True, slots=True)
class LastRun:
    path: str  # the routine file
    digest: str  # its sha256, to refuse resuming a routine that changed
    exercise: int  # the exercise to start again from (0-based, counting rounds)
    finished: bool  # played to the end


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


def resume_point(last: LastRun | None, digest: str | None = None) -> LastRun:
    """The unfinished session to resume, checked against the routine's ``digest`` if given."""
    if last is None:
        raise VoicecoachError("nothing to resume: no session was stopped before its end")
    if last.finished:
        raise VoicecoachError("nothing to resume: the last session was played to the end")
    if digest is not None and digest != last.digest:
        raise VoicecoachError(
            f"cannot resume: the last unfinished session was {last.path}, and this routine"
            " is different (or was changed since)"
        )
    return last
