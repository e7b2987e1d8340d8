"""encode: every format decoded back with real decoders (libsndfile/mpg123 and ffmpeg),
chapters and tags read by ffprobe, resampling and the exact MP3 join (faults and
atomicity: test_encode_faults.py)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.audiocheck import (
    LOSSY_ONSET_TOLERANCE,
    Samples,
    assert_onsets,
    decode,
    ffmpeg_decode,
    ffprobe,
    stream_start,
    synthetic,
    to_session_rate,
    write,
)
from voicecoach.adapters import encode, mp3
from voicecoach.app.render import quiet_spans
from voicecoach.audio.mix import Mixer
from voicecoach.core.tags import Tags
from voicecoach.errors import UsageError


@pytest.fixture(scope="module")
def session() -> Mixer:
    return synthetic(20.0)


@pytest.mark.parametrize("ext", ["wav", "flac"])
def test_lossless_formats_decode_to_exactly_the_session(
    session: Mixer, tmp_path: Path, ext: str
) -> None:
    path = tmp_path / f"s.{ext}"
    written = write(session, path)
    expected = session.render(0, session.length)
    data, rate = decode(path)
    assert rate == 22050 and written.sample_rate == 22050
    assert written.frames == session.length
    np.testing.assert_array_equal(data, expected)
    np.testing.assert_array_equal(ffmpeg_decode(path), expected)


@pytest.mark.parametrize("ext", ["ogg", "opus", "mp3"])
def test_lossy_formats_keep_length_and_every_onset(
    session: Mixer, tmp_path: Path, ext: str
) -> None:
    path = tmp_path / f"s.{ext}"
    written = write(session, path)
    data, rate = decode(path)
    expected_rate = 24000 if ext == "opus" else 22050
    assert rate == written.sample_rate == expected_rate
    # The codecs' priming and padding are trimmed by the decoder (LAME tag, Ogg granule
    # positions): the decoded length is the session's, to the sample.
    assert len(data) == written.frames == round(session.length * rate / 22050)
    ff_rate = 48000 if ext == "opus" else rate  # ffmpeg decodes any Opus at 48 kHz
    assert len(ffmpeg_decode(path)) == len(data) * ff_rate // rate
    assert_onsets(session, to_session_rate(data, rate), LOSSY_ONSET_TOLERANCE)


@pytest.mark.parametrize("ext", ["mp3", "ogg", "opus", "flac"])
def test_ffprobe_reads_chapters_and_tags(session: Mixer, tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"s.{ext}"
    write(session, path)
    info = ffprobe(path)
    chapters = info["chapters"]
    expected = session.timeline.chapters
    assert [c["tags"]["title"] for c in chapters] == [c.title for c in expected]
    for got, want in zip(chapters, expected, strict=True):
        assert abs(float(got["start_time"]) - want.start / 22050) <= 0.001
        if ext == "mp3":  # CHAP frames carry their end; Vorbis comments only starts
            assert abs(float(got["end_time"]) - want.end / 22050) <= 0.001
    tags = {k.lower(): v for k, v in info["format"].get("tags", {}).items()}
    tags.update({k.lower(): v for k, v in info["streams"][0].get("tags", {}).items()})
    assert tags["title"] == "Morning back"
    assert tags["artist"] == "voicecoach"
    assert tags["album"] == "Back strength"
    assert tags["comment"] == "A test render"


def test_wav_has_riff_tags(session: Mixer, tmp_path: Path) -> None:
    path = tmp_path / "s.wav"
    write(session, path, tags=Tags(title="T", album="A", comment="C", track=(3, 9)))
    tags = ffprobe(path)["format"]["tags"]
    assert (tags["title"], tags["artist"], tags["album"], tags["comment"]) == (
        "T", "voicecoach", "A", "C",
    )  # fmt: skip
    assert tags["track"] == "3"


def test_id3_tag_is_v23_in_order_and_readable_by_mutagen(session: Mixer, tmp_path: Path) -> None:
    from mutagen.id3 import ID3

    path = tmp_path / "s.mp3"
    title = "Rücken Ω 🧘"  # Latin-1 fails: UTF-16 text frames
    write(session, path, tags=Tags(title=title, album="Back", comment="Ω", track=(2, 5)))
    tag = ID3(path)
    assert tag.version == (2, 3, 0)
    assert str(tag["TIT2"]) == title and str(tag["TRCK"]) == "2/5"
    assert tag.getall("COMM")[0].text == ["Ω"]
    toc = tag.getall("CTOC")[0]
    chaps = {c.element_id: c for c in tag.getall("CHAP")}
    starts = [chaps[i].start_time for i in toc.child_element_ids]
    assert starts == sorted(starts) and len(starts) == len(session.timeline.chapters)
    # In the file too: ffprobe (and simple parsers) list CHAP frames in file order.
    listed = [float(c["start_time"]) for c in ffprobe(path)["chapters"]]
    assert listed == sorted(listed)


def test_many_chapters_get_a_table_of_tables(tmp_path: Path) -> None:
    from mutagen.id3 import ID3

    from voicecoach.core.timeline import Chapter

    chapters = [Chapter(f"Part {i}", i * 100, (i + 1) * 100) for i in range(300)]
    path = tmp_path / "many.mp3"
    silence = np.zeros(30000, np.int16)
    encode.write_audio(path, [silence], total=30000, chapters=chapters)
    tag = ID3(path)
    top = [t for t in tag.getall("CTOC") if t.flags & 2]
    assert len(top) == 1 and len(top[0].child_element_ids) == 2
    assert len(ffprobe(path)["chapters"]) == 300


# --- the parallel MP3 join ------------------------------------------------------------


@pytest.fixture(scope="module")
def long_session() -> Mixer:
    return synthetic(150.0, spacing=3.1)


@pytest.mark.parametrize("out_rate", [None, 44100, 48000])
def test_mp3_in_pieces_joins_exactly(
    long_session: Mixer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out_rate: int | None
) -> None:
    joins: list[int] = []
    real_join = mp3.join

    def spy(out: object, base: int, parts: list[Path]) -> None:
        joins.append(len(parts))
        real_join(out, base, parts)  # type: ignore[arg-type]

    monkeypatch.setattr(mp3, "join", spy)
    progress: list[int] = []
    whole = tmp_path / "whole.mp3"
    pieces = tmp_path / "pieces.mp3"
    one = write(long_session, whole, threads=1, out_rate=out_rate)
    assert joins == []
    two = write(long_session, pieces, threads=2, out_rate=out_rate, progress=progress.append)
    assert joins == [1]  # really encoded in two pieces
    assert sum(progress) == long_session.length
    assert two.frames == one.frames
    a, rate = decode(whole)
    b, _ = decode(pieces)
    assert len(a) == len(b) == two.frames == round(long_session.length * rate / 22050)
    assert len(ffmpeg_decode(pieces)) == len(b)
    assert_onsets(long_session, to_session_rate(b, rate), 1)
    # The same signal as one piece, up to the codec's own noise.
    reference = to_session_rate(a, rate).astype(np.int32)
    joined = to_session_rate(b, rate).astype(np.int32)
    error = np.sqrt(np.mean((joined - reference) ** 2))
    assert error < 0.01 * np.sqrt(np.mean(reference**2))
    # No temporary pieces left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pieces.mp3", "whole.mp3"]


def test_joined_lame_tag_is_consistent(long_session: Mixer, tmp_path: Path) -> None:
    path = tmp_path / "p.mp3"
    write(long_session, path, threads=2)
    raw = path.read_bytes()
    base = stream_start(raw)
    marker = raw.index(b"Info", base) - base
    info = raw[base : base + mp3.frame_length(raw[base : base + 4])]
    frames = int.from_bytes(info[marker + 8 : marker + 12], "big")
    size = int.from_bytes(info[marker + 12 : marker + 16], "big")
    count = 0
    pos = base + len(info)
    while pos < len(raw):
        pos += mp3.frame_length(raw[pos : pos + 4])
        count += 1
    assert (count, size) == (frames, len(raw) - base)
    tag_crc = int.from_bytes(info[marker + 154 : marker + 156], "big")
    assert tag_crc == mp3.crc16(info[: marker + 154])
    music_crc = int.from_bytes(info[marker + 152 : marker + 154], "big")
    assert music_crc == mp3.crc16(raw[base + len(info) :])
    padding = int.from_bytes(info[marker + 142 : marker + 144], "big") & 0xFFF
    assert frames * 576 == long_session.length + mp3.DELAY + padding


@pytest.mark.parametrize("rate", [8000, 22050, 44100])
@pytest.mark.parametrize("n", [1, 575, 576, 1000, 5000, 22050])
def test_lame_frame_count_is_what_the_join_assumes(rate: int, n: int, tmp_path: Path) -> None:
    path = tmp_path / "f.mp3"
    encode.write_audio(path, [np.zeros(n, np.int16)], total=n, rate=rate, out_rate=rate)
    raw = path.read_bytes()
    base = stream_start(raw)
    marker = raw.index(b"Info", base)
    frames = int.from_bytes(raw[marker + 8 : marker + 12], "big")
    assert frames == math.ceil((n + mp3.SEAM) / mp3.frame_size(rate))


def test_crc16_combine_matches_direct() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, 1000, dtype=np.uint8).tobytes()
    b = rng.integers(0, 256, 777, dtype=np.uint8).tobytes()
    assert mp3.crc16_combine(mp3.crc16(a), mp3.crc16(b), len(b)) == mp3.crc16(a + b)
    assert mp3.crc16(b"123456789") == 0xBB3D  # CRC-16/ARC check value


def test_cut_points_sit_in_silence_on_frame_boundaries(long_session: Mixer) -> None:
    quiet = quiet_spans(long_session.timeline)
    for out_rate in (22050, 44100, 48000, 16000):
        cuts = mp3.cut_points(long_session.length, 22050, out_rate, quiet, 3)
        assert len(cuts) == 2
        for c in cuts:
            assert c * out_rate % 22050 == 0
            assert c * out_rate // 22050 % mp3.frame_size(out_rate) == 0
            a, b = next((a, b) for a, b in quiet if a <= c <= b)
            assert c - a > mp3.SEAM and b - c > 0
    assert mp3.cut_points(long_session.length, 22050, 22050, [], 2) == []


# --- resampling -------------------------------------------------------------------------


def odd_chunks(x: Samples) -> Iterator[Samples]:
    sizes = [10007, 1, 3, 65536, 4099]
    pos = 0
    i = 0
    while pos < len(x):
        yield x[pos : pos + sizes[i % len(sizes)]]
        pos += sizes[i % len(sizes)]
        i += 1


def test_resampling_keeps_a_tone_exactly(tmp_path: Path) -> None:
    seconds = 5
    t = np.arange(22050 * seconds) / 22050
    tone = (0.5 * 32767 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    path = tmp_path / "tone.wav"
    written = encode.write_audio(path, odd_chunks(tone), total=len(tone), out_rate=48000)
    data, rate = decode(path)
    assert rate == 48000 and len(data) == written.frames == 48000 * seconds
    x = data.astype(np.float64) / 32767
    # The frequency is kept (no stretching): the spectrum peaks at 1000 Hz.
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / 48000)
    assert abs(freqs[np.argmax(spectrum)] - 1000) < 0.5
    # No images or aliases: nothing above 1.5 kHz comes within 90 dB of the tone.
    assert 20 * np.log10(spectrum[freqs > 1500].max() / spectrum.max()) < -90
    # No dropped or repeated samples anywhere (chunk joins included): the output is the
    # ideal 1 kHz sine at 48 kHz, sample for sample, away from the edges.
    ideal = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(len(x)) / 48000)
    middle = slice(4800, len(x) - 4800)
    assert np.max(np.abs(x[middle] - ideal[middle])) < 2e-4


def test_opus_is_24k_and_rates_follow_the_codec() -> None:
    opus = encode.FORMATS["opus"]
    mp3_fmt = encode.FORMATS["mp3"]
    wav = encode.FORMATS["wav"]
    assert encode.output_rate(opus, 22050) == 24000  # the session's band, whole
    assert encode.output_rate(opus, 22050, 44100) == 48000
    assert encode.output_rate(opus, 22050, 16000) == 16000
    assert encode.output_rate(opus, 22050, 20000) == 24000
    assert encode.output_rate(opus, 22050, 96000) == 48000
    assert encode.output_rate(mp3_fmt, 22050) == 22050
    assert encode.output_rate(mp3_fmt, 22050, 30000) == 32000
    assert encode.output_rate(wav, 22050, 30000) == 30000


def test_format_comes_from_the_extension() -> None:
    assert encode.format_for(Path("a/B.MP3")).ext == "mp3"
    assert encode.format_for(Path("x"), "opus").ext == "opus"
    with pytest.raises(UsageError) as err:
        encode.format_for(Path("out/session.m4a"))
    assert str(err.value) == (
        "cannot tell the audio format of out/session.m4a: name it .wav, .flac, .ogg, .opus or .mp3"
    )
    with pytest.raises(UsageError):
        encode.format_for(Path("x.wav"), "aac")


def test_wav_past_4_gib_becomes_rf64(
    session: Mixer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(encode, "_WAV_LIMIT", 1000)  # as if the session were a day long
    path = tmp_path / "big.wav"
    write(session, path)
    assert sf.info(str(path)).format == "RF64"
    np.testing.assert_array_equal(ffmpeg_decode(path), session.render(0, session.length))


def test_sink_has_the_disk_write_as_it_goes_and_keeps_every_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every WRITEBACK_BYTES the sink asks the disk to start writing (so the final
    fsync waits for little); a pipe or device, where that cannot be asked, still gets
    every byte."""
    import os
    import threading

    from voicecoach.adapters import codec

    monkeypatch.setattr(codec, "WRITEBACK_BYTES", 1 << 16)
    kicks: list[int] = []
    real = os.posix_fadvise

    def fadvise(fd: int, offset: int, length: int, advice: int) -> None:
        kicks.append(advice)
        real(fd, offset, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", fadvise)
    chunks = [bytes([i % 251]) * 50_000 for i in range(40)]
    path = tmp_path / "out.bin"
    with open(path, "w+b") as f:
        sink = codec.Sink(f)
        for chunk in chunks:
            assert sink.write(chunk) == len(chunk)
        sink.seek(0)
        sink.write(b"HEAD")  # libsndfile rewrites the header at the end
    assert sink.error is None
    assert kicks and set(kicks) == {os.POSIX_FADV_DONTNEED}
    assert len(kicks) == len(chunks) // 2  # every second chunk of 50 kB passes 64 kB
    assert path.read_bytes() == b"HEAD" + b"".join(chunks)[4:]

    kicks.clear()
    read_fd, write_fd = os.pipe()
    received = bytearray()

    def drain() -> None:
        with os.fdopen(read_fd, "rb") as r:
            while data := r.read(1 << 16):
                received.extend(data)

    reader = threading.Thread(target=drain)
    reader.start()
    with os.fdopen(write_fd, "wb") as w:
        sink = codec.Sink(w)
        for chunk in chunks:
            assert sink.write(chunk) == len(chunk)
    reader.join(10)
    assert sink.error is None and bytes(received) == b"".join(chunks)
    assert len(kicks) <= 1  # tried once, then no more
