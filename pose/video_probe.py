"""Probing a video file before it is read: does it exist, is it a video PyAV can open,
its size, frame rate, rotation and length (:class:`VideoInfo`), and the one-line
:class:`VideoError` that names the file and the fix when it can't be used.

:mod:`pose.video` reads the frames; this module only opens the container and looks.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import av.error

__all__ = ["VideoError", "VideoInfo", "check_input_path", "open_container", "probe_video",
           "scaled_size"]

logger = logging.getLogger(__name__)

#: Frame rates above this are treated as bogus metadata (e.g. a 90 kHz time base).
_MAX_PLAUSIBLE_FPS = 1000.0
#: FFmpeg demuxers that read single still images rather than videos.
_STILL_IMAGE_FORMATS = {"image2", "image2pipe"}


class VideoError(Exception):
    """A video file or camera can't be used: a one-line message naming it and the fix."""


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`open_video` found out about a video file.

    Attributes:
        path: the file.
        width: frame width in pixels, after rotation (a portrait phone clip is portrait).
        height: frame height in pixels, after rotation.
        fps: nominal (average) frames per second, > 0.
        frame_count: number of frames from the container header, None when unknown.
        duration_s: duration in seconds, None when unknown.
        rotation_deg: clockwise rotation applied to make frames upright: 0, 90, 180 or 270.
        codec: FFmpeg codec name, e.g. ``"h264"``.
    """

    path: Path
    width: int
    height: int
    fps: float
    frame_count: int | None
    duration_s: float | None
    rotation_deg: int
    codec: str


def check_input_path(path: Path) -> None:
    """Raise VideoError for paths that can't be a readable video file."""
    if not path.exists():
        raise VideoError(f"video file not found: {path}; check the path and the file name")
    if path.is_dir():
        raise VideoError(
            f"{path} is a folder, not a video file; pass the path of a video inside it"
        )
    if path.stat().st_size == 0:
        raise VideoError(
            f"{path} is empty (0 bytes): the recording or copy failed; record or copy it again"
        )


def _looks_like_mp4(path: Path) -> bool:
    """True when the file starts with an ISO-BMFF ``ftyp`` box (MP4, MOV, M4V, 3GP)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    return head[4:8] == b"ftyp"


def open_container(path: Path) -> Any:
    """Open ``path`` with PyAV for reading, turning every failure into a VideoError."""
    try:
        return av.open(str(path), mode="r", metadata_errors="replace")
    except PermissionError as exc:
        raise VideoError(
            f"cannot read {path}: permission denied; check the file's permissions"
        ) from exc
    except (av.error.FFmpegError, OSError) as exc:
        if _looks_like_mp4(path):
            raise VideoError(
                f"{path} looks like an MP4/MOV without its index (moov): the recording was "
                "interrupted or the copy is incomplete; copy or export it again"
            ) from exc
        raise VideoError(
            f"{path} is not a video: no video stream found in it (unrecognised data); "
            "choose a video file such as .mp4, .mov or .webm"
        ) from exc


def _as_float(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing or not a number."""
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def _choose_fps(candidates: Iterable[Any]) -> float | None:
    """The first plausible frame rate among ``candidates`` (in order of trust).

    Args:
        candidates: rates in frames per second (Fraction, float, int or None).

    Returns:
        The first finite rate in (0, 1000] fps, or None when none is usable.
    """
    for value in candidates:
        fps = _as_float(value)
        if fps is not None and math.isfinite(fps) and 0.0 < fps <= _MAX_PLAUSIBLE_FPS:
            return fps
    return None


def _rotation_cw(frame: Any, stream: Any, path: Path) -> int:
    """Clockwise rotation in degrees (0/90/180/270) that makes ``frame`` upright.

    Reads the display matrix PyAV exposes as ``VideoFrame.rotation`` (counter-clockwise,
    FFmpeg copies the container's matrix onto every decoded frame); falls back to a
    legacy ``rotate`` stream tag (clockwise) when there is no matrix.
    """
    ccw = float(frame.rotation or 0)
    if ccw == 0.0:
        tag = _as_float(stream.metadata.get("rotate"))
        ccw = -tag if tag is not None else 0.0
    cw = -ccw % 360.0
    snapped = round(cw / 90.0) * 90 % 360
    if abs((cw - snapped + 180.0) % 360.0 - 180.0) > 1.0:
        logger.warning(
            "%s: rotation of %.1f degrees is not a right angle; using %d", path, cw, snapped
        )
    return int(snapped)


def scaled_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """(width, height) shrunk so the longest side is at most ``max_side``, aspect kept."""
    if max_side is None or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def probe_video(path: Path) -> VideoInfo:
    """Open ``path``, check it holds a decodable video and describe it."""
    container = open_container(path)
    try:
        fmt = container.format.name
        if fmt.endswith("_pipe") or fmt in _STILL_IMAGE_FORMATS:
            raise VideoError(
                f"{path} is a still image ({fmt.removesuffix('_pipe')}), not a video: "
                "no video stream to follow; record a video clip (e.g. .mp4) instead"
            )
        if not container.streams.video:
            if container.streams.audio:
                raise VideoError(
                    f"{path} contains only audio (no video stream); "
                    "choose the video recording, not the sound track"
                )
            raise VideoError(
                f"{path} has no video stream; choose a video file such as .mp4, .mov or .webm"
            )
        stream = container.streams.video[0]
        if stream.codec_context is None:
            raise VideoError(
                f"{path} uses a video codec this build cannot decode; convert it to H.264, "
                "e.g. `ffmpeg -i IN -c:v libx264 OUT.mp4`"
            )
        stream.thread_type = "AUTO"
        try:
            first = next(iter(container.decode(stream)), None)
        except (av.error.FFmpegError, OSError) as exc:
            raise VideoError(
                f"could not decode the first frame of {path}: the file is damaged or uses an "
                "unsupported codec variant; export it again as H.264 MP4"
            ) from exc
        if first is None:
            raise VideoError(
                f"{path} has a video stream but no frames: the recording is empty; record it again"
            )

        time_base = stream.time_base
        duration_s: float | None = None
        if stream.duration and time_base:
            duration_s = float(stream.duration * time_base)
        elif container.duration:
            duration_s = container.duration / av.time_base
        frame_count = int(stream.frames) if stream.frames and stream.frames > 0 else None
        per_duration = frame_count / duration_s if frame_count and duration_s else None
        fps = _choose_fps(
            (
                stream.average_rate,
                stream.guessed_rate,
                per_duration,
                stream.codec_context.framerate,
                stream.base_rate,
            )
        )
        if fps is None:
            raise VideoError(
                f"{path} has no usable frame rate in its metadata; re-export it with a fixed "
                "frame rate, e.g. `ffmpeg -i IN -r 30 OUT.mp4`"
            )
        rotation = _rotation_cw(first, stream, path)
        width, height = int(first.width), int(first.height)
        if rotation in (90, 270):
            width, height = height, width
        return VideoInfo(
            path=path,
            width=width,
            height=height,
            fps=fps,
            frame_count=frame_count,
            duration_s=duration_s,
            rotation_deg=rotation,
            codec=str(stream.codec_context.name),
        )
    except VideoError:
        raise
    except (av.error.FFmpegError, OSError) as exc:
        raise VideoError(
            f"could not read {path} ({exc}); check it plays in a video player"
        ) from exc
    finally:
        container.close()
