"""The command line. The only module that imports click; it calls the core and turns
the package's errors into one line and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from voicecoach import __version__
from voicecoach.errors import ExitStatus, RoutineError, VoicecoachError

if TYPE_CHECKING:
    from voicecoach.app.session import Session
    from voicecoach.core.model import Routine, Voice


def _usage_error(err: click.UsageError) -> click.exceptions.Exit:
    """Bad usage as one line (what is wrong, and where the help is), exit code 2."""
    path = err.ctx.command_path if err.ctx is not None else "voicecoach"
    message = err.format_message().rstrip()
    if not message.endswith((".", "?")):
        message += "."
    click.echo(f"Error: {message} Try '{path} --help'.", err=True)
    return click.exceptions.Exit(err.exit_code)


class _Group(click.Group):
    """Turns the package's errors into one line on stderr and the right exit code."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise  # a bare `voicecoach`: the help, as click shows it
        except click.UsageError as err:
            raise _usage_error(err) from None

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as err:
            raise _usage_error(err) from None
        except RoutineError as err:
            for problem in err.problems:
                click.echo(str(problem), err=True)
            ctx.exit(err.exit_code)
        except VoicecoachError as err:
            _stop_background()
            click.echo(f"Error: {err}", err=True)
            ctx.exit(err.exit_code)
        except KeyboardInterrupt:
            _stop_background()
            click.echo("Interrupted.", err=True)
            ctx.exit(ExitStatus.INTERRUPTED)


def _stop_background() -> None:
    """A command stopped early: do not finish levelling clips in the background."""
    speech = sys.modules.get("voicecoach.adapters.speech")  # imported only if it was used
    if speech is not None:
        speech.stop_background()


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voicecoach")
def cli() -> None:
    """voicecoach: a voice-guided, eyes-free workout coach."""


_F = TypeVar("_F", bound=Callable[..., Any])


def _voice_options(command: _F) -> _F:
    """--verbosity, --voice, --rate, --volume: the options that change what is heard."""
    for option in reversed(
        [
            click.option(
                "--verbosity",
                type=click.Choice(["full", "normal", "minimal"]),
                default=None,
                help="How much the coach says (default: the routine's).",
            ),
            click.option(
                "--voice", default=None, help="eSpeak NG voice (see `voicecoach voices`)."
            ),
            click.option(
                "--rate", type=click.IntRange(80, 400), default=None, help="Words per minute."
            ),
            click.option(
                "--volume", type=click.FloatRange(0.0, 1.0), default=None, help="0.0 to 1.0."
            ),
        ]
    ):
        command = option(command)
    return command


def _voice(loaded: Routine, voice: str | None, rate: int | None, volume: float | None) -> Voice:
    """The routine's voice settings with the command line's overrides."""
    from dataclasses import replace

    v = loaded.voice
    return replace(
        v,
        voice=voice if voice is not None else v.voice,
        rate=rate if rate is not None else v.rate,
        volume=volume if volume is not None else v.volume,
    )


def _warn(session: Session) -> None:
    for w in session.timeline.warnings:
        click.echo(f"{session.routine.path}:{w.line}:{w.column}: warning: {w.message}", err=True)


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
@_voice_options
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

    from voicecoach.core import transcript as audition

    session = _prepare(routine, verbosity=verbosity, voice=voice, rate=rate, volume=volume)
    _warn(session)
    if as_json:
        click.echo(json.dumps(audition.as_json(session.timeline), indent=1, ensure_ascii=False))
    elif not play:
        click.echo(audition.transcript(session.timeline), nl=False)
    if play:
        from voicecoach.adapters.audio_out import default_output
        from voicecoach.app.preview import play_preview

        play_preview(session, speed, out=default_output())


@cli.command("list")
def list_cmd() -> None:
    """List the bundled routines (name, title, length)."""
    from voicecoach.core import transcript as audition
    from voicecoach.routine import loader as routine
    from voicecoach.routine import resources

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
    from voicecoach.app import session
    from voicecoach.routine import loader as routine
    from voicecoach.routine import resources

    loaded = routine.load(ref or resources.DEFAULT_ROUTINE)
    v = _voice(loaded, voice, rate, volume)
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
    from voicecoach.adapters import store
    from voicecoach.app import history
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


@cli.command("voices", short_help="List the eSpeak NG voices to use with --voice.")
@click.option(
    "--language",
    "-l",
    metavar="LANG",
    default=None,
    help="Only voices for this language, e.g. en (all English voices) or en-gb.",
)
def voices_cmd(language: str | None) -> None:
    """List the eSpeak NG voices (use an id with --voice or a routine's voice:)."""
    from voicecoach.adapters.speech import list_voices

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


@cli.command("run", short_help="Do a workout, guided by voice (default: back-strength).")
@click.argument("routine", required=False)
@click.option(
    "--resume", is_flag=True, help="Start at the exercise where the last unfinished run stopped."
)
@click.option("--quiet", is_flag=True, help="No status line on the terminal.")
@_voice_options
def run_cmd(
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
    note is said the first time it is run.
    """
    from voicecoach.adapters import audio_out, keys, last_run, terminal
    from voicecoach.adapters.recorder import BackgroundRecorder
    from voicecoach.adapters.speech import Speech
    from voicecoach.app import checkin, player
    from voicecoach.app import session as sessions
    from voicecoach.app.ports import Playback
    from voicecoach.core.timeline import SAMPLE_RATE
    from voicecoach.routine import loader as routines
    from voicecoach.routine import resources

    last = last_run.resume_point(last_run.load()) if resume else None
    ref = routine or (last.path if last else resources.DEFAULT_ROUTINE)
    if last is not None and routine is None and not Path(last.path).is_file():
        raise VoicecoachError(
            f"cannot resume: {last.path}, the routine of the last unfinished session,"
            " is gone (deleted or moved)"
        )
    loaded = routines.load(ref)
    path = str(routines.resolve(ref).resolve())
    start = last_run.resume_point(last, loaded.digest).exercise if last else 0
    v = _voice(loaded, voice, rate, volume)
    click.echo("Preparing your session…", err=True)
    history = BackgroundRecorder()  # opens nothing yet; saving runs on its own thread
    # A quick look (a millisecond or two) decides whether the safety note is said.
    first_time = not history.has_run(loaded.digest)
    out = audio_out.default_output()
    speech = Speech(v)
    notice: list[Playback] = []

    def progress(done: int, total: int) -> None:
        # Called only when clips must be synthesized (a cold cache): say so at once, so
        # a listener away from the screen knows why nothing else is heard yet.
        if done < total and not notice:
            clip = audio_out.quick_level(speech.clip("Preparing your session…"))
            notice.append(out.play(clip, SAMPLE_RATE))

    prepared = sessions.prepare(
        loaded,
        voice=v,
        verbosity=verbosity,  # type: ignore[arg-type]
        include_safety=first_time,
        speech=speech,
        progress=progress,
    )
    count = max((e.index for e in prepared.timeline.events), default=-1) + 1
    if start >= count > 0:
        raise VoicecoachError("nothing to resume: the last run had reached the end")
    for playing in notice:
        while not playing.wait(0.1):
            pass

    def remember(index: int, finished: bool = False) -> None:
        last_run.save(last_run.LastRun(path, loaded.digest, index, finished))

    shown = None if quiet or not sys.stdout.isatty() else terminal.TerminalStatus(sys.stdout)
    where = "? where (again: safety note)" if loaded.safety else "? where"
    try:
        with keys.open_keys() as key_source:
            if key_source is not None and shown is not None:
                click.echo(
                    f"Keys: space pause · n next · b back · {where} · p pain · q stop", err=True
                )
            result = player.play_session(
                prepared, out=out, keys=key_source, status=shown, start_index=start,
                recorder=history, on_exercise=remember,
            )  # fmt: skip
            remember(result.exercise, result.completed)
            if key_source is not None and result.reached:
                effort = checkin.check_in(prepared, out=out, keys=key_source, status=shown)
                if effort is not None:
                    history.checkin(effort)
    finally:
        history.close()  # waits (briefly) for the last writes
        if history.warning:
            click.echo(history.warning, err=True)
    if not result.completed and result.exercise < count:
        name = next(e.exercise for e in prepared.timeline.events if e.index == result.exercise)
        click.echo(f"Stopped. `voicecoach run --resume` starts again at {name}.", err=True)


@cli.command("render", short_help="Write a session to audio, with chapters and captions.")
@click.argument("routines", nargs=-1, metavar="[ROUTINE]...")
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    default=None,
    metavar="OUT",
    help="The file to write (format from its extension: .wav .flac .ogg .opus .mp3), "
    "or a folder (ending in /, or existing) for one file per routine.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["wav", "flac", "ogg", "opus", "mp3"]),
    default=None,
    help="Format for a folder or --split (default: -o's extension, else mp3).",
)
@click.option(
    "--sample-rate",
    type=click.IntRange(8000, 192000),
    default=None,
    metavar="N",
    help="Resample to N Hz (default: 22050; Opus always 48000 or its nearest rate >= N).",
)
@click.option(
    "--captions",
    type=click.Path(),
    default=None,
    metavar="FILE",
    help="Also write every spoken line with its times: .vtt, .srt or .lrc.",
)
@click.option(
    "--split",
    type=click.Path(),
    default=None,
    metavar="DIR",
    help="Also write one numbered track per exercise into DIR, with an .m3u playlist.",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=None,
    metavar="N",
    help="Routines rendered at once into a folder (default: one per core).",
)
@_voice_options
def render_cmd(
    routines: tuple[str, ...],
    output: str | None,
    fmt: str | None,
    sample_rate: int | None,
    captions: str | None,
    split: str | None,
    jobs: int | None,
    verbosity: str | None,
    voice: str | None,
    rate: int | None,
    volume: float | None,
) -> None:
    """Write a session to an audio file with chapters, tags and optional captions.

    One ROUTINE and -o FILE writes that file; several routines (or -o DIR/) write
    DIR/<routine>.<format> each, using every core. --split DIR writes one track per
    exercise plus a playlist. Nothing appears at a target until it is complete.
    """
    import contextlib
    import os
    from pathlib import Path

    from voicecoach.adapters import encode
    from voicecoach.app import render
    from voicecoach.errors import UsageError
    from voicecoach.routine import resources

    refs = list(routines) or [resources.DEFAULT_ROUTINE]
    if output is None and split is None:
        raise UsageError("render needs -o FILE (or -o FOLDER/), or --split DIR")
    out = Path(output) if output is not None else None
    captions_file = Path(captions) if captions is not None else None
    split_dir = Path(split) if split is not None else None
    ext = fmt or "mp3"
    file_fmt = None  # a format for -o FILE only when its extension names none
    folder = None
    if out is not None and (len(refs) > 1 or str(output).endswith(("/", os.sep)) or out.is_dir()):
        folder = out
    elif out is not None:
        if out.suffix.lower().lstrip(".") in encode.FORMATS:
            ext = encode.format_for(out).ext
            if fmt is not None and fmt != ext:
                raise UsageError(f"{out} names the {ext} format, but --format says {fmt}")
        else:
            file_fmt = fmt
            encode.format_for(out, file_fmt)  # no format at all: one line saying so

    def bar(length: int, label: str) -> contextlib.AbstractContextManager[Any]:
        if not sys.stderr.isatty():
            return contextlib.nullcontext(None)
        return click.progressbar(length=length, label=label, file=sys.stderr)

    def wrote(path: Path, seconds: float, size: int, extra: str = "") -> None:
        minutes, secs = divmod(round(seconds), 60)
        click.echo(f"Wrote {path} ({minutes}:{secs:02d}, {size / 1e6:.1f} MB{extra})")

    if folder is not None:
        if captions_file is not None or split_dir is not None:
            raise UsageError("--captions and --split take one routine written to one file")
        render.check_targets(folder=folder)
        prep = render.Prep(verbosity, voice, rate, volume)  # type: ignore[arg-type]
        with bar(len(refs), f"Rendering {len(refs)} routines") as b:
            results = render.render_many(
                refs,
                folder,
                ext,
                jobs=jobs or os.cpu_count() or 1,
                out_rate=sample_rate,
                prep=prep,
                progress=getattr(b, "update", None),
            )
        for r in results:
            wrote(r.path, r.duration, r.size)
        return
    if len(refs) > 1:
        raise UsageError("--split takes one routine")
    render.check_targets(out, captions_file, split_dir)
    session = _prepare(refs[0], verbosity=verbosity, voice=voice, rate=rate, volume=volume)
    _warn(session)
    length = session.mixer.length
    if out is not None:
        with bar(length, f"Rendering {out}") as b:
            result = render.render_session(
                session,
                out,
                out_rate=sample_rate,
                captions=captions_file,
                progress=getattr(b, "update", None),
                fmt=file_fmt,
            )
        wrote(result.path, result.duration, result.size, f", {result.chapters} chapters")
        if result.captions is not None:
            click.echo(f"Wrote {result.captions}")
    elif captions_file is not None:
        from voicecoach.adapters.captions_file import write_captions

        click.echo(f"Wrote {write_captions(captions_file, session.timeline)}")
    if split_dir is not None:
        with bar(length, f"Rendering tracks into {split_dir}") as b:
            tracks = render.render_split(
                session, split_dir, ext, out_rate=sample_rate, progress=getattr(b, "update", None)
            )
        size = sum(t.size for t in tracks.tracks)
        seconds = length / session.timeline.sample_rate
        wrote(split_dir, seconds, size, f", {len(tracks.tracks)} tracks")
        click.echo(f"Wrote {tracks.playlist}")


@cli.command("validate", short_help="Check routine files: errors and warnings, with lines.")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
def validate_cmd(files: tuple[str, ...]) -> None:
    """Check routine files (or bundled names): each problem as FILE:LINE:COL: message.

    Also lays each valid file out with its real spoken cues and warns (FILE:LINE:COL:
    warning: …) where a cue cannot fit its gap. Prints "FILE: ok" for each valid file;
    exits 1 if any file is invalid.
    """
    from voicecoach.routine import loader as routine

    worst: int = ExitStatus.SUCCESS
    for ref in files:
        try:
            routine.load(ref)
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
            session = _prepare(ref)
        except VoicecoachError as err:
            click.echo(f"{ref}: ok (timing not checked: {err})")
            continue
        _warn(session)
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


def main() -> None:
    cli()
