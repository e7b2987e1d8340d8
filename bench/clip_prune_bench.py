"""Benchmark: what keeping the clip cache under its limit costs (``clipcache.prune``).

Run: .venv/bin/python bench/clip_prune_bench.py [--files 10000] [--runs 5] [--tree DIR]

It prints:

- the check every command that used clips makes when it exits (the marker's stat);
- the daily scan of a folder of ``--files`` clips (sparse files of 95 KB, the dev
  machine's mean: 850 MB in 8965 files) under the limit (nothing removed), and over it
  (the least recently used removed down to 80% of it);
- a warm render of the flagship (`voicecoach render back-strength`) and its warm run's
  first play() call, with every clip's mark fresh (a warm start: nothing written) and
  with every mark over a day old (the once-a-day refresh: one utime a clip read),
  ``--runs`` each, min and median. ``--tree DIR`` renders with another checkout's
  package (PYTHONPATH), to compare with the code before pruning.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
SIZE = 95 * 1024  # bytes a file, as on the dev machine
DAY = 86400.0


def bench_main() -> ModuleType:
    """``bench.py``, beside this script (its folder is on ``sys.path``)."""
    sys.path.insert(1, str(ROOT / "bench"))
    return importlib.import_module("bench")


def make_folder(folder: Path, files: int) -> None:
    """``files`` sparse clips and cues, last used over the past 90 days."""
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for i in range(files):
        path = folder / f"{i:064x}{'.cue' if i % 3 == 0 else '.clip'}"
        with open(path, "wb") as f:
            f.truncate(SIZE)
        when = now - DAY - (i * 7919 % files) / files * 90 * DAY
        os.utime(path, (when, when))


def scans(folder: Path, files: int) -> None:
    from voicecoach.adapters import clipcache

    make_folder(folder, files)
    total = files * SIZE
    marker = folder / clipcache.PRUNED
    clipcache.prune(folder, 2 * total)  # the marker is fresh now
    start = time.perf_counter()
    for _ in range(1000):
        clipcache.prune(folder)
    check = (time.perf_counter() - start) / 1000
    print(f"exit check, scanned today          {check * 1e6:8.1f} us")
    marker.unlink()
    start = time.perf_counter()
    assert clipcache.prune(folder, 2 * total) == 0
    under = time.perf_counter() - start
    print(f"scan of {files} files, under the limit {under * 1e3:8.1f} ms")
    marker.unlink()
    limit = int(total * 0.8)
    start = time.perf_counter()
    removed = clipcache.prune(folder, limit)
    over = time.perf_counter() - start
    gone = files - sum(1 for _ in folder.glob("*.c*"))
    print(
        f"scan of {files} files, over the limit  {over * 1e3:8.1f} ms "
        f"({gone} files, {removed / 2**20:.0f} MB removed)"
    )


def age_all(folder: Path) -> None:
    when = time.time() - 2 * DAY
    for path in folder.glob("*.c*"):
        os.utime(path, (when, when))


def reads(folder: Path, runs: int) -> None:
    """In process, the steadier figure: every clip and cue of the folder read through
    ``ClipCache`` with fresh marks, then with marks a day old (a utime each)."""
    from voicecoach.adapters.clipcache import ANALYSIS_SUFFIX, ClipCache

    cache = ClipCache(folder)
    paths = sorted(folder.glob("*.c*"))
    for path in paths:  # numpy imported, the files in the page cache: not timed
        cache.get(path.stem)
    for label, before in (("marks fresh", None), ("marks a day old", age_all)):
        took = []
        for _ in range(runs):
            if before is not None:
                before(folder)
            start = time.perf_counter()
            for path in paths:
                if path.suffix == ANALYSIS_SUFFIX:
                    assert cache.analysis(path.stem) is not None
                else:
                    assert cache.get(path.stem) is not None
            took.append(time.perf_counter() - start)
        median = statistics.median(took) * 1e3
        print(f"  {label:<16} {len(paths)} reads in process: median {median:.1f} ms")


def warm_starts(bench: ModuleType, tmp: Path, caches: Path, tree: Path, runs: int) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "VOICECOACH_CACHE_DIR": str(caches / "flagship"),
        "VOICECOACH_STATE_DIR": str(tmp / "state"),
        "VOICECOACH_DATA_DIR": str(tmp / "data"),
    }
    folder = caches / "flagship" / "clips"
    render = [*bench.VOICECOACH, "render", "back-strength", "-o", str(tmp / "out.wav")]
    bench.timed(render, env)  # cold: fills the cache
    print(f"flagship warm, package from {tree}: {sum(1 for _ in folder.glob('*.c*'))} files")
    for label, before in (("marks fresh", None), ("marks a day old", age_all)):
        walls = []
        for _ in range(runs):
            if before is not None:
                before(folder)
            walls.append(bench.timed(render, env)[0])
        plays = []
        for _ in range(runs):
            if before is not None:
                before(folder)
            plays.extend(bench.first_play("back-strength", tmp, env, runs=1)[0])
        print(
            f"  {label:<16} render min {min(walls):.3f} median {statistics.median(walls):.3f} s"
            f", first play min {min(plays):.3f} median {statistics.median(plays):.3f} s"
        )
    if tree == ROOT:
        reads(folder, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to render with")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    bench = bench_main()
    import platformdirs

    # In the user cache folder, as bench.py: where clips live (files in /tmp cost more).
    cache_root = Path(platformdirs.user_cache_dir())
    cache_root.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="vc-prune-") as name,
        tempfile.TemporaryDirectory(prefix="voicecoach-prune-", dir=cache_root) as caches,
    ):
        scans(Path(caches) / "scan", args.files)
        warm_starts(bench, Path(name), Path(caches), args.tree.resolve(), args.runs)


if __name__ == "__main__":
    main()
