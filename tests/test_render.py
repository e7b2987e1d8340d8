"""render: sessions to files, split tracks and playlists, many routines at once, and the
`voicecoach render` command (exit codes, one-line errors, Ctrl-C, nothing half-written)."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from tests.audiocheck import decode, ffprobe
from tests.fakes import SHORT_ROUTINE, FakeSpeech, fake_env
from voicecoach.adapters import encode
from voicecoach.adapters.files import AudioFiles
from voicecoach.app import batch, render
from voicecoach.app.env import prepare_ref
from voicecoach.app.session import Session
from voicecoach.cli import cli
from voicecoach.core import tracks
from voicecoach.core.model import Voice
from voicecoach.errors import OutputError, UsageError, VoicecoachError

ROOT = Path(__file__).resolve().parent.parent
FILES = AudioFiles()  # the real encoders and output files

TWO_ROUNDS = """\
title: Rounds
blocks:
  - name: Core
    rounds: 2
    round_rest: 6s
    exercises:
      - name: Dead bug
        hold: 5s
        lead_in: 3s
        rest: 3s
      - name: "Bird-dog: slow / steady?"
        time: 4s
        lead_in: 3s
        rest: 0
"""


@pytest.fixture
def session(make_session: Callable[..., Session]) -> Session:
    return make_session()


def test_render_session_writes_exactly_the_mixer_output(session: Session, tmp_path: Path) -> None:
    out = tmp_path / "s.flac"
    result = render.render_session(session, out, files=FILES, captions=tmp_path / "s.vtt")
    data, _ = decode(out)
    np.testing.assert_array_equal(data, session.mixer.render(0, session.mixer.length))
    assert result == render.RenderResult(
        out, "flac", 22050, session.timeline.duration, out.stat().st_size,
        len(session.timeline.chapters), tmp_path / "s.vtt",
    )  # fmt: skip
    chapters = ffprobe(out)["chapters"]
    assert [c["tags"]["title"] for c in chapters] == [
        "Welcome", "Bridge", "Rest before Bird-dog", "Bird-dog", "Rest before Plank", "Plank",
        "Finish",
    ]  # fmt: skip
    assert [c.title for c in session.timeline.chapters].count("Rest") == 2  # only the files'
    assert (tmp_path / "s.vtt").read_text().startswith("WEBVTT - Test\n\n1\n00:00:00.000 --> ")


def test_render_session_tags(session: Session, tmp_path: Path) -> None:
    out = tmp_path / "s.mp3"
    render.render_session(session, out, files=FILES)
    tags = ffprobe(out)["format"]["tags"]
    assert (tags["title"], tags["album"], tags["artist"]) == ("Test", "Test", "voicecoach")
    assert tags["comment"] == "A voice-guided workout, rendered by voicecoach."
    # One encoder tag: LAME's own (its header holds the gapless trim, so it stays).
    probe = ffprobe(out)
    encoders = [t["encoder"] for t in (tags, *(s.get("tags", {}) for s in probe["streams"]))
                if "encoder" in t]  # fmt: skip
    assert encoders == ["LAME3.100"]
    from mutagen.id3 import ID3

    assert ID3(out).getall("TSSE") == []


def test_bad_captions_fail_before_the_audio(session: Session, tmp_path: Path) -> None:
    with pytest.raises(OutputError):
        render.render_session(
            session, tmp_path / "s.wav", files=FILES, captions=tmp_path / "no" / "s.srt"
        )
    with pytest.raises(UsageError):
        render.render_session(session, tmp_path / "s.wav", files=FILES, captions=tmp_path / "s.wav")
    with pytest.raises(UsageError):
        render.render_session(session, tmp_path / "s.wav", files=FILES, captions=tmp_path / "s.doc")
    assert list(tmp_path.iterdir()) == []


def test_quiet_spans_are_silent(session: Session) -> None:
    spans = render.quiet_spans(session.timeline)
    audio = session.mixer.render(0, session.mixer.length)
    assert spans and all(not audio[a:b].any() for a, b in spans)
    sounding = sum(b - a for a, b in spans)
    assert sounding < session.mixer.length  # and the rest is not all silence
    assert np.count_nonzero(audio) > 0


# --- split tracks ------------------------------------------------------------------------


def test_plan_tracks_folds_welcome_rests_and_finish(
    make_session: Callable[..., Session],
) -> None:
    timeline = make_session(TWO_ROUNDS, "rounds.yaml").timeline
    planned = tracks.plan_tracks(timeline)
    assert [t.title for t in planned] == [
        "Dead bug (round 1)", "Bird-dog: slow / steady? (round 1)",
        "Dead bug (round 2)", "Bird-dog: slow / steady? (round 2)",
    ]  # fmt: skip
    assert planned[0].start == 0 and planned[-1].end == timeline.length
    assert all(a.end == b.start for a, b in itertools.pairwise(planned))
    assert planned[0].chapters[0].title == "Welcome"
    assert planned[-1].chapters[-1].title == "Finish"
    for t in planned:  # each track's chapters cover it, timed from its start
        assert t.chapters[0].start == 0 and t.chapters[-1].end == t.end - t.start
        assert [c.title for c in t.chapters if c.title not in ("Welcome", "Rest", "Finish")] == [
            t.title
        ]


def test_safe_filename() -> None:
    assert tracks.safe_filename("Bird-dog: slow / steady?") == "Bird-dog slow steady"
    assert tracks.safe_filename("  Cat\tcow...  ") == "Cat cow"
    assert tracks.safe_filename("con") == "con_"
    assert tracks.safe_filename("Élan vital") == "Élan vital"
    assert tracks.safe_filename("???") == "Untitled"
    assert len(tracks.safe_filename("x" * 500)) == 120


def test_split_tracks_join_back_into_the_session(
    make_session: Callable[..., Session], tmp_path: Path
) -> None:
    s = make_session(TWO_ROUNDS, "rounds.yaml")
    folder = tmp_path / "tracks"
    result = render.render_split(s, folder, "flac", files=FILES)
    names = [
        "01 Dead bug (round 1).flac", "02 Bird-dog slow steady (round 1).flac",
        "03 Dead bug (round 2).flac", "04 Bird-dog slow steady (round 2).flac",
    ]  # fmt: skip
    assert [t.path.name for t in result.tracks] == names
    assert sorted(p.name for p in folder.iterdir()) == sorted([*names, "Rounds.m3u8"])
    # Lossless tracks, played in order, are the session sample for sample.
    joined = np.concatenate([decode(folder / n)[0] for n in names])
    np.testing.assert_array_equal(joined, s.mixer.render(0, s.mixer.length))
    planned = tracks.plan_tracks(s.timeline)
    named = tracks.plan_tracks(
        replace(s.timeline, chapters=tracks.named_chapters(s.timeline.chapters))
    )
    assert [c["tags"]["title"] for c in ffprobe(folder / names[0])["chapters"]] == [
        "Welcome", "Dead bug (round 1)", "Rest before Bird-dog: slow / steady? (round 1)"
    ]  # fmt: skip
    for n, t, info, nt in zip(names, planned, result.tracks, named, strict=True):
        probe = ffprobe(folder / n)
        assert probe["format"]["tags"]["track"] == str(t.number)  # ffmpeg names it so
        assert probe["format"]["tags"]["TRACKTOTAL"] == "4"
        assert probe["format"]["tags"]["TITLE"] == t.title
        assert [c["tags"]["title"] for c in probe["chapters"]] == [c.title for c in nt.chapters]
        assert info.duration == (t.end - t.start) / 22050
    lines = (folder / "Rounds.m3u8").read_text(encoding="utf-8").split("\n")
    assert lines[:2] == ["#EXTM3U", "#PLAYLIST:Rounds"] and lines[-1] == ""
    for k, (n, t) in enumerate(zip(names, planned, strict=True)):
        extinf, path = lines[2 + 2 * k : 4 + 2 * k]
        assert extinf == f"#EXTINF:{round((t.end - t.start) / 22050)},{t.title}"
        assert path == n and (folder / path).is_file()


def test_a_failed_split_leaves_the_folder_as_it_was(session: Session, tmp_path: Path) -> None:
    folder = tmp_path / "tracks"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    calls: list[Path] = []

    class DiskFills(AudioFiles):
        """The second track fails, as on a full disk."""

        def write_audio(self, path: Path, *args: Any, **kw: Any) -> encode.Written:
            calls.append(path)
            if len(calls) == 2:
                raise OutputError("cannot write: the disk is full")
            return super().write_audio(path, *args, **kw)

    with pytest.raises(OutputError):
        render.render_split(session, folder, "mp3", files=DiskFills(), threads=1)
    assert len(calls) >= 2  # the second track failed
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]


def test_ctrl_c_during_a_split_leaves_the_folder_as_it_was(
    session: Session, tmp_path: Path
) -> None:
    folder = tmp_path / "tracks"
    folder.mkdir()
    stale = folder / ".voicecoach-split-999999999"  # left by a killed process
    stale.mkdir()

    pressed: list[int] = []

    def progress(n: int) -> None:
        if not pressed:  # one Ctrl-C, handled in the main thread as a real one is
            pressed.append(n)
            signal.raise_signal(signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        render.render_split(session, folder, "mp3", files=FILES, progress=progress, threads=2)
    assert list(folder.iterdir()) == []


def test_split_into_a_missing_parent_fails(session: Session, tmp_path: Path) -> None:
    with pytest.raises(OutputError) as err:
        render.render_split(session, tmp_path / "a" / "b", "mp3", files=FILES)
    assert str(err.value) == (
        f"cannot write to {tmp_path}/a/b: the folder {tmp_path}/a does not exist"
    )


# --- many routines -----------------------------------------------------------------------


def speech_or_fail(voice: Voice) -> FakeSpeech:
    """The fake speech, failing for the voice "broken" (module-level: it pickles into the
    worker processes)."""
    if voice.voice == "broken":
        raise VoicecoachError("the speech engine failed")
    return FakeSpeech()


def routines(folder: Path, *names: str, voice: str | None = None) -> list[str]:
    folder.mkdir(exist_ok=True)
    refs = []
    text = SHORT_ROUTINE if voice is None else f"voice: {{voice: {voice}}}\n{SHORT_ROUTINE}"
    for name in names:
        path = folder / f"{name}.yaml"
        path.write_text(text)
        refs.append(str(path))
    return refs


def test_render_many_uses_processes_and_names_files_after_routines(tmp_path: Path) -> None:
    refs = routines(tmp_path / "r", "alpha", "beta", "gamma")
    out = tmp_path / "out"
    done: list[int] = []
    env = fake_env()  # pickled into the worker processes
    results = batch.render_many(refs, out, "ogg", env=env, jobs=2, progress=done.append)
    assert [r.path.name for r in results] == ["alpha.ogg", "beta.ogg", "gamma.ogg"]
    assert sum(done) == 3
    length = prepare_ref(env, refs[0]).mixer.length
    for r in results:
        data, _ = decode(r.path)
        assert len(data) == length
    assert sorted(p.name for p in out.iterdir()) == ["alpha.ogg", "beta.ogg", "gamma.ogg"]


def test_render_many_reports_failures_and_keeps_the_rest(tmp_path: Path) -> None:
    good = routines(tmp_path / "r", "good")
    bad = routines(tmp_path / "r", "bad", voice="broken")
    env = fake_env(speech=speech_or_fail)
    with pytest.raises(VoicecoachError) as err:
        batch.render_many([*good, *bad], tmp_path / "out", "wav", env=env, jobs=2)
    assert str(err.value) == f"1 of 2 routines failed: {bad[0]}: the speech engine failed"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["good.wav"]


def test_render_many_refuses_two_routines_with_one_name(tmp_path: Path) -> None:
    a = routines(tmp_path / "a", "same")
    b = routines(tmp_path / "b", "same")
    with pytest.raises(UsageError) as err:
        batch.render_many([*a, *b], tmp_path / "out", "mp3", env=fake_env())
    assert str(err.value) == f"{a[0]} and {b[0]} would both be written to {tmp_path}/out/same.mp3"
    assert not (tmp_path / "out").exists()


# --- the command -------------------------------------------------------------------------


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Any]:
    """`voicecoach ...` in-process, with fake speech (the real sounds)."""
    from voicecoach.cli import env

    monkeypatch.chdir(tmp_path)
    # Lead-ins long enough for the fake speech: no compile warnings in the output.
    (tmp_path / "short.yaml").write_text(SHORT_ROUTINE.replace("lead_in: 3s", "lead_in: 10s"))

    def invoke(*args: str) -> Any:
        fakes = fake_env(sounds=env.sounds)  # module-level functions: it pickles
        return CliRunner().invoke(cli, list(args), catch_exceptions=False, obj=fakes)

    return invoke


def test_cli_renders_a_file_with_captions(run: Callable[..., Any], tmp_path: Path) -> None:
    result = run("render", "short.yaml", "-o", "s.mp3", "--captions", "s.lrc")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert re.fullmatch(r"Wrote s\.mp3 \(\d+:\d\d, \d+\.\d MB, \d+ chapters\)", lines[-2])
    assert lines[-1] == "Wrote s.lrc"
    assert (tmp_path / "s.lrc").read_text().startswith("[ti:Test]\n")
    assert len(ffprobe(tmp_path / "s.mp3")["chapters"]) > 3


NAME_IT = "name it .wav, .flac, .ogg, .opus or .mp3"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["-o", "out/x.wav"], 1, "Error: cannot write out/x.wav: the folder out does not exist"),
        (["-o", "x.m4a"], 2, f"Error: cannot tell the audio format of x.m4a: {NAME_IT}"),
        (["-o", "/dev/full"], 2, f"Error: cannot tell the audio format of /dev/full: {NAME_IT}"),
        (["-o", "/dev/full", "--format", "wav"], 1,
         "Error: cannot write /dev/full: the disk is full"),
        (["-o", "x.mp3", "--format", "wav"], 2,
         "Error: x.mp3 names the mp3 format, but --format says wav"),
        (["-o", "x.opus", "--bitrate", "300"], 2,
         "Error: --bitrate 300 is out of range for OPUS: use 6 to 256 (kbps)"),
        (["--bitrate", "40"], 2, "Error: --bitrate 40 is not an MP3 bit rate at 22050 Hz: "
         "use 56, 64, 80, 96, 112, 128, 144 or 160"),
        (["-o", "x.flac", "--bitrate", "64"], 2,
         "Error: --bitrate is for .mp3, .ogg and .opus: .flac is lossless"),
        (["-o", "out/", "--captions", "c.vtt"], 2,
         "Error: --captions and --split take one routine written to one file"),
        (["-o", "x.wav", "--captions", "x.txt"], 2,
         "Error: cannot tell the caption format of x.txt: name it .vtt, .srt or .lrc"),
        (["-o", "/sys/x.wav"], 1, "Error: cannot write /sys/x.wav: no permission to write in /sys"),
    ],
)  # fmt: skip
def test_cli_errors_are_one_line(
    run: Callable[..., Any], tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    result = run("render", "short.yaml", *args)
    assert (result.exit_code, result.output) == (code, message + "\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short.yaml"]
    assert os.path.exists("/dev/full") and not os.path.isfile("/dev/full")


def test_cli_renders_several_routines_into_a_folder(
    run: Callable[..., Any], tmp_path: Path
) -> None:
    refs = routines(tmp_path / "r", "one", "two")
    result = run("render", *refs, "-o", "out", "--format", "flac", "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["one.flac", "two.flac"]
    result = run("render", refs[0], "-o", "single/", "--sample-rate", "44100")
    assert result.exit_code == 0, result.output
    assert decode(tmp_path / "single" / "one.mp3")[1] == 44100


def test_cli_without_output_writes_the_routine_name_here(
    run: Callable[..., Any], tmp_path: Path
) -> None:
    result = run("render", "short.yaml")
    assert result.exit_code == 0, result.output
    out = tmp_path / "short.mp3"
    assert re.fullmatch(
        rf"Wrote {re.escape(str(out))} \(\d:\d\d, [\d.]+ MB, 7 chapters\)\n", result.output
    )
    assert decode(out)[1] == 22050
    result = run("render", "short.yaml", "--format", "opus", "--bitrate", "16")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Wrote {tmp_path / 'short.opus'} (")
    assert ffprobe(tmp_path / "short.opus")["streams"][0]["codec_name"] == "opus"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short.mp3", "short.opus", "short.yaml"]


def test_cli_split(run: Callable[..., Any], tmp_path: Path) -> None:
    result = run("render", "short.yaml", "--split", "tracks", "--format", "ogg")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "tracks").iterdir())
    assert names == ["01 Bridge.ogg", "02 Bird-dog.ogg", "03 Plank.ogg", "Test.m3u8"]
    assert result.output.splitlines()[-1] == "Wrote tracks/Test.m3u8"


# --- real processes: Ctrl-C and the real speech engine ---------------------------------------


def wait_for_temp(folder: Path, proc: subprocess.Popen[str], deadline: float = 120) -> None:
    end = time.monotonic() + deadline
    while not any(".part-" in p.name for p in folder.rglob("*")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end
        time.sleep(0.02)


@pytest.mark.slow
def test_ctrl_c_mid_render_exits_130_and_leaves_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "VOICECOACH_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicecoach", "render", "back-strength", "-o", str(out / "b.opus")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for_temp(out, proc)  # the real speech is ready: the encoding has begun
        time.sleep(0.3)
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, err) == (130, "Interrupted.\n")
    assert list(out.iterdir()) == []
    # The same command, left alone, writes the file (warm cache now).
    done = subprocess.run(
        [sys.executable, "-m", "voicecoach", "render", "five-minute-back", "-o", f"{out}/f.mp3"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data, rate = decode(out / "f.mp3")
    assert rate == 22050 and len(data) > 60 * rate


@pytest.mark.slow
def test_ctrl_c_while_rendering_many_stops_every_worker(tmp_path: Path) -> None:
    env = {**os.environ, "VOICECOACH_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicecoach", "render", "back-strength", "back-mobility",
         "-o", f"{out}/", "--format", "opus", "--jobs", "2"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for_temp(tmp_path, proc)
        time.sleep(0.3)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, err) == (130, "Interrupted.\n")
    assert list(out.iterdir()) == []


def test_lengths_read_as_minutes_and_seconds() -> None:
    from voicecoach.core.timefmt import minutes_seconds

    assert [minutes_seconds(s) for s in (0, 9.4, 59.6, 61, 1161.2, 3599.5, 3725)] == [
        "0:00", "0:09", "1:00", "1:01", "19:21", "1:00:00", "1:02:05"
    ]  # fmt: skip


def test_rests_are_named_for_the_exercise_they_lead_to(
    make_session: Callable[..., Session],
) -> None:
    timeline = make_session(TWO_ROUNDS, "rounds.yaml").timeline
    assert [c.title for c in tracks.named_chapters(timeline.chapters)] == [
        "Welcome",
        "Dead bug (round 1)",
        "Rest before Bird-dog: slow / steady? (round 1)",
        "Bird-dog: slow / steady? (round 1)",
        "Rest before Dead bug (round 2)",
        "Dead bug (round 2)",
        "Rest before Bird-dog: slow / steady? (round 2)",
        "Bird-dog: slow / steady? (round 2)",
        "Finish",
    ]
