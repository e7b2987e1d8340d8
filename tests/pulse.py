"""A private PulseAudio server with a null sink, a recorder of what it plays, and the
analysis that compares a recording with the rendered session.

Used by the audio tests (``tests/test_live_timing.py`` and others), ``bench/live_timing.py``
and ``bench/soak.py``. The server runs in its own folder with its own socket, so it never
touches a user's sound setup; ALSA's default device goes to it when ``PULSE_SERVER``
points at it. Everything started here is stopped by PID.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

CAPTURE_RATE = 48000
SINK = "testsink"

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int16]


# -- the server ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PulseServer:
    folder: Path
    socket: Path
    pid: int

    @property
    def env(self) -> dict[str, str]:
        """Variables for a client (voicecoach, parec) to use this server and nothing else."""
        return {"PULSE_SERVER": f"unix:{self.socket}"}

    def client_env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
        env.update(self.env)
        env.update(extra)
        return env


def start_pulse(folder: Path, timeout: float = 20.0) -> PulseServer:
    """Start ``pulseaudio`` with only a unix socket and a 48 kHz stereo null sink."""
    exe = shutil.which("pulseaudio")
    if exe is None:
        raise RuntimeError("pulseaudio is not installed: run `bash tools/dev setup`")
    home = folder / "home"
    runtime = folder / "run"
    home.mkdir(parents=True, exist_ok=True)
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    sock = folder / "pa.sock"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    # A private HOME and runtime dir: no cookie, config or socket of a real user is used.
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(runtime), XDG_CONFIG_HOME=str(home / ".config"))
    cmd = [
        exe,
        "--daemonize=yes",
        "-n",  # no default.pa: only the modules below
        "--system=no",  # needed when the tests run as root
        "--exit-idle-time=-1",
        "--disallow-exit",
        "--use-pid-file=yes",
        f"--log-target=file:{folder / 'pulse.log'}",
        f"--load=module-native-protocol-unix socket={sock} auth-anonymous=1",
        f"--load=module-null-sink sink_name={SINK} rate={CAPTURE_RATE} channels=2",
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    pid_file = runtime / "pulse" / "pid"
    if done.returncode != 0 or not pid_file.exists():
        log_file = folder / "pulse.log"
        log = log_file.read_text(errors="replace") if log_file.exists() else ""
        raise RuntimeError(f"pulseaudio did not start: {done.stderr.strip()} {log[-2000:]}")
    server = PulseServer(folder, sock, int(pid_file.read_text().strip()))
    deadline = time.monotonic() + timeout
    while True:
        ok = subprocess.run(
            ["pactl", "info"], env=server.client_env(), capture_output=True, timeout=timeout
        )
        if ok.returncode == 0:
            return server
        if time.monotonic() > deadline:
            stop_pulse(server)
            raise RuntimeError("pulseaudio started but does not answer on its socket")
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_pulse(server: PulseServer, timeout: float = 5.0) -> None:
    if not _alive(server.pid):
        return
    os.kill(server.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(server.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(server.pid):
        os.kill(server.pid, signal.SIGKILL)


# -- recording -------------------------------------------------------------------------------


class Capture:
    """Records the null sink's monitor (mono, 48 kHz, 5 ms blocks) from a reader thread.

    ``parec`` delivers nothing until its stream runs, so ``start`` waits for the first
    bytes: from then on, everything played is in the recording.
    """

    def __init__(self, server: PulseServer, latency_ms: int = 5) -> None:
        self._cmd = [
            "parec", "--raw", f"--latency-msec={latency_ms}", f"--device={SINK}.monitor",
            "--format=s16le", f"--rate={CAPTURE_RATE}", "--channels=1",
        ]  # fmt: skip
        self._env = server.client_env()
        self._chunks: list[bytes] = []
        self._arrivals: list[tuple[int, float]] = []  # (bytes so far, monotonic time)
        self._size = 0
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 15.0) -> Capture:
        self._proc = subprocess.Popen(self._cmd, stdout=subprocess.PIPE, env=self._env)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while self.size == 0:
            if time.monotonic() > deadline or self._proc.poll() is not None:
                self.stop()
                raise RuntimeError("parec delivered nothing")
            time.sleep(0.005)
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        while True:
            data = self._proc.stdout.read1(65536)
            if not data:
                return
            with self._lock:
                self._chunks.append(data)
                self._size += len(data)
                self._arrivals.append((self._size, time.monotonic()))

    @property
    def size(self) -> int:
        with self._lock:
            return self._size

    def samples(self) -> Ints:
        with self._lock:
            data = b"".join(self._chunks)
        return np.frombuffer(data[: len(data) // 2 * 2], dtype=np.int16)

    def wait_for_sound(self, threshold: int = 200, timeout: float = 30.0) -> float:
        """Block until something is played; the monotonic time its first sample was heard."""
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            data = self.samples()
            loud = np.flatnonzero(np.abs(data[seen:].astype(np.int32)) > threshold)
            if len(loud):
                index = seen + int(loud[0])
                with self._lock:
                    arrivals = list(self._arrivals)
                for size, at in arrivals:
                    if size // 2 > index:  # the block holding it arrived at `at`
                        return at - (size // 2 - index) / CAPTURE_RATE
            seen = len(data)
            time.sleep(0.005)
        raise TimeoutError("nothing was played")

    def stop(self) -> Ints:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._thread is not None:
            self._thread.join(timeout=5)
        return self.samples()

    def __enter__(self) -> Capture:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- analysis --------------------------------------------------------------------------------


def to_rate(capture: Ints, rate: int) -> Floats:
    """The recording at the timeline's rate, as floats in [-1, 1]."""
    import soxr

    x = capture.astype(np.float64) / 32768.0
    out: Floats = np.asarray(soxr.resample(x, CAPTURE_RATE, rate, "VHQ"), dtype=np.float64)
    return out


def locate(x: Floats, template: Floats, lo: int, hi: int) -> tuple[int, float]:
    """The position in ``x`` (between lo and hi) where ``template`` fits best, and how well
    (normalized cross-correlation: 1.0 is a perfect copy at any level)."""
    lo = max(0, lo)
    hi = min(len(x) - len(template), hi)
    if hi < lo or not np.any(template):
        return lo, 0.0
    seg = x[lo : hi + len(template)]
    n = len(seg) + len(template)
    nfft = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(seg, nfft) * np.conj(np.fft.rfft(template, nfft)), nfft)
    corr = corr[: hi - lo + 1]
    sums = np.concatenate(([0.0], np.cumsum(seg * seg)))
    t_energy = float(np.dot(template, template))
    energy = sums[len(template) : len(template) + hi - lo + 1] - sums[: hi - lo + 1]
    # A floor under the window energy (relative to the loudest window) keeps near-silent
    # windows from scoring high on noise.
    floor = max(float(np.max(energy)), 1e-12) * 1e-4
    score = corr / np.sqrt(np.maximum(energy, floor) * t_energy)
    k = int(np.argmax(score))
    return lo + k, float(score[k])


@dataclass(frozen=True)
class Onset:
    start: int  # where the timeline puts the cue (samples)
    found: int  # where it is in the recording (samples at the timeline's rate)
    score: float
    segment: int  # 0 before the first interruption, 1 after it, ...


@dataclass(frozen=True)
class Timing:
    onsets: tuple[Onset, ...]
    offsets: tuple[float, ...]  # per segment: recording position minus timeline position
    rate: int

    def errors_ms(self) -> Floats:
        return np.array(
            [(o.found - o.start - self.offsets[o.segment]) * 1000 / self.rate for o in self.onsets]
        )

    @property
    def max_ms(self) -> float:
        return float(np.max(np.abs(self.errors_ms())))

    @property
    def mean_ms(self) -> float:
        return float(np.mean(np.abs(self.errors_ms())))

    @property
    def drift_ms_per_min(self) -> float:
        """The slope of the onset error over the session (0: the clocks agree)."""
        t = np.array([o.start / self.rate / 60 for o in self.onsets])
        if len(t) < 2 or np.ptp(t) == 0:
            return 0.0
        slope, _ = np.polyfit(t, self.errors_ms(), 1)
        return float(slope)

    def offset_at(self, segment: int) -> float:
        return self.offsets[segment]


MIN_SCORE = 0.8


def find_onsets(
    recording: Floats,
    render: Floats,
    starts: list[int],
    rate: int,
    *,
    search: float = 0.05,
    wide: float = 60.0,
) -> Timing:
    """Find every cue of the rendered session in the recording, in order.

    Each cue is looked for near where the previous ones put it (``search`` seconds
    either side), by its first 0.3 s in context. Where it is not there, playback was
    interrupted (a pause): the cue is looked for anywhere in the next ``wide`` seconds
    with 3 s of context, which starts a new segment with its own offset.
    """
    render = np.asarray(render, dtype=np.float64)  # int16 squares would overflow
    pre = round(0.02 * rate)
    short = round(0.3 * rate)
    long = round(3.0 * rate)
    onsets: list[Onset] = []
    offset: int | None = None
    segment = -1
    last = 0
    for s in starts:
        lo = max(0, s - pre)
        if offset is not None:
            template = render[lo : s + short]
            guess = lo + offset
            slack = round(search * rate)
            at, score = locate(recording, template, guess - slack, guess + slack)
            if score >= MIN_SCORE:
                onsets.append(Onset(s, at + (s - lo), score, segment))
                last = at
                continue
        template = render[lo : s + long]
        at, score = locate(recording, template, last, last + round(wide * rate))
        if score < MIN_SCORE:
            raise AssertionError(
                f"the cue at {s / rate:.3f} s of the timeline is not in the recording"
                f" (best match {score:.2f})"
            )
        segment += 1
        offset = at - lo
        onsets.append(Onset(s, at + (s - lo), score, segment))
        last = at
    offsets = tuple(
        float(np.median([o.found - o.start for o in onsets if o.segment == k]))
        for k in range(segment + 1)
    )
    return Timing(tuple(onsets), offsets, rate)


def block_rms(x: Floats, start: int, stop: int, block: int) -> Floats:
    """RMS of consecutive ``block``-sample blocks of x[start:stop] (zeros outside x)."""
    n = max(0, (stop - start) // block)
    out = np.zeros(n)
    for i in range(n):
        a, b = start + i * block, start + (i + 1) * block
        part = x[max(0, a) : max(0, min(len(x), b))]
        out[i] = float(np.sqrt(np.mean(part * part))) if len(part) else 0.0
    return out
