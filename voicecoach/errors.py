"""The package's own errors. The core raises these; only the CLI prints them and exits."""

from __future__ import annotations

from dataclasses import dataclass


class VoicecoachError(Exception):
    """Base of every error the user can meet. ``str(err)`` is the one-line message."""

    exit_code: int = 1


class UsageError(VoicecoachError):
    """Bad usage of a command (exit 2)."""

    exit_code = 2


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


class OutputError(VoicecoachError):
    """An output file or folder could not be written."""
