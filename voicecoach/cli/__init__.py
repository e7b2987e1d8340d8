"""The command line: the only package that imports click, and the composition root.

Each command turns its options into one frozen options object and calls a use case in
``voicecoach.app`` with the environment (``Env``: the adapters' factories) it finds in
click's ``obj``: the real one (``voicecoach.cli.env``) unless a caller passes another,
as the tests do (``CliRunner().invoke(cli, args, obj=fake_env)``). The package's errors
become one line and an exit code (``ExitStatus``) in ``group``.

- ``group``: the ``voicecoach`` group, its error handling, the options shared by commands
- ``commands``: audition, list, history, voices, run, validate, schema
- ``render``: the render command (one file, captions, --split, many routines)
- ``intervals``: a quick interval timer, built in memory
- ``env``: the real environment, each adapter imported only when it is first needed
"""

from __future__ import annotations

from voicecoach.cli import commands, intervals, render  # noqa: F401  (importing registers)
from voicecoach.cli.group import cli

__all__ = ["cli", "main"]


def main() -> None:
    cli()
