"""Music bench: what a music bed costs a warm render of bench/bench.py's 30-minute routine.

Makes a folder of three 3-minute 44.1 kHz stereo FLAC "tracks" (chords over noise,
generated here, nothing committed), fills the clip cache, then renders the routine to
WAV in child processes: without music, with music cold (decoding every track and
writing the music cache), and with music warm; the best of three warm runs each. Prints
the warm difference against its target (< 1 s), wall and CPU (user + system: the
steadier figure on a loaded machine), and each file's integrated loudness and true peak
(targets: about -16 LUFS, <= -1 dBFS). (No RSS here: a child forked from this
process, which made the tracks, reports this process's peak as its own.)

    .venv/bin/python bench/music_bench.py [--runs 3]

The live run's memory with music: ``bench/live_timing.py --long --music DIR``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXTRA_WARM_S = 1.0


def _bench() -> object:
    spec = importlib.util.spec_from_file_location("bench_main", ROOT / "bench" / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_main"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def make_music(folder: Path, tracks: int = 3, minutes: float = 3.0) -> Path:
    """A folder of generated tracks: a chord per track over quiet noise, in stereo."""
    import numpy as np
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    rate = 44100
    rng = np.random.default_rng(17)
    for i in range(tracks):
        n = int(minutes * 60 * rate)
        t = np.arange(n) / rate
        chord = sum(
            0.12 * np.sin(2 * np.pi * f * (1 + i / 12) * t) for f in (220.0, 277.18, 329.63)
        )
        left = chord + rng.normal(0, 0.02, n)
        right = chord + rng.normal(0, 0.02, n)
        sf.write(str(folder / f"{i + 1:02d} track.flac"), np.stack([left, right], 1), rate)
    return folder


def loudness(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBFS, per block of 2^20 samples) of a
    WAV file, read a block at a time."""
    import soundfile as sf

    from voicecoach.audio.meter import LoudnessMeter, true_peak_dbfs

    meter = LoudnessMeter()
    peak = -float("inf")
    for block in sf.blocks(str(path), blocksize=1 << 20, dtype="int16"):
        meter.add(block)
        peak = max(peak, true_peak_dbfs(block))
    return meter.integrated(), peak


def timed(
    run: Callable[..., tuple[float, float, bytes]], cmd: list[str], env: dict[str, str]
) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, its threads too) of ``cmd`` run as a child by
    ``run`` (bench.py's ``timed``): on a machine other work loads, the CPU time is the
    steadier figure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = run(cmd, env)[0]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the child, reaped: counted
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="warm runs of each (the best)")
    runs = parser.parse_args().runs
    bench = _bench()
    run = bench.timed  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory(prefix="vc-music-bench-") as tmp:
        folder = Path(tmp)
        routine = folder / "thirty.yaml"
        routine.write_text(bench.generated_routine(30))  # type: ignore[attr-defined]
        music = make_music(folder / "music")
        # Compiled bytecode, as an installed voicecoach has (pip compiles it): with
        # PYTHONDONTWRITEBYTECODE, set in some dev shells, every run would compile the
        # modules it imports from source, and music imports a dozen more (~0.05 s).
        env = {
            **os.environ,
            "VOICECOACH_CACHE_DIR": str(folder / "cache"),
            "PYTHONPYCACHEPREFIX": str(folder / "pycache"),
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        compile_all = [sys.executable, "-m", "compileall", "-q", str(ROOT / "voicecoach")]
        subprocess.run(compile_all, env=env, check=True)
        out = folder / "out.wav"
        cmd = [sys.executable, "-m", "voicecoach", "render", str(routine), "-o", str(out)]
        print("filling the clip cache…", flush=True)
        timed(run, cmd, env)
        plain = [timed(run, cmd, env) for _ in range(runs)]
        levels = {"no music": loudness(out)}
        cold = timed(run, [*cmd, "--music", str(music)], env)
        warm = [timed(run, [*cmd, "--music", str(music)], env) for _ in range(runs)]
        levels["music"] = loudness(out)
    best_plain, best_warm = min(plain), min(warm)
    cpu_plain, cpu_warm = min(c for _, c in plain), min(c for _, c in warm)
    extra = best_warm[0] - best_plain[0]
    print("(best of each; wall, then CPU: user + system)")
    print(f"30 min to WAV, warm, no music     {best_plain[0]:6.2f} s   CPU {cpu_plain:6.2f} s")
    print(f"30 min to WAV, music cold         {cold[0]:6.2f} s   CPU {cold[1]:6.2f} s")
    print(f"30 min to WAV, music warm         {best_warm[0]:6.2f} s   CPU {cpu_warm:6.2f} s")
    ok = "ok" if extra < EXTRA_WARM_S else "MISSED"
    print(
        f"music's extra, warm               {extra:6.2f} s   CPU {cpu_warm - cpu_plain:6.2f} s"
        f"   < {EXTRA_WARM_S:g} s   {ok}"
    )
    print("load average", " ".join(f"{x:.1f}" for x in os.getloadavg()))
    for name, (lufs, peak) in levels.items():
        print(f"{name + ',':9} the file            {lufs:6.2f} LUFS, true peak {peak:.2f} dBFS")


if __name__ == "__main__":
    main()
