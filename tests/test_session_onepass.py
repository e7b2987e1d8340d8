"""A warm session is laid out in one pass (no listing of the phrases first), and gives
exactly the session the two-pass way gives; a clip not ready falls back to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from tests.fakes import SHORT_ROUTINE, FakeSpeech, fake_sounds
from voicecoach.app import session
from voicecoach.app.ports import CachedLevels
from voicecoach.app.session import InProcessLevels, Session
from voicecoach.audio.levelling import SPEECH_LUFS
from voicecoach.core.model import Routine
from voicecoach.routine import loader

if TYPE_CHECKING:
    from voicecoach.audio.mix import Samples


class ReadyLevels(InProcessLevels):
    """Levels in process, and says which clips are ready (those made before, less
    ``forget``): a stand-in for the real speech's levelled cache."""

    def __init__(self) -> None:
        super().__init__(FakeSpeech(), SPEECH_LUFS)
        self.forget: set[str] = set()
        self.batches: list[list[str]] = []

    def levelled(self, texts, progress=None):  # type: ignore[no-untyped-def]
        texts = list(texts)
        self.batches.append(texts)
        return super().levelled(texts, progress)

    def cached_levelled(self, text: str) -> Samples | None:
        return None if text in self.forget else self._done.get(text)


def prepare(loaded: Routine, levels: ReadyLevels) -> Session:
    return session.prepare(loaded, speech=levels, sounds=fake_sounds())  # type: ignore[arg-type]


def same(a: Session, b: Session) -> None:
    assert a.timeline == b.timeline
    assert a.mixer._clips.keys() == b.mixer._clips.keys()
    for text, clip in a.mixer._clips.items():
        assert np.array_equal(clip, b.mixer._clips[text]), text


@pytest.fixture
def listings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the listing passes (``phrases.phrases``)."""
    count: list[int] = []
    real = session.phrases

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        count.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(session, "phrases", counted)
    return count


def test_warm_is_one_pass_and_the_same_session(listings: list[int]) -> None:
    loaded = loader.load_text(SHORT_ROUTINE, "short.yaml")
    levels = ReadyLevels()
    assert isinstance(levels, CachedLevels)
    cold = prepare(loaded, levels)
    assert len(listings) == 1  # nothing ready: listed, then made in one batch
    assert len(levels.batches[0]) > 10
    two_pass = session.prepare(loaded, speech=FakeSpeech(), sounds=fake_sounds())
    same(cold, two_pass)

    listings.clear()
    levels.batches.clear()
    warm = prepare(loaded, levels)
    assert listings == []  # laid out once, from the ready clips
    assert [len(b) for b in levels.batches] == [1]  # the closing line, after the layout
    same(warm, two_pass)


def test_a_clip_not_ready_falls_back_to_the_batch(listings: list[int]) -> None:
    loaded = loader.load_text(SHORT_ROUTINE, "short.yaml")
    levels = ReadyLevels()
    prepare(loaded, levels)
    spoken = [e.text for e in prepare(loaded, levels).timeline.events if e.kind == "speech"]
    levels.forget = {spoken[len(spoken) // 2]}
    listings.clear()
    levels.batches.clear()
    again = prepare(loaded, levels)
    assert len(listings) == 1  # listed again: the missing clip is made in the batch
    assert len(levels.batches[0]) > 10
    same(again, session.prepare(loaded, speech=FakeSpeech(), sounds=fake_sounds()))
