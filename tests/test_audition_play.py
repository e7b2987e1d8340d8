"""`audition --play`: the preview keeps every cue whole and in order, shortens only the
silences, and plays exactly the mix of that shorter timeline."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from tests.fakes import SHORT_ROUTINE, RecordingOut, fake_env
from voicecoach.app.preview import play_preview
from voicecoach.app.session import Session
from voicecoach.cli import cli
from voicecoach.core import transcript as audition


@pytest.fixture
def session(make_session: Callable[..., Session]) -> Session:
    return make_session()


def gaps(events: Any) -> list[int]:
    out, prev_end = [], 0
    for e in events:
        out.append(max(0, e.start - prev_end))
        prev_end = max(prev_end, e.end)
    return out


@pytest.mark.parametrize("speed", [1.0, 2.5, 8.0, 100.0])
def test_preview_shortens_silences_only(session: Session, speed: float) -> None:
    before = session.timeline
    after = audition.preview(before, speed)
    assert len(after.events) == len(before.events)
    for old, new in zip(before.events, after.events, strict=True):
        assert (new.kind, new.text, new.exercise) == (old.kind, old.text, old.exercise)
        expected = round(old.length / speed) if old.kind == "wait" else old.length
        assert new.length == expected
    for old_gap, new_gap in zip(gaps(before.events), gaps(after.events), strict=True):
        assert abs(new_gap - old_gap / speed) <= 1
    assert [e.start for e in after.events] == sorted(e.start for e in after.events)
    if speed == 1.0:
        assert after.events == before.events
    else:
        assert after.length < before.length
    assert len(after.chapters) == len(before.chapters)
    assert all(c.start <= c.end for c in after.chapters)


def test_preview_refuses_slowing_down(session: Session) -> None:
    with pytest.raises(ValueError):
        audition.preview(session.timeline, 0.5)


def test_play_preview_plays_the_mix_of_the_shorter_timeline(session: Session) -> None:
    out = RecordingOut()
    seconds = play_preview(session, 8.0, out=out)
    (played,) = out.plays
    preview = audition.preview(session.timeline, 8.0)
    expected = session.mixer.retimed(preview).render(0, preview.length)
    np.testing.assert_array_equal(played.samples, expected)
    assert played.rate == session.timeline.sample_rate
    assert played.stopped is None  # played to the end
    assert seconds == pytest.approx(preview.duration)
    assert seconds < session.timeline.duration / 2


def test_cli_audition_play(tmp_path: Any) -> None:
    out = RecordingOut()
    env = fake_env(output=lambda: out)
    path = tmp_path / "short.yaml"
    path.write_text(SHORT_ROUTINE)
    result = CliRunner().invoke(cli, ["audition", str(path), "--play", "--speed", "4"], obj=env)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # the transcript is not printed when playing
    (played,) = out.plays
    full = CliRunner().invoke(cli, ["audition", str(path), "--json"], obj=env)
    duration = json.loads(full.stdout)["duration"]
    assert 0 < len(played.samples) / played.rate < duration * 0.75


def test_cli_rejects_a_speed_below_one() -> None:
    result = CliRunner().invoke(cli, ["audition", "--play", "--speed", "0.5"])
    assert result.exit_code == 2
    assert "0.5 is not in the range 1.0<=x<=100.0" in result.stderr
