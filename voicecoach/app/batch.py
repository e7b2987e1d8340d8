"""Many routines into one folder, in worker processes (``render_many``).

Each worker prepares its own session in the environment it is handed (pickled: the
real one's factories are module-level functions; the speech cache is safe to share)
and renders it with one thread, so the cores are shared out between routines. Ctrl-C
stops every worker cleanly: each removes its temporary file before the command exits.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, wait
from pathlib import Path

from voicecoach.app.env import Env, VoiceOptions, prepare_ref
from voicecoach.app.render import RenderResult, make_folder, render_session
from voicecoach.errors import ExitStatus, UsageError, VoicecoachError

Progress = Callable[[int], None]
# The environment variable a worker process sets to the cores its speech may use (the
# Piper engine's pool: ``piper.speech_cores``), so nested pools never oversubscribe.
SPEECH_CORES = "VOICECOACH_SPEECH_CORES"
Outcome = RenderResult | tuple[str, int]  # a result, or (error message, exit code)


_busy = False  # in a worker process: a routine is being rendered


def render_job(
    env: Env,
    ref: str,
    out: Path,
    ext: str,
    out_rate: int | None,
    options: VoiceOptions | None,
    threads: int | None,
    in_worker: bool = False,
    bitrate: int | None = None,
) -> Outcome:
    """One routine. Errors come back as (message, exit code): exceptions with extra
    fields (RoutineError) do not survive pickling intact. In a worker process Ctrl-C
    ends the job the same way (its temporary file is already removed)."""
    global _busy
    _busy = True
    try:
        session = prepare_ref(env, ref, options)
        return render_session(
            session,
            out,
            files=env.files(),
            out_rate=out_rate,
            fmt=ext,
            threads=threads,
            bitrate=bitrate,
        )
    except VoicecoachError as err:
        return (str(err).replace("\n", "; "), err.exit_code)
    except KeyboardInterrupt:
        if not in_worker:
            raise
        return ("interrupted", ExitStatus.INTERRUPTED)
    finally:
        _busy = False


def _worker_start(cores: int) -> None:
    import signal
    import time

    # Each of the workers makes its speech on its share of the cores: their pools
    # together never hold more processes than the machine has cores.
    os.environ[SPEECH_CORES] = str(cores)

    last = [0.0]

    def interrupted(signum: int, frame: object) -> None:
        # Ctrl-C reaches every process of the terminal's group, and the main process
        # repeats it until the workers are done (speech synthesis may swallow one). A
        # busy worker stops its render, which removes its temporary file; repeats within
        # a second are ignored so that they cannot cut that cleanup short. An idle
        # worker ignores it: exiting would break the pool, which then kills busy
        # workers before they can clean up.
        now = time.monotonic()
        if _busy and now - last[0] > 1.0:
            last[0] = now
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupted)


def output_names(refs: Sequence[str], folder: Path, ext: str) -> list[Path]:
    """``folder/<routine name>.<ext>`` for each routine; the names must differ."""
    from voicecoach.errors import Problem, RoutineError
    from voicecoach.routine import loader as routine

    problems: list[Problem] = []
    names: list[Path] = []
    for ref in refs:
        try:
            names.append(folder / f"{routine.load(ref).name}.{ext}")
        except RoutineError as err:  # report every routine's problems at once
            problems += err.problems
    if problems:
        raise RoutineError(problems)
    seen: dict[Path, str] = {}
    for ref, name in zip(refs, names, strict=True):
        if name in seen:
            raise UsageError(f"{seen[name]} and {ref} would both be written to {name}")
        seen[name] = ref
    return names


def in_processes(
    env: Env,
    refs: Sequence[str],
    outs: Sequence[Path],
    ext: str,
    out_rate: int | None,
    options: VoiceOptions | None,
    workers: int,
    progress: Progress | None,
    bitrate: int | None = None,
) -> list[Outcome]:
    """Run the jobs in ``workers`` processes; ``progress(1)`` as each one ends."""
    import multiprocessing
    import signal
    import time
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # fork: nothing heavy is loaded yet, and spawn would re-run an unguarded __main__.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    share = max(1, (os.cpu_count() or 1) // workers)
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_worker_start, initargs=(share,)
    )
    futures: list[Future[Outcome]] = []
    try:
        for ref, out in zip(refs, outs, strict=True):
            job = (env, ref, out, ext, out_rate, options, 1, True, bitrate)
            futures.append(pool.submit(render_job, *job))
        for _ in as_completed(futures):
            if progress:
                progress(1)
        return [f.result() for f in futures]
    except BaseException:
        # Interrupted: stop the workers too (each removes its temporary file), and wait
        # for them, so that nothing is left behind when this process exits.
        for f in futures:
            f.cancel()
        processes = list(getattr(pool, "_processes", {}).values())
        deadline = time.monotonic() + 60
        while not all(f.done() for f in futures) and time.monotonic() < deadline:
            for process in processes:
                with contextlib.suppress(OSError):
                    os.kill(process.pid, signal.SIGINT)
            wait(futures, timeout=1.5)
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)


def render_many(
    refs: Sequence[str],
    folder: Path,
    ext: str,
    *,
    env: Env,
    jobs: int = 2,
    out_rate: int | None = None,
    options: VoiceOptions | None = None,
    progress: Progress | None = None,
    bitrate: int | None = None,
) -> list[RenderResult]:
    """Render each routine to ``folder/<name>.<ext>``, ``jobs`` at a time in worker
    processes, each preparing its session in ``env`` (pickled: its factories must be
    module-level functions). ``progress(1)`` is called as each routine is done. Every
    routine that can be rendered is; then one error names those that failed."""
    files = env.files()
    ext = files.format_ext(folder, ext)
    outs = output_names(refs, folder, ext)
    make_folder(files, folder)
    workers = max(1, min(jobs, len(refs)))
    results: list[Outcome] = []
    if workers == 1:
        for ref, out in zip(refs, outs, strict=True):
            results.append(render_job(env, ref, out, ext, out_rate, options, None, bitrate=bitrate))
            if progress:
                progress(1)
    else:
        results = in_processes(env, refs, outs, ext, out_rate, options, workers, progress, bitrate)
    failed = [(ref, r) for ref, r in zip(refs, results, strict=True) if isinstance(r, tuple)]
    if failed:
        detail = "; ".join(f"{ref}: {msg}" for ref, (msg, _) in failed)
        err = VoicecoachError(f"{len(failed)} of {len(refs)} routines failed: {detail}")
        err.exit_code = max(code for _, (_, code) in failed)
        raise err
    return [r for r in results if isinstance(r, RenderResult)]
