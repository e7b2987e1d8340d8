"""`voicecoach intervals`: a timer built in memory through the routine loader; it runs,
auditions, renders and saves like a routine file, and bad specs are one-line usage errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.fakes import FakeClock, RecordingOut, fake_env
from voicecoach.app.env import Env
from voicecoach.cli import cli
from voicecoach.core.timeline import to_samples
from voicecoach.errors import UsageError
from voicecoach.routine import intervals, loader


def vc(*args: str, env: Env | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="voicecoach", obj=env or fake_env())


# -- the spec ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "options", "expected"),
    [
        (["30s", "10s", "x8"], {}, intervals.Intervals(30, 10, 8)),
        (["x8", "30s", "10s"], {}, intervals.Intervals(30, 10, 8)),
        (["1m", "0:15", "X3"], {}, intervals.Intervals(60, 15, 3)),
        ([], {"work": "45s", "rest": "15s", "rounds": "4"}, intervals.Intervals(45, 15, 4)),
        (["45"], {"rounds": "x2", "name": " Plank ", "prepare": "20s"},
         intervals.Intervals(45, 10, 2, "Plank", 20)),  # rest: 10 s with rounds by default
        (["20s"], {}, intervals.Intervals(20, 0, 1)),
    ],
)  # fmt: skip
def test_the_spec_from_words_and_options(
    words: list[str], options: dict[str, str], expected: intervals.Intervals
) -> None:
    assert intervals.parse(words, **options) == expected


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["30x"], "'30x' is neither a time (30s, 1m30s, 0:45) nor a number of rounds (x8)"),
        (["30s", "x0"], "the rounds must be a whole number from 1 to 100, not 'x0'"),
        (["30s", "x101"], "the rounds must be a whole number from 1 to 100, not 'x101'"),
        (["30s", "x2.5"], "the rounds must be a whole number from 1 to 100, not 'x2.5'"),
        (["-30s", "10s"], "the work time cannot be negative: '-30s'"),
        (["30s", "-10s", "x8"], "the rest time cannot be negative: '-10s'"),
        (["0s", "10s", "x8"], "the work time must be longer than 0, not '0s'"),
        (["x8"], "intervals needs the work time"),
        (["30s", "10s", "5s"], "too many times: 30s 10s 5s"),
        (["30s", "x2", "x3"], "the rounds are given twice: x2 and x3"),
        (["5h"], "the work time '5h' is too long: at most 4h"),
    ],
)
def test_bad_specs_say_what_is_wrong(words: list[str], message: str) -> None:
    with pytest.raises(UsageError) as err:
        intervals.parse(words)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_value_given_twice_is_refused() -> None:
    with pytest.raises(UsageError, match="the work time is given twice: 30s and --work 20s"):
        intervals.parse(["30s"], work="20s")
    with pytest.raises(UsageError, match="--name cannot be empty"):
        intervals.parse(["30s"], name="  ")


# -- the routine -------------------------------------------------------------------------


def test_built_through_the_loader_as_one_timed_exercise_in_sets() -> None:
    spec = intervals.parse(["30s", "10s", "x8"], name='Plank: "side" #1', prepare="15s")
    routine = intervals.build(spec)
    assert routine == loader.load_text(intervals.to_yaml(spec), "intervals")
    assert routine.title == 'Plank: "side" #1 intervals'
    (exercise,) = routine.exercises
    assert (exercise.name, exercise.kind, exercise.time) == ('Plank: "side" #1', "timed", 30.0)
    assert (exercise.sets, exercise.set_rest, exercise.lead_in) == (8, 10.0, 15.0)


def test_what_the_loader_refuses_is_a_usage_error_without_a_file_position() -> None:
    # 100 rounds of 4 h: every value is in range, the session (24 h at most) is not.
    with pytest.raises(UsageError, match=r"^cannot make this timer: ") as err:
        intervals.build(intervals.parse(["4h", "x100"]))
    assert "intervals:" not in str(err.value)


def test_audition_has_exactly_the_rounds_work_and_rest() -> None:
    result = vc("intervals", "30s", "10s", "x8", "--audition", "--json")
    assert result.exit_code == 2  # --json is not an intervals option
    result = vc("intervals", "30s", "10s", "x8", "--name", "Plank", "--audition")
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Plank intervals — ")
    assert '"First: Plank."' in result.stdout
    assert '"Thirty seconds, eight sets."' in result.stdout
    assert '"Rest, ten seconds. Next: set eight of eight."' in result.stdout
    assert "set nine" not in result.stdout


def test_the_timeline_is_eight_times_thirty_seconds_with_ten_between() -> None:
    from tests.fakes import FakeSpeech, fake_sounds
    from voicecoach.app import session

    routine = intervals.build(intervals.parse(["30s", "10s", "x8"]))
    speech = FakeSpeech(lambda text: to_samples(0.06 * len(text)))  # eSpeak's pace, about
    timeline = session.prepare(routine, speech=speech, sounds=fake_sounds()).timeline
    assert timeline.warnings == ()
    starts = [e.start for e in timeline.events if e.kind == "sound" and e.text == "start"]
    releases = [e.start for e in timeline.events if e.kind == "sound" and e.text == "release"]
    rests = [e.start for e in timeline.events if e.kind == "sound" and e.text == "rest"]
    assert len(starts) == len(releases) == 8
    assert len(rests) == 7  # none after the last round
    assert [r - s for s, r in zip(starts, releases, strict=True)] == [to_samples(30)] * 8
    assert [s - r for r, s in zip(rests, starts[1:], strict=True)] == [to_samples(10)] * 7


# -- the command -------------------------------------------------------------------------


def test_save_writes_a_routine_file_that_validates(tmp_path: Path) -> None:
    target = tmp_path / "hiit.yaml"
    result = vc("intervals", "30s", "10s", "x8", "--name", "Plank: side", "--save", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Wrote {target} (run it with `voicecoach run {target}`)\n"
    assert list(tmp_path.iterdir()) == [target]  # no temporary left behind
    text = target.read_text(encoding="utf-8")
    assert text == intervals.to_yaml(intervals.parse(["30s", "10s", "x8"], name="Plank: side"))
    assert text.startswith("# 8 x 30s work, 10s rest: made by voicecoach intervals 30s 10s x8")
    validated = vc("validate", str(target))
    assert (validated.exit_code, validated.stdout) == (0, f"{target}: ok\n")
    saved = loader.load(str(target))
    built = intervals.build(intervals.parse(["30s", "10s", "x8"], name="Plank: side"))
    assert saved.digest == built.digest  # the history counts them as one routine
    assert saved.exercises == built.exercises


def test_save_into_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    result = vc("intervals", "30s", "--save", str(tmp_path / "no" / "hiit.yaml"))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize(
    "args",
    [["30x"], ["30s", "x0"], ["30s", "-10s", "x8"], ["--work", "-5s"], ["--rounds", "0", "1m"],
     [], ["30s", "--audition", "--render", "x.wav"], ["30s", "--play", "--skim", "--audition"]],
)  # fmt: skip
def test_bad_specs_exit_2_with_one_line(args: list[str]) -> None:
    result = vc("intervals", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1


def test_render_writes_the_timer(tmp_path: Path) -> None:
    import soundfile

    out = tmp_path / "hiit.wav"
    result = vc("intervals", "20s", "10s", "x2", "--render", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Wrote {out} (")
    info = soundfile.info(str(out))
    assert info.duration > 20 + 10 + 20  # two rounds and the rest between


def test_runs_live_without_touching_the_last_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Live like `run` (output, history), but it has no file to resume: the last run's
    record is neither read nor written (fake_env fails the test if it is)."""
    from voicecoach.adapters.recorder import BackgroundRecorder
    from voicecoach.adapters.store import load_sessions

    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))
    out = RecordingOut(FakeClock())

    @contextlib.contextmanager
    def no_terminal() -> Iterator[None]:
        yield None

    env = fake_env(
        output=lambda: out,
        keys=no_terminal,
        status=lambda: None,
        recorder=BackgroundRecorder,
        quick_level=lambda clip: clip,
    )
    result = vc("intervals", "20s", "10s", "x2", "--name", "Plank", env=env)
    assert result.exit_code == 0, result.output
    assert result.stderr == "Preparing your session…\n"
    assert all(p.stopped is None for p in out.plays)  # played to the end
    heard = sum(p.heard for p in out.plays) / 22050
    assert heard > 10 + 20 + 10 + 20  # get ready, two rounds and the rest between
    (session,) = load_sessions(details=True)
    assert session.completed and session.routine_name == "intervals"
    assert session.title == "Plank intervals"


def test_the_documented_file_is_what_save_writes() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "routines.md").read_text(encoding="utf-8")
    assert intervals.to_yaml(intervals.parse(["30s", "10s", "x8"])) in docs


@pytest.mark.parametrize(("language", "label"), [("es", "Preparando tu sesión"), (None, None)])
def test_the_bar_says_preparing_in_the_coachs_language(
    tmp_path: Path, language: str | None, label: str | None
) -> None:
    labels: list[str] = []

    @contextlib.contextmanager
    def bar(text: str) -> Iterator[None]:
        labels.append(text)
        yield None

    args = ["intervals", "20s", "10s", "x2", "--audition"]
    result = vc(
        *args, *(["--language", language] if language else []), env=fake_env(progress_bar=bar)
    )
    assert result.exit_code == 0, result.output
    assert labels == [label or "Preparing your session"]
