"""The command line. The only module that imports click; it calls the core and turns
the package's errors into one line and an exit code."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from voicecoach import __version__
from voicecoach.errors import RoutineError, VoicecoachError

if TYPE_CHECKING:
    from voicecoach.session import Session


class _Group(click.Group):
    """Turns the package's errors into one line on stderr and the right exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except RoutineError as err:
            for problem in err.problems:
                click.echo(str(problem), err=True)
            ctx.exit(err.exit_code)
        except VoicecoachError as err:
            click.echo(f"Error: {err}", err=True)
            ctx.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voicecoach")
def cli() -> None:
    """voicecoach: a voice-guided, eyes-free workout coach."""


@cli.command("audition")
@click.argument("routine", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON.")
@click.option("--play", is_flag=True, help="Play an audible preview with silences shortened.")
@click.option(
    "--speed",
    type=click.FloatRange(min=1.0, max=100.0),
    default=8.0,
    show_default=True,
    help="With --play: how many times shorter every silence is.",
)
@click.option(
    "--verbosity",
    type=click.Choice(["full", "normal", "minimal"]),
    default=None,
    help="How much the coach says (default: the routine's).",
)
@click.option("--voice", default=None, help="eSpeak NG voice (see `voicecoach voices`).")
@click.option("--rate", type=click.IntRange(80, 400), default=None, help="Words per minute.")
@click.option("--volume", type=click.FloatRange(0.0, 1.0), default=None, help="0.0 to 1.0.")
def audition_cmd(
    routine: str | None,
    as_json: bool,
    play: bool,
    speed: float,
    verbosity: str | None,
    voice: str | None,
    rate: int | None,
    volume: float | None,
) -> None:
    """Show (or quickly hear) a routine's timing without doing it."""
    import json

    from voicecoach import audition

    session = _prepare(routine, verbosity=verbosity, voice=voice, rate=rate, volume=volume)
    for w in session.timeline.warnings:
        click.echo(f"{session.routine.path}:{w.line}:{w.column}: warning: {w.message}", err=True)
    if as_json:
        click.echo(json.dumps(audition.as_json(session.timeline), indent=1, ensure_ascii=False))
    elif not play:
        click.echo(audition.transcript(session.timeline), nl=False)
    if play:
        from voicecoach.audition_play import play_preview

        play_preview(session, speed)


@cli.command("list")
def list_cmd() -> None:
    """List the bundled routines (name, title, length)."""
    from voicecoach import audition, resources, routine

    rows = []
    for name, path in resources.bundled_routines().items():
        r = routine.load(str(path))
        try:
            length = audition.clock(_prepare(str(path)).timeline.duration)
        except VoicecoachError:
            length = "?"
        rows.append((name, r.title, length))
    width = max((len(n) for n, _, _ in rows), default=4)
    for name, title, length in rows:
        default = "  (default)" if name == resources.DEFAULT_ROUTINE else ""
        click.echo(f"{name:<{width}}  {length:>9}  {title}{default}")


def _prepare(
    ref: str | None,
    *,
    verbosity: str | None = None,
    voice: str | None = None,
    rate: int | None = None,
    volume: float | None = None,
    include_safety: bool = True,
) -> Session:
    """Load a routine (path or bundled name) and prepare its session, with voice overrides."""
    from dataclasses import replace

    from voicecoach import resources, routine, session

    loaded = routine.load(ref or resources.DEFAULT_ROUTINE)
    v = loaded.voice
    v = replace(
        v,
        voice=voice if voice is not None else v.voice,
        rate=rate if rate is not None else v.rate,
        volume=volume if volume is not None else v.volume,
    )
    progress = None
    if sys.stderr.isatty():

        def progress(done: int, total: int) -> None:
            click.echo(f"\rPreparing your session… {done}/{total}", err=True, nl=done == total)

    return session.prepare(
        loaded,
        voice=v,
        verbosity=verbosity,  # type: ignore[arg-type]
        include_safety=include_safety,
        progress=progress,
    )


@cli.command("history")
@click.option("--json", "as_json", is_flag=True, help="Export sessions, exercises, events as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Export one row per session as CSV.")
@click.option("--routine", metavar="NAME", default=None, help="Only this routine, over time.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    metavar="N",
    default=None,
    help="Only the N latest sessions (table default: 10; exports: all).",
)
def history_cmd(as_json: bool, as_csv: bool, routine: str | None, limit: int | None) -> None:
    """Show past sessions, the streak of days and this week's total."""
    from voicecoach import history, store
    from voicecoach.errors import UsageError

    if as_json and as_csv:
        raise UsageError("--json and --csv cannot be used together")
    sessions = store.load_sessions(details=True)
    if as_json or as_csv:
        chosen = history.select(sessions, routine=routine, limit=limit)
        click.echo((history.to_json if as_json else history.to_csv)(chosen), nl=False)
    else:
        now = history.current_time()
        click.echo(history.report(sessions, now, routine=routine, limit=limit), nl=False)


@cli.command("voices")
@click.option(
    "--language",
    "-l",
    metavar="LANG",
    default=None,
    help="Only voices for this language, e.g. en (all English voices) or en-gb.",
)
def voices_cmd(language: str | None) -> None:
    """List the eSpeak NG voices (use an id with --voice or a routine's voice:)."""
    from voicecoach.speech import list_voices

    try:
        voices = list_voices(language)
        if not voices:
            raise VoicecoachError(
                f'no voice for language "{language}": run `voicecoach voices` to list them all'
            )
    except VoicecoachError as err:
        click.echo(f"Error: {err}", err=True)
        raise SystemExit(err.exit_code) from None
    rows = [("ID", "NAME", "LANGUAGES")]
    rows += [(v.id, v.name, ", ".join(v.languages)) for v in voices]
    id_width = max(len(r[0]) for r in rows)
    name_width = max(len(r[1]) for r in rows)
    for vid, name, langs in rows:
        click.echo(f"{vid:<{id_width}}  {name:<{name_width}}  {langs}")


def main() -> None:
    cli()
