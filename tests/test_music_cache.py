"""The decoded-music cache stays under its size limit: least recently used tracks go
first, never those of the session being opened (``adapters.musiccache``)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicecoach.adapters import music as music_mod
from voicecoach.adapters import musiccache
from voicecoach.audio.meter import integrated_loudness
from voicecoach.core.timeline import SAMPLE_RATE

RATE = SAMPLE_RATE


def write_track(path: Path, seconds: float = 3.0, freq: float = 440.0) -> Path:
    t = np.arange(int(seconds * 44100)) / 44100
    sf.write(str(path), 0.2 * np.sin(2 * np.pi * freq * t), 44100)
    return path


def decode_all(bed: music_mod.MusicBed, seconds: float = 3.0) -> None:
    """Read the bed through once: its tracks' decoded samples go to the cache."""
    bed.samples(0, int(seconds * RATE) + RATE)
    bed.close()


def age(paths: list[Path], seconds_ago: float) -> None:
    when = time.time() - seconds_ago
    for p in paths:
        os.utime(p, (when, when))


def entries(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_a_track_is_kept_decoded_with_its_measurement(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    track = write_track(tmp_path / "a.wav")
    decode_all(music_mod.open_music(track, RATE, cache=cache))
    where = musiccache.cache_path(cache, track, RATE)
    assert musiccache.cached(where) is not None
    found = musiccache.measured(where)
    assert found is not None and len(found.spread) == 16
    # The loudness kept is that of the decoded samples (the whole 3 s file is measured).
    pcm = np.fromfile(where, dtype="<i2", offset=musiccache.HEADER.size)
    assert found.loudness == pytest.approx(integrated_loudness(pcm, RATE), abs=0.05)
    assert found.spread == pytest.approx([1.0] * 16, abs=0.05)  # a steady tone


def test_the_least_recently_used_tracks_go_first_and_the_sessions_own_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    tracks = [write_track(tmp_path / f"{i}.wav", freq=300.0 + 50 * i) for i in range(4)]
    for t in tracks:
        decode_all(music_mod.open_music(t, RATE, cache=cache))
    where = [musiccache.cache_path(cache, t, RATE) for t in tracks]
    size = sum(p.stat().st_size + p.with_suffix(".lufs").stat().st_size for p in where)
    per_track = size / len(tracks)
    # Used long ago: 0 oldest, then 1, 2, 3.
    for i, w in enumerate(where):
        age([w, w.with_suffix(".lufs")], 1000.0 - 100 * i)
    # A limit for two tracks and a half: the two used longest ago go.
    removed = musiccache.prune(cache, limit=int(2.5 * per_track))
    assert removed > 0
    left = entries(cache)
    assert not {where[0].name, where[1].name} & left
    assert {where[2].name, where[3].name} <= left
    assert where[1].with_suffix(".lufs").name not in left  # its measurement goes with it

    # Opening music marks its tracks used and prunes: the session's own track stays even
    # when it is the oldest and alone over the limit.
    age([where[2], where[2].with_suffix(".lufs")], 5000.0)
    monkeypatch.setattr(musiccache, "LIMIT", 1)
    music_mod.open_music(tracks[2], RATE, cache=cache).close()
    left = entries(cache)
    assert where[2].name in left and where[3].name not in left


def test_stale_temporary_files_go_and_fresh_ones_stay(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    stale, fresh = cache / "music-stale.tmp", cache / "music-fresh.tmp"
    for p in (stale, fresh):
        p.write_bytes(b"x" * 100)
    age([stale], musiccache.STALE_TEMP_SECONDS + 60)
    musiccache.prune(cache)
    assert entries(cache) == {fresh.name}


def test_a_measurement_of_the_old_form_is_measured_again(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    track = write_track(tmp_path / "a.wav")
    where = musiccache.cache_path(cache, track, RATE)
    cache.mkdir()
    where.with_suffix(".lufs").write_text("-20.5")  # the loudness alone, as before
    assert musiccache.measured(where) is None
    opened = music_mod.open_track(track, RATE, cache)
    found = musiccache.measured(where)
    assert found is not None and len(found.spread) == 16
    assert opened.spread == found.spread


def test_pruning_a_folder_that_is_not_there_does_nothing(tmp_path: Path) -> None:
    assert musiccache.prune(tmp_path / "none") == 0
