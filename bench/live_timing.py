"""Live timing bench: how exactly `voicecoach run` keeps time, and how soon it starts.

Starts a private PulseAudio server with a null sink (nothing is heard, nothing of the
user's sound setup is touched), records its monitor while `voicecoach run` plays a
10-minute routine (real speech and sounds, no keys: one buffer), finds every cue of the
rendered session in the recording and prints:

- onset error, max and mean (ms): each cue's position against the timeline's
- drift (ms per minute): the slope of that error over the session
- first-sound latency (s): from starting the command to the first sound, warm cache

    .venv/bin/python bench/live_timing.py [--minutes 10] [--routine FILE]

Takes as long as the session (plus a few seconds).

    .venv/bin/python bench/live_timing.py --long [--seconds 60] [--music DIR]

The live run of bench/bench.py's 2-hour routine instead (its first minute: the player
streams, so memory is flat from then on): peak RSS of the `voicecoach run` process
(targets: <= 150 MB) and its first sound after launch on a warm cache (<= 0.5 s), over
three launches. Filling the cache first takes a few minutes.

    .venv/bin/python bench/live_timing.py --cold [--engine piper --voice en_US-joe-medium]
        [--routine FILE] [--seconds 60] [--runs 3]

First sound with an empty clip cache (a new one per launch; default routine: the bundled
five-minute-back, target 2 s: the run speaks while later phrases are still made), and
every cue of its first ``--seconds`` found in the recording against the session rendered
afterwards from the clips that launch made (the head start is the session's own samples).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tests.pulse import Capture, find_onsets, start_pulse, stop_pulse, to_rate  # noqa: E402

# About ten minutes; --minutes scales the work (holds, reps, the march) to fit.
ROUTINE = """\
title: Timing bench
defaults: {{lead_in: 12s, rest: 15s}}
exercises:
  - name: Bridge
    setup: Lie on your back, knees bent, feet flat.
    hold: {hold}s
    sets: 3
    set_rest: 10s
  - name: Bird-dog
    setup: On hands and knees, back flat.
    reps: {reps}
    tempo: [2s, 2s]
    sides: both
    hold: 2s
  - name: Dead bug
    reps: {reps}
    tempo: [2s, 2s]
    breathing: [out, in]
  - name: Side plank
    hold: 20s
    sides: both
  - name: Cat-cow
    breaths: 8
    inhale: 4s
    exhale: 5s
  - name: March
    time: {march}s
"""


def routine_text(minutes: float) -> str:
    scale = max(0.2, (minutes * 60 - 200) / 370)  # fixed parts ~200 s; the rest scales
    return ROUTINE.format(
        hold=round(30 * scale), reps=max(2, round(8 * scale)), march=round(75 * scale)
    )


def voicecoach() -> list[str]:
    exe = shutil.which("voicecoach", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "voicecoach"]


LONG_RSS_MB = 150.0
LONG_FIRST_S = 0.5


def long_run(
    seconds: float, runs: int = 3, music: str | None = None, cache: Path | None = None
) -> None:
    """Peak RSS and first sound of the 2-hour routine's live run (see the module's doc).

    ``cache``: a clip cache folder to use (and keep) instead of a fresh one, so a second
    bench run skips the minutes of filling it.

    The launches run with compiled bytecode, as an installed voicecoach does (pip
    compiles it): PYTHONDONTWRITEBYTECODE, set in some dev shells, would make every
    launch compile voicecoach's ~40 modules first (about 0.1 s), which no user pays.
    The bytecode goes to the bench's temporary folder, not the source tree."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_main", ROOT / "bench" / "bench.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_main"] = bench  # its dataclasses look their module up
    spec.loader.exec_module(bench)  # bench/bench.py: its 2-hour routine
    generated_routine = bench.generated_routine

    with tempfile.TemporaryDirectory(prefix="vc-bench-") as tmp:
        folder = Path(tmp)
        path = folder / "two-hours.yaml"
        path.write_text(generated_routine(120))
        cache_dir = str(cache or folder / "cache")
        os.environ["VOICECOACH_CACHE_DIR"] = cache_dir
        from voicecoach.app.env import prepare_ref
        from voicecoach.cli.env import real_env

        print("preparing the 2-hour routine (fills the clip cache)…", flush=True)
        timeline = prepare_ref(real_env(), str(path)).timeline
        print(f"{timeline.duration / 60:.1f} min; {runs} live runs of {seconds:g} s…", flush=True)
        server = start_pulse(folder / "pulse")
        firsts, peaks = [], []
        try:
            env = server.client_env(
                VOICECOACH_CACHE_DIR=cache_dir,
                VOICECOACH_STATE_DIR=str(folder / "state"),
                VOICECOACH_DATA_DIR=str(folder / "data"),
                PYTHONPYCACHEPREFIX=str(folder / "pycache"),
            )
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            subprocess.run(
                [sys.executable, "-m", "compileall", "-q", str(ROOT / "voicecoach")],
                env=env, check=True,
            )  # fmt: skip
            for _ in range(runs):
                with Capture(server) as capture:
                    launched = time.monotonic()
                    proc = subprocess.Popen(
                        [*voicecoach(), "run", "--quiet", str(path),
                         *(["--music", music] if music else [])],
                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL, env=env,
                    )  # fmt: skip
                    try:
                        firsts.append(capture.wait_for_sound(timeout=120) - launched)
                        time.sleep(max(0.0, launched + seconds - time.monotonic()))
                        if proc.poll() is not None:
                            sys.exit(f"voicecoach run ended early ({proc.returncode})")
                    finally:
                        proc.send_signal(signal.SIGTERM)  # our own child, by its pid
                        _, _, usage = os.wait4(proc.pid, 0)
                        proc.returncode = 0  # reaped above
                peaks.append(usage.ru_maxrss / 1024)
        finally:
            stop_pulse(server)
    first = sorted(firsts)[len(firsts) // 2]
    ok = "ok" if first <= LONG_FIRST_S else "MISSED"
    print(f"first sound     median {first:.3f} s after launch, warm cache "
          f"({', '.join(f'{f:.3f}' for f in firsts)}) <= {LONG_FIRST_S:g} s {ok}")  # fmt: skip
    ok = "ok" if max(peaks) <= LONG_RSS_MB else "MISSED"
    print(f"peak RSS        {max(peaks):.1f} MB during the live run "
          f"({', '.join(f'{p:.1f}' for p in peaks)}) <= {LONG_RSS_MB:g} MB {ok}")  # fmt: skip


COLD_FIRST_S = 2.0


def cold_run(
    routine: Path, seconds: float, runs: int, engine: str | None, voice: str | None
) -> None:
    """First sound of `voicecoach run` on an empty clip cache (a new one per launch), and
    whether what it played early is the session: the recording of its first ``seconds``
    against the session rendered afterwards from the very clips that launch made.

    The run starts speaking while its later phrases are still being made (the head start,
    ``app/headstart.py``): its first sound should come within 2 s even cold. ``engine``
    and ``voice``: as `run --engine ... --voice ...` (None: the routine's)."""
    from voicecoach.app.env import VoiceOptions, prepare_ref
    from voicecoach.cli.env import real_env

    options = VoiceOptions(engine=engine, voice=voice)
    chosen = [x for k, v in (("--engine", engine), ("--voice", voice)) if v for x in (k, v)]
    with tempfile.TemporaryDirectory(prefix="vc-bench-") as tmp:
        folder = Path(tmp)
        server = start_pulse(folder / "pulse")
        firsts: list[float] = []
        try:
            for run in range(runs):
                cache = folder / f"cache-{run}"
                env = server.client_env(
                    VOICECOACH_CACHE_DIR=str(cache),
                    VOICECOACH_STATE_DIR=str(folder / f"state-{run}"),
                    VOICECOACH_DATA_DIR=str(folder / f"data-{run}"),  # a first run: safety
                    PYTHONPYCACHEPREFIX=str(folder / "pycache"),
                )
                env.pop("PYTHONDONTWRITEBYTECODE", None)
                if run == 0:
                    subprocess.run(
                        [sys.executable, "-m", "compileall", "-q", str(ROOT / "voicecoach")],
                        env=env, check=True,
                    )  # fmt: skip
                with Capture(server) as capture:
                    launched = time.monotonic()
                    proc = subprocess.Popen(
                        [*voicecoach(), "run", "--quiet", str(routine), *chosen],
                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE, env=env,
                    )  # fmt: skip
                    try:
                        firsts.append(capture.wait_for_sound(timeout=120) - launched)
                        time.sleep(max(0.0, launched + firsts[-1] + seconds - time.monotonic()))
                        if proc.poll() is not None:
                            sys.exit(f"voicecoach run ended early ({proc.returncode})")
                    finally:
                        proc.send_signal(signal.SIGTERM)  # our own child, by its pid
                        proc.communicate(timeout=60)
                    time.sleep(0.3)
                    recording = capture.stop()
                print(f"launch {run + 1}: first sound {firsts[-1]:.3f} s, cold", flush=True)
        finally:
            stop_pulse(server)
        # The session as render makes it, from the clips the last launch made (the run
        # was stopped: the phrases it had not made yet are made now).
        os.environ["VOICECOACH_CACHE_DIR"] = str(cache)
        prepared = prepare_ref(real_env(), str(routine), options)
        rate = prepared.timeline.sample_rate
        upto = round((seconds - 3) * rate)
        cues = [e.start for e in prepared.timeline.events if e.kind != "wait" and e.start < upto]
        render = prepared.mixer.render(0, upto + 5 * rate).astype(np.float64) / 32768
    timing = find_onsets(to_rate(recording, rate), render, cues, rate)
    print(f"onsets found    {len(timing.onsets)} of {len(cues)} in the first {seconds:g} s "
          f"({len(timing.offsets)} segment(s)), max error {timing.max_ms:.2f} ms")  # fmt: skip
    first = sorted(firsts)[len(firsts) // 2]
    ok = "ok" if first <= COLD_FIRST_S else "MISSED"
    print(f"first sound     median {first:.3f} s after launch, cold cache "
          f"({', '.join(f'{f:.3f}' for f in firsts)}) <= {COLD_FIRST_S:g} s {ok}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="about how long (6 at least)")
    parser.add_argument("--routine", type=Path, default=None, help="play this routine instead")
    parser.add_argument("--long", action="store_true", help="the 2-hour routine: RSS, first sound")
    parser.add_argument("--seconds", type=float, default=60.0, help="--long: each run's length")
    parser.add_argument("--music", default=None, help="--long: with this music file or folder")
    parser.add_argument("--cache", type=Path, default=None, help="--long: keep the cache here")
    parser.add_argument("--runs", type=int, default=3, help="--long: how many launches")
    parser.add_argument("--cold", action="store_true", help="first sound on an empty cache")
    parser.add_argument("--engine", default=None, help="--cold: espeak or piper")
    parser.add_argument("--voice", default=None, help="--cold: the voice")
    args = parser.parse_args()
    if args.cold:
        routine = args.routine or ROOT / "scripts" / "five-minute-back.yaml"
        cold_run(routine, args.seconds, args.runs, args.engine, args.voice)
        return
    if args.long:
        long_run(args.seconds, args.runs, music=args.music, cache=args.cache)
        return

    with tempfile.TemporaryDirectory(prefix="vc-bench-") as tmp:
        folder = Path(tmp)
        path = args.routine
        if path is None:
            path = folder / "bench.yaml"
            path.write_text(routine_text(args.minutes))
        os.environ["VOICECOACH_CACHE_DIR"] = str(folder / "cache")
        from voicecoach.app.env import prepare_ref
        from voicecoach.cli.env import real_env

        print(f"preparing {path} (fills the clip cache: the run starts warm)…", flush=True)
        prepared = prepare_ref(real_env(), str(path))
        timeline = prepared.timeline
        rate = timeline.sample_rate
        cues = [e.start for e in timeline.events if e.kind in ("speech", "sound")]
        print(f"{timeline.duration / 60:.1f} min, {len(cues)} cues; playing live…", flush=True)
        render = prepared.mixer.render(0, timeline.length).astype(np.float64) / 32768

        server = start_pulse(folder / "pulse")
        try:
            env = server.client_env(
                VOICECOACH_CACHE_DIR=str(folder / "cache"),
                VOICECOACH_STATE_DIR=str(folder / "state"),
                VOICECOACH_DATA_DIR=str(folder / "data"),
            )
            with Capture(server) as capture:
                launched = time.monotonic()
                proc = subprocess.Popen(
                    [*voicecoach(), "run", "--quiet", str(path)],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE, env=env,
                )  # fmt: skip
                first = capture.wait_for_sound(timeout=120)
                _, err = proc.communicate(timeout=timeline.duration + 120)
                time.sleep(0.3)
                recording = capture.stop()
        finally:
            stop_pulse(server)
        if proc.returncode != 0:
            sys.exit(f"voicecoach run failed ({proc.returncode}): {err.decode()}")

    timing = find_onsets(to_rate(recording, rate), render, cues, rate)
    segments = len(timing.offsets)
    print(f"onsets found    {len(timing.onsets)} of {len(cues)} ({segments} segment(s))")
    print(f"onset error     max {timing.max_ms:.2f} ms, mean {timing.mean_ms:.3f} ms")
    print(f"drift           {timing.drift_ms_per_min:+.4f} ms per minute")
    print(f"first sound     {first - launched:.3f} s after the command started (warm cache)")


if __name__ == "__main__":
    main()
