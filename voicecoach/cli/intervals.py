"""``voicecoach intervals 30s 10s x8``: a quick interval timer, no file needed.

The timer is a routine built in memory (``routine.intervals``: the text of a routine
file, through the same loader), so it runs live like ``run`` (keys, status line,
history), or with ``--audition`` / ``--play`` / ``--skim`` / ``--render FILE`` does
what ``audition`` and ``render`` do; ``--save FILE.yaml`` writes it as a routine file.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from voicecoach.cli.group import cli, env_of, voice_of, voice_options

if TYPE_CHECKING:
    from voicecoach.app.env import Env, VoiceOptions
    from voicecoach.app.session import Session
    from voicecoach.core.model import Routine


@cli.command(
    "intervals",
    short_help="A quick interval timer: work, rest, rounds (no file needed).",
    # "-10s" is a (negative) time, not an option: it reaches parse(), which says so.
    context_settings={"ignore_unknown_options": True},
)
@click.argument("words", nargs=-1, metavar="[WORK [REST]] [xROUNDS]")
@click.option("--work", metavar="TIME", default=None, help="Work time of each round, e.g. 30s.")
@click.option(
    "--rest", metavar="TIME", default=None, help="Rest between rounds (default with rounds: 10s)."
)
@click.option("--rounds", metavar="N", default=None, help="How many rounds, 1 to 100 (default 1).")
@click.option("--name", metavar="TEXT", default=None, help='What is said for the work ("Plank").')
@click.option(
    "--prepare", metavar="TIME", default=None, help="Time to get ready first (default 10s)."
)
@click.option(
    "--save",
    type=click.Path(dir_okay=False),
    metavar="FILE.yaml",
    default=None,
    help="Write the timer as a routine file (then stop, unless an action is given too).",
)
@click.option("--audition", "show", is_flag=True, help="Print the transcript instead of running.")
@click.option("--play", is_flag=True, help="Hear a quick preview (silences shortened).")
@click.option("--skim", is_flag=True, help="Hear a skim: every phrase, the silences cut.")
@click.option(
    "--render",
    "render_to",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    default=None,
    help="Write it to an audio file (.wav .flac .ogg .opus .mp3) instead of running.",
)
@click.option("--quiet", is_flag=True, help="No status line on the terminal.")
@voice_options
@click.pass_context
def intervals_cmd(
    ctx: click.Context,
    words: tuple[str, ...],
    work: str | None,
    rest: str | None,
    rounds: str | None,
    name: str | None,
    prepare: str | None,
    save: str | None,
    show: bool,
    play: bool,
    skim: bool,
    render_to: str | None,
    quiet: bool,
    verbosity: str | None,
    voice: str | None,
    rate: int | None,
    volume: float | None,
) -> None:
    """A quick interval timer, no file needed: WORK seconds of work, REST seconds of rest,
    ROUNDS times, with the coach's cues, sounds and keys.

    \b
      voicecoach intervals 30s 10s x8              eight rounds of 30 s work, 10 s rest
      voicecoach intervals 45s 15s x4 --name Plank --prepare 20s
      voicecoach intervals 30s 10s x8 --audition   the transcript (or --play, --skim)
      voicecoach intervals 30s 10s x8 --render hiit.mp3
      voicecoach intervals 30s 10s x8 --save hiit.yaml   a routine file to edit

    Without --audition, --play, --skim, --render or --save it runs live, like `run`.
    """
    from voicecoach.errors import UsageError
    from voicecoach.routine import intervals

    spec = intervals.parse(words, work=work, rest=rest, rounds=rounds, name=name, prepare=prepare)
    options = voice_of(verbosity, voice, rate, volume)
    # The timer's own words ("Work", "Intervals") in the coach's language.
    spec = replace(spec, language=options.checked_language())
    actions = [a for a, on in (("--audition", show), ("--play", play or skim),
                               ("--render", render_to is not None)) if on]  # fmt: skip
    if len(actions) > 1:
        raise UsageError(f"{' and '.join(actions)} cannot be used together")
    routine = intervals.build(spec, save or "intervals")
    if save is not None:
        from voicecoach.adapters import outfile

        outfile.write_text(Path(save), intervals.to_yaml(spec))
        click.echo(f"Wrote {save} (run it with `voicecoach run {save}`)", err=bool(actions))
        if not actions:
            return
    env = env_of(ctx)
    if not actions:
        from voicecoach.app.workout import RunOptions, run_workout

        run_options = RunOptions(routine.path, quiet=quiet, voice=options)
        run_workout(run_options, env, lambda line: click.echo(line, err=True), routine=routine)
        return
    session = _prepare(env, routine, options)
    for w in session.timeline.warnings:
        where = f"{save}:{w.line}:{w.column}: " if save is not None else ""
        click.echo(f"{where}warning: {w.message}", err=True)
    if show:
        from voicecoach.core import transcript

        click.echo(transcript.transcript(session.timeline), nl=False)
    elif skim:
        from voicecoach.cli.commands import skim_with_keys

        skim_with_keys(env, session)
    elif play:
        from voicecoach.app.preview import play_preview

        play_preview(session, 8.0, out=env.output())
    elif render_to is not None:
        _render(env, session, Path(render_to))


def _prepare(env: Env, routine: Routine, options: VoiceOptions) -> Session:
    from voicecoach.app.env import prepare_loaded
    from voicecoach.core import coaching as say
    from voicecoach.routine import catalogues

    words = catalogues.messages(options.checked_language() or routine.language)
    label = words.gettext(say.PREPARING).rstrip("… ")
    with env.bar(label) as progress:  # the bar run and render show
        return prepare_loaded(env, routine, options, progress=progress)


def _render(env: Env, session: Session, out: Path) -> None:
    from voicecoach.app import render

    files = env.files()
    render.check_targets(files, out)
    result = render.render_session(session, out, files=files)
    minutes, secs = divmod(round(result.duration), 60)
    size = result.size / 1e6
    click.echo(
        f"Wrote {result.path} ({minutes}:{secs:02d}, {size:.1f} MB, {result.chapters} chapters)"
    )
