"""The webcam frame source: :class:`CameraSource` reads a camera through OpenCV.

It yields the same :class:`pose.video.VideoFrame` values as a video file (upright
RGB image, frame index, timestamp in seconds) and reports failures as
:class:`pose.video.VideoError`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from types import TracebackType

from pose.video import VideoFrame
from pose.video_probe import VideoError, scaled_size

__all__ = ["CameraSource"]

logger = logging.getLogger(__name__)


class CameraSource:
    """A webcam read through OpenCV, yielding :class:`VideoFrame` values.

    Timestamps are ``time.monotonic()`` seconds since the first frame, so holds are
    timed correctly even when frames are dropped.

    Args:
        index: OpenCV camera index (0 is the default camera).

    Raises:
        VideoError: the camera can't be opened.
    """

    def __init__(self, index: int = 0) -> None:
        import cv2  # local: keeps file-only users free of the OpenCV import cost

        self._cv2 = cv2
        self.index = index
        self.error: str | None = None
        self._capture = cv2.VideoCapture(index)
        if not self._capture.isOpened():
            self._capture.release()
            other = 1 if index == 0 else 0
            raise VideoError(
                f"could not open camera {index}: is it connected and not in use by another "
                f"app? try --camera {other}"
            )

    def __enter__(self) -> CameraSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the camera."""
        self._capture.release()

    def frames(self, max_side: int | None = None) -> Iterator[VideoFrame]:
        """Yield camera frames until the camera stops delivering them or is closed.

        Args:
            max_side: if given, downscale so the longest side is at most this many pixels.

        Yields:
            :class:`VideoFrame` with (H, W, 3) uint8 RGB images.

        Raises:
            VideoError: the camera gives no picture at all.
        """
        cv2 = self._cv2
        index = 0
        start: float | None = None
        last_ts = -1.0
        while self._capture.isOpened():
            ok, bgr = self._capture.read()
            now = time.monotonic()
            if not ok or bgr is None:
                if index == 0:
                    raise VideoError(
                        f"camera {self.index} opened but sent no picture: close other apps "
                        "using it, or try another --camera index"
                    )
                self.error = f"camera {self.index} stopped sending frames after {last_ts:.1f} s"
                logger.warning(self.error)
                return
            if start is None:
                start = now
            ts = max(now - start, last_ts + 1e-6) if index else 0.0
            height, width = bgr.shape[:2]
            new_w, new_h = scaled_size(width, height, max_side)
            if (new_w, new_h) != (width, height):
                bgr = cv2.resize(bgr, (new_w, new_h), interpolation=cv2.INTER_AREA)
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            yield VideoFrame(index=index, timestamp_s=ts, image=rgb)
            last_ts = ts
            index += 1
