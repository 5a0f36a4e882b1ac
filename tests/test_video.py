"""Streaming decode on real media, and clear errors for bad files."""

import numpy as np
import pytest

from tools.errors import MediaError
from tools.index.decode import concat_videos, iter_frames, load_audio, probe


def test_probe_real_video(faces, clips):
    m = probe(faces / "WolfgangLanger_Pexels.mp4")
    assert 19 < m.duration < 20.5 and m.has_video and m.has_audio and (m.width, m.height) == (640, 360)
    assert m.video_codec == "h264" and 23 < m.fps < 24.5
    assert probe(clips / "pexels_laughing.mp4").has_audio is False


def test_frames_are_sampled_and_streamed(faces):
    ts = [t for t, img in iter_frames(faces / "WolfgangLanger_Pexels.mp4", fps=2) if img.shape == (360, 640, 3)]
    assert 36 <= len(ts) <= 42 and ts == sorted(ts)
    part = [t for t, _ in iter_frames(faces / "WolfgangLanger_Pexels.mp4", fps=2, start=10, end=12)]
    assert part and all(9.9 <= t < 12 for t in part)
    big = next(iter(iter_frames(faces / "noface_face.mov", fps=1, max_side=320)))[1]
    assert max(big.shape[:2]) == 320


def test_audio(speech, clips):
    a = load_audio(speech / "talk_00015.mp3")
    assert a.dtype == np.float32 and a.size > 16000 * 5 and np.abs(a).max() > 0.05
    seg = load_audio(speech / "talk_00015.mp3", start=2, end=4)
    assert abs(seg.size - 32000) < 1600
    # the same sound as the whole file's 2-4 s, to within 50 ms (an MP3 decoder primes itself after a seek)
    mid = seg[4000:20000]
    corr = np.correlate(a[32000 + 4000 - 800:32000 + 20000 + 800], mid, "valid")
    lag = int(np.argmax(corr)) - 800
    assert abs(lag) <= 800 and np.abs(a[36000 + lag:52000 + lag] - mid).max() < 0.01
    assert load_audio(clips / "pexels_laughing.mp4").size == 0  # no audio track: empty, not an error


@pytest.mark.parametrize("content, msg", [(None, "not found"), (b"", "empty"), (b"hello, not a video" * 50, "not a readable")])
def test_bad_files_raise_media_error(tmp_path, content, msg):
    p = tmp_path / "bad video.mp4"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(MediaError, match=msg):
        probe(p)


def test_truncated_file_keeps_what_decodes(faces, tmp_path):
    """The first half of the file: the frames stored there decode (about the first half of the video),
    the missing rest is not an error."""
    data = (faces / "WolfgangLanger_Pexels.mp4").read_bytes()
    p = tmp_path / "truncated.mp4"
    p.write_bytes(data[: len(data) // 2])
    frames = list(iter_frames(p, fps=1))
    ts = [t for t, _ in frames]
    assert 4 <= len(frames) < 20 and ts == sorted(ts) and ts[0] < 0.5
    assert all(img.shape == (360, 640, 3) for _, img in frames)


def test_concat_spans_are_exact(faces, clips, tmp_path):
    out = tmp_path / "cat.mp4"
    parts = [clips / "single_face_smile.mp4", faces / "no_face.mp4"]  # 360x360 without audio, 960x540 with
    spans = concat_videos(parts, out)
    assert spans[0][0] == 0 and spans[0][1] == spans[1][0]
    for (a, b), src in zip(spans, parts):
        assert b - a == pytest.approx(probe(src).duration, abs=0.05)
    m = probe(out)
    assert m.duration == pytest.approx(spans[1][1], abs=0.1) and (m.width, m.height) == (640, 360) and m.has_audio


def test_want_gets_the_first_frame_at_its_own_times(faces):
    """An adaptive sampler asking for frames 0.3 s apart gets them 0.3 s apart (within a decoded-frame
    interval), not rounded up to the next point of the 4 fps grid."""
    p = faces / "WolfgangLanger_Pexels.mp4"
    due = [0.0]

    def want(t):
        if t + 1e-6 >= due[0]:
            due[0] = t + 0.3
            return True
        return False

    ts = [t for t, _ in iter_frames(p, fps=4, want=want)]
    gaps = np.diff(ts)
    assert len(ts) >= 55 and gaps.min() >= 0.29 and gaps.max() < 0.3 + 0.1


def test_sparse_sampling_skips_b_frames_and_keeps_spacing(faces):
    from tools.index.decode import _decoded
    p = faces / "WolfgangLanger_Pexels.mp4"  # H.264 with B-frames
    all_frames = [t for t, _ in _decoded(p, 0.0, 0.0, None)]
    reference = [t for t, _ in _decoded(p, 0.5, 0.0, None)]
    assert len(reference) < 0.8 * len(all_frames) and set(reference) <= set(all_frames)
    sampled = [t for t, _ in iter_frames(p, fps=2)]
    gaps = np.diff(sampled)
    assert set(sampled) <= set(reference) and 0.3 < gaps.min() and gaps.max() < 0.7


def test_early_close_stops_the_decode_thread(faces):
    import threading
    gen = iter_frames(faces / "WolfgangLanger_Pexels.mp4", fps=4)
    next(gen)
    gen.close()
    assert not [t for t in threading.enumerate() if t.name == "affectlens-decode"]


def test_decode_errors_reach_the_caller(tmp_path):
    p = tmp_path / "garbage.mp4"
    p.write_bytes(b"not a video at all" * 100)
    with pytest.raises(MediaError, match="not a readable"):
        next(iter_frames(p, fps=1))


def test_content_key_sees_a_change_in_the_middle(tmp_path):
    """Two files of the same size that differ only in the middle get different keys (whole-file SHA-256
    up to 512 MiB); the key ignores the name."""
    from tools.index.decode import content_key
    data = bytearray(range(256)) * 20000  # 5 MB
    a, b, c = tmp_path / "a.mp4", tmp_path / "b.mp4", tmp_path / "c.mp4"
    a.write_bytes(bytes(data))
    data[len(data) // 2] ^= 0xFF
    b.write_bytes(bytes(data))
    c.write_bytes(a.read_bytes())
    assert a.stat().st_size == b.stat().st_size
    assert content_key(a) != content_key(b)
    assert content_key(a) == content_key(c) and content_key(a).startswith("f")


def _cut(tmp_path, share: float = 0.6):
    """The bundled sample cut to `share` of its bytes (a download or copy that stopped early)."""
    from tests.conftest import SAMPLE
    data = SAMPLE.read_bytes()
    p = tmp_path / "cut.mp4"
    p.write_bytes(data[: int(len(data) * share)])
    return p


def test_check_decode_finds_where_a_cut_file_stops(tmp_path):
    """The sample cut to 60 % of its bytes still declares 19.7 s; its packets stop near 12 s: damaged
    after that. The intact sample is not damaged (checking `damaged_after is not None` on the cut file
    alone would pass a check that always says damaged)."""
    from tests.conftest import SAMPLE
    from tools.index.decode import check_decode
    cut = check_decode(_cut(tmp_path))
    assert cut.declared_s == pytest.approx(19.69, abs=0.01)
    assert cut.damaged and 11.0 < cut.damaged_after < 13.0
    whole = check_decode(SAMPLE)
    assert not whole.damaged and whole.damaged_after is None and not whole.errors
    assert min(whole.read_s.values()) > 19.5


def test_intact_media_is_never_called_damaged(faces):
    """Every shipped clip, including one whose audio is shorter than its video (noface_face.mov): a
    stream is judged against its own declared length."""
    from tools.index.decode import check_decode
    for p in sorted(faces.glob("*.m*")):
        c = check_decode(p)
        assert not c.damaged, (p.name, c)


def test_a_hole_in_the_middle_is_skipped_and_kept_as_errors(tmp_path):
    """Zeros over 50-60 % of the bytes: the frames after the hole still decode (the frame reader used to
    stop at the first bad packet, silently), and the decoder errors are kept with their times."""
    from tests.conftest import SAMPLE
    from tools.index.decode import check_decode
    data = bytearray(SAMPLE.read_bytes())
    n = len(data)
    data[n // 2: n * 6 // 10] = bytes(n * 6 // 10 - n // 2)
    p = tmp_path / "holed.mp4"
    p.write_bytes(bytes(data))
    ts = [t for t, _ in iter_frames(p, fps=1)]
    assert ts[-1] > 18.0 and any(t > 13 for t in ts)
    c = check_decode(p)
    assert c.damaged and c.damaged_after is None and c.errors
    assert 8.0 < c.unreadable[0] < c.unreadable[1] < 13.0
