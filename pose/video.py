"""Reading video files, converting live frames, and the shared frame types.

Everything that reads a video container lives here (probing it in
:mod:`pose.video_probe`), so the rest of the
project sees only :class:`VideoFrame` values: an upright RGB image (H, W, 3)
uint8 with a frame index and a timestamp in seconds.

* :func:`open_video` probes a file with PyAV and returns a :class:`VideoReader`
  whose :meth:`VideoReader.frames` streams frames one at a time (memory stays
  flat for any length), rotated upright from the container's display matrix
  (how phones mark portrait clips) and optionally downscaled.
* :func:`av_frame_to_rgb` / :func:`rgb_to_av_frame` convert live (WebRTC) frames.
* :class:`CameraSource` (in :mod:`pose.camera`) reads a webcam through OpenCV.
* :class:`AnnotatedVideoWriter` / :func:`write_video` (in :mod:`pose.video_writer`)
  encode browser-playable H.264 (yuv420p, ``+faststart``) MP4 files.

Bad input is reported as :class:`VideoError`, a one-line message naming the
file and what to do. A file that breaks off part-way (truncated or corrupt) is
not an error: iteration stops after the last good frame and the reader records
``incomplete`` and a one-line ``error`` for the user.

Rotation convention: :attr:`VideoInfo.rotation_deg` is the clockwise rotation
(0, 90, 180 or 270 degrees) that turns the stored picture upright, i.e. the
value of the legacy ``rotate`` tag and what a phone writes for a portrait clip.
PyAV reports the display matrix as ``VideoFrame.rotation``, counter-clockwise,
so ``rotation_deg == -frame.rotation % 360``.
"""

from __future__ import annotations

import heapq
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import av.error
import cv2
import numpy as np

from pose.video_probe import (
    VideoError,
    VideoInfo,
    check_input_path,
    open_container,
    probe_video,
    scaled_size,
)

__all__ = [
    "VideoError",
    "VideoFrame",
    "VideoInfo",
    "VideoReader",
    "av_frame_to_rgb",
    "open_video",
    "rgb_to_av_frame",
]

logger = logging.getLogger(__name__)

#: Part of the header frame count that may be missing before a clip counts as cut short
#: (edit lists can legitimately hide a few frames).
_MISSING_FRAMES_TOLERANCE = 0.02
#: Seconds of the container duration that may lack frames (audio can outlast video a little).
_MISSING_SECONDS_TOLERANCE = 1.0
#: Codecs whose non-reference frames FFmpeg can leave undecoded (``skip_frame="NONREF"``)
#: without changing any other frame (checked bit for bit on the sample clips and on
#: re-encoded HEVC, MPEG-4 part 2 and H.264 with and without B-pyramids).
_NONREF_SKIP_CODECS = frozenset({"h264", "hevc", "mpeg4"})


@dataclass(frozen=True, eq=False)
class VideoFrame:
    """One decoded, upright frame.

    Attributes:
        index: 0-based position in the stream (counts frames actually delivered).
        timestamp_s: seconds since the first frame, strictly increasing; from the
            stream's presentation timestamps when present, else ``index / fps``.
        image: (H, W, 3) uint8 RGB array, C-contiguous, already rotated upright; None
            only for a frame the caller of ``VideoReader.frames(wanted=...)`` said it
            does not need (not converted, and not even decoded when no other frame
            refers to it).
    """

    index: int
    timestamp_s: float
    image: np.ndarray | None


# --------------------------------------------------------------------------- live frames


def av_frame_to_rgb(frame: av.VideoFrame) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a PyAV frame.

    A yuv420p frame (what a WebRTC stream delivers) goes through OpenCV's vectorised
    conversion: PyAV's ``to_ndarray(format="rgb24")`` sets up a new scaler for every
    new frame, about 2 ms at 640x480 against 0.2 ms (``benchmarks/bench_live.py``).
    Other formats, and odd sizes, through PyAV.
    """
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2RGB_I420)
    return frame.to_ndarray(format="rgb24")


def rgb_to_av_frame(image_rgb: np.ndarray) -> av.VideoFrame:
    """A PyAV frame of an (H, W, 3) uint8 RGB image: yuv420p (what the WebRTC encoder
    wants, so it need not convert again) through OpenCV, or rgb24 for odd sizes."""
    h, w = image_rgb.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        i420 = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2YUV_I420)
        frame = av.VideoFrame(w, h, "yuv420p")
        y, u, v = frame.planes
        if y.line_size == w and u.line_size == v.line_size == w // 2:
            # unpadded planes: copied in directly, about 5x faster than from_ndarray
            q = h // 4
            y.update(i420[:h])
            u.update(i420[h:h + q])
            v.update(i420[h + q:])
            return frame
        return av.VideoFrame.from_ndarray(i420, format="yuv420p")
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(image_rgb), format="rgb24")


# --------------------------------------------------------------------------- reading


def _to_rgb(frame: av.VideoFrame, out_w: int, out_h: int, scaled: bool) -> np.ndarray:
    """Decoded frame -> (H, W, 3) uint8 RGB.

    Full-size 4:2:0 frames (what cameras and phones record) are converted with
    OpenCV from the raw planes, about 2.5x faster than swscale's RGB path; anything
    else (other pixel formats, scaling) goes through FFmpeg.
    """
    if (not scaled and frame.format.name == "yuv420p" and frame.width % 2 == 0
            and frame.height % 2 == 0):
        planes = frame.to_ndarray(format="yuv420p")
        return cv2.cvtColor(planes, cv2.COLOR_YUV2RGB_I420)
    return frame.to_ndarray(format="rgb24", width=out_w, height=out_h,
                            interpolation="AREA" if scaled else None)


class VideoReader:
    """A probed video file; iterate it with :meth:`frames`. Create with :func:`open_video`.

    Attributes:
        info: what the file holds (:class:`VideoInfo`).
        incomplete: True when the last :meth:`frames` pass stopped before the end of the
            file (truncated or corrupt data).
        error: one-line message for the user when ``incomplete``, else None.
    """

    def __init__(self, info: VideoInfo) -> None:
        self.info = info
        self.incomplete = False
        self.error: str | None = None
        self._open: set[Any] = set()

    def __repr__(self) -> str:
        return f"VideoReader({self.info!r})"

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close any container an unfinished :meth:`frames` iterator still holds."""
        for container in list(self._open):
            container.close()
        self._open.clear()

    def frames(self, max_side: int | None = None,
               wanted: Callable[[float], bool] | None = None,
               surely_unwanted: Callable[[float], bool] | None = None
               ) -> Iterator[VideoFrame]:
        """Stream the frames of the video, one at a time, upright and in RGB.

        Each call starts from the beginning of the file. Decoding never raises
        part-way: on truncated or corrupt data the iterator stops after the last
        good frame and sets :attr:`incomplete` and :attr:`error`.

        Args:
            max_side: if given, downscale so the longest side is at most this many
                pixels (aspect ratio kept; never upscales).
            wanted: called with the timestamp (seconds) of each decoded frame, in
                order, just before it is converted; False: the frame is yielded with
                ``image=None``. It may block (e.g. until the caller has judged the
                frames already yielded). Frames are still delivered one by one with
                exact timestamps and counts. Conversion costs about as much as decoding
                (0.33 vs 0.39 ms CPU per 640x480 frame measured).
            surely_unwanted: called with a frame's timestamp before its data reaches the
                decoder, and must not block; True promises ``wanted`` will say no for
                that frame. A frame no other frame is predicted from (most B-frames:
                about half the frames of an x264 clip, none of a clip without B-frames)
                is then not even decoded, and is yielded with ``image=None``; every
                frame that is decoded is bit for bit the one a full decode gives.
                Default: ``not wanted(t)`` (for a ``wanted`` that does not block and
                that, once False for a time, stays False until that frame is yielded).

        Returns:
            An iterator of :class:`VideoFrame` whose images are (H, W, 3) uint8 RGB.

        Raises:
            ValueError: ``max_side`` is not a positive integer.
            VideoError: the file can no longer be opened.
        """
        if max_side is not None and (
            isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < 1
        ):
            raise ValueError(f"max_side must be a positive integer or None, got {max_side!r}")
        if surely_unwanted is None and wanted is not None:
            def surely_unwanted(t: float) -> bool:
                return not wanted(t)
        container = open_container(self.info.path)
        self._open.add(container)
        return self._iter_frames(container, max_side, wanted, surely_unwanted)

    def _iter_frames(self, container: Any, max_side: int | None,
                     wanted: Callable[[float], bool] | None = None,
                     surely_unwanted: Callable[[float], bool] | None = None
                     ) -> Iterator[VideoFrame]:
        info = self.info
        self.incomplete = False
        self.error = None
        rotation = info.rotation_deg
        upright_w, upright_h = scaled_size(info.width, info.height, max_side)
        # PyAV scales the stored (unrotated) picture; rotate afterwards.
        out_w, out_h = (upright_h, upright_w) if rotation in (90, 270) else (upright_w, upright_h)
        scaled = (upright_w, upright_h) != (info.width, info.height)
        rot90_k = (-rotation // 90) % 4  # np.rot90 turns counter-clockwise
        step = 1.0 / info.fps
        index = 0
        origin: float | None = None
        last_ts: float | None = None
        failure: str | None = None
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            time_base = stream.time_base
            # frames nothing refers to may be left undecoded while their time (known
            # from the packet before decoding) is unwanted; not before the first frame
            # gives the origin, nor after the timestamps once went backwards (a time
            # moved then could make an undecoded frame a wanted one)
            skip_nonref = (surely_unwanted is not None and bool(time_base)
                           and stream.codec_context.name in _NONREF_SKIP_CODECS)

            def want_pts(pts: int) -> bool:
                return (not skip_nonref or origin is None or surely_unwanted is None
                        or not surely_unwanted(float(pts * time_base) - origin))

            decoded = _decode(container, stream, want_pts if skip_nonref else None)
            while True:
                try:
                    frame = next(decoded)
                except StopIteration:
                    break
                except (av.error.FFmpegError, OSError) as exc:
                    failure = str(exc)
                    break
                ts: float
                if isinstance(frame, int):  # left undecoded: only its timestamp is known
                    pts_time: float | None = float(frame * time_base)
                else:
                    pts_time = frame.time
                if pts_time is not None:
                    if origin is None:
                        origin = float(pts_time) - index * step
                    ts = float(pts_time) - origin
                else:
                    ts = index * step
                if last_ts is not None and ts <= last_ts:
                    ts = last_ts + step
                    skip_nonref = False
                if isinstance(frame, int) or (wanted is not None and not wanted(ts)):
                    yield VideoFrame(index=index, timestamp_s=ts, image=None)
                    last_ts = ts
                    index += 1
                    continue
                try:
                    image = _to_rgb(frame, out_w, out_h, scaled)
                except (av.error.FFmpegError, ValueError, cv2.error) as exc:
                    failure = str(exc)
                    break
                if rot90_k:
                    image = np.rot90(image, rot90_k)
                yield VideoFrame(index=index, timestamp_s=ts, image=np.ascontiguousarray(image))
                last_ts = ts
                index += 1
        finally:
            container.close()
            self._open.discard(container)

        if failure is None:
            failure = _shortfall(info, index, last_ts)
        if failure is not None:
            end = last_ts if last_ts is not None else 0.0
            self.incomplete = True
            self.error = (
                f"video ended early at {end:.1f} s: {info.path.name} looks truncated or corrupt; "
                f"the analysis covers 0-{end:.1f} s"
            )
            logger.warning("%s (%s)", self.error, failure)


def _decode(container: Any, stream: Any,
            want_pts: Callable[[int], bool] | None) -> Iterator[Any]:
    """Decoded frames of ``stream`` in presentation order, as ``container.decode`` gives
    them, plus, in their place, the ``pts`` (an int) of each frame left undecoded.

    A packet whose ``want_pts(pts)`` is False is sent to the decoder with
    ``skip_frame="NONREF"``: FFmpeg drops it if no other frame refers to it (a
    non-reference B-frame) and decodes it as usual otherwise, so every frame that is
    decoded is bit for bit the frame a full decode gives. A dropped frame is noticed
    when a later frame comes out (frames come out in presentation order) or at the end.
    Decoding errors are raised, as from ``container.decode``.
    """
    ctx = stream.codec_context
    skipping = False
    dropped: list[int] = []   # heap of the pts sent with skipping on, not yet come out
    for packet in container.demux(stream):
        pts = packet.pts
        skip = want_pts is not None and pts is not None and not want_pts(pts)
        if skip != skipping:
            ctx.skip_frame = "NONREF" if skip else "DEFAULT"
            skipping = skip
        if skip:
            heapq.heappush(dropped, pts)
        for frame in ctx.decode(packet):
            if dropped and frame.pts is not None:
                while dropped and dropped[0] < frame.pts:
                    yield heapq.heappop(dropped)
                if dropped and dropped[0] == frame.pts:  # it was decoded after all
                    heapq.heappop(dropped)
            yield frame
    while dropped:
        yield heapq.heappop(dropped)


def _shortfall(info: VideoInfo, decoded: int, last_ts: float | None) -> str | None:
    """Why a pass that ended without a decoding error still looks cut short, or None.

    Some truncated files just end (no error from FFmpeg); compare what was decoded
    with the header's frame count or, when that is unknown (Matroska/WebM), with the
    container duration.
    """
    expected = info.frame_count
    if expected:
        if expected - decoded > max(2, _MISSING_FRAMES_TOLERANCE * expected):
            return f"{decoded} of {expected} frames decoded"
        return None
    if info.duration_s and last_ts is not None:
        covered = last_ts + 1.0 / info.fps
        if info.duration_s - covered > max(
            _MISSING_SECONDS_TOLERANCE, _MISSING_FRAMES_TOLERANCE * info.duration_s
        ):
            return f"frames cover {covered:.2f} s of {info.duration_s:.2f} s"
    return None


def open_video(path: str | os.PathLike[str]) -> VideoReader:
    """Open a video file for frame-by-frame analysis.

    The file is probed right away (container, video stream, codec, frame rate,
    rotation, first frame), so every problem with it surfaces here.

    Args:
        path: a video file (MP4, MOV, WebM, MKV, AVI, ...).

    Returns:
        A :class:`VideoReader` (a context manager) with ``.info`` filled in.

    Raises:
        VideoError: missing file, a folder, an empty file, not a video, audio only,
            no frames, unsupported codec or no usable frame rate.
    """
    file = Path(path)
    check_input_path(file)
    info = probe_video(file)
    logger.debug("opened %s", info)
    return VideoReader(info)
