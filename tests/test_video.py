"""Tests for pose.video, pose.camera and pose.video_writer: file reader, camera failure path
and the H.264 writer.

Every clip is generated here (small, 1-3 s) with the project's own writer or PyAV.
"""

from __future__ import annotations

import re
import struct
import tracemalloc
import weakref
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from pose import video_probe, video_writer
from pose.camera import CameraSource
from pose.video import (
    VideoError,
    VideoInfo,
    av_frame_to_rgb,
    open_video,
    rgb_to_av_frame,
)
from pose.video_writer import AnnotatedVideoWriter, write_video

# ----------------------------------------------------------------------------- builders


def colour(i: int) -> tuple[int, int, int]:
    """A distinct mid-range RGB colour for frame ``i`` (consecutive frames differ a lot)."""
    return (40 + (i * 53) % 180, 40 + (i * 97) % 180, 40 + (i * 151) % 180)


def solid_frames(n: int, width: int, height: int) -> list[np.ndarray]:
    return [np.full((height, width, 3), colour(i), np.uint8) for i in range(n)]


def marker_frame(width: int = 64, height: int = 48) -> np.ndarray:
    """Dark frame with a bright red 10x10 block in the top-left corner."""
    img = np.full((height, width, 3), 20, np.uint8)
    img[:10, :10] = (240, 20, 20)
    return img


def marker_centre(image: np.ndarray) -> tuple[float, float]:
    """(row, col) centre of the red marker, as fractions of (height, width)."""
    red = (image[..., 0] > 150) & (image[..., 1] < 90)
    rows, cols = np.nonzero(red)
    assert rows.size > 0, "marker not found"
    return rows.mean() / image.shape[0], cols.mean() / image.shape[1]


def write_rotated(path: Path, rotation_cw: int, n: int = 10, fps: int = 10) -> None:
    """Landscape 64x48 clip with the marker top-left and a display matrix asking for a
    clockwise rotation of ``rotation_cw`` degrees (what a phone writes as ``rotate``)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.set_display_rotation(-rotation_cw)  # PyAV takes counter-clockwise degrees
        for _ in range(n):
            frame = av.VideoFrame.from_ndarray(marker_frame(), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_noise(path: Path, n: int, fps: int = 10, faststart: bool = True) -> None:
    """Hard-to-compress clip (so bytes spread evenly over time), 64x48."""
    options = {"movflags": "+faststart"} if faststart else {}
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(n):
            img = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_audio(path: Path, container_format: str | None = None) -> None:
    """One second of silent AAC audio, no video."""
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream("aac", rate=44100)
        stream.layout = "mono"
        silence = np.zeros((1, 1024), np.float32)
        for i in range(44):
            frame = av.AudioFrame.from_ndarray(silence, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, i * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def top_level_boxes(path: Path) -> list[str]:
    """Types of the top-level ISO-BMFF boxes of an MP4, in file order."""
    data = path.read_bytes()
    boxes, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        elif size == 0:
            size = len(data) - pos
        assert size >= 8, f"bad box size {size} at {pos}"
        boxes.append(kind.decode("latin-1"))
        pos += size
    assert pos == len(data), "boxes do not tile the file"
    return boxes


# ----------------------------------------------------------------------------- round trip


@pytest.mark.parametrize(("width", "height", "fps", "n"), [(64, 48, 10, 20), (320, 240, 25, 30)])
def test_round_trip_count_timestamps_colours_and_info(
    tmp_path: Path, width: int, height: int, fps: int, n: int
) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, solid_frames(n, width, height), fps)

    with open_video(path) as reader:
        info = reader.info
        frames = list(reader.frames())

    assert info == VideoInfo(
        path=path,
        width=width,
        height=height,
        fps=pytest.approx(fps),
        frame_count=n,
        duration_s=pytest.approx(n / fps, abs=1.5 / fps),
        rotation_deg=0,
        codec="h264",
    )
    assert len(frames) == n
    assert not reader.incomplete and reader.error is None
    for i, frame in enumerate(frames):
        assert frame.index == i
        assert frame.timestamp_s == pytest.approx(i / fps, abs=1e-3)
        assert frame.image.shape == (height, width, 3)
        assert frame.image.dtype == np.uint8 and frame.image.flags.c_contiguous
        mean = frame.image.reshape(-1, 3).mean(axis=0)
        np.testing.assert_allclose(mean, colour(i), atol=8, err_msg=f"frame {i}")
    assert np.all(np.diff([f.timestamp_s for f in frames]) > 0)


def test_frames_can_be_iterated_twice(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, solid_frames(12, 64, 48), 12)
    with open_video(path) as reader:
        first = [f.timestamp_s for f in reader.frames()]
        second = [f.timestamp_s for f in reader.frames()]
    assert first == second and len(first) == 12


def test_abandoned_iteration_is_closed_by_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, solid_frames(12, 64, 48), 12)
    with open_video(path) as reader:
        frames = reader.frames()
        next(frames)
        assert len(reader._open) == 1
    assert not reader._open


def test_variable_frame_timestamps_survive(tmp_path: Path) -> None:
    path = tmp_path / "vfr.mp4"
    times = [0.0, 0.04, 0.2, 0.25, 0.6, 0.61]
    with AnnotatedVideoWriter(path, fps=25, width=64, height=48) as writer:
        for i, t in enumerate(times):
            writer.write(solid_frames(i + 1, 64, 48)[i], timestamp_s=t)
    with open_video(path) as reader:
        got = [f.timestamp_s for f in reader.frames()]
    np.testing.assert_allclose(got, times, atol=1e-3)


def test_writer_output_is_h264_yuv420p_with_moov_before_mdat(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    write_video(path, solid_frames(15, 96, 64), 15)

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert stream.frames == 15
    boxes = top_level_boxes(path)
    assert boxes[0] == "ftyp"
    assert "moov" in boxes and "mdat" in boxes
    assert boxes.index("moov") < boxes.index("mdat"), boxes


def test_odd_size_is_padded_to_even_keeping_the_picture(tmp_path: Path) -> None:
    path = tmp_path / "odd.mp4"
    img = np.full((47, 63, 3), (200, 60, 60), np.uint8)
    img[:, :30] = (60, 60, 200)  # left part blue, right part red
    write_video(path, [img] * 5, 10)

    with open_video(path) as reader:
        assert (reader.info.width, reader.info.height) == (64, 48)
        frame = next(iter(reader.frames()))
    np.testing.assert_allclose(frame.image[10:40, 5:25].mean(axis=(0, 1)), (60, 60, 200), atol=8)
    np.testing.assert_allclose(frame.image[10:40, 40:].mean(axis=(0, 1)), (200, 60, 60), atol=8)
    # the padding column/row repeats the edge, so the right and bottom edges stay red
    np.testing.assert_allclose(frame.image[47, 40:].mean(axis=0), (200, 60, 60), atol=12)


def test_writer_closes_the_file_when_the_block_raises(tmp_path: Path) -> None:
    path = tmp_path / "partial.mp4"
    with pytest.raises(KeyError), AnnotatedVideoWriter(path, 10, 64, 48) as writer:
        for img in solid_frames(7, 64, 48):
            writer.write(img)
        raise KeyError("boom")
    with open_video(path) as reader:
        assert sum(1 for _ in reader.frames()) == 7


# ----------------------------------------------------------------------------- rotation


@pytest.mark.parametrize(
    ("rotation_cw", "size", "corner"),
    # size is (width, height); corner is the marker's (row, col): 0 top/left, 1 bottom/right
    [
        (0, (64, 48), (0, 0)),
        (90, (48, 64), (0, 1)),
        (180, (64, 48), (1, 1)),
        (270, (48, 64), (1, 0)),
    ],
)
def test_rotation_metadata_turns_frames_upright(
    tmp_path: Path, rotation_cw: int, size: tuple[int, int], corner: tuple[int, int]
) -> None:
    path = tmp_path / f"rot{rotation_cw}.mp4"
    write_rotated(path, rotation_cw)

    with open_video(path) as reader:
        assert reader.info.rotation_deg == rotation_cw
        assert (reader.info.width, reader.info.height) == size
        frames = list(reader.frames())
    assert len(frames) == 10
    for frame in frames:
        assert frame.image.shape == (size[1], size[0], 3)
        row, col = marker_centre(frame.image)
        assert abs(row - corner[0]) < 0.25 and abs(col - corner[1]) < 0.25, (row, col)


def test_rotated_clip_agrees_with_an_independent_reader(tmp_path: Path) -> None:
    """OpenCV's FFmpeg backend (not PyAV) sees the same rotation and the same upright image."""
    path = tmp_path / "portrait.mp4"
    write_rotated(path, 90)

    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        assert capture.isOpened()
        assert capture.get(cv2.CAP_PROP_ORIENTATION_META) == 90
        capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
        ok, bgr = capture.read()
    finally:
        capture.release()
    assert ok
    with open_video(path) as reader:
        ours = next(iter(reader.frames())).image
    theirs = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    assert ours.shape == theirs.shape == (64, 48, 3)
    np.testing.assert_allclose(marker_centre(ours), marker_centre(theirs), atol=0.05)


# ----------------------------------------------------------------------------- downscaling


def test_max_side_downscales_keeping_aspect(tmp_path: Path) -> None:
    path = tmp_path / "big.mp4"
    write_video(path, solid_frames(5, 320, 240), 10)
    with open_video(path) as reader:
        small = [f.image for f in reader.frames(max_side=100)]
        same = next(iter(reader.frames(max_side=1000))).image
    assert len(small) == 5
    assert all(img.shape == (75, 100, 3) for img in small)
    assert same.shape == (240, 320, 3)
    np.testing.assert_allclose(small[3].reshape(-1, 3).mean(axis=0), colour(3), atol=8)


def test_max_side_applies_to_the_upright_frame(tmp_path: Path) -> None:
    path = tmp_path / "portrait.mp4"
    write_rotated(path, 90)
    with open_video(path) as reader:
        frame = next(iter(reader.frames(max_side=32)))
    assert frame.image.shape == (32, 24, 3)
    row, col = marker_centre(frame.image)
    assert row < 0.25 and col > 0.75


@pytest.mark.parametrize("bad", [0, -5, 2.5, True])
def test_max_side_must_be_a_positive_int(tmp_path: Path, bad: object) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, solid_frames(3, 64, 48), 10)
    with open_video(path) as reader, pytest.raises(ValueError, match="max_side"):
        reader.frames(max_side=bad)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- bad inputs


def _missing(tmp: Path) -> Path:
    return tmp / "nothing_here.mp4"


def _directory(tmp: Path) -> Path:
    (tmp / "clips.mp4").mkdir()
    return tmp / "clips.mp4"


def _empty(tmp: Path) -> Path:
    (tmp / "empty.mp4").write_bytes(b"")
    return tmp / "empty.mp4"


def _text(tmp: Path) -> Path:
    (tmp / "notes.mp4").write_text("these are my stretching notes\n" * 20)
    return tmp / "notes.mp4"


def _json(tmp: Path) -> Path:
    (tmp / "data.mp4").write_text('{"reps": [1, 2, 3], "hold_s": 30}')
    return tmp / "data.mp4"


def _png(tmp: Path) -> Path:
    png = tmp / "photo.png"
    assert cv2.imwrite(str(png), marker_frame()[..., ::-1])
    renamed = tmp / "photo.mp4"
    png.rename(renamed)
    return renamed


def _audio_only(tmp: Path) -> Path:
    path = tmp / "voice.mp4"
    write_audio(path, "mp4")
    return path


def _no_frames(tmp: Path) -> Path:
    """Matroska with a declared H.264 video track but only audio packets."""
    path = tmp / "no_frames.mkv"
    with av.open(str(path), "w") as container:
        vstream = container.add_stream("libx264", rate=10)
        vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
        astream = container.add_stream("aac", rate=44100)
        astream.layout = "mono"
        for i in range(20):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = 44100, i * 1024
            for packet in astream.encode(frame):
                container.mux(packet)
        for stream in (astream, vstream):
            for packet in stream.encode():
                container.mux(packet)
    return path


def _unknown_codec(tmp: Path) -> Path:
    """A valid MP4 whose sample entry fourcc is rewritten to one no decoder knows."""
    good = tmp / "good.mp4"
    write_video(good, solid_frames(5, 64, 48), 10)
    data = good.read_bytes()
    at = data.index(b"avc1", 32)  # the stsd sample entry (the ftyp brands come first)
    path = tmp / "alien.mp4"
    path.write_bytes(data[:at] + b"zzzz" + data[at + 4 :])
    return path


def _mp4_without_index(tmp: Path) -> Path:
    """An MP4 with moov at the end, cut at 60%: what an interrupted recording looks like."""
    good = tmp / "good.mp4"
    write_noise(good, 20, faststart=False)
    data = good.read_bytes()
    path = tmp / "interrupted.mp4"
    path.write_bytes(data[: int(len(data) * 0.6)])
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_missing, "not found"),
        (_directory, "is a folder"),
        (_empty, "empty (0 bytes)"),
        (_text, "no video stream"),
        (_json, "no video stream"),
        (_png, "still image (png), not a video: no video stream"),
        (_audio_only, "only audio (no video stream)"),
        (_no_frames, "no frames"),
        (_unknown_codec, "cannot decode"),
        (_mp4_without_index, "without its index"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
def test_bad_inputs_raise_one_line_video_errors(
    tmp_path: Path, make: Callable[[Path], Path], message: str
) -> None:
    path = make(tmp_path)
    with pytest.raises(VideoError) as excinfo:
        open_video(path)
    text = str(excinfo.value)
    assert message in text
    assert str(path) in text, "the message must name the file"
    assert "\n" not in text


def test_no_usable_frame_rate_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, solid_frames(3, 64, 48), 10)
    monkeypatch.setattr(video_probe, "_choose_fps", lambda candidates: None)
    with pytest.raises(VideoError, match="no usable frame rate"):
        open_video(path)


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        ((Fraction(30000, 1001), 25), 30000 / 1001),
        ((None, Fraction(25)), 25.0),  # average rate missing: guessed rate
        ((0, Fraction(0, 1), 24.0), 24.0),  # zero rates are skipped
        ((float("nan"), float("inf"), -30, 12), 12.0),
        ((90000, 30), 30.0),  # a 90 kHz time base is not a frame rate
        ((None, 0, float("nan")), None),
    ],
)
def test_fps_falls_back_to_the_first_usable_rate(
    candidates: tuple[object, ...], expected: float | None
) -> None:
    got = video_probe._choose_fps(candidates)
    assert got == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("container", "suffix"),
    [("mp4", ".mp4"), ("matroska", ".mkv")],  # mkv has no frame count: checked by duration
)
def test_truncated_file_stops_cleanly_and_reports_the_time(
    tmp_path: Path, container: str, suffix: str
) -> None:
    good = tmp_path / f"good{suffix}"
    n = 30
    write_noise(good, n, faststart=container == "mp4")
    cut = tmp_path / f"cut{suffix}"
    data = good.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.6)])

    with open_video(good) as reader:
        assert sum(1 for _ in reader.frames()) == n
        assert not reader.incomplete and reader.error is None

    with open_video(cut) as reader:
        frames = list(reader.frames())  # must not raise
    assert 0 < len(frames) < n
    assert reader.incomplete
    assert reader.error is not None and "\n" not in reader.error
    end = f"{frames[-1].timestamp_s:.1f} s"
    assert re.search(r"ended early at \d+\.\d s", reader.error)
    assert end in reader.error and f"0-{end}" in reader.error
    assert cut.name in reader.error


# ----------------------------------------------------------------------------- writer errors


def _in_missing_folder(tmp: Path) -> Path:
    return tmp / "no_such_folder" / "out.mp4"


def _is_a_folder(tmp: Path) -> Path:
    (tmp / "out.mp4").mkdir()
    return tmp / "out.mp4"


def _under_a_file(tmp: Path) -> Path:
    (tmp / "notes.txt").write_text("x")
    return tmp / "notes.txt" / "out.mp4"


def _wrong_suffix(tmp: Path) -> Path:
    return tmp / "out.avi"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_in_missing_folder, "does not exist"),
        (_is_a_folder, "it is a folder"),
        (_under_a_file, "does not exist"),
        (_wrong_suffix, ".mp4"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
def test_unwritable_destination_raises_video_error(
    tmp_path: Path, make: Callable[[Path], Path], message: str
) -> None:
    path = make(tmp_path)
    with pytest.raises(VideoError) as excinfo:
        AnnotatedVideoWriter(path, 10, 64, 48)
    assert message in str(excinfo.value) and str(path) in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_permission_denied_becomes_video_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests run as root here, so chmod can't deny; simulate what av.open raises."""

    def deny(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(video_writer.av, "open", deny)
    with pytest.raises(VideoError, match=r"cannot write video to .*out\.mp4: Permission denied"):
        AnnotatedVideoWriter(tmp_path / "out.mp4", 10, 64, 48)


@pytest.mark.parametrize(
    ("image", "fps"),
    [
        (np.zeros((48, 64), np.uint8), 10),  # grey
        (np.zeros((48, 64, 3), np.float32), 10),  # float
        (np.zeros((48, 66, 3), np.uint8), 10),  # wrong size
        (np.zeros((48, 64, 3), np.uint8), 0),  # fps 0
    ],
)
def test_writer_rejects_bad_frames_and_rates(tmp_path: Path, image: np.ndarray, fps: float) -> None:
    with (
        pytest.raises(ValueError, match=r"expected|fps"),
        AnnotatedVideoWriter(tmp_path / "x.mp4", fps, 64, 48) as writer,
    ):
        writer.write(image)


def test_write_video_needs_frames(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one frame"):
        write_video(tmp_path / "x.mp4", [], 10)


# ----------------------------------------------------------------------------- camera


def test_missing_camera_raises_video_error() -> None:
    with pytest.raises(VideoError) as excinfo:
        CameraSource(99)
    assert str(excinfo.value) == (
        "could not open camera 99: is it connected and not in use by another app? try --camera 0"
    )


# ----------------------------------------------------------------------------- streaming


def _most_frames_alive(path: Path) -> tuple[int, int]:
    """Iterate ``path`` dropping each frame at once, as a streaming consumer does.

    Returns:
        (frames seen, most VideoFrames + images still alive at any check).
    """
    refs: list[weakref.ref] = []
    most_alive = 0
    with open_video(path) as reader:
        for frame in reader.frames():
            refs += [weakref.ref(frame), weakref.ref(frame.image)]
            del frame
            if len(refs) % 200 == 0:
                most_alive = max(most_alive, sum(ref() is not None for ref in refs))
    return len(refs) // 2, most_alive


def _traced_peak_bytes(path: Path) -> int:
    """tracemalloc peak while iterating ``path`` and dropping every frame."""
    tracemalloc.start()
    try:
        with open_video(path) as reader:
            for frame in reader.frames():
                assert frame.image.shape == (48, 64, 3)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_iteration_memory_is_flat_in_clip_length(tmp_path: Path) -> None:
    """The reader keeps no frames: images are freed as soon as the consumer drops them.

    The images live in FFmpeg buffers that tracemalloc can't see, so the main check is
    that only the current frame (plus at most the generator's last local) is alive; the
    tracemalloc peak guards against Python-side accumulation (frame objects, packets, times).
    """
    short, long = tmp_path / "short.mp4", tmp_path / "long.mp4"
    write_video(short, (np.full((48, 64, 3), i % 256, np.uint8) for i in range(50)), 25)
    write_video(long, (np.full((48, 64, 3), i % 256, np.uint8) for i in range(2000)), 25)

    n_long, alive_long = _most_frames_alive(long)
    assert n_long == 2000
    assert alive_long <= 4, f"{alive_long} frame objects/images still alive: frames are kept"

    peak_short, peak_long = _traced_peak_bytes(short), _traced_peak_bytes(long)
    # collecting the 2000 VideoFrame objects alone would trace about 1 MB
    assert peak_long < 2 * peak_short + 300_000, (peak_short, peak_long)


# ----------------------------------------------------------------------------- live frames


@pytest.mark.parametrize("size", [(640, 480), (1280, 720), (322, 242), (321, 241)])
def test_live_frame_conversions_agree_with_pyav(size: tuple[int, int]) -> None:
    """The WebRTC frames' fast RGB conversions (OpenCV) give PyAV's colours within
    rounding, both ways, for even sizes; odd sizes take PyAV's own path."""
    import av

    w, h = size
    rng = np.random.default_rng(0)
    # smooth content (a camera picture, not per-pixel noise: chroma is subsampled)
    base = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
    rgb = np.ascontiguousarray(cv2.resize(base, (w, h), interpolation=cv2.INTER_LINEAR))
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    ours = av_frame_to_rgb(frame)
    theirs = frame.to_ndarray(format="rgb24")
    assert ours.shape == theirs.shape == (h, w, 3) and ours.dtype == np.uint8
    assert np.abs(ours.astype(int) - theirs.astype(int)).mean() < 2.0
    out = rgb_to_av_frame(ours)
    assert (out.width, out.height) == (w, h)
    assert out.format.name == ("yuv420p" if w % 2 == 0 and h % 2 == 0 else "rgb24")
    if out.format.name == "yuv420p":   # planes filled directly or through PyAV: same bytes
        assert np.array_equal(out.to_ndarray(), cv2.cvtColor(ours, cv2.COLOR_RGB2YUV_I420))
    back = out.to_ndarray(format="rgb24")
    assert np.abs(back.astype(int) - ours.astype(int)).mean() < 3.0


def test_an_annotated_video_is_a_private_file(tmp_path: Path) -> None:
    """A video of a person is health data: 0600 whatever the umask (it was 0644)."""
    import os

    old = os.umask(0o022)
    try:
        path = tmp_path / "annotated.mp4"
        path.write_bytes(b"")
        path.chmod(0o644)                      # an existing file is made private too
        with AnnotatedVideoWriter(path, fps=10, width=64, height=48) as writer:
            writer.write(np.zeros((48, 64, 3), np.uint8))
    finally:
        os.umask(old)
    assert path.stat().st_size > 0
    assert path.stat().st_mode & 0o777 == 0o600
