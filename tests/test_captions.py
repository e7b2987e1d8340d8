"""Captions: exact text for a hand-made timeline, every line's format, and ffmpeg's
subtitle demuxers reading our files back with the timeline's times."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from voicecoach.adapters import captions_file
from voicecoach.app.session import Session
from voicecoach.core import captions
from voicecoach.core.timeline import Event, Timeline
from voicecoach.errors import OutputError, UsageError

RATE = 22050


def timeline() -> Timeline:
    events = (
        Event(0, 2205, "speech", "Welcome to <Back> & more.", "Main"),
        Event(2205, 4410, "sound", "start", "Main"),
        Event(22050 * 61 + 12, 22050, "speech", "Lift\n  your   knee.", "Main", "Bridge", 0),
        Event(22050 * 62 + 12, 22050 * 5, "wait", "Press a key when done.", "Main", "Bridge", 0),
        Event(22050 * 67 + 12, 11, "speech", "Next.", "Main", "Bridge", 0),
        Event(22050 * 67 + 23, 22050 * 3600, "speech", "Long.", "Main"),
    )
    return Timeline("Back --> strength", events, ())


def test_cues_round_to_the_nearest_millisecond() -> None:
    got = captions.cues(timeline())
    assert got == [
        captions.Cue(0, 100, "Welcome to <Back> & more."),
        # 61 s + 12 samples = 61000.544 ms -> 61001; the end 62000.544 -> 62001
        captions.Cue(61001, 62001, "Lift your knee."),
        # 11 samples = 0.499 ms: the cue ends where the next starts (67001)
        captions.Cue(67001, 67001, "Next."),
        captions.Cue(67001, 3667001, "Long."),
    ]


def test_webvtt_text() -> None:
    assert captions.render_captions(timeline(), "vtt") == (
        "WEBVTT - Back -> strength\n"
        "\n"
        "1\n00:00:00.000 --> 00:00:00.100\nWelcome to &lt;Back&gt; &amp; more.\n"
        "\n"
        "2\n00:01:01.001 --> 00:01:02.001\nLift your knee.\n"
        "\n"
        "3\n00:01:07.001 --> 00:01:07.001\nNext.\n"
        "\n"
        "4\n00:01:07.001 --> 01:01:07.001\nLong.\n"
    )


def test_subrip_text() -> None:
    assert captions.render_captions(timeline(), "srt") == (
        "1\n00:00:00,000 --> 00:00:00,100\nWelcome to <Back> & more.\n"
        "\n"
        "2\n00:01:01,001 --> 00:01:02,001\nLift your knee.\n"
        "\n"
        "3\n00:01:07,001 --> 00:01:07,001\nNext.\n"
        "\n"
        "4\n00:01:07,001 --> 01:01:07,001\nLong.\n"
    )


def test_lrc_text() -> None:
    assert captions.render_captions(timeline(), "lrc") == (
        "[ti:Back --> strength]\n"
        "[ar:voicecoach]\n"
        "[length:61:07]\n"
        "[re:voicecoach 0.1.0]\n"
        "[00:00.000]Welcome to <Back> & more.\n"
        "[00:00.100]\n"
        "[01:01.001]Lift your knee.\n"
        "[01:02.001]\n"
        "[01:07.001]Next.\n"
        "[01:07.001]Long.\n"
        "[61:07.001]\n"
    )


def test_a_stretch_of_the_timeline_is_timed_from_its_start() -> None:
    got = captions.cues(timeline(), start=22050 * 61, stop=22050 * 68)
    assert [(c.start, c.end, c.text) for c in got] == [
        (1, 1001, "Lift your knee."),
        (6001, 6001, "Next."),
        (6001, 7000, "Long."),  # cut at the end of the stretch
    ]


@pytest.fixture
def real_timeline(make_session: Callable[..., Session]) -> Timeline:
    return make_session().timeline


VTT_TIME = r"\d\d:\d\d:\d\d\.\d{3}"
SRT_TIME = r"\d\d:\d\d:\d\d,\d{3}"


def test_every_line_has_the_format(real_timeline: Timeline) -> None:
    spoken = [e for e in real_timeline.events if e.kind == "speech"]
    vtt = captions.render_captions(real_timeline, "vtt").split("\n")
    assert vtt[0] == "WEBVTT - Test" and vtt[1] == ""
    blocks = "\n".join(vtt[2:]).rstrip("\n").split("\n\n")
    assert len(blocks) == len(spoken)
    for i, (block, event) in enumerate(zip(blocks, spoken, strict=True), 1):
        ident, times, text = block.split("\n")
        assert ident == str(i)
        assert re.fullmatch(f"{VTT_TIME} --> {VTT_TIME}", times)
        assert text == event.text
    srt = captions.render_captions(real_timeline, "srt").rstrip("\n").split("\n\n")
    for i, block in enumerate(srt, 1):
        ident, times, _ = block.split("\n")
        assert ident == str(i) and re.fullmatch(f"{SRT_TIME} --> {SRT_TIME}", times)
    lrc = captions.render_captions(real_timeline, "lrc").rstrip("\n").split("\n")
    assert [line for line in lrc if line.startswith("[ti:")] == ["[ti:Test]"]
    timed = [line for line in lrc if re.match(r"\[\d\d+:\d\d\.\d{3}\]", line)]
    assert [line[11:] for line in timed if line[11:]] == [e.text for e in spoken]


def packets(path: Path) -> list[tuple[float, float, int]]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "packet=pts_time,duration_time,size",
         "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [
        (float(p["pts_time"]), float(p["duration_time"]), int(p["size"]))
        for p in json.loads(out.stdout)["packets"]
    ]


@pytest.mark.parametrize("ext", ["vtt", "srt", "lrc"])
def test_ffmpeg_reads_the_times_back(real_timeline: Timeline, tmp_path: Path, ext: str) -> None:
    path = captions_file.write_captions(tmp_path / f"c.{ext}", real_timeline)
    spoken = [e for e in real_timeline.events if e.kind == "speech"]
    got = packets(path)
    if ext == "lrc":  # the end marks are packets of their own, with no text
        got = [p for p in got if p[2] > 1]
    assert len(got) == len(spoken)
    for (start, duration, _), e in zip(got, spoken, strict=True):
        assert abs(start - e.start / RATE) <= 0.0005 + 1e-9
        assert abs(start + duration - e.end / RATE) <= 0.001 + 1e-9


def test_written_atomically_and_errors(real_timeline: Timeline, tmp_path: Path) -> None:
    with pytest.raises(UsageError) as err:
        captions_file.write_captions(tmp_path / "c.txt", real_timeline)
    assert str(err.value) == (
        f"cannot tell the caption format of {tmp_path}/c.txt: name it .vtt, .srt or .lrc"
    )
    with pytest.raises(OutputError) as out_err:
        captions_file.write_captions(tmp_path / "no" / "c.vtt", real_timeline)
    assert str(out_err.value) == (
        f"cannot write {tmp_path}/no/c.vtt: the folder {tmp_path}/no does not exist"
    )
    target = tmp_path / "c.srt"
    captions_file.write_captions(target, real_timeline)
    assert [p.name for p in tmp_path.iterdir()] == ["c.srt"]  # no temporary left
