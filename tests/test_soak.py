"""The soak test of bench/soak.py, shortened to a 2-minute routine for CI.

The real command plays a generated routine (holds, sets, rests, side switches, rounds)
live into the PulseAudio null sink; every cue is found in the recording and the
player's memory is sampled as it plays. The bounds are generous: a noisy, shared
machine must not fail it, a clock that drifts or a player that leaks must.
The full hour: `.venv/bin/python bench/soak.py --minutes 60`.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.pulse import PulseServer

pytestmark = [pytest.mark.audio, pytest.mark.slow]

BENCH = Path(__file__).resolve().parent.parent / "bench" / "soak.py"


def _soak_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("voicecoach_bench_soak", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_two_minutes_live_keep_time_and_flat_memory(pulse: PulseServer, tmp_path: Path) -> None:
    soak = _soak_module()
    result = soak.soak(2.0, tmp_path, rss_interval=1.0, server=pulse)
    print("\n" + result.report())
    assert result.returncode == 0
    assert "Traceback" not in result.stderr and "ALSA" not in result.stderr, result.stderr
    assert 1.5 < result.minutes < 3.0
    assert result.cues > 50
    # Every cue was heard, in one stretch: no dropout restarted the sound anywhere.
    assert (result.found, result.segments) == (result.cues, 1)
    assert result.max_ms <= 10.0
    assert abs(result.drift_ms_per_min) <= 2.0
    # Memory: sampled about once a second while the session plays, and flat.
    assert result.rss_samples >= 60
    assert result.rss_max_mb <= 1.25 * result.rss_start_mb
    assert result.rss_end_mb <= 1.25 * result.rss_start_mb
