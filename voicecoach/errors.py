"""The package's own errors. The core raises these; only the CLI prints them and exits."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitStatus(IntEnum):
    """The command's exit codes (httpie's ``ExitStatus``): an int, so ``sys.exit`` and
    ``max`` take it as it is."""

    SUCCESS = 0
    ERROR = 1  # a failure: the one line says what failed
    USAGE = 2  # bad usage of a command (click's own code for it, too)
    INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as shells report it


class VoicecoachError(Exception):
    """Base of every error the user can meet. ``str(err)`` is the one-line message."""

    exit_code: int = ExitStatus.ERROR


class UsageError(VoicecoachError):
    """Bad usage of a command (exit 2)."""

    exit_code = ExitStatus.USAGE


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a routine file, at a 1-based line and column."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class RoutineError(VoicecoachError):
    """A routine file is invalid. Holds every problem found (up to a limit)."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class RoutineNotFound(VoicecoachError):
    """Neither a file nor a bundled routine has this name."""


class SpeechError(VoicecoachError):
    """Text-to-speech is unavailable or failed."""


class AudioDeviceError(VoicecoachError):
    """No usable sound device for live playback."""


class NoSoundDevice(AudioDeviceError):
    """No sound card or sound server could be opened (the command that knows the routine
    turns it into a message naming it)."""


class OutputError(VoicecoachError):
    """An output file or folder could not be written."""
