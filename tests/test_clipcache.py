"""Clips as stored: trimming, keys, the file format, corruption, atomic writes, locks."""

from __future__ import annotations

import math
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from voicecoach.adapters import clipcache
from voicecoach.adapters.clipcache import (
    FADE,
    HEADER,
    LEAD_MARGIN,
    TAIL_MARGIN,
    TRIM_THRESHOLD,
    ClipCache,
    clip_key,
    default_cache_dir,
    level_key,
    trim,
)

KEY_ARGS: dict[str, str | int] = {
    "engine": "espeak-ng 1.51",
    "voice": "gmw/en-us",
    "rate": 165,
    "volume": 100,
    "text": "Lift your right leg.",
}


def key(**changes: str | int) -> str:
    args = {**KEY_ARGS, **changes}
    return clip_key(
        engine=str(args["engine"]),
        voice=str(args["voice"]),
        rate=int(args["rate"]),
        volume=int(args["volume"]),
        text=str(args["text"]),
    )


def samples(n: int = 5000, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-32768, 32767, size=n, dtype=np.int16)


def test_key_is_stable_hex_sha256() -> None:
    k = key()
    assert k == key()
    assert len(k) == 64
    int(k, 16)


@pytest.mark.parametrize(
    "change",
    [
        {"engine": "espeak-ng 1.52"},
        {"voice": "gmw/en"},
        {"rate": 166},
        {"volume": 99},
        {"text": "Lift your left leg."},
        {"text": "Lift your right leg. "},
    ],
)
def test_every_setting_changes_the_key(change: dict[str, str | int]) -> None:
    assert key(**change) != key()


def test_format_version_is_part_of_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    before = key()
    monkeypatch.setattr(clipcache, "FORMAT_VERSION", clipcache.FORMAT_VERSION + 1)
    assert key() != before


def test_level_key_depends_on_the_raw_clip_the_rules_and_the_target() -> None:
    base = level_key(key(), level="2", target=-15.5)
    assert base == level_key(key(), level="2", target=-15.5)
    assert len(base) == 64 and base != key()
    assert level_key(key(text="Hold."), level="2", target=-15.5) != base
    assert level_key(key(), level="3", target=-15.5) != base
    assert level_key(key(), level="2", target=-21.52) != base
    silent = level_key(key(), level="2", target=-math.inf)  # volume 0
    assert silent != base and len(silent) == 64


def test_levelled_and_raw_clips_share_the_folder(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path)
    raw, levelled = samples(seed=1), samples(seed=2)
    cache.put(key(), raw)
    cache.put(level_key(key(), level="2", target=-15.5), levelled)
    got = cache.get(level_key(key(), level="2", target=-15.5))
    assert got is not None and np.array_equal(got, levelled)
    assert cache.get(level_key(key(), level="2", target=-16.0)) is None
    stored = cache.get(key())
    assert stored is not None and np.array_equal(stored, raw)


def test_put_then_get_round_trips(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path / "clips")
    clip = samples()
    assert cache.get(key()) is None
    assert cache.put(key(), clip)
    got = cache.get(key())
    assert got is not None
    assert got.dtype == np.int16
    assert np.array_equal(got, clip)
    assert not got.flags.writeable  # shared clips cannot be altered by accident
    assert cache.path(key()).stat().st_size == HEADER.size + 2 * len(clip)


def test_empty_clip_round_trips(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path)
    assert cache.put(key(), np.zeros(0, dtype=np.int16))
    got = cache.get(key())
    assert got is not None and got.size == 0


def test_put_leaves_no_temporary_files(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path)
    for i in range(5):
        cache.put(key(text=f"phrase {i}"), samples(seed=i))
    names = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    assert len(names) == 5
    assert all(name.endswith(".clip") and not name.startswith(".") for name in names)


def test_ctrl_c_as_the_temporary_file_is_made_leaves_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C that lands just after the temporary file is created (before the cache
    knows its name, as tempfile.mkstemp had it) must not leave it behind."""
    cache = ClipCache(tmp_path)
    cache.put(key(text="first"), samples(seed=1))  # the folder is prepared
    real_open = os.open

    def open_then_interrupt(path: str, flags: int, mode: int = 0o777) -> int:
        os.close(real_open(path, flags, mode))
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "open", open_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        cache.put(key(text="second"), samples(seed=2))
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [
        f"{key(text='first')}.clip"
    ]


def _truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _flip_pcm(data: bytes) -> bytes:
    i = HEADER.size + 1000
    return data[:i] + bytes([data[i] ^ 0x40]) + data[i + 1 :]


def _flip_count(data: bytes) -> bytes:
    i = 12  # inside the sample count
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]


def _bad_magic(data: bytes) -> bytes:
    return b"RIFF" + data[4:]


def _extra(data: bytes) -> bytes:
    return data + b"\x00\x00"


@pytest.mark.parametrize(
    "corrupt",
    [_truncate, _flip_pcm, _flip_count, _bad_magic, _extra, lambda d: b"", lambda d: b"junk"],
    ids=["truncated", "pcm-bit", "count-bit", "magic", "extra-bytes", "empty", "junk"],
)
def test_corrupt_entry_is_a_miss_and_is_deleted(tmp_path: Path, corrupt: object) -> None:
    cache = ClipCache(tmp_path)
    cache.put(key(), samples())
    path = cache.path(key())
    assert callable(corrupt)
    path.write_bytes(corrupt(path.read_bytes()))
    assert cache.get(key()) is None
    assert not path.exists()
    assert cache.discarded == 1
    # and it can be stored again
    assert cache.put(key(), samples())
    assert cache.get(key()) is not None


def test_entry_under_the_wrong_name_is_rejected(tmp_path: Path) -> None:
    """A clip copied or renamed to another key's name is not that key's clip."""
    cache = ClipCache(tmp_path)
    cache.put(key(), samples())
    os.replace(cache.path(key()), cache.path(key(text="other")))
    assert cache.get(key(text="other")) is None


def test_unreadable_entry_is_a_miss(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path)
    cache.path(key()).mkdir(parents=True)  # a folder where the file should be
    assert cache.get(key()) is None


def test_unwritable_cache_folder_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = ClipCache(blocker / "clips")
    assert cache.put(key(), samples()) is False
    assert cache.get(key()) is None
    with cache.lock():  # no lock possible: still usable
        pass


def test_stale_temporary_files_are_swept(tmp_path: Path) -> None:
    old = tmp_path / ".0123456789abcdef.x1.tmp"
    fresh = tmp_path / ".fedcba9876543210.x2.tmp"
    for p in (old, fresh):
        p.write_bytes(b"half a clip")
    past = time.time() - 2 * clipcache.STALE_TEMP_SECONDS
    os.utime(old, (past, past))
    ClipCache(tmp_path).put(key(), samples())
    assert not old.exists()
    assert fresh.exists()  # may belong to a process writing right now


def test_lock_excludes_another_holder(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path)
    holding = threading.Event()
    release = threading.Event()
    other_got_it = threading.Event()

    def holder() -> None:
        with cache.lock():
            holding.set()
            release.wait(10)

    def other() -> None:
        with ClipCache(tmp_path).lock():
            other_got_it.set()

    a = threading.Thread(target=holder)
    a.start()
    assert holding.wait(10)
    b = threading.Thread(target=other)
    b.start()
    assert not other_got_it.wait(0.3)
    release.set()
    assert other_got_it.wait(10)
    a.join()
    b.join()


def test_default_cache_dir_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICECOACH_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path / "clips"
    monkeypatch.delenv("VOICECOACH_CACHE_DIR")
    assert default_cache_dir().name == "clips"
    assert "voicecoach" in default_cache_dir().parts


def test_trim_is_a_deterministic_pure_function() -> None:
    signal = np.zeros(10000, dtype=np.int16)
    signal[3000:6000] = (np.sin(np.arange(3000) / 5) * 20000).astype(np.int16)
    signal[2990] = -32768  # abs() of this overflows int16
    a, b = trim(signal), trim(signal.copy())
    assert np.array_equal(a, b)
    assert len(a) == (6000 + TAIL_MARGIN) - (2990 - LEAD_MARGIN)
    assert a[0] == 0 and a[-1] == 0
    assert signal[2990] == -32768  # input untouched


def test_trim_fades_speech_that_starts_at_the_first_sample() -> None:
    signal = np.full(5000, 20000, dtype=np.int16)
    out = trim(signal)
    assert len(out) == 5000
    assert out[0] == 0 and out[-1] == 0
    assert np.all(np.abs(np.diff(out[: FADE + 1].astype(np.int32))) <= 20000 // FADE + 1)


def test_trim_of_silence_is_empty() -> None:
    assert trim(np.zeros(500, dtype=np.int16)).size == 0
    assert trim(np.zeros(0, dtype=np.int16)).size == 0
    assert trim(np.full(500, TRIM_THRESHOLD, dtype=np.int16)).size == 0
    assert trim(np.full(500, -TRIM_THRESHOLD, dtype=np.int16)).size == 0
    one = np.zeros(500, dtype=np.int16)
    one[499] = -TRIM_THRESHOLD - 1  # the last sample alone is sound
    assert len(trim(one)) == LEAD_MARGIN + 1
