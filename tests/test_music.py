"""Music under the coach: the files read (formats, folders, bad files, the cache), the
ducking envelope, and rendered sessions measured from the output alone (the bed's level
in gaps, the depth and timing of the ducks, loudness and peaks, cues at their samples).

The "music" is made here: a 3150 Hz tone (no fake speech or sound comes near it, so
its amplitude is read with a lock-in at that frequency under speech too), chords and
noise, a few seconds each, written into the test's folder."""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf
from click.testing import CliRunner

from tests.fakes import SHORT_ROUTINE, FakeSpeech, fake_env, fake_sounds
from voicecoach.adapters import music as music_mod
from voicecoach.adapters.files import AudioFiles
from voicecoach.app import render
from voicecoach.app import session as session_mod
from voicecoach.app.session import Session
from voicecoach.audio import duck
from voicecoach.audio.meter import integrated_loudness, true_peak_dbfs
from voicecoach.audio.mix import Music
from voicecoach.cli import cli
from voicecoach.core.timeline import SAMPLE_RATE
from voicecoach.routine import loader

FILES = AudioFiles()
RATE = SAMPLE_RATE
FREQ = 3150.0
Floats = npt.NDArray[np.float64]


def write_tone(path: Path, seconds: float = 150.0, rate: int = 44100, **kw: str) -> Path:
    """Longer than the test session: a tone crossfaded into itself beats (real music,
    uncorrelated across a join, does not)."""
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * FREQ * t)
    sf.write(str(path), np.stack([x, x], axis=1), rate, **kw)
    return path


def write_chord(path: Path, seconds: float = 5.0, rate: int = 44100, **kw: str) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    x = sum(0.15 * np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63))
    sf.write(str(path), x, rate, **kw)
    return path


def write_noise(path: Path, seconds: float, seed: int) -> Path:
    x = np.random.default_rng(seed).normal(0, 0.1, int(seconds * 32000))
    sf.write(str(path), x, 32000)
    return path


def amplitude(x: Floats, at: int, width: int = 220) -> float:
    """The 3150 Hz tone's amplitude (dBFS) in ``width`` samples centred on ``at``."""
    seg = x[at - width // 2 : at + width // 2]
    t = np.arange(at - width // 2, at + width // 2) / RATE
    i = np.mean(seg * np.sin(2 * np.pi * FREQ * t))
    q = np.mean(seg * np.cos(2 * np.pi * FREQ * t))
    return 20 * math.log10(2 * math.hypot(i, q) + 1e-12)


def read_wav(path: Path) -> Floats:
    data, rate = sf.read(str(path), dtype="float64")
    assert rate == RATE
    out: Floats = data
    return out


def bed(
    cache: Path | None = None, warned: list[str] | None = None
) -> Callable[[Path, int, bool], music_mod.MusicBed]:
    def make(p: Path, rate: int, shuffle: bool) -> music_mod.MusicBed:
        warn = warned.append if warned is not None else None
        return music_mod.open_music(p, rate, shuffle, warn=warn, cache=cache)

    return make


# The short routine without its manual plank (20 s of nothing but the bed): coached as
# densely as a real session. A session mostly silent is measured below its target with
# music (the bed's blocks pass BS.1770's relative gate): with the plank, -15.6 -> -17.9.
DENSE = SHORT_ROUTINE.split("  - name: Plank")[0]


@pytest.fixture
def session() -> Session:
    return session_mod.prepare(
        loader.load_text(DENSE, "short.yaml"), speech=FakeSpeech(), sounds=fake_sounds()
    )


# -- the ducking envelope ----------------------------------------------------------------


def test_duck_regions_merge_when_ramps_would_touch(session: Session) -> None:
    regions = duck.duck_regions(session.timeline)
    cues = [(e.start, e.end) for e in session.timeline.events if e.kind != "wait"]
    gap = round(duck.ATTACK * RATE) + round(duck.RELEASE * RATE)
    for (_, e1), (s2, _) in itertools.pairwise(regions):
        assert s2 - e1 > gap  # merged otherwise
    for s, e in cues:  # every cue inside one region
        assert any(rs <= s and e <= re for rs, re in regions)


def test_duck_gain_ramps_and_depth() -> None:
    env = duck.DuckEnvelope(((RATE * 2, RATE * 3),), RATE)
    g = 20 * np.log10(env.gain(0, RATE * 5))
    a, r = round(0.15 * RATE), round(0.5 * RATE)
    assert g[RATE * 2 - a - 1] == 0.0 and g[RATE * 2 - a + 10] < 0
    assert g[RATE * 2 - a // 2] == pytest.approx(-duck.DEPTH_DB / 2, abs=0.1)
    assert np.all(g[RATE * 2 : RATE * 3] <= -10)
    assert g[RATE * 3 + r // 2] == pytest.approx(-duck.DEPTH_DB / 2, abs=0.1)
    assert g[RATE * 3 + r] == 0.0
    # Any piece of the span gives the same gains (a pure function of the position).
    assert np.array_equal(
        env.gain(RATE * 2 - 1000, RATE * 3 + 77),
        env.gain(0, RATE * 5)[RATE * 2 - 1000 : RATE * 3 + 77],
    )


# -- reading music files -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("a.wav", {}),
        ("a.flac", {}),
        ("a.ogg", {"format": "OGG", "subtype": "VORBIS"}),
        ("a.opus", {"format": "OGG", "subtype": "OPUS"}),
        ("a.mp3", {"format": "MP3"}),
    ],
)
def test_formats_are_read_resampled_and_levelled(
    tmp_path: Path, name: str, kw: dict[str, str]
) -> None:
    rate = 48000 if name.endswith(".opus") else 44100
    path = write_chord(tmp_path / name, rate=rate, **kw)
    src = music_mod.open_music(path, RATE)
    x = src.samples(0, 4 * RATE)
    assert x.size == 4 * RATE and x.dtype == np.float32
    # At TARGET_LUFS (the mixer sets the bed's level on top); lossy codecs within 1 LU.
    assert integrated_loudness(x[RATE // 2 : 3 * RATE], RATE) == pytest.approx(-16.0, abs=1.0)


def test_a_folder_plays_in_name_order_and_skips_bad_files(tmp_path: Path) -> None:
    write_chord(tmp_path / "B.flac")
    write_chord(tmp_path / "a.wav")
    (tmp_path / "c.mp3").write_bytes(b"not audio at all")
    (tmp_path / "cover.jpg").write_bytes(b"\xff\xd8")
    warnings: list[str] = []
    src = music_mod.open_music(tmp_path, RATE, warn=warnings.append)
    assert src.names == ("a.wav", "B.flac")
    assert len(warnings) == 1 and "c.mp3" in warnings[0] and "skipped" in warnings[0]
    shuffled = {music_mod.open_music(tmp_path, RATE, True, seed=s).names for s in range(8)}
    assert shuffled == {("a.wav", "B.flac"), ("B.flac", "a.wav")}


def test_a_bad_file_is_one_line_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "song.mp3"
    bad.write_bytes(b"\x00" * 100)
    for path in (bad, tmp_path / "missing.flac"):
        with pytest.raises(music_mod.MusicError) as err:
            music_mod.open_music(path, RATE)
        assert str(path) in str(err.value) and "\n" not in str(err.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(music_mod.MusicError, match="no playable audio"):
        music_mod.open_music(empty, RATE)


def test_tracks_loop_with_a_crossfade_and_no_gap(tmp_path: Path) -> None:
    write_noise(tmp_path / "1.wav", 3.0, 1)
    write_noise(tmp_path / "2.wav", 4.0, 2)
    x = music_mod.open_music(tmp_path, RATE).samples(0, 20 * RATE).astype(np.float64)
    win = RATE // 10
    rms = 20 * np.log10(np.sqrt(np.mean(x[: x.size // win * win].reshape(-1, win) ** 2, axis=1)))
    assert rms.max() - rms.min() < 2.0  # no hole, no bump where tracks meet


def test_position_is_a_function_of_the_sample_and_the_cache_changes_nothing(tmp_path: Path) -> None:
    path = write_chord(tmp_path / "c.flac", seconds=6.0)
    cache = tmp_path / "cache"
    cold = music_mod.open_music(path, RATE, cache=cache).samples(0, 15 * RATE)
    assert len(list(cache.glob("*.pcm"))) == 1  # written as it played
    assert len(list(cache.glob("*.lufs"))) == 1  # its loudness, measured once
    warm_src = music_mod.open_music(path, RATE, cache=cache)
    assert np.array_equal(warm_src.samples(0, 15 * RATE), cold)
    # Jumps (a skip, a back, a split track's thread) give the same samples.
    for a, b in [(9 * RATE + 17, 10 * RATE), (RATE, 2 * RATE), (5 * RATE, 7 * RATE)]:
        assert np.array_equal(warm_src.samples(a, b), cold[a:b])
    # Uncached, a jump restarts the resampler ahead of the position: the same samples
    # to the last bit of rounding, from the jump's first sample on.
    uncached = music_mod.open_music(path, RATE)
    for a, b in [(9 * RATE + 17, 10 * RATE), (RATE + 3, 2 * RATE), (5 * RATE, 7 * RATE)]:
        np.testing.assert_allclose(uncached.samples(a, b), cold[a:b], rtol=0, atol=1.5 / 32768)


# -- rendered sessions, measured from the output -----------------------------------------


def render_wav(session: Session, path: Path) -> Floats:
    render.render_session(session, path, files=FILES)
    return read_wav(path)


def test_rendered_music_bed_level_ducks_and_ramps(session: Session, tmp_path: Path) -> None:
    tone = write_tone(tmp_path / "tone.wav")
    plain = render_wav(session, tmp_path / "plain.wav")
    src = music_mod.open_music(tone, RATE)
    with_music = session_mod.with_music(session, Music(src))
    mixed = render_wav(with_music, tmp_path / "music.wav")
    assert mixed.size == plain.size
    regions = duck.duck_regions(session.timeline)
    a, r = round(duck.ATTACK * RATE), round(duck.RELEASE * RATE)
    # The whole mix (speech and bed) takes the make-up gain that keeps the file at the
    # target: this dense session reads -15.6 LUFS without music, so about -0.4 dB.
    makeup = with_music.mixer.makeup_db
    assert abs(makeup) < 1.0
    full = 20 * math.log10(0.3 * src._tracks[0].gain * duck.bed_gain()) + makeup  # the bed

    # The bed's loudness in the gaps: 12 LU under the -16 LUFS target (and made up).
    gaps = [(e1 + r, s2 - a) for (_, e1), (s2, _) in itertools.pairwise(regions)]
    gap = max(gaps, key=lambda g: g[1] - g[0])
    assert gap[1] - gap[0] > RATE
    bed_lufs = integrated_loudness(mixed[gap[0] : gap[1]], RATE)
    assert bed_lufs == pytest.approx(-28.0 + makeup, abs=0.5)
    assert amplitude(mixed, (gap[0] + gap[1]) // 2) == pytest.approx(full, abs=0.3)

    # At least 10 dB under every cue (measured mid-cue, over the tone alone).
    # (A 100 ms window: a short one catches the broadband edges of the fake clips.)
    measured = 0
    for s, e in regions:
        if e - s > 2 * 2205:
            assert amplitude(mixed, (s + e) // 2, 2205) <= full - 10
            measured += 1
    assert measured >= 5

    # Ramps: down from 150 ms before a cue, back up over 500 ms after it.
    s, e = next(
        (s, e) for (s, e), g in zip(regions[1:], gaps, strict=False) if g[1] - g[0] > RATE // 2
    )
    assert amplitude(mixed, s - a - 150) == pytest.approx(full, abs=0.5)
    assert full - 10 < amplitude(mixed, s - a // 2) < full - 3
    assert amplitude(mixed, s - 110) < full - 11
    assert full - 10 < amplitude(mixed, e + r // 2) < full - 3
    assert amplitude(mixed, e + r + 150) == pytest.approx(full, abs=0.5)

    # Speech and sounds at their very samples: under every cue, what changed is only the
    # ducked bed and the make-up gain (a cue one sample off would leave a residual tens
    # of dB louder).
    residual = mixed - plain * 10 ** (makeup / 20)
    for ev in session.timeline.events:
        if ev.kind != "wait":
            assert np.max(np.abs(residual[ev.start : ev.end])) < 10 ** ((full - 9) / 20)

    # The whole file: at the -16 LUFS target within half a LU, peaks under -1 dBFS.
    pcm = np.round(mixed * 32768).astype(np.int16)
    assert integrated_loudness(pcm, RATE) == pytest.approx(-16.0, abs=0.5)
    assert true_peak_dbfs(pcm) <= -1.0


def test_music_level_moves_the_bed(session: Session, tmp_path: Path) -> None:
    tone = write_tone(tmp_path / "tone.wav")
    src = music_mod.open_music(tone, RATE)
    x = session_mod.with_music(session, Music(src, level=20.0)).mixer
    y = session_mod.with_music(session, Music(src, level=12.0)).mixer
    regions = duck.duck_regions(session.timeline)
    mid = (regions[0][1] + regions[1][0]) // 2
    ax = amplitude(x.render(mid - 500, mid + 500).astype(np.float64) / 32768, 500)
    ay = amplitude(y.render(mid - 500, mid + 500).astype(np.float64) / 32768, 500)
    assert ay - ax == pytest.approx(8.0, abs=0.3)


def test_without_music_the_file_is_byte_identical(session: Session, tmp_path: Path) -> None:
    render.render_session(session, tmp_path / "a.wav", files=FILES)
    again = session_mod.Session(
        session.routine,
        session.timeline,
        session.mixer.with_music(None),
        session.synth,
        session.levels,
    )
    render.render_session(again, tmp_path / "b.wav", files=FILES)
    digest = [hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in ("a.wav", "b.wav")]
    assert digest[0] == digest[1]


def test_a_file_with_music_keeps_chapters_and_names_its_tracks(
    session: Session, tmp_path: Path
) -> None:
    from mutagen.flac import FLAC

    tone = write_tone(tmp_path / "tone.wav")
    render.render_session(session, tmp_path / "plain.flac", files=FILES)
    with_music = session_mod.with_music(session, Music(music_mod.open_music(tone, RATE)))
    render.render_session(with_music, tmp_path / "music.flac", files=FILES)
    plain, mixed = FLAC(tmp_path / "plain.flac"), FLAC(tmp_path / "music.flac")
    names: list[str] = list(plain.keys())  # the Vorbis comments' names
    chapters = sorted(k for k in names if k.lower().startswith("chapter"))
    assert chapters and all(plain[k] == mixed[k] for k in chapters)
    assert mixed["comment"][0].endswith("Music: tone.wav.")
    assert plain["comment"][0] == "A voice-guided workout, rendered by voicecoach."


# -- the command line --------------------------------------------------------------------


def test_render_music_option_and_its_errors(tmp_path: Path) -> None:
    routine = tmp_path / "short.yaml"
    routine.write_text(SHORT_ROUTINE)
    folder = tmp_path / "music"
    folder.mkdir()
    write_tone(folder / "tone.wav")
    (folder / "broken.flac").write_bytes(b"fLaC broken")
    warned: list[str] = []
    env = fake_env(music=bed(tmp_path / "cache", warned))

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, list(args), prog_name="voicecoach", obj=env)
        return result.exit_code, result.output

    out = tmp_path / "s.wav"
    code, text = run(
        "render", str(routine), "-o", str(out), "--music", str(folder), "--music-level", "18"
    )
    assert code == 0, text
    assert len(warned) == 1 and "broken.flac" in warned[0]
    mixed = read_wav(out)
    code, text = run("render", str(routine), "-o", str(tmp_path / "p.wav"))
    assert code == 0, text
    assert np.max(np.abs(mixed - read_wav(tmp_path / "p.wav"))) > 0.001  # the bed is there

    code, text = run("render", str(routine), "-o", str(out), "--music", str(folder / "broken.flac"))
    assert code != 0
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1 and "broken.flac" in lines[0], text


# -- music in a routine ------------------------------------------------------------------


def test_a_routines_music_is_relative_to_it_and_options_replace_it(tmp_path: Path) -> None:
    from voicecoach.app.env import VoiceOptions, prepare_loaded

    (tmp_path / "tunes").mkdir()
    write_tone(tmp_path / "tunes" / "tone.wav", seconds=5.0)
    write_chord(tmp_path / "other.flac")
    text = DENSE.replace("title: Test\n", "title: Test\nmusic: {path: tunes, level: 20}\n")
    routine = loader.load_text(text, str(tmp_path / "r.yaml"))
    assert routine.music == loader_music(tmp_path / "tunes", 20.0)
    env = fake_env(music=bed())
    mixer = prepare_loaded(env, routine).mixer
    assert mixer.music is not None and mixer.music.source.names == ("tone.wav",)
    assert mixer.music.level == 20.0
    options = VoiceOptions(music=str(tmp_path / "other.flac"), music_level=9.0)
    mixer = prepare_loaded(env, routine, options).mixer
    assert mixer.music is not None and mixer.music.source.names == ("other.flac",)
    assert mixer.music.level == 9.0
    assert prepare_loaded(env, loader.load_text(DENSE, "t.yaml")).mixer.music is None


def loader_music(path: Path, level: float | None) -> object:
    from voicecoach.core.model import MusicChoice

    return MusicChoice(str(path.resolve()), level)


@pytest.mark.parametrize(
    ("music", "message"),
    [
        ("{path: nowhere.mp3}", "music.path: 'nowhere.mp3' not found"),
        ("{level: 10}", "music needs a path"),
        ("{path: ., level: 2}", "music.level must be a number from 6 to 40"),
        ("{path: ., volume: 2}", "volume"),
    ],
)
def test_a_routines_bad_music_is_a_routine_error(tmp_path: Path, music: str, message: str) -> None:
    from voicecoach.errors import RoutineError

    text = DENSE.replace("title: Test\n", f"title: Test\nmusic: {music}\n")
    with pytest.raises(RoutineError, match=message.replace(".", r"\.")):
        loader.load_text(text, str(tmp_path / "r.yaml"))


# -- the live run: the same mixer, so pause, skip and back carry the music ---------------


@pytest.fixture
def live(tmp_path: Path) -> tuple[Session, Session]:
    """The short routine (with its manual plank) without and with a bed."""
    plain = session_mod.prepare(
        loader.load_text(SHORT_ROUTINE, "short.yaml"), speech=FakeSpeech(), sounds=fake_sounds()
    )
    src = music_mod.open_music(write_tone(tmp_path / "tone.wav"), RATE)
    return plain, session_mod.with_music(plain, Music(src))


def test_a_live_run_plays_the_music_and_pause_resumes_it_where_it_stopped(
    live: tuple[Session, Session],
) -> None:
    from tests.fakes import play, the_wait
    from voicecoach.app import player

    plain, session = live
    run = play(session, [(5.0, "space"), (9.0, "space"), (200.0, "space")])
    first, _, resumed = run.plays[:3]
    lead = run.said(player.RESUMING)
    heard = np.concatenate([first.samples[: first.heard], resumed.samples[len(lead) :]])
    wait_start, _ = the_wait(session)
    np.testing.assert_array_equal(heard, session.mixer.render(0, wait_start))
    # ... and that is the music's own continuation: the bed is there, under the cues.
    bed_part = heard.astype(np.int32) - plain.mixer.render(0, wait_start)
    resume_at = first.heard + 2 * RATE
    assert np.max(np.abs(bed_part[resume_at : resume_at + RATE])) > 100


def test_a_skip_moves_the_music_with_the_timeline(live: tuple[Session, Session]) -> None:
    from tests.fakes import chapter, middle, play, the_wait

    _, session = live
    run = play(session, [(middle(chapter(session, "Bridge"), session), "n"), (500, "space")])
    bird_dog, _ = chapter(session, "Bird-dog")
    lead = run.said("Skipping to Bird-dog.")
    second = run.plays[1].samples
    # After the skip, the music is the music of Bird-dog's place in the session.
    np.testing.assert_array_equal(
        second[len(lead) :], session.mixer.render(bird_dog, the_wait(session)[0])
    )


def test_the_real_env_opens_music_once_the_sound_devices_warm_up_gave_fd2_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys
    import types

    from voicecoach.cli import env as cli_env

    events: list[str] = []
    fake = types.SimpleNamespace(settle=lambda: events.append("settled"))
    monkeypatch.setitem(sys.modules, "voicecoach.adapters.stream_out", fake)
    real_open = music_mod.open_music

    def spy(*args: object, **kw: object) -> music_mod.MusicBed:
        events.append("opened")
        return real_open(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(music_mod, "open_music", spy)
    monkeypatch.setenv("VOICECOACH_CACHE_DIR", str(tmp_path / "cache"))
    cli_env.music(write_chord(tmp_path / "c.flac"), RATE, False)
    assert events == ["settled", "opened"]
