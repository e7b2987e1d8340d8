"""The command line as a user meets it: help, version, audition, list, routine references,
and every error path, with exact output and exit codes.

Covered elsewhere, not repeated here: validate and schema (test_cli_validate), history
(test_cli_history), render (test_render), run (test_player), voices and a missing eSpeak
NG for `voices` (test_speech), `audition --play` (test_audition_play).

Speech is the fake engine and the sounds are the fake ones, as in the golden files, so a
transcript printed here must equal its golden file (tests/data/golden).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from tests.audiocheck import decode, lag
from tests.fakes import NO_ESPEAK, FakeSpeech, fake_env, fake_sounds
from voicecoach import __version__
from voicecoach.app.env import Env
from voicecoach.cli import cli
from voicecoach.core.model import Voice
from voicecoach.routine import languages, resources

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "data" / "golden"
BUNDLED = sorted(resources.bundled_routines())
COMMANDS = [
    "audition",
    "history",
    "intervals",
    "list",
    "render",
    "run",
    "schema",
    "validate",
    "voices",
]

SHORT = """\
title: Short
defaults: {lead_in: 12s, rest: 6s}
exercises:
  - name: Bridge
    setup: Lie on your back.
    hold: 6s
  - name: Bird-dog
    reps: 2
    tempo: [1s, 1s]
    hold: 2s
    sides: both
    switch: 5s
  - name: Plank
    reps: 3
    manual: true
    estimate: 8s
"""
BAD = "title: T\nexercises:\n  - {name: Bridge, reps: five, rps: 2}\n"
BAD_LINES = (
    "bad.yaml:3:26: reps must be a whole number from 1 to 1000, not 'five'\n"
    "bad.yaml:3:32: unknown key 'rps' in an exercise (did you mean 'reps'?)\n"
)


@pytest.fixture
def voices_asked() -> list[Voice]:
    return []


@pytest.fixture
def run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, voices_asked: list[Voice]
) -> Callable[..., Result]:
    """`voicecoach ...` in-process in an empty folder, with the fake speech and sounds."""

    def speech(voice: Voice) -> FakeSpeech:
        voices_asked.append(voice)
        return FakeSpeech()

    monkeypatch.chdir(tmp_path)
    (tmp_path / "short.yaml").write_text(SHORT)
    (tmp_path / "bad.yaml").write_text(BAD)

    def invoke(*args: str, env: Env | None = None) -> Result:
        return vc(*args, env=env or fake_env(speech=speech))

    return invoke


def vc(*args: str, env: Env | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="voicecoach", obj=env)


def golden(name: str) -> str:
    return (GOLDEN / f"{name}.txt").read_text(encoding="utf-8")


def golden_length(name: str) -> str:
    """The session length in a golden file's first line: 'Title — 05:12.3'."""
    return golden(name).splitlines()[0].rsplit(" — ", 1)[1]


# --- help and version --------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_every_command(flag: str) -> None:
    result = vc(flag)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.startswith("Usage: voicecoach [OPTIONS] COMMAND [ARGS]...\n")
    listed = result.stdout.split("Commands:\n", 1)[1].splitlines()
    assert [line.split()[0] for line in listed] == COMMANDS
    assert "--version" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command: str) -> None:
    result = vc(command, "--help")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.startswith(f"Usage: voicecoach {command} ")
    assert len(result.stdout.splitlines()) > 3


def test_version_is_the_package_version() -> None:
    result = vc("--version")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        f"voicecoach, version {__version__}\n",
        "",
    )
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == __version__


def test_help_imports_no_heavy_library() -> None:
    """--help stays instant: the audio and speech libraries are imported only when used."""
    code = (
        "import sys\n"
        "from voicecoach.cli import cli\n"
        "try:\n"
        "    cli(['--help'], prog_name='voicecoach')\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "heavy = ['numpy', 'pyttsx3', 'simpleaudio', 'soundfile', 'soxr', 'mutagen', 'yaml',\n"
        "         'pyloudnorm', 'sqlite3', 'platformdirs']\n"
        "print(' '.join(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: voicecoach [OPTIONS] COMMAND")
    assert proc.stderr == "\n"


def test_python_dash_m_runs_the_same_cli() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "voicecoach", "--version"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        0,
        f"voicecoach, version {__version__}\n",
        "",
    )


# --- audition ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["desk-break", "lower-back-relief"])
def test_audition_prints_the_transcript(run: Callable[..., Result], name: str) -> None:
    result = run("audition", name)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == golden(name)


def test_audition_without_a_routine_is_the_default_one(run: Callable[..., Result]) -> None:
    assert resources.DEFAULT_ROUTINE == "back-strength"
    result = run("audition")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == golden("back-strength")


def test_a_bundled_name_a_path_and_a_local_file(run: Callable[..., Result], tmp_path: Path) -> None:
    by_name = run("audition", "desk-break")
    by_bundled_file_name = run("audition", "desk-break.yaml")
    by_path = run("audition", str(ROOT / "scripts" / "desk-break.yaml"))
    assert by_name.exit_code == by_bundled_file_name.exit_code == by_path.exit_code == 0
    assert by_name.stdout == by_bundled_file_name.stdout == by_path.stdout == golden("desk-break")
    # A file in the current folder wins over a bundled routine of the same name.
    (tmp_path / "desk-break.yaml").write_text(SHORT.replace("title: Short", "title: Mine"))
    local = run("audition", "desk-break.yaml")
    assert (local.exit_code, local.stderr) == (0, "")
    assert local.stdout.startswith("Mine — ")
    assert run("audition", "desk-break").stdout == golden("desk-break")  # a name stays bundled


def test_voice_options_override_the_routine(
    run: Callable[..., Result], voices_asked: list[Voice]
) -> None:
    assert run("audition", "desk-break").exit_code == 0
    assert voices_asked[-1] == Voice(voice="gmw/en-us", rate=160, volume=1.0)  # the routine's
    result = run("audition", "desk-break", "--voice", "en-gb", "--rate", "200", "--volume", "0.5")
    assert result.exit_code == 0, result.output
    assert voices_asked[-1] == Voice(voice="en-gb", rate=200, volume=0.5)
    assert run("audition", "desk-break", "--rate", "90").exit_code == 0
    assert voices_asked[-1] == Voice(voice="gmw/en-us", rate=90, volume=1.0)


def test_language_option_overrides_the_routine_and_picks_its_voice(
    run: Callable[..., Result], voices_asked: list[Voice]
) -> None:
    result = run("audition", "desk-break", "--language", "en-GB")
    assert result.exit_code == 0, result.output
    assert voices_asked[-1] == Voice(voice="en-gb", rate=160, volume=1.0, language="en-gb")
    assert (
        run("audition", "desk-break", "--language", "en-gb", "--voice", "gmw/en-us").exit_code == 0
    )
    assert voices_asked[-1] == Voice(voice="gmw/en-us", rate=160, volume=1.0, language="en-gb")
    unknown = run("audition", "desk-break", "--language", "eng")
    assert unknown.exit_code == 2
    assert unknown.stderr == (
        'Error: --language: no coaching in language "eng" '
        f'(there is: {", ".join(languages.available())}); did you mean "en"?\n'
    )


def test_verbosity_option_overrides_the_routine(run: Callable[..., Result]) -> None:
    normal = run("audition", "desk-break").stdout
    minimal = run("audition", "desk-break", "--verbosity", "minimal").stdout
    full = run("audition", "desk-break", "--verbosity", "full").stdout
    setup = '"Sit near the front of your chair, feet flat on the floor'
    assert setup in normal and setup in full and setup not in minimal
    assert '"Next up: ' not in minimal and "Next up: Seated backbend." in normal
    # Full: the breath in full on every rep; normal: the movement, the breath shorter.
    assert '"Two, roll forward, exhale through your mouth."' in full
    assert '"Two, roll forward, breathe out."' in normal and '"Two."' in minimal


def test_audition_prints_warnings_with_the_routine_line(
    run: Callable[..., Result], tmp_path: Path
) -> None:
    (tmp_path / "tight.yaml").write_text(
        "title: Tight\nexercises:\n  - name: Bridge\n    reps: 2\n    lead_in: 1s\n"
        "    setup: Lie on your back with your knees bent and your feet flat on the floor.\n"
    )
    result = run("audition", "tight.yaml")
    assert result.exit_code == 0
    assert result.stdout.startswith("Tight — ")
    (line,) = result.stderr.splitlines()
    assert line.startswith("tight.yaml:3:5: warning: Bridge: the lead-in needs ")
    assert line.endswith(" s to say everything, longer than its 1 s; it was made longer")
    data = json.loads(run("audition", "tight.yaml", "--json").stdout)
    assert [(w["line"], w["column"]) for w in data["warnings"]] == [(3, 5)]


# --- audition --json -------------------------------------------------------------------------

EVENT_KEYS = {"t", "end", "kind", "block", "exercise", "set", "side", "rep"}


def test_json_has_the_documented_shape(run: Callable[..., Result]) -> None:
    result = run("audition", "short.yaml", "--json")
    assert (result.exit_code, result.stderr) == (0, "")
    data = json.loads(result.stdout)
    # The fields issue 3 names, plus the compiler's warnings (none here).
    assert set(data) == {"title", "duration", "sample_rate", "events", "chapters", "warnings"}
    assert (data["title"], data["sample_rate"], data["warnings"]) == ("Short", 22050, [])
    kinds = {e["kind"] for e in data["events"]}
    assert kinds == {"speech", "sound", "wait"}
    for e in data["events"]:
        named = "sound" if e["kind"] == "sound" else "text"
        assert set(e) == EVENT_KEYS | {named}, e
        assert isinstance(e[named], str) and e[named]
        assert isinstance(e["t"], float) and isinstance(e["end"], float)
        assert 0 <= e["t"] < e["end"] <= data["duration"]
        assert isinstance(e["block"], str)
        assert e["exercise"] is None or isinstance(e["exercise"], str)
        assert e["set"] is None or isinstance(e["set"], int)
        assert e["side"] in (None, "left", "right")
        assert e["rep"] is None or isinstance(e["rep"], int)
    for c in data["chapters"]:
        assert set(c) == {"title", "start", "end"}
    # sorted, never overlapping, and the last event ends the session
    starts = [e["t"] for e in data["events"]]
    assert starts == sorted(starts)
    assert all(a["end"] <= b["t"] for a, b in itertools.pairwise(data["events"]))
    assert data["events"][-1]["end"] == data["duration"]
    assert [c["title"] for c in data["chapters"]] == [
        "Welcome", "Bridge", "Rest", "Bird-dog", "Rest", "Plank", "Finish",
    ]  # fmt: skip
    assert data["chapters"][0]["start"] == 0 and data["chapters"][-1]["end"] == data["duration"]


def test_json_labels_say_where_each_cue_belongs(run: Callable[..., Result]) -> None:
    data = json.loads(run("audition", "short.yaml", "--json").stdout)
    events = data["events"]
    assert events[0] == {
        "t": 0.0, "end": events[0]["end"], "kind": "speech", "text": "Welcome to Short.",
        "block": "", "exercise": None, "set": None, "side": None, "rep": None,
    }  # fmt: skip
    switch = next(e for e in events if e.get("sound") == "switch")
    assert (switch["exercise"], switch["set"], switch["side"]) == ("Bird-dog", 1, "right")
    counts = [(e["side"], e["rep"], e["text"]) for e in events if e["kind"] == "speech"
              and e["exercise"] == "Bird-dog" and e["rep"] is not None]  # fmt: skip
    assert counts[0] == ("left", 1, "One.") and counts[-1] == ("right", 2, "Two.")
    rest = next(e for e in events if e.get("sound") == "rest" and e["exercise"] == "Bird-dog")
    said = events[events.index(rest) + 1]
    assert said["text"] == "Rest, six seconds. Next up: Plank."
    assert (said["set"], said["side"], said["rep"]) == (None, None, None)  # no rep of Bird-dog
    (wait,) = [e for e in events if e["kind"] == "wait"]
    assert wait["text"] == "Press space when you're done." and wait["exercise"] == "Plank"
    assert wait["end"] - wait["t"] == pytest.approx(8.0, abs=1e-5)  # the estimate
    assert events[-1]["exercise"] is None and events[-1]["text"].startswith("Well done: ")


def test_json_times_are_where_the_rendered_audio_puts_them(
    run: Callable[..., Result], tmp_path: Path
) -> None:
    data = json.loads(run("audition", "short.yaml", "--json").stdout)
    result = run("render", "short.yaml", "-o", "short.wav")
    assert result.exit_code == 0, result.output
    audio, rate = decode(tmp_path / "short.wav")
    assert rate == data["sample_rate"]
    assert len(audio) == round(data["duration"] * rate)
    fake = FakeSpeech()
    cue_sounds = fake_sounds()
    for e in data["events"]:
        start, end = round(e["t"] * rate), round(e["end"] * rate)
        if e["kind"] == "wait":
            assert not audio[start:end].any(), e  # the estimate is silence
            continue
        source = cue_sounds[e["sound"]] if e["kind"] == "sound" else fake.clip(e["text"])
        assert end - start == len(source), e
        assert lag(audio, source, start, search=300) == 0, e
    # Outside the cues there is only silence.
    sounding = np.zeros(len(audio), dtype=bool)
    for e in data["events"]:
        if e["kind"] != "wait":
            sounding[round(e["t"] * rate) : round(e["end"] * rate)] = True
    assert not audio[~sounding].any()


# --- list ------------------------------------------------------------------------------------


def test_list_shows_every_bundled_routine(run: Callable[..., Result]) -> None:
    from voicecoach.routine import loader as routine

    result = run("list")
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert len(lines) == len(BUNDLED) == 8
    width = max(len(n) for n in BUNDLED)
    spoken = {"back-strength-de": "de", "back-strength-es": "es"}  # the rest: English
    for name, line in zip(BUNDLED, lines, strict=True):
        title = routine.load(name).title
        default = "  (default)" if name == "back-strength" else ""
        minutes, seconds = golden_length(name).split(":")  # mm:ss.s in the transcript
        whole = divmod(round(int(minutes) * 60 + float(seconds)), 60)
        length = "{}:{:02d}".format(*whole)  # m:ss in the listing
        language = spoken.get(name, "en")
        assert line == f"{name:<{width}}  {length:>7}  {language}  {title}{default}"


def test_list_shows_each_routines_language(
    run: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voicecoach.routine import resources

    folder = tmp_path / "scripts"
    folder.mkdir()
    texts = {
        "tea-gb": "title: Tea break\nlanguage: en-GB\nexercises: [{name: A, time: 5}]\n",
        "tea": "title: Plain tea\nexercises: [{name: A, time: 5}]\n",  # none: English
    }
    for name, text in texts.items():
        (folder / f"{name}.yaml").write_text(text)
    monkeypatch.setattr(resources, "scripts_dir", lambda: folder)
    result = run("list")
    assert (result.exit_code, result.stderr) == (0, "")
    # By name, a routine before its translations (the files' order is "tea-gb.yaml",
    # "tea.yaml"); the language as the loader stores it, in a column as wide as the
    # longest tag.
    plain, british = result.stdout.splitlines()
    assert re.fullmatch(r"tea     +\d+:\d\d  en     Plain tea", plain), plain
    assert re.fullmatch(r"tea-gb  +\d+:\d\d  en-gb  Tea break", british), british


def test_list_without_speech_still_lists(run: Callable[..., Result]) -> None:
    from voicecoach.errors import SpeechError

    def broken(voice: Voice) -> FakeSpeech:
        raise SpeechError("eSpeak NG is not installed")

    result = run("list", env=fake_env(speech=broken))
    assert result.exit_code == 0
    assert [line.split()[:2] for line in result.stdout.splitlines()] == [
        [name, "?"] for name in BUNDLED
    ]


# --- errors: one line, the right exit code --------------------------------------------------

NOT_FOUND = "Error: no routine file or bundled routine named '{}'{}; bundled: " + ", ".join(BUNDLED)


@pytest.mark.parametrize(
    "args",
    [["audition"], ["audition", "--json"], ["run"], ["render", "-o", "x.wav"], ["validate"]],
    ids=["audition", "audition-json", "run", "render", "validate"],
)
@pytest.mark.parametrize(
    ("ref", "hint"),
    [("nope", ""), ("back-strenght", " (did you mean 'back-strength'?)"), ("gone/x.yaml", "")],
)
def test_routine_not_found(
    run: Callable[..., Result], tmp_path: Path, args: list[str], ref: str, hint: str
) -> None:
    result = run(*args[:1], ref, *args[1:])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == NOT_FOUND.format(ref, hint) + "\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "short.yaml"]


def test_a_folder_is_not_a_routine(run: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    result = run("audition", "folder")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "Error: folder is a folder, not a routine file\n"


@pytest.mark.parametrize(
    "args",
    [["audition"], ["audition", "--json"], ["run"], ["render", "-o", "x.wav"]],
    ids=["audition", "audition-json", "run", "render"],
)
def test_invalid_routine_prints_each_problem_and_exits_1(
    run: Callable[..., Result], tmp_path: Path, args: list[str]
) -> None:
    result = run(*args[:1], "bad.yaml", *args[1:])
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", BAD_LINES)
    assert not (tmp_path / "x.wav").exists()


def test_missing_espeak_for_audition_is_one_line(tmp_path: Path) -> None:
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(NO_ESPEAK)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(shim), str(ROOT)]),
        "VOICECOACH_CACHE_DIR": str(tmp_path / "cache"),  # empty: speech is needed
    }
    proc = subprocess.run(
        [sys.executable, "-m", "voicecoach", "audition", "desk-break"],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "Error: eSpeak NG is not installed: install the libespeak-ng1 package "
        "(sudo apt-get install libespeak-ng1)\n"
    )


@pytest.mark.parametrize(
    ("args", "usage", "error"),
    [
        (["audition", "--bogus"], "audition [OPTIONS] [ROUTINE]", "No such option '--bogus'."),
        (["audition", "--rate", "10"], "audition [OPTIONS] [ROUTINE]",
         "Invalid value for '--rate': 10 is not in the range 80<=x<=400."),
        (["audition", "--rate", "fast"], "audition [OPTIONS] [ROUTINE]",
         "Invalid value for '--rate': 'fast' is not a valid integer range."),
        (["run", "--rate", "401"], "run [OPTIONS] [ROUTINE]",
         "Invalid value for '--rate': 401 is not in the range 80<=x<=400."),
        (["render", "--rate", "0", "-o", "x.wav"], "render [OPTIONS] [ROUTINE]...",
         "Invalid value for '--rate': 0 is not in the range 80<=x<=400."),
        (["audition", "--volume", "2"], "audition [OPTIONS] [ROUTINE]",
         "Invalid value for '--volume': 2.0 is not in the range 0.0<=x<=1.0."),
        (["audition", "--verbosity", "loud"], "audition [OPTIONS] [ROUTINE]",
         "Invalid value for '--verbosity': 'loud' is not one of 'full', 'normal', 'minimal'."),
        (["audition", "a.yaml", "b.yaml"], "audition [OPTIONS] [ROUTINE]",
         "Got unexpected extra argument (b.yaml)"),
        (["list", "extra"], "list [OPTIONS]", "Got unexpected extra argument (extra)"),
        (["schema", "--json"], "schema [OPTIONS]", "No such option '--json'."),
        (["lsit"], "[OPTIONS] COMMAND [ARGS]...", "No such command 'lsit'. Did you mean 'list'?"),
        (["--bogus"], "[OPTIONS] COMMAND [ARGS]...", "No such option '--bogus'."),
    ],
)  # fmt: skip
def test_bad_usage_exits_2(
    run: Callable[..., Result], args: list[str], usage: str, error: str
) -> None:
    result = run(*args)
    assert (result.exit_code, result.stdout) == (2, "")
    # One line: what is wrong and where the help is (the usage is in that help).
    path = "voicecoach" if usage.startswith("[") else f"voicecoach {usage.split()[0]}"
    end = "" if error.endswith((".", "?")) else "."
    assert result.stderr == f"Error: {error}{end} Try '{path} --help'.\n"


def test_no_command_shows_the_help() -> None:
    result = vc()
    assert result.exit_code in (0, 2)  # click 8.1: 0, click 8.2: 2
    assert "Usage: voicecoach [OPTIONS] COMMAND [ARGS]..." in result.output
    assert "Commands:" in result.output
