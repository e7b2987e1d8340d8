"""The routine loader: every feature of the format maps to the right model values."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from tests.fakes import compile_with
from voicecoach.core.model import Block, Exercise, Lines, Phase, Pos, Routine, Voice
from voicecoach.errors import RoutineError, RoutineNotFound, VoicecoachError
from voicecoach.routine import languages, resources
from voicecoach.routine.exercise import Defaults
from voicecoach.routine.loader import load, load_text, nominal_length, resolve


def routine(text: str, path: str = "test.yaml") -> Routine:
    return load_text(text, path)


def one(text: str) -> Exercise:
    """The only exercise of a routine made of ``text`` (an exercise's keys)."""
    body = "\n".join("    " + line for line in text.strip("\n").splitlines())
    loaded = routine(f"title: T\nexercises:\n  -\n{body}\n")
    assert len(loaded.exercises) == 1
    return loaded.exercises[0]


def problems(text: str, path: str = "test.yaml") -> list[str]:
    with pytest.raises(RoutineError) as info:
        load_text(text, path)
    return str(info.value).splitlines()


# --- the whole routine ---------------------------------------------------------------


def test_minimal_routine_gets_one_main_block_and_model_defaults() -> None:
    loaded = routine("title: Quick\nexercises:\n  - name: Bridge\n    reps: 10\n", "x/quick.yaml")
    assert loaded.title == "Quick"
    assert loaded.name == "quick"
    assert loaded.path == "x/quick.yaml"
    assert loaded.description is loaded.source is loaded.safety is None
    assert loaded.voice == Voice()
    assert loaded.sounds == ()
    (block,) = loaded.blocks
    assert (block.name, block.pos, block.rounds, block.round_rest) == ("Main", Pos(2, 1), 1, 30.0)
    bridge = block.exercises[0]
    # Every value not in the file is the model's own default.
    expected = Exercise(name="Bridge", pos=Pos(3, 5), kind="reps", reps=10,
                        phases=(Phase(2.0), Phase(2.0)))  # fmt: skip
    assert bridge == expected


def test_defaults_mirror_the_model() -> None:
    ex = {f.name: f.default for f in dataclasses.fields(Exercise)}
    block = {f.name: f.default for f in dataclasses.fields(Block)}
    d = Defaults()
    assert (d.rest, d.lead_in, d.set_rest, d.switch, d.verbosity, d.count) == (
        ex["rest"], ex["lead_in"], ex["set_rest"], ex["switch"], ex["verbosity"], ex["count"]
    )  # fmt: skip
    assert d.round_rest == block["round_rest"]


def test_digest_is_the_sha256_of_the_bytes_and_text_is_stripped() -> None:
    text = "title: '  Spaced  '\ndescription: |\n  Two\n  lines.\nexercises: [{name: A, time: 5}]\n"
    loaded = routine(text)
    assert loaded.digest == hashlib.sha256(text.encode()).hexdigest()
    assert loaded.title == "Spaced"
    assert loaded.description == "Two\nlines."
    assert load_text(text.encode(), "test.yaml") == loaded


def test_top_level_texts_and_voice() -> None:
    loaded = routine(
        "title: T\ndescription: D\nsource: seeds/002\nsafety: Stop if it hurts.\n"
        "voice: {language: en-gb, rate: 150, volume: 0.5}\nexercises: [{name: A, time: 5}]\n"
    )
    assert (loaded.description, loaded.source, loaded.safety) == (
        "D",
        "seeds/002",
        "Stop if it hurts.",
    )
    assert loaded.voice == Voice(voice="en-gb", rate=150, volume=0.5, language="en-gb")


def test_the_top_level_language_sets_the_voice_unless_the_voice_names_its_own() -> None:
    plain = "title: T\nlanguage: EN_gb\nexercises: [{name: A, time: 5}]\n"
    loaded = routine(plain)
    assert loaded.language == "en-gb"  # stored as BCP 47 in lower case
    assert loaded.voice == Voice(voice="en-gb", language="en-gb")  # eSpeak's voice for it
    own = plain.replace("exercises", "voice: {voice: gmw/en-us, rate: 150}\nexercises")
    assert routine(own).voice == Voice(voice="gmw/en-us", rate=150, language="en-gb")
    voices = plain.replace("exercises", "voice: {language: en-us}\nexercises")
    assert routine(voices).voice == Voice(voice="en-us", language="en-us")
    assert routine("title: T\nexercises: [{name: A, time: 5}]\n").language is None


def test_a_language_without_a_catalogue_is_an_error_listing_the_ones_there_are() -> None:
    with pytest.raises(RoutineError) as caught:
        routine("title: T\nlanguage: eng\nexercises: [{name: A, time: 5}]\n")
    assert str(caught.value) == (
        'test.yaml:2:11: no coaching in language "eng" '
        f'(there is: {", ".join(languages.available())}); did you mean "en"?'
    )
    with pytest.raises(RoutineError) as caught:
        routine("title: T\nlanguage: xx\nexercises: [{name: A, time: 5}]\n")
    assert str(caught.value) == (
        'test.yaml:2:11: no coaching in language "xx" '
        f"(there is: {', '.join(languages.available())})"
    )


def test_a_language_tag_with_a_newline_is_named_on_one_line() -> None:
    """Found by the loader's fuzzing: YAML's "de\\nx" gave a two-line error."""
    with pytest.raises(RoutineError) as caught:
        routine('title: T\nlanguage: "de\\nx"\nexercises: [{name: A, time: 5}]\n')
    assert str(caught.value) == (
        'test.yaml:2:11: "de\\nx" is not a language tag such as de, en-gb or pt-br'
    )


def test_voice_id_wins_over_language() -> None:
    loaded = routine(
        "title: T\nvoice: {voice: gmw/en-us, language: en-gb}\nexercises: [{name: A, time: 5}]\n"
    )
    assert loaded.voice == Voice(voice="gmw/en-us", language="en-gb")


def test_blocks_rounds_and_round_rest_inheritance() -> None:
    loaded = routine(
        """title: T
defaults: {round_rest: 45s}
blocks:
  - name: Warm-up
    exercises: [{name: March, time: 30s}]
  - name: Main
    rounds: 3
    round_rest: 1m
    exercises:
      - {name: Bridge, reps: 10}
      - {name: Bird-dog, reps: 8}
"""
    )
    warm, main = loaded.blocks
    assert (warm.name, warm.rounds, warm.round_rest, warm.pos) == ("Warm-up", 1, 45.0, Pos(4, 5))
    assert (main.name, main.rounds, main.round_rest) == ("Main", 3, 60.0)
    assert [e.name for e in loaded.exercises] == ["March", "Bridge", "Bird-dog"]
    assert main.exercises[1].pos == Pos(11, 9)


def test_defaults_are_inherited_and_overridden() -> None:
    loaded = routine(
        """title: T
defaults:
  rest: 30s
  lead_in: 5s
  set_rest: 1m
  switch: 3s
  tempo: [1s, 3s]
  verbosity: minimal
  count: false
exercises:
  - {name: A, reps: 5}
  - {name: B, reps: 5, rest: 0, lead_in: 2, set_rest: 10, switch: 1, tempo: [2s],
     verbosity: full, count: true}
"""
    )
    a, b = loaded.exercises
    assert (a.rest, a.lead_in, a.set_rest, a.switch, a.verbosity, a.count) == (
        30.0, 5.0, 60.0, 3.0, "minimal", False
    )  # fmt: skip
    assert a.phases == (Phase(1.0), Phase(3.0))
    assert (b.rest, b.lead_in, b.set_rest, b.switch, b.verbosity, b.count) == (
        0.0, 2.0, 10.0, 1.0, "full", True
    )  # fmt: skip
    assert b.phases == (Phase(2.0),)


@pytest.mark.parametrize(
    ("written", "seconds"),
    [("45", 45.0), ("1.5", 1.5), ("'30s'", 30.0), ("1m30s", 90.0), ("1:30", 90.0),
     ("0:45", 45.0), ("1:02:03", 3723.0), ("2h", 7200.0), ("'90'", 90.0), ("1m 5s", 65.0)],
)  # fmt: skip
def test_durations_in_every_form(written: str, seconds: float) -> None:
    assert one(f"name: A\ntime: {written}").time == seconds


# --- kinds ---------------------------------------------------------------------------


def test_reps_with_tempo_breathing_sets_and_hold() -> None:
    ex = one(
        "name: Bridge\nreps: 12\nsets: 3\nset_rest: 40s\ntempo: [2s, 1, 3s]\n"
        "breathing: [out, null, in]\nhold: 5s\nhold_after: 2"
    )
    assert (ex.kind, ex.reps, ex.sets, ex.set_rest) == ("reps", 12, 3, 40.0)
    assert ex.phases == (Phase(2.0, "out"), Phase(1.0, None), Phase(3.0, "in"))
    assert (ex.hold, ex.hold_after) == (5.0, 1)  # hold_after is 1-based in the file
    assert not ex.manual


def test_moves_name_each_tempo_phase() -> None:
    ex = one("name: Crunch\nreps: 12\ntempo: [2s, 1s, 3s]\nbreathing: [out, null, in]\n"
             "moves: [curl up, null, lower]")  # fmt: skip
    assert ex.phases == (Phase(2.0, "out", "curl up"), Phase(1.0), Phase(3.0, "in", "lower"))
    # With the default tempo (two phases) too.
    assert one("name: Bridge\nreps: 5\nmoves: [up, down]").phases == (
        Phase(2.0, None, "up"), Phase(2.0, None, "down"),
    )  # fmt: skip


def test_an_unknown_variable_with_a_line_break_is_one_line() -> None:
    text = 'title: T\nexercises:\n  - name: B\n    reps: 2\n    say: {start: "{\\nreps}"}\n'
    (problem,) = problems(text)
    assert "\n" not in problem and "unknown variable {\\nreps}" in problem, problem


def test_moves_problems() -> None:
    start = "title: T\nexercises:\n  - name: Bridge\n"
    assert problems(start + "    reps: 5\n    tempo: [2s, 2s]\n    moves: [up]\n") == [
        "test.yaml:6:12: moves has 1 entry but the tempo has 2 phases"
    ]
    assert problems(start + "    reps: 5\n    moves: [up, 3]\n") == [
        "test.yaml:5:17: moves must be text, not 3 (put it in quotes)"
    ]
    assert problems(start + "    reps: 5\n    phases: [{time: 2s}]\n    moves: [up]\n") == [
        "test.yaml:6:5: moves cannot be used with phases: give each phase its own"
    ]
    assert problems(start + "    time: 30s\n    moves: [up]\n") == [
        "test.yaml:5:5: moves only applies to exercises with reps"
    ]


def test_hold_after_defaults_to_the_first_phase() -> None:
    ex = one("name: Leg lift\nreps: 10\nhold: 5s")
    assert (ex.hold, ex.hold_after) == (5.0, 0)


def test_phases_long_form() -> None:
    ex = one(
        "name: Cat-cow\nreps: 6\nphases:\n  - {time: 3s, breath: in, say: arch}\n"
        "  - time: 4s\n    breath: out\n    say: round\n  - {time: 1s}"
    )
    assert ex.phases == (Phase(3.0, "in", "arch"), Phase(4.0, "out", "round"), Phase(1.0))


def test_timed_and_hold_kinds() -> None:
    timed = one("name: March\ntime: 30s\ncue: Lift your knees.\nsetup: Stand tall.")
    assert (timed.kind, timed.time, timed.phases, timed.reps) == ("timed", 30.0, (), 0)
    assert (timed.cue, timed.setup) == ("Lift your knees.", "Stand tall.")
    hold = one("name: Figure 4\nhold: 45s")
    assert (hold.kind, hold.hold, hold.phases) == ("hold", 45.0, ())


def test_breaths_become_phases() -> None:
    ex = one("name: Deep breaths\nbreaths: 5\ninhale: 3s\nhold_breath: 2s\nexhale: 5s")
    assert (ex.kind, ex.reps) == ("breaths", 5)
    assert ex.phases == (Phase(3.0, "in"), Phase(2.0, "hold"), Phase(5.0, "out"))
    plain = one("name: Deep breaths\nbreaths: 5")
    assert plain.phases == (Phase(4.0, "in"), Phase(6.0, "out"))


def test_manual_estimate_defaults_to_reps_times_tempo_sets_and_sides() -> None:
    ex = one(
        "name: Bird-dog\nreps: 10\nmanual: true\ntempo: [2s, 1s]\nhold: 3s\nsets: 2\nsides: both"
    )
    assert ex.manual
    assert ex.estimate == 10 * (2 + 1 + 3) * 2 * 2
    given = one("name: Bird-dog\nreps: 10\nmanual: true\nestimate: 2m")
    assert given.estimate == 120.0


@pytest.mark.parametrize(
    ("written", "mode", "sides"),
    [("both", "each", ("left", "right")), ("[left, right]", "each", ("left", "right")),
     ("[right, left]", "each", ("right", "left")), ("alternate", "alternate", ("left", "right")),
     ("left", "each", ("left",)), ("right", "each", ("right",))],
)  # fmt: skip
def test_sides(written: str, mode: str, sides: tuple[str, ...]) -> None:
    ex = one(f"name: Side plank\nreps: 5\nswitch: 8s\nsides: {written}")
    assert (ex.side_mode, ex.sides, ex.switch) == (mode, sides, 8.0)
    assert one("name: Bridge\nreps: 5").side_mode == "none"


@pytest.mark.parametrize("side", ["left", "right"])
def test_one_side_only_is_worked_once_without_a_switch(side: str) -> None:
    text = f"title: T\nexercises:\n  - {{name: Lunge, reps: 2, sets: 2, sides: {side}}}\n"
    loaded = routine(text)
    both = routine(text.replace(f"sides: {side}", "sides: both"))
    ex = loaded.exercises[0]
    switch = both.exercises[0].switch * 2  # a switch in each of the two sets
    assert nominal_length(loaded) == nominal_length(both) - switch - 2 * 2 * (2 + 2)
    timeline = compile_with(loaded)
    spoken = [e.text for e in timeline.events if e.kind == "speech"]
    sounds = [e.text for e in timeline.events if e.kind == "sound"]
    assert "switch" not in sounds
    assert {e.side for e in timeline.events if e.rep is not None} == {side}
    assert f"Two reps on the {side} side only, two sets." in spoken
    assert f"{side.capitalize()} side only." in spoken
    assert f"{side.capitalize()} side first." not in spoken
    assert not [line for line in spoken if "each side" in line]
    assert ex.sides == (side,)


def test_custom_lines() -> None:
    ex = one(
        "name: Bridge\nreps: 5\nsay:\n  intro: '{exercise}: {reps} reps, {sets} sets'\n"
        "  start: Go!\n  rep: '{rep}'\n  halfway: Half way, {seconds} seconds\n"
        "  last: 'Last one on the {side} side'\n  end: 'Done with set {set}. {{braces}}'"
    )
    assert ex.lines == Lines(
        intro="{exercise}: {reps} reps, {sets} sets", start="Go!", rep="{rep}",
        halfway="Half way, {seconds} seconds", last="Last one on the {side} side",
        end="Done with set {set}. {{braces}}",
    )  # fmt: skip
    assert ex.lines.end is not None
    assert ex.lines.end.format(set=2) == "Done with set 2. {braces}"


def test_sounds_resolve_relative_to_the_routine(tmp_path: Path) -> None:
    (tmp_path / "cues").mkdir()
    (tmp_path / "cues" / "bell.WAV").write_bytes(b"RIFF")
    (tmp_path / "tick.ogg").write_bytes(b"OggS")
    path = tmp_path / "r.yaml"
    sounds = "sounds:\n  start: cues/bell.WAV\n  tick: tick.ogg\n"
    path.write_text(f"title: T\n{sounds}exercises: [{{name: A, time: 5}}]\n")
    loaded = load(str(path))
    assert loaded.sounds == (
        ("start", str((tmp_path / "cues" / "bell.WAV").resolve())),
        ("tick", str((tmp_path / "tick.ogg").resolve())),
    )


# --- YAML features -------------------------------------------------------------------


def test_anchors_aliases_and_merge_keys() -> None:
    loaded = routine(
        """title: T
exercises:
  - &bridge {name: Bridge, reps: 10, sets: 2, rest: 30s}
  - *bridge
  - <<: *bridge
    name: Bridge, slower
    tempo: [3s, 3s]
  - {<<: [{sets: 4}, *bridge], name: "Bridge, more sets"}
"""
    )
    a, b, c, d = loaded.exercises
    assert a == b
    assert (c.name, c.reps, c.sets, c.rest, c.phases) == ("Bridge, slower", 10, 2, 30.0,
                                                          (Phase(3.0), Phase(3.0)))  # fmt: skip
    assert (d.name, d.sets) == ("Bridge, more sets", 4)  # earlier merge sources win


def test_crlf_bom_and_positions() -> None:
    text = "\ufefftitle: T\r\nexercises:\r\n  - name: A\r\n    reps: 0\r\n"
    assert problems(text) == ["test.yaml:4:11: reps must be a whole number from 1 to 1000, not 0"]
    assert routine(text.replace("reps: 0", "reps: 1")).exercises[0].pos == Pos(3, 5)


def test_nominal_length() -> None:
    loaded = routine(
        """title: T
blocks:
  - name: Main
    rounds: 2
    round_rest: 40s
    exercises:
      - {name: A, reps: 3, tempo: [1s, 1s], hold: 2s, sets: 2, set_rest: 10s, sides: both,
         switch: 5s, lead_in: 4s, rest: 6s}
      - {name: B, time: 30s, lead_in: 0, rest: 0}
"""
    )
    a = 4 + 2 * 2 * 3 * (1 + 1 + 2) + 10 + 2 * 5 + 6
    assert nominal_length(loaded) == 2 * (a + 30) + 40


# --- problems --------------------------------------------------------------------------


def test_all_problems_at_once_sorted_and_an_alias_reported_once() -> None:
    text = """title: T
exercises:
  - &a {name: A, reps: 0}
  - *a
  - *a
  - {name: B, time: soon, colour: red}
"""
    assert problems(text, "my routine.yaml") == [
        "my routine.yaml:3:24: reps must be a whole number from 1 to 1000, not 0",
        "my routine.yaml:6:21: time must be a duration like 30, '30s', '1m30s' or '0:45', "
        "not 'soon'",
        "my routine.yaml:6:27: unknown key 'colour' in an exercise",
    ]


def test_routine_error_holds_problems() -> None:
    with pytest.raises(RoutineError) as info:
        load_text("title: T\nexercises: []\n", "r.yaml")
    (problem,) = info.value.problems
    assert (problem.path, problem.line, problem.column) == ("r.yaml", 2, 12)
    assert problem.message == "exercises must not be empty"
    assert info.value.exit_code == 1


def test_lone_surrogate_text_is_an_error_not_a_crash() -> None:
    assert problems("title: a\ud800b\n") == [
        "test.yaml:1:9: character U+D800 is not allowed in a YAML file"
    ]


# --- resolve and load ------------------------------------------------------------------


@pytest.fixture
def bundled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    folder = tmp_path / "scripts"
    folder.mkdir()
    names = {}
    for name in ("back-strength", "desk-break"):
        names[name] = folder / f"{name}.yaml"
        names[name].write_text(f"title: {name}\nexercises: [{{name: A, time: 5}}]\n")
    monkeypatch.setattr(resources, "bundled_routines", lambda: dict(names))
    return names


def test_resolve_prefers_an_existing_path(
    bundled: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("desk-break").write_text("title: local\nexercises: [{name: A, time: 5}]\n")
    assert resolve("desk-break") == Path("desk-break")
    loaded = load("desk-break")
    assert (loaded.title, loaded.path, loaded.name) == ("local", "desk-break", "desk-break")


def test_resolve_and_load_a_bundled_name(bundled: dict[str, Path]) -> None:
    assert resolve("back-strength") == bundled["back-strength"]
    assert resolve("back-strength.yaml") == bundled["back-strength"]
    loaded = load("back-strength")
    assert (loaded.name, loaded.path) == ("back-strength", str(bundled["back-strength"]))


def test_unknown_routine_lists_the_bundled_names(bundled: dict[str, Path]) -> None:
    with pytest.raises(RoutineNotFound) as info:
        resolve("back-strenght")
    assert str(info.value) == (
        "no routine file or bundled routine named 'back-strenght' (did you mean "
        "'back-strength'?); bundled: back-strength, desk-break"
    )
    with pytest.raises(RoutineNotFound) as info:
        load("zzz")
    assert str(info.value) == (
        "no routine file or bundled routine named 'zzz'; bundled: back-strength, desk-break"
    )
    assert isinstance(info.value, VoicecoachError)


def test_a_folder_is_not_a_routine(bundled: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(RoutineNotFound) as info:
        resolve(str(tmp_path))
    assert str(info.value) == f"{tmp_path} is a folder, not a routine file"


@pytest.mark.parametrize("ref", ["x" * 5000, "a\x00b"])
def test_impossible_file_names_are_not_found(bundled: dict[str, Path], ref: str) -> None:
    with pytest.raises(RoutineNotFound):
        load(ref)


def test_real_bundled_routines_all_load() -> None:
    routines = resources.bundled_routines()
    assert resources.DEFAULT_ROUTINE in routines
    for name in routines:
        loaded = load(name)
        assert loaded.name == name
        assert loaded.safety and loaded.source
        assert nominal_length(loaded) > 0
