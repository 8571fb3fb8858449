"""The annotated-video writer: browser-playable H.264 MP4 files.

:class:`AnnotatedVideoWriter` encodes RGB frames (yuv420p, ``+faststart``, odd sizes
padded to even) with optional per-frame timestamps; :func:`write_video` writes a
sequence of frames in one call. A destination that can't be written is reported as
:class:`pose.video.VideoError`.
"""

from __future__ import annotations

import logging
import math
import numbers
import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import av.error
import numpy as np

from pose.video import VideoError

__all__ = ["AnnotatedVideoWriter", "write_video"]

logger = logging.getLogger(__name__)

#: Time base of the writer's timestamps (the MPEG 90 kHz clock).
_WRITER_TIME_BASE = Fraction(1, 90_000)
#: Containers the writer can give ``+faststart`` (moov before mdat).
_WRITER_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov"}


class AnnotatedVideoWriter:
    """Encode RGB frames to a browser-playable H.264 MP4 (yuv420p, ``+faststart``).

    Odd widths or heights are padded by one pixel (edge pixels repeated) because
    yuv420p needs even sizes. Closing (or leaving the ``with`` block, even on an
    exception) flushes the encoder, so a partial recording is still playable.

    Args:
        path: output file ending in .mp4, .m4v or .mov; its folder must exist.
        fps: nominal frame rate (frames per second, > 0); used for frames written
            without a timestamp.
        width: frame width in pixels of the images passed to :meth:`write`.
        height: frame height in pixels of the images passed to :meth:`write`.
        crf: x264 constant rate factor (0-51, lower is better; 23 is the x264 default).
        preset: x264 speed preset.

    Raises:
        ValueError: non-positive fps or size.
        VideoError: the destination can't be written.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float,
        width: int,
        height: int,
        *,
        crf: int = 23,
        preset: str = "veryfast",
    ) -> None:
        self.path = Path(path)
        if (
            isinstance(fps, bool)
            or not isinstance(fps, numbers.Real)
            or not math.isfinite(fps)
            or fps <= 0
        ):
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        for name, value in (("width", width), ("height", height)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.fps = float(fps)
        self.width = int(width)
        self.height = int(height)
        self.frame_count = 0
        self._enc_w = self.width + self.width % 2
        self._enc_h = self.height + self.height % 2
        self._last_pts: int | None = None
        self._timestamps_given = False
        self._closed = False

        fmt = _WRITER_FORMATS.get(self.path.suffix.lower())
        if fmt is None:
            raise VideoError(
                f"cannot write video to {self.path}: use a file name ending in .mp4 "
                f"(or .mov/.m4v), e.g. {self.path.with_suffix('.mp4').name}"
            )
        if self.path.is_dir():
            raise VideoError(
                f"cannot write video to {self.path}: it is a folder; "
                f"give a file name such as {self.path / 'session.mp4'}"
            )
        if not self.path.parent.is_dir():
            raise VideoError(
                f"cannot write video to {self.path}: folder {self.path.parent} does not exist; "
                "create it or choose another output path"
            )
        try:
            # a video of a person is health data: created 0600 whatever the umask (the
            # encoder then writes into the existing file, which keeps its mode)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.fchmod(fd, 0o600)
            finally:
                os.close(fd)
            self._container = av.open(
                str(self.path), mode="w", format=fmt, options={"movflags": "+faststart"}
            )
        except (av.error.FFmpegError, OSError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise VideoError(
                f"cannot write video to {self.path}: {reason}; choose a folder you can write to"
            ) from exc
        try:
            stream = self._container.add_stream(
                "libx264",
                rate=Fraction(self.fps).limit_denominator(1001),
                options={"crf": str(crf), "preset": preset},
            )
        except (av.error.FFmpegError, ValueError) as exc:
            self._container.close()
            raise VideoError(
                f"cannot write video to {self.path}: this PyAV build has no H.264 encoder "
                f"(libx264: {exc}); install the 'av' wheel from PyPI"
            ) from exc
        stream.width = self._enc_w
        stream.height = self._enc_h
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = _WRITER_TIME_BASE
        self._stream = stream

    def __enter__(self) -> AnnotatedVideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
            return
        try:
            self.close()
        except VideoError as close_error:  # keep the original exception visible
            logger.error("%s", close_error)

    def write(self, image_rgb: np.ndarray, timestamp_s: float | None = None) -> None:
        """Encode one frame.

        Args:
            image_rgb: (height, width, 3) uint8 RGB image, the size given at creation.
            timestamp_s: presentation time in seconds for variable-rate output; when
                None the frame follows the previous one by ``1 / fps``. Times that do
                not increase are nudged forward by one tick (1/90000 s).

        Raises:
            ValueError: wrong image shape or dtype.
            RuntimeError: the writer is closed.
            VideoError: the encoder or the disk failed.
        """
        if self._closed:
            raise RuntimeError(f"AnnotatedVideoWriter for {self.path} is closed")
        expected = (self.height, self.width, 3)
        if (
            not isinstance(image_rgb, np.ndarray)
            or image_rgb.shape != expected
            or image_rgb.dtype != np.uint8
        ):
            got = (
                f"{image_rgb.shape} {image_rgb.dtype}"
                if isinstance(image_rgb, np.ndarray)
                else type(image_rgb).__name__
            )
            raise ValueError(f"write: expected image of shape {expected} uint8, got {got}")
        if (self._enc_w, self._enc_h) != (self.width, self.height):
            pad = ((0, self._enc_h - self.height), (0, self._enc_w - self.width), (0, 0))
            image_rgb = np.pad(image_rgb, pad, mode="edge")

        ticks_per_frame = 1.0 / (self.fps * _WRITER_TIME_BASE)
        if timestamp_s is not None:
            self._timestamps_given = True
            pts = round(timestamp_s / _WRITER_TIME_BASE)
        elif not self._timestamps_given:
            pts = round(self.frame_count * ticks_per_frame)
        else:
            pts = (self._last_pts or 0) + round(ticks_per_frame)
        if self._last_pts is not None and pts <= self._last_pts:
            logger.debug("%s: timestamp %d not increasing; nudged forward", self.path, pts)
            pts = self._last_pts + 1

        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image_rgb), format="rgb24")
        frame.pts = pts
        frame.time_base = _WRITER_TIME_BASE
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except (av.error.FFmpegError, OSError) as exc:
            raise VideoError(
                f"could not write video to {self.path} ({exc}); check free disk space"
            ) from exc
        self._last_pts = pts
        self.frame_count += 1

    def close(self) -> None:
        """Flush the encoder and finish the file (moves the index to the front). Idempotent.

        Raises:
            VideoError: the encoder or the disk failed while finishing the file.
        """
        if self._closed:
            return
        self._closed = True
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            self._container.close()
        except (av.error.FFmpegError, OSError) as exc:
            raise VideoError(
                f"could not finish video {self.path} ({exc}); check free disk space"
            ) from exc
        if self.frame_count == 0:
            logger.warning("%s: no frames were written; the video is empty", self.path)


def write_video(path: str | os.PathLike[str], frames: Iterable[np.ndarray], fps: float) -> None:
    """Write RGB frames to an H.264 MP4 with :class:`AnnotatedVideoWriter`.

    Args:
        path: output .mp4/.m4v/.mov file.
        frames: (H, W, 3) uint8 RGB images, all the size of the first one; consumed lazily.
        fps: frames per second, > 0.

    Raises:
        ValueError: no frames, or frames of differing shapes.
        VideoError: the destination can't be written.
    """
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise ValueError(f"write_video({path}): expected at least one frame, got none")
    first = np.asarray(first)
    if first.ndim != 3:
        raise ValueError(f"write_video: expected (H, W, 3) uint8 frames, got shape {first.shape}")
    height, width = first.shape[:2]
    with AnnotatedVideoWriter(path, fps, width, height) as writer:
        writer.write(first)
        for image in iterator:
            writer.write(np.asarray(image))
