"""The clip cache stays under its size limit: least recently used files go first, never
one touched within the hour nor a write in progress, at most one scan a day; a pruned
clip is only made again (``clipcache.prune``)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import time
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from tests.fakes import fake_length, tone
from voicecoach.adapters import clipcache, speech
from voicecoach.adapters.clipcache import PRUNED, ClipCache, prune
from voicecoach.adapters.speech import Speech
from voicecoach.core.model import Voice

DAY = 86400.0
VOICE = Voice(voice="fake", rate=165, volume=1.0)
PHRASES = [f"Exercise {i}, set two, left side." for i in range(12)]


class FakeEngine:
    """Tones for phrases, the same samples for the same text in every process."""

    engine = "fake 1"
    voice = "fake"
    rate = 165

    def __init__(self) -> None:
        self.made: list[str] = []

    def synthesize(self, text: str) -> np.ndarray:
        self.made.append(text)
        return tone(fake_length(text), 200 + zlib.crc32(text.encode()) % 600)

    def synthesize_many(self, texts: Sequence[str]) -> Iterator[tuple[str, np.ndarray]]:
        for text in texts:
            yield text, self.synthesize(text)


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    made = FakeEngine()
    monkeypatch.setattr(speech, "open_engine", lambda *args: made)
    return made


def age(path: Path, seconds_ago: float) -> None:
    when = time.time() - seconds_ago
    os.utime(path, (when, when))


def fill(folder: Path, ages_in_days: list[float], size: int = 1000, prefix: str = "") -> list[Path]:
    """Files of ``size`` bytes, alternately clips and cues, last used that long ago."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, days in enumerate(ages_in_days):
        path = folder / f"{prefix}{i:064x}{'.clip' if i % 2 else '.cue'}"
        path.write_bytes(b"x" * size)
        age(path, days * DAY)
        paths.append(path)
    return paths


def test_oldest_go_first_down_to_the_target(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    old = fill(folder, [float(20 - i) for i in range(20)])  # oldest first, 1000 bytes each
    fresh = fill(folder, [0.0] * 3, prefix="f")  # touched just now
    temp = folder / f".{'a' * 16}.{'b' * 12}.tmp"  # a write in progress, however old
    temp.write_bytes(b"x" * 5000)
    age(temp, 30 * DAY)
    within_hour = folder / f"{'c' * 64}.clip"
    within_hour.write_bytes(b"x" * 1000)
    age(within_hour, 3000)
    # 24 000 bytes of clips over a 10 000 limit: down to 8 000, oldest first.
    removed = prune(folder, 10_000)
    assert removed == 16_000
    kept = {p.name for p in folder.iterdir()}
    assert kept == {p.name for p in old[16:] + fresh} | {temp.name, within_hour.name, ".locks"}


def test_files_in_use_stay_even_over_the_limit(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    old = fill(folder, [2.0, 3.0])
    fill(folder, [0.02] * 10, prefix="r")  # half an hour ago
    assert prune(folder, 1000) == 2000
    assert not any(p.exists() for p in old)
    assert len(list(folder.glob("r*"))) == 10


def test_under_the_limit_nothing_goes(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    paths = fill(folder, [float(i + 2) for i in range(10)])
    assert prune(folder, 10_000) == 0
    assert all(p.exists() for p in paths)


def test_one_scan_a_day(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    fill(folder, [5.0, 4.0])
    assert prune(folder, 10_000) == 0  # scanned: under the limit
    fill(folder, [3.0, 2.0], prefix="n")
    assert prune(folder, 1000) == 0  # the day's scan was made
    assert len(list(folder.glob("*.c*"))) == 4
    age(folder / PRUNED, DAY + 60)
    assert prune(folder, 1000) == 4000  # down to 800: all four 1000-byte files go
    assert not list(folder.glob("*.c*"))


def test_the_limit_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert clipcache.limit() == clipcache.LIMIT == 1024**3
    monkeypatch.setenv(clipcache.LIMIT_ENV, "2")
    assert clipcache.limit() == 2 * 1024 * 1024
    folder = tmp_path / "clips"
    paths = fill(folder, [3.0, 2.0], size=1024 * 1024 + 1)  # 2 MB and 2 bytes
    assert prune(folder) == 1024 * 1024 + 1
    assert [p.exists() for p in paths] == [False, True]
    monkeypatch.setenv(clipcache.LIMIT_ENV, "lots")
    assert clipcache.limit() == clipcache.LIMIT


def test_a_folder_that_cannot_be_listed_or_written(tmp_path: Path) -> None:
    assert prune(tmp_path / "none", 0) == 0
    afile = tmp_path / "afile"
    afile.write_bytes(b"")
    assert prune(afile, 0) == 0
    assert afile.read_bytes() == b""


def test_a_read_marks_an_old_clip_used(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path / "clips")
    clip = np.arange(100, dtype=np.int16)
    cache.put("ab" * 32, clip)
    cache.keep_analysis("cd" * 32, b"figures")
    clip_path = cache.path("ab" * 32)
    cue_path = cache.folder / f"{'cd' * 32}.cue"
    for path in (clip_path, cue_path):
        age(path, 3 * DAY)
    assert cache.get("ab" * 32) is not None
    assert cache.analysis("cd" * 32) == b"figures"
    for path in (clip_path, cue_path):
        assert path.stat().st_mtime > time.time() - 600
    # Used within the day: not written again (a warm start writes nothing).
    age(clip_path, 0.5 * DAY)
    before = clip_path.stat().st_mtime
    assert cache.get("ab" * 32) is not None
    assert clip_path.stat().st_mtime == before


def test_a_pruned_clip_is_made_again(tmp_path: Path, engine: FakeEngine) -> None:
    folder = tmp_path / "clips"
    first = Speech(VOICE, folder).levelled(PHRASES)
    assert engine.made == PHRASES
    stored = sorted(folder.glob("*.clip"))
    assert len(stored) == 2 * len(PHRASES)  # raw and levelled
    warm = Speech(VOICE, folder)  # lists the folder, then the clips go
    with warm._listing(len(PHRASES)):
        assert warm._listed is not None and len(warm._listed) == len(stored)
        for path in stored:
            age(path, 2 * DAY)
        assert prune(folder, 0) > 0
        assert not list(folder.glob("*.clip"))
        engine.made.clear()
        again = warm.levelled(PHRASES)
    assert engine.made == PHRASES  # misses, made again: no error
    for text in PHRASES:
        assert np.array_equal(first[text], again[text])
    assert warm.cache.discarded == 0


_SESSIONS = textwrap.dedent(
    """
    import hashlib, json, sys, time, zlib
    from pathlib import Path
    from tests.fakes import fake_length, tone
    from voicecoach.adapters import speech
    from voicecoach.core.model import Voice

    class Engine:
        engine, voice, rate = "fake 1", "fake", 165
        made = 0
        def synthesize(self, text):
            Engine.made += 1
            return tone(fake_length(text), 200 + zlib.crc32(text.encode()) % 600)
        def synthesize_many(self, texts):
            for text in texts:
                yield text, self.synthesize(text)

    speech.open_engine = lambda *args: Engine()
    folder, stop, phrases = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
    digests, sessions = {}, 0
    while not stop.exists() or sessions < 20:
        s = speech.Speech(Voice(voice="fake"), folder)
        for text, clip in s.levelled(phrases).items():
            d = hashlib.sha256(clip.tobytes()).hexdigest()
            assert digests.setdefault(text, d) == d, text
        sessions += 1
    print(json.dumps({"sessions": sessions, "made": Engine.made}))
    """
)


def test_pruning_while_another_process_prepares(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    stop = tmp_path / "stop"
    phrases = [f"Phrase {i}, hold." for i in range(30)]
    proc = subprocess.Popen(
        [sys.executable, "-c", _SESSIONS, str(folder), str(stop), json.dumps(phrases)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    pruned = 0
    try:
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and proc.poll() is None:
            for path in list(folder.glob("*.c*")):
                with contextlib.suppress(OSError):  # pruned meanwhile
                    age(path, 2 * DAY)  # every file looks unused: any may go
            (folder / PRUNED).unlink(missing_ok=True)  # no daily wait
            pruned += prune(folder, 0)
    finally:
        stop.touch()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    result = json.loads(out)
    assert pruned > 0
    assert result["made"] > len(phrases)  # some clips were pruned and made again


def test_a_command_prunes_when_it_exits(tmp_path: Path) -> None:
    folder = tmp_path / "cache" / "clips"
    paths = fill(folder, [3.0, 2.0])  # old clips of another routine
    env = {
        **os.environ,
        "VOICECOACH_CACHE_DIR": str(tmp_path / "cache"),
        clipcache.LIMIT_ENV: "0",  # keep nothing old
    }
    proc = subprocess.run(
        [sys.executable, "-m", "voicecoach", "audition", "desk-break"],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert not any(p.exists() for p in paths)
    assert (folder / PRUNED).exists()
    assert len(list(folder.glob("*.clip"))) > 10  # the session's own, just used, stay
