"""The MediaPipe wrapper: PoseLandmarker (Tasks API) in VIDEO mode -> ``PoseFrame``.

This is the one place that converts MediaPipe results, and with ``pose.model``
the only module that imports mediapipe. On request it also runs the face model
(``pose.face``) on the head region of each frame with a person.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import TracebackType

import numpy as np

from pose.face import FaceEstimator
from pose.frame import PoseFrame
from pose.landmarks import NUM_LANDMARKS
from pose.model import resolve_model

__all__ = ["PoseEstimator"]

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence MediaPipe's native start-up chatter (glog/TFLite write straight to fd 2).

    Only used around model creation and the first inference; set
    ``STRETCH_COACH_MEDIAPIPE_LOGS=1`` to see those messages.
    """
    if os.environ.get("STRETCH_COACH_MEDIAPIPE_LOGS") == "1":
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except OSError:  # no real stderr (e.g. some embedded runtimes)
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class PoseEstimator:
    """Runs PoseLandmarker on a stream of RGB images with increasing timestamps.

    Args:
        model_path: a ``.task`` bundle; ``None`` resolves one with ``pose.model.resolve_model``
            (env var, cache, or built from PyPI).
        num_poses: how many people the tracking model follows (1: the fastest).
        people_check_s: every this many seconds of stream time, a separate IMAGE-mode
            landmarker looking for two people checks whether someone else is in view
            (reported as ``PoseFrame.num_people`` so the coach can ask them to step
            out). Looking for two people on every frame would run the person detector
            on every frame and cost about 40% of the throughput; a periodic check
            costs a few percent. ``None`` disables it.
        people_check_background: run that check in a background thread on a copy of
            the frame, so no frame waits for it (the live coach): its answer applies
            to the frames after it (a few tens of milliseconds later). Off by default:
            video analysis runs every frame as fast as it can and checks in line.
        min_confidence: detection, presence and tracking confidence thresholds.
        running_mode: ``"video"`` (tracking between frames, needs increasing timestamps)
            or ``"image"`` (each frame on its own, e.g. single photos).
        face: also run the face model (``pose.face.FaceEstimator``) on frames with a
            person and attach its result as ``PoseFrame.head``. Off by default: only
            stretches judged from the face need it (it adds a fraction of the pose
            model's per-frame time). Can be switched later with :meth:`enable_face`.
        face_model_path: ``face_landmark.tflite``; ``None`` resolves it with
            ``pose.face.resolve_face_model``.
    """

    def __init__(self, model_path: str | os.PathLike[str] | None = None, *, num_poses: int = 1,
                 min_confidence: float = 0.5, running_mode: str = "video",
                 people_check_s: float | None = 2.0, face: bool = False,
                 face_model_path: str | os.PathLike[str] | None = None,
                 people_check_background: bool = False) -> None:
        from mediapipe.tasks.python.core.base_options import BaseOptions
        from mediapipe.tasks.python.vision import (
            PoseLandmarker,
            PoseLandmarkerOptions,
            RunningMode,
        )

        if running_mode not in ("video", "image"):
            raise ValueError(f"running_mode must be 'video' or 'image', got {running_mode!r}")
        self.model_path = Path(resolve_model(model_path))
        self.num_poses = num_poses
        self.running_mode = running_mode
        options = PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=RunningMode.VIDEO if running_mode == "video" else RunningMode.IMAGE,
            num_poses=num_poses,
            min_pose_detection_confidence=min_confidence,
            min_pose_presence_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
        )
        with _quiet_native_stderr():
            self._landmarker = PoseLandmarker.create_from_options(options)
        self._last_ms = -1
        self._calls = 0
        self._people_check_s = people_check_s
        self._people_checker = None
        self._people_options = PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=RunningMode.IMAGE, num_poses=2,
            min_pose_detection_confidence=min_confidence,
            min_pose_presence_confidence=min_confidence,
        )
        self._people_seen = 1
        self._next_check_s = 0.0
        self._people_background = people_check_background and people_check_s is not None
        self._people_wake = threading.Condition()
        self._people_image: np.ndarray | None = None   # the frame waiting to be checked
        self._people_thread: threading.Thread | None = None
        self._people_closed = False
        if self._people_background:  # made here: the model's start-up is kept quiet
            with _quiet_native_stderr():
                self._people_checker = PoseLandmarker.create_from_options(self._people_options)
        #: how many checks for a second person have finished
        self.people_checks = 0
        self._face_model_path = face_model_path
        self._face: FaceEstimator | None = None
        self.enable_face(face)

    @property
    def face_enabled(self) -> bool:
        """Whether the face model runs (``PoseFrame.head`` is filled)."""
        return self._face is not None

    def enable_face(self, enabled: bool = True) -> None:
        """Switch the face model on (loading it on first use) or off.

        Raises:
            pose.model.ModelUnavailableError: the face model cannot be found or built.
        """
        if enabled and self._face is None:
            self._face = FaceEstimator(self._face_model_path)
        elif not enabled and self._face is not None:
            self._face.close()
            self._face = None

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Release the models (MediaPipe's native shutdown messages stay off the terminal)."""
        with self._people_wake:
            self._people_closed = True
            self._people_wake.notify_all()
        th = self._people_thread
        if th is not None and th is not threading.current_thread():
            th.join(timeout=30)
        with _quiet_native_stderr():
            if self._landmarker is not None:
                self._landmarker.close()
                self._landmarker = None
            if self._people_checker is not None:
                self._people_checker.close()
                self._people_checker = None
            if self._face is not None:
                self._face.close()
                self._face = None

    def raw(self, image_rgb: np.ndarray, timestamp_s: float) -> object:
        """Run the model and return MediaPipe's own result (for benchmarks)."""
        import mediapipe as mp

        if self._landmarker is None:
            raise RuntimeError("PoseEstimator is closed")
        image = mp.Image(image_format=mp.ImageFormat.SRGB,
                         data=np.ascontiguousarray(image_rgb))
        if self.running_mode == "image":
            return self._landmarker.detect(image)
        ms = round(timestamp_s * 1000)
        if ms <= self._last_ms:  # VIDEO mode needs strictly increasing timestamps
            ms = self._last_ms + 1
        self._last_ms = ms
        self._calls += 1
        if self._calls <= 2:
            with _quiet_native_stderr():
                return self._landmarker.detect_for_video(image, ms)
        return self._landmarker.detect_for_video(image, ms)

    def estimate(self, image_rgb: np.ndarray, timestamp_s: float) -> PoseFrame:
        """Estimate the pose in one image.

        Args:
            image_rgb: (H, W, 3) uint8 RGB image.
            timestamp_s: seconds since the start of the stream; must increase in video mode.

        Returns:
            A ``PoseFrame`` in pixels; ``PoseFrame.empty`` when nobody is detected. With the
            face model on, ``head`` holds its result (None when it saw no face).
        """
        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
            raise ValueError(f"estimate: expected an (H, W, 3) uint8 RGB image, got shape "
                             f"{image_rgb.shape} dtype {image_rgb.dtype}")
        result = self.raw(image_rgb, timestamp_s)
        frame = to_pose_frame(result, timestamp_s, (image_rgb.shape[1], image_rgb.shape[0]))
        if self._face is not None and not frame.is_empty:
            frame = frame.with_head(self._face.estimate(image_rgb, frame))
        if self._people_check_s is None or frame.is_empty:
            return frame
        if timestamp_s >= self._next_check_s or timestamp_s < self._next_check_s - 60:
            if self._people_background:
                self._check_people_later(image_rgb)
            else:
                self._people_seen = self._count_people(image_rgb)
                self.people_checks += 1
            # look again sooner while someone else is in view, so the warning clears quickly
            gap = self._people_check_s if self._people_seen <= 1 else self._people_check_s / 4
            self._next_check_s = timestamp_s + gap
        if self._people_seen > frame.num_people:
            frame = replace(frame, num_people=self._people_seen)
        return frame

    def _check_people_later(self, image_rgb: np.ndarray) -> None:
        """Hand a copy of the frame to the background check (the newest one wins)."""
        with self._people_wake:
            if self._people_closed:
                return
            self._people_image = image_rgb.copy()
            self._people_wake.notify()
            if self._people_thread is None or not self._people_thread.is_alive():
                self._people_thread = threading.Thread(
                    target=self._people_loop, daemon=True, name="stretch-coach-people")
                self._people_thread.start()

    def _people_loop(self) -> None:
        while True:
            with self._people_wake:
                while self._people_image is None and not self._people_closed:
                    self._people_wake.wait()
                if self._people_closed:
                    return
                image, self._people_image = self._people_image, None
            try:
                self._people_seen = self._count_people(image)
                self.people_checks += 1
            except Exception:  # the tracking goes on; the next check tries again
                log.warning("the check for a second person failed", exc_info=True)

    def _count_people(self, image_rgb: np.ndarray) -> int:
        import mediapipe as mp
        from mediapipe.tasks.python.vision import PoseLandmarker

        if self._people_checker is None:
            with _quiet_native_stderr():
                self._people_checker = PoseLandmarker.create_from_options(self._people_options)
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(image_rgb))
        result = self._people_checker.detect(image)
        return len(result.pose_landmarks or [])


def to_pose_frame(result: object, timestamp_s: float, image_size: tuple[int, int]) -> PoseFrame:
    """Convert a MediaPipe ``PoseLandmarkerResult`` to a ``PoseFrame`` (largest person).

    Args:
        result: MediaPipe's result for one image.
        timestamp_s: frame time in seconds.
        image_size: (width, height) in pixels.
    """
    poses = list(getattr(result, "pose_landmarks", None) or [])
    if not poses:
        return PoseFrame.empty(timestamp_s, image_size)
    w, h = image_size
    arrays = []
    for pose in poses:
        a = np.array([[lm.x, lm.y, lm.visibility if lm.visibility is not None else 0.0]
                      for lm in pose], dtype=np.float64)
        if a.shape != (NUM_LANDMARKS, 3):
            log.warning("ignoring a pose with %d landmarks (expected %d)", len(a), NUM_LANDMARKS)
            continue
        arrays.append(a)
    if not arrays:
        return PoseFrame.empty(timestamp_s, image_size)

    def area(a: np.ndarray) -> float:
        xy = a[:, :2]
        return float(np.ptp(xy[:, 0]) * np.ptp(xy[:, 1]))

    best = 0 if len(arrays) == 1 else max(range(len(arrays)), key=lambda i: area(arrays[i]))
    a = arrays[best]
    xy = a[:, :2] * np.array([w, h], dtype=np.float64)
    world = None
    worlds = list(getattr(result, "pose_world_landmarks", None) or [])
    if len(worlds) > best:
        wa = np.array([[lm.x, lm.y, lm.z] for lm in worlds[best]], dtype=np.float64)
        if wa.shape == (NUM_LANDMARKS, 3):
            world = wa
    return PoseFrame(xy=xy, visibility=a[:, 2], timestamp_s=timestamp_s, image_size=(w, h),
                     world=world, num_people=len(arrays))
