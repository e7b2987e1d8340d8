"""``voicecoach render``: one file (with captions), one track per exercise, or many
routines into a folder (in worker processes, with the environment pickled)."""

from __future__ import annotations

import sys
from typing import Any

import click

from voicecoach.cli.group import (
    cli,
    env_of,
    music_options,
    prepare,
    voice_of,
    voice_options,
    warn,
)


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
    help="Format for a folder, --split, or the file written without -o (default: -o's "
    "extension, else mp3).",
)
@click.option(
    "--sample-rate",
    type=click.IntRange(8000, 192000),
    default=None,
    metavar="N",
    help="Resample to N Hz (default: 22050; Opus takes 8000, 12000, 16000, 24000 or 48000: "
    "the nearest >= N, 24000 by default).",
)
@click.option(
    "--bitrate",
    type=int,
    default=None,
    metavar="KBPS",
    help="Bit rate: .mp3 a standard CBR rate (56-160 at 22050 Hz; default 64), .ogg 11-31 "
    "(average), .opus 6-256 (default 24, plenty for speech).",
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
    help="Also write one numbered track per exercise into DIR, with an .m3u8 playlist.",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=None,
    metavar="N",
    help="Routines rendered at once into a folder (default: one per core).",
)
@voice_options
@music_options
@click.pass_context
def render_cmd(
    ctx: click.Context,
    routines: tuple[str, ...],
    output: str | None,
    fmt: str | None,
    sample_rate: int | None,
    bitrate: int | None,
    captions: str | None,
    split: str | None,
    jobs: int | None,
    verbosity: str | None,
    voice: str | None,
    rate: int | None,
    volume: float | None,
) -> None:
    """Write a session to an audio file with chapters, tags and optional captions.

    One ROUTINE and -o FILE writes that file; without -o, ROUTINE.mp3 (or the
    --format's extension) in the current folder. Several routines (or -o DIR/) write
    DIR/<routine>.<format> each, using every core. --split DIR writes one track per
    exercise plus a playlist. Nothing appears at a target until it is complete.
    """
    import contextlib
    import os
    from pathlib import Path

    from voicecoach.adapters import encode
    from voicecoach.app import batch, render
    from voicecoach.core.timefmt import minutes_seconds
    from voicecoach.errors import UsageError
    from voicecoach.routine import resources

    env = env_of(ctx)
    files = env.files()
    options = voice_of(verbosity, voice, rate, volume)
    refs = list(routines) or [resources.DEFAULT_ROUTINE]
    here = output is None and split is None  # ROUTINE.mp3 in the current folder
    if here and len(refs) > 1:
        output = "."
    elif here:
        from voicecoach.routine import loader

        output = str(Path(f"{loader.load(refs[0]).name}.{fmt or 'mp3'}").absolute())
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

    from voicecoach.core.timeline import SAMPLE_RATE

    # A bit rate the format does not take: one line, before any work.
    encode.check_bitrate(
        ext, bitrate, encode.output_rate(encode.FORMATS[ext], SAMPLE_RATE, sample_rate)
    )

    def bar(length: int, label: str) -> contextlib.AbstractContextManager[Any]:
        if not sys.stderr.isatty():
            return contextlib.nullcontext(None)
        return click.progressbar(length=length, label=label, file=sys.stderr)

    def wrote(path: Path, seconds: float, size: int, extra: str = "") -> None:
        click.echo(f"Wrote {path} ({minutes_seconds(seconds)}, {size / 1e6:.1f} MB{extra})")

    if folder is not None:
        if captions_file is not None or split_dir is not None:
            raise UsageError("--captions and --split take one routine written to one file")
        render.check_targets(files, folder=folder)
        with bar(len(refs), f"Rendering {len(refs)} routines") as b:
            results = batch.render_many(
                refs,
                folder,
                ext,
                jobs=jobs or os.cpu_count() or 1,
                out_rate=sample_rate,
                options=options,
                env=env,
                progress=getattr(b, "update", None),
                bitrate=bitrate,
            )
        for r in results:
            wrote(r.path, r.duration, r.size)
        return
    if len(refs) > 1:
        raise UsageError("--split takes one routine")
    render.check_targets(files, out, captions_file, split_dir)
    session = prepare(env, refs[0], options)
    warn(session)
    length = session.mixer.length
    if out is not None:
        with bar(length, f"Rendering {out}") as b:
            result = render.render_session(
                session,
                out,
                files=files,
                out_rate=sample_rate,
                captions=captions_file,
                progress=getattr(b, "update", None),
                fmt=file_fmt,
                bitrate=bitrate,
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
                session,
                split_dir,
                ext,
                files=files,
                out_rate=sample_rate,
                progress=getattr(b, "update", None),
                bitrate=bitrate,
            )
        size = sum(t.size for t in tracks.tracks)
        seconds = length / session.timeline.sample_rate
        wrote(split_dir, seconds, size, f", {len(tracks.tracks)} tracks")
        click.echo(f"Wrote {tracks.playlist}")
