"""The ``voicecoach`` group: the package's errors as one line and an exit code
(``ExitStatus``), and what the commands share (voice options, the environment, the
session's warnings, preparing a session with a progress line)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from voicecoach import __version__
from voicecoach.errors import ExitStatus, RoutineError, VoicecoachError

if TYPE_CHECKING:
    from voicecoach.app.env import Env, VoiceOptions
    from voicecoach.app.session import Session
    from voicecoach.core.model import Verbosity


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
            return self._invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as err:
            raise _usage_error(err) from None
        except RoutineError as err:
            for problem in err.problems:
                click.echo(str(problem), err=True)
            ctx.exit(err.exit_code)
        except VoicecoachError as err:
            click.echo(f"Error: {err}", err=True)
            ctx.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(ExitStatus.INTERRUPTED)

    def _invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except BaseException:
            settle_output()
            raise


def settle_output() -> None:
    """Before printing on stderr: the sound device warming up on a thread may hold fd 2
    a moment (``stream_out.settle``), and the message must not go into its capture."""
    if (stream_out := sys.modules.get("voicecoach.adapters.stream_out")) is not None:
        stream_out.settle()


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voicecoach")
def cli() -> None:
    """voicecoach: a voice-guided, eyes-free workout coach."""


_F = TypeVar("_F", bound=Callable[..., Any])


def voice_options(command: _F) -> _F:
    """--verbosity, --engine, --language, --voice, --rate, --volume: the options that change
    what is heard."""
    for option in reversed(
        [
            click.option(
                "--verbosity",
                type=click.Choice(["full", "normal", "minimal"]),
                default=None,
                help="How much the coach says (default: the routine's).",
            ),
            click.option(
                "--engine",
                type=click.Choice(["espeak", "piper"]),
                default=None,
                expose_value=False,  # kept in the context: voice_of reads it
                callback=_keep_engine,
                help="Speech engine (default: the routine's, else espeak).",
            ),
            click.option(
                "--language",
                default=None,
                metavar="TAG",
                expose_value=False,  # kept in the context: voice_of reads it
                callback=_keep_language,
                help="The coach's language, e.g. de or en-gb (default: the routine's); "
                "also picks eSpeak's voice for it unless --voice is given.",
            ),
            click.option(
                "--voice",
                default=None,
                help="Voice: an eSpeak NG id, or a Piper voice name or NAME.onnx path "
                "(see `voicecoach voices [--engine piper]`).",
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


def _keep_engine(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
    ctx.meta[_ENGINE_KEY] = value


def _keep_language(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
    ctx.meta[_LANGUAGE_KEY] = value


def _keep_music(ctx: click.Context, param: click.Parameter, value: object) -> None:
    ctx.meta[f"voicecoach.{param.name}"] = value


def music_options(command: _F) -> _F:
    """--music, --music-level, --shuffle: a music bed under the coach (kept in the
    context, read by voice_of, like --engine)."""
    from voicecoach.core.model import MUSIC_LEVEL_RANGE

    low, high = MUSIC_LEVEL_RANGE
    for option in reversed(
        [
            click.option(
                "--music",
                type=click.Path(),
                default=None,
                metavar="PATH",
                expose_value=False,
                callback=_keep_music,
                help="Music under the coach: an audio file or a folder of them (WAV, "
                "FLAC, Ogg, Opus, MP3), looped, ducked whenever the coach speaks.",
            ),
            click.option(
                "--music-level",
                type=click.FloatRange(low, high),
                default=None,
                metavar="LU",
                expose_value=False,
                callback=_keep_music,
                help="How far the music sits under the speech (default: 12 LU).",
            ),
            click.option(
                "--shuffle",
                is_flag=True,
                default=None,
                expose_value=False,
                callback=_keep_music,
                help="Play a --music folder's files in random order (default: by name).",
            ),
        ]
    ):
        command = option(command)
    return command


_ENGINE_KEY = "voicecoach.engine"
_LANGUAGE_KEY = "voicecoach.language"


def voice_of(
    verbosity: str | None, voice: str | None, rate: int | None, volume: float | None
) -> VoiceOptions:
    """The voice options' values (and --engine's, from the context) as one frozen object."""
    from voicecoach.app.env import VoiceOptions

    ctx = click.get_current_context(silent=True)
    meta = ctx.meta if ctx is not None else {}
    engine = meta.get(_ENGINE_KEY)
    # click.Choice lets only the Verbosity values through.
    return VoiceOptions(
        cast("Verbosity | None", verbosity),
        voice,
        rate,
        volume,
        engine,
        music=meta.get("voicecoach.music"),
        music_level=meta.get("voicecoach.music_level"),
        shuffle=bool(meta.get("voicecoach.shuffle")),
        language=meta.get(_LANGUAGE_KEY),
    )


def env_of(ctx: click.Context) -> Env:
    """The environment a caller passed as click's ``obj``, else the real one."""
    from voicecoach.app.env import Env

    if isinstance(ctx.obj, Env):
        return ctx.obj
    from voicecoach.cli.env import real_env

    env = ctx.obj = real_env()
    return env


def warn(session: Session) -> None:
    for w in session.timeline.warnings:
        click.echo(f"{session.routine.path}:{w.line}:{w.column}: warning: {w.message}", err=True)


def prepare(
    env: Env,
    ref: str | None,
    options: VoiceOptions | None = None,
) -> Session:
    """Load a routine (path or bundled name; None: the default) and prepare its session,
    a bar counting the clips made on a terminal."""
    from voicecoach.app.env import prepare_loaded
    from voicecoach.core import coaching as say
    from voicecoach.routine import catalogues, loader, resources

    routine = loader.load(ref or resources.DEFAULT_ROUTINE)
    language = (options.checked_language() if options else None) or routine.language
    label = catalogues.messages(language).gettext(say.PREPARING).rstrip("… ")
    # A cold Piper voice takes tens of seconds (eSpeak NG about one).
    with env.bar(label) as progress:
        return prepare_loaded(env, routine, options, progress=progress)
