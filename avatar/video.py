"""Writing H.264 mp4 clips with PyAV (yuv420p, browser-playable, fast start)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np

__all__ = ["Mp4Writer", "count_frames"]


class Mp4Writer:
    """Write RGB frames to an H.264 mp4.

    Args:
        path: output file (``.mp4``).
        width, height: frame size in pixels (even numbers).
        fps: frames per second (integer).
        crf: x264 constant rate factor (higher = smaller, blurrier).
    """

    def __init__(self, path: str | Path, width: int, height: int, fps: int = 30,
                 crf: int = 27) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._c = av.open(str(self.path), mode="w", options={"movflags": "+faststart"})
        s = self._c.add_stream("libx264", rate=Fraction(fps, 1))
        s.width, s.height = width, height
        s.pix_fmt = "yuv420p"
        s.options = {"crf": str(crf), "preset": "medium", "tune": "animation"}
        self._s = s
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 RGB frame."""
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self.frames
        for packet in self._s.encode(frame):
            self._c.mux(packet)
        self.frames += 1

    def close(self) -> None:
        """Flush the encoder and close the file."""
        for packet in self._s.encode():
            self._c.mux(packet)
        self._c.close()

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def count_frames(path: str | Path) -> int:
    """Number of video frames in a file, by decoding it."""
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))
