"""Benchmark: render (cold and warm), audition and start-up, against the eSpeak NG floor.

Run: .venv/bin/python bench/bench.py [--quick]

For the flagship routine and generated 30-minute and 2-hour routines it prints render
wall time with an empty cache (cold) and a filled one (warm), the real-time factor,
peak RSS of the render process, audition time, and `voicecoach --help` start-up; and,
as the floor to compare against, the time the `espeak-ng` command alone takes to
synthesize the same distinct phrases. Every figure is measured in a child process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VOICECOACH = [sys.executable, "-m", "voicecoach"]
VC_BIN = Path(sys.executable).parent / "voicecoach"

TARGETS = {
    "warm render of 30 min to WAV": "< 2 s",
    "cold render": "< 2 x espeak-ng floor + 1 s",
    "peak RSS, 2-hour routine": "< 150 MB",
    "--help start-up": "< 150 ms",
    "audition of the flagship, warm": "< 0.5 s",
}


def generated_routine(minutes: int) -> str:
    """A routine of about ``minutes`` minutes, with many distinct exercises and phrases."""
    names = [
        "Bridge",
        "Bird-dog",
        "Cat-cow",
        "Dead bug",
        "Side plank",
        "Clamshell",
        "Superman",
        "Pelvic tilt",
        "Wall sit",
        "Hip hinge",
        "Glute kick",
        "Plank",
    ]
    blocks = []
    per_exercise = 2.5  # minutes, roughly, with rests
    count = max(1, round(minutes / per_exercise))
    exercises = []
    for i in range(count):
        name = f"{names[i % len(names)]} {i // len(names) + 1}"
        if i % 3 == 0:
            exercises.append(
                f"  - name: {name}\n    setup: Get ready for {name.lower()}, position {i}.\n"
                f"    reps: 12\n    tempo: [2s, 2s]\n    breathing: [in, out]\n    hold: 3s\n"
                f"    sides: both\n    rest: 20s\n"
            )
        elif i % 3 == 1:
            exercises.append(
                f"  - name: {name}\n    setup: Lie down for {name.lower()}, variation {i}.\n"
                f"    hold: 45s\n    sides: both\n    switch: 6s\n    rest: 20s\n"
            )
        else:
            exercises.append(
                f"  - name: {name}\n    cue: Keep going steadily, round {i}.\n"
                f"    reps: 15\n    tempo: [1.5s, 1.5s]\n    sets: 2\n"
                f"    set_rest: 20s\n    rest: 20s\n"
            )
    blocks.append("exercises:\n" + "".join(exercises))
    return f"title: Generated {minutes} minutes\n" + "".join(blocks)


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, bytes]:
    """Wall seconds, peak RSS in MB and stdout of ``cmd`` run as a child."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out_chunks = []
    assert proc.stdout is not None and proc.stderr is not None
    out_chunks.append(proc.stdout.read())
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"failed ({code}): {' '.join(cmd)}\n{err.decode(errors='replace')}")
    return wall, usage.ru_maxrss / 1024, b"".join(out_chunks)


def espeak_floor(phrases: list[str], rate: int, voice: str | None, tmp: Path) -> float:
    """espeak-ng alone: one process synthesizing every distinct phrase to a WAV file."""
    text = tmp / "phrases.txt"
    text.write_text("\n".join(phrases) + "\n")
    cmd = ["espeak-ng", "-s", str(rate), "-w", str(tmp / "floor.wav"), "-f", str(text)]
    if voice:
        cmd[1:1] = ["-v", voice]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def bench_routine(label: str, ref: str, tmp: Path, env: dict[str, str]) -> dict[str, float]:
    cache = tmp / f"cache-{label}"
    shutil.rmtree(cache, ignore_errors=True)
    env = {**env, "VOICECOACH_CACHE_DIR": str(cache)}
    out = tmp / f"{label}.wav"
    cold, cold_rss, _ = timed([*VOICECOACH, "render", ref, "-o", str(out)], env)
    warm, warm_rss, _ = timed([*VOICECOACH, "render", ref, "-o", str(out)], env)
    aud, _, data = timed([*VOICECOACH, "audition", ref, "--json"], env)
    info = json.loads(data)
    phrases = list(dict.fromkeys(e["text"] for e in info["events"] if e["kind"] == "speech"))
    floor = espeak_floor(phrases, 165, None, tmp)
    return {
        "duration": info["duration"],
        "phrases": len(phrases),
        "cold": cold,
        "warm": warm,
        "rtf": warm / info["duration"],
        "rss": max(cold_rss, warm_rss),
        "audition": aud,
        "floor": floor,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the 2-hour routine")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        routines = [("flagship", "back-strength")]
        for minutes in (30,) if args.quick else (30, 120):
            path = tmp / f"generated-{minutes}.yaml"
            path.write_text(generated_routine(minutes))
            routines.append((f"{minutes} min", str(path)))
        print(
            f"{'routine':<10} {'length':>8} {'phrases':>7} {'cold s':>7} {'floor s':>7} "
            f"{'warm s':>7} {'RTF':>8} {'RSS MB':>7} {'audition s':>10}"
        )
        for label, ref in routines:
            r = bench_routine(label.replace(" ", ""), ref, tmp, env)
            print(
                f"{label:<10} {r['duration'] / 60:>7.1f}m {r['phrases']:>7d} {r['cold']:>7.2f} "
                f"{r['floor']:>7.2f} {r['warm']:>7.2f} {r['rtf']:>8.5f} {r['rss']:>7.1f} "
                f"{r['audition']:>10.2f}   cold limit {2 * r['floor'] + 1:.2f} s"
            )
        helps = []
        for _ in range(5):
            wall, _, _ = timed([str(VC_BIN), "--help"], env)
            helps.append(wall)
        print(
            f"--help start-up: best {min(helps) * 1000:.0f} ms, median "
            f"{sorted(helps)[2] * 1000:.0f} ms (5 runs)"
        )
        print("targets: " + "; ".join(f"{k} {v}" for k, v in TARGETS.items()))


if __name__ == "__main__":
    main()
