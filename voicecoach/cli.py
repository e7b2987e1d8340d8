"""The command line. The only module that imports click; it calls the core and turns
the package's errors into one line and an exit code."""

from __future__ import annotations

import click

from voicecoach import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voicecoach")
def cli() -> None:
    """voicecoach: a voice-guided, eyes-free workout coach."""


def main() -> None:
    cli()
