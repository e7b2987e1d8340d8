"""Benchmark: encode time per format for a 30-minute session, and peak memory.

Run: .venv/bin/python bench/encode_bench.py [--minutes 30] [--formats wav,mp3] [--long]

The session is synthesized (no eSpeak needed), shaped like a real one: speech-like
clips (band-limited noise with a voice-like pitch and syllable envelope, 0.4-3 s) from
a pool of distinct phrases every few seconds, cue sounds between them, chapters every
few minutes. Each format is encoded in a fresh child process, which reports its wall
time (session building excluded), real-time factor, output size and peak RSS. MP3 is
also timed on one core, to show what the parallel encoder buys. ``--long`` adds a
2-hour MP3 to show that memory stays flat.

Target: MP3 of 30 minutes in under 10 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RATE = 22050
MP3_TARGET_SECONDS = 10.0


def build_session(minutes: float) -> object:
    """A Mixer for a synthetic session of about ``minutes`` minutes."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from voicecoach.audio.mix import Mixer
    from voicecoach.core.timeline import Chapter, Event, Timeline

    rng = np.random.default_rng(7)
    clips = {}
    for i in range(150):  # distinct phrases, like a routine's cues and counts
        n = int(rng.uniform(0.4, 3.0) * RATE)
        t = np.arange(n) / RATE
        pitch = np.sin(2 * np.pi * rng.uniform(100, 220) * t)
        noise = np.convolve(rng.standard_normal(n), np.hanning(7) / 3.5, mode="same")
        syllables = 0.5 + 0.5 * np.abs(np.sin(2 * np.pi * rng.uniform(2, 4) * t))
        edge = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / 220)
        x = (0.6 * pitch + 0.4 * noise) * syllables * edge
        clips[f"phrase {i}"] = (x / np.abs(x).max() * 0.3 * 32767).astype(np.int16)
    sounds = {}
    for i, name in enumerate(("start", "hold", "release", "rest", "switch", "tick", "finish")):
        n = int((0.06 if name == "tick" else 0.3) * RATE)
        t = np.arange(n) / RATE
        f0 = 600 + 150 * i
        tone = np.sin(2 * np.pi * (f0 * t + f0 * t**2 / (2 * t[-1] + 1e-9)))
        fade = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / 64)
        sounds[name] = (tone * fade * 0.25 * 32767).astype(np.int16)
    total = int(minutes * 60 * RATE)
    events = []
    pos = RATE // 2
    names = list(clips)
    while True:
        if rng.random() < 0.25:
            name = str(rng.choice(list(sounds)))
            length = len(sounds[name])
            kind = "sound"
        else:
            name = str(rng.choice(names))
            length = len(clips[name])
            kind = "speech"
        if pos + length > total:
            break
        events.append(Event(pos, length, kind, name, "Main"))  # type: ignore[arg-type]
        pos += length + int(rng.uniform(1.0, 5.0) * RATE)
    end = events[-1].end
    step = int(150 * RATE)
    starts = list(range(0, end, step))
    chapters = tuple(
        Chapter(f"Exercise {k + 1}", s, min(s + step, end), k) for k, s in enumerate(starts)
    )
    return Mixer(Timeline("Benchmark", tuple(events), chapters), clips, sounds)


def child(fmt: str, minutes: float, threads: int | None) -> None:
    """Encode one format; print a JSON line with the figures."""
    sys.path.insert(0, str(ROOT))
    from voicecoach.adapters import encode
    from voicecoach.app.render import quiet_spans

    mixer = build_session(minutes)
    timeline = mixer.timeline  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / f"bench.{fmt}"
        start = time.perf_counter()
        written = encode.write_audio(
            out,
            mixer.chunks(),  # type: ignore[attr-defined]
            total=mixer.length,  # type: ignore[attr-defined]
            chapters=timeline.chapters,
            tags=encode.Tags(title="Benchmark", album="Benchmark"),
            seek=lambda a, b: mixer.chunks(a, b),  # type: ignore[attr-defined]
            quiet=quiet_spans(timeline),
            threads=threads,
        )
        seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "format": fmt,
        "threads": threads or os.cpu_count(),
        "audio_seconds": mixer.length / RATE,  # type: ignore[attr-defined]
        "seconds": seconds,
        "rate": written.sample_rate,
        "megabytes": written.size / 1e6,
        "peak_rss_mb": peak_kb / 1024,
    }))  # fmt: skip


def run(fmt: str, minutes: float, threads: int | None = None) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", fmt, "--minutes", str(minutes)]
    if threads:
        cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--formats", default="wav,flac,ogg,opus,mp3")
    parser.add_argument("--long", action="store_true", help="also a 2-hour MP3 (memory)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.minutes, args.threads)
        return

    print(f"Encoding a {args.minutes:g}-minute synthetic session on {os.cpu_count()} cores")
    print(f"{'format':<12} {'rate':>6} {'wall s':>8} {'x real time':>12} {'MB':>7} {'peak RSS':>9}")
    rows: list[tuple[str, int | None]] = [(fmt, None) for fmt in args.formats.split(",")]
    if "mp3" in args.formats.split(","):
        rows.append(("mp3", 1))
    mp3_time = None
    for fmt, threads in rows:
        r = run(fmt, args.minutes, threads)
        label = fmt + (" (1 core)" if threads == 1 else "")
        speed = r["audio_seconds"] / r["seconds"]
        print(
            f"{label:<12} {r['rate']:>6.0f} {r['seconds']:>8.2f} {speed:>11.0f}x"
            f" {r['megabytes']:>7.1f} {r['peak_rss_mb']:>6.0f} MB"
        )
        if fmt == "mp3" and threads is None:
            mp3_time = r["seconds"] * 30 / args.minutes
    if args.long:
        r = run("mp3", 120.0)
        print(f"{'mp3, 2 h':<12} {r['rate']:>6.0f} {r['seconds']:>8.2f} "
              f"{r['audio_seconds'] / r['seconds']:>11.0f}x {r['megabytes']:>7.1f} "
              f"{r['peak_rss_mb']:>6.0f} MB")  # fmt: skip
    if mp3_time is not None:
        verdict = "met" if mp3_time < MP3_TARGET_SECONDS else "MISSED"
        print(f"target: MP3 of 30 min < {MP3_TARGET_SECONDS:g} s: {mp3_time:.1f} s ({verdict})")


if __name__ == "__main__":
    main()
