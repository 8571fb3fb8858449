"""The face model: MediaPipe's face mesh run on the head region the pose gives.

Why not MediaPipe's FaceLandmarker task: its short-range face detector finds no
face in a whole frame with the person 2-3 m away (it expects a near face), and a
bundle built from the wheel's models read the eye line wrongly (see the
project notes). The pose already says where the head is, so this module skips
the detector and runs the landmark network itself:

1. a square region of interest (ROI) around the head, rotated so the face is
   upright in it, is taken from the pose's ears, eyes and nose (on the first
   frame, or when tracking is lost) or from the previous frame's mesh (as
   MediaPipe's own face pipeline tracks);
2. the ROI is resampled to the network's 192x192 input with one affine warp;
3. ``face_landmark.tflite`` (from the ``mediapipe==0.10.21`` wheel, verified
   by SHA-256 and cached like the pose bundle) gives 468 points and a face
   score; it runs on OpenCV's TFLite importer (``cv2.dnn``), which reproduces
   the LiteRT interpreter's output to 1e-4 px on this model, so no extra
   runtime is needed;
4. the points are mapped back to image pixels by the inverse warp and the
   head's orientation is computed by :mod:`pose.head`.

When the pose gives no head, or the crop holds no face (turned away, hidden),
the result is ``None``: callers report "turn your face toward the camera".

Resolution order of :func:`resolve_face_model`: explicit path, then
``$STRETCH_COACH_FACE_MODEL``, then the verified cached file, then extraction
from the (cached or downloaded) wheel.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pose.frame import PoseFrame
from pose.head import MESH_SIZE, HeadPose
from pose.landmarks import Landmark
from pose.model_bundle import write_bytes_atomic
from pose.model_common import MEDIAPIPE_WHEEL_REQUIREMENT, ModelUnavailableError, cache_dir
from pose.model_wheel import WheelFile, read_wheel_files

__all__ = [
    "FACE_MODEL_ENV_VAR",
    "FACE_MODEL_FILENAME",
    "FaceEstimator",
    "HeadRoi",
    "build_face_model",
    "face_down",
    "mesh_agrees_with_pose",
    "resolve_face_model",
    "roi_from_mesh",
    "roi_from_pose",
]

log = logging.getLogger(__name__)

FACE_MODEL_ENV_VAR = "STRETCH_COACH_FACE_MODEL"
"""Environment variable naming a user-supplied ``face_landmark.tflite``."""

FACE_MODEL_FILENAME = "face_landmark_from_mediapipe-0.10.21.tflite"
"""File name of the extracted face-mesh model inside :func:`pose.model.cache_dir`."""

_FACE_SOURCE = WheelFile(
    wheel_path="mediapipe/modules/face_landmark/face_landmark.tflite",
    size=1_242_398,
    sha256="1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
)

#: Network input side, pixels.
INPUT_SIZE = 192
#: ROI side from the mesh: the mesh's extent (in the upright frame) times this
#: (MediaPipe's face pipeline uses 1.5).
MESH_ROI_SCALE = 1.5
#: ROI side from the pose: this many times the ear-to-ear distance (a frontal
#: face mesh spans about 1.2 ear distances; 1.5x that, plus margin for error).
POSE_ROI_EARS = 2.2
#: ROI side from the pose when the ears are foreshortened: this many times the
#: eye-to-mouth height.
POSE_ROI_FACE_HEIGHT = 4.0
#: The face score (0-1) below which the crop is taken to hold no face.
MIN_PRESENCE = 0.5
#: Track the ROI from the previous mesh only if that frame is at most this old.
TRACK_MAX_GAP_S = 0.5
#: Pose landmarks needed for a head ROI.
HEAD_LANDMARKS = (Landmark.NOSE, Landmark.LEFT_EAR, Landmark.RIGHT_EAR,
                  Landmark.LEFT_EYE, Landmark.RIGHT_EYE)
_MIN_HEAD_VISIBILITY = 0.3
#: The pose's ear line sets the head crop's angle when within this of the eyes-to-mouth
#: line's (degrees); else the latter does (see :func:`roi_from_pose`).
_EAR_LINE_AGREE_DEG = 25.0
_MIN_ROI_PX = 16.0


# --------------------------------------------------------------------------- model file


def resolve_face_model(path: str | os.PathLike[str] | None = None, *, build: bool = True) -> Path:
    """Find (or extract) the face-mesh model ``face_landmark.tflite``.

    Args:
        path: a user-supplied file (must be MediaPipe's 192x192 face-mesh model).
        build: whether extracting it from the wheel (downloading the wheel once
            if it is not cached) is allowed.

    Returns:
        Absolute path of the model file.

    Raises:
        ModelUnavailableError: the file is missing or unusable, or it could not
            be obtained (one line saying why and what to do).
    """
    if path is not None and str(path).strip():
        return _check_user_file(Path(path), "--face-model")
    env = os.environ.get(FACE_MODEL_ENV_VAR, "").strip()
    if env:
        return _check_user_file(Path(env), FACE_MODEL_ENV_VAR)
    dest = cache_dir() / FACE_MODEL_FILENAME
    if _cached_ok(dest):
        return dest.resolve()
    if not build:
        raise ModelUnavailableError(
            f"no face model: {FACE_MODEL_ENV_VAR} is unset and {dest} is missing or corrupt; "
            f"allow building it (reads {MEDIAPIPE_WHEEL_REQUIREMENT} from the package index once)"
        )
    if dest.exists():
        log.warning("cached face model %s does not verify; extracting it again", dest)
    return build_face_model(dest).resolve()


def build_face_model(dest: Path, *, wheel_dir: Path | None = None) -> Path:
    """Extract ``face_landmark.tflite`` from the ``mediapipe==0.10.21`` wheel to ``dest``.

    The wheel is found or downloaded as for the pose bundle
    (:func:`pose.model_wheel.read_wheel_files`); the file is checked by size and
    SHA-256 and written atomically.

    Args:
        dest: the file to write; parents are created.
        wheel_dir: optional extra directory to look in for the wheel first.

    Returns:
        ``dest``.

    Raises:
        ModelUnavailableError: the wheel could not be obtained or the file written.
    """
    dest = Path(dest).expanduser()
    _, files = read_wheel_files((_FACE_SOURCE,), wheel_dir=wheel_dir, what="the face model")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(dest, files[_FACE_SOURCE.wheel_path])
    except OSError as exc:
        raise ModelUnavailableError(
            f"cannot write the face model to {dest} ({exc.strerror or exc}); set "
            f"STRETCH_COACH_CACHE to a writable directory"
        ) from exc
    log.info("extracted face model %s from the %s wheel", dest, MEDIAPIPE_WHEEL_REQUIREMENT)
    return dest


def _cached_ok(path: Path) -> bool:
    try:
        if path.stat().st_size != _FACE_SOURCE.size:
            return False
        return hashlib.sha256(path.read_bytes()).hexdigest() == _FACE_SOURCE.sha256
    except OSError:
        return False


def _check_user_file(path: Path, origin: str) -> Path:
    path = path.expanduser()
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise ModelUnavailableError(
            f"face model {path} (from {origin}) cannot be read ({exc.strerror or exc}); point "
            f"it at MediaPipe's face_landmark.tflite or unset it to use the one built from PyPI"
        ) from exc
    if head[4:8] != b"TFL3":
        raise ModelUnavailableError(
            f"face model {path} (from {origin}) is not a TFLite model; point it at MediaPipe's "
            f"face_landmark.tflite or unset it to use the one built from PyPI"
        )
    return path.resolve()


# --------------------------------------------------------------------------- ROI


@dataclass(frozen=True)
class HeadRoi:
    """A square, rotated region of the image around the head.

    Attributes:
        center: (2,) pixels.
        side: side length, pixels.
        angle_rad: rotation of the ROI's x axis from the image's x axis
            (``atan2(dy, dx)`` in image coordinates, y down): the direction of
            the person's right-to-left face axis, so the face is upright in the crop.
    """

    center: np.ndarray
    side: float
    angle_rad: float

    def crop_matrix(self, size: int = INPUT_SIZE) -> np.ndarray:
        """(2, 3) affine map from image pixels to crop pixels (``size`` x ``size``)."""
        k = size / self.side
        c, s = math.cos(self.angle_rad), math.sin(self.angle_rad)
        rt = np.array([[c, s], [-s, c]])  # rotation by -angle
        offset = size / 2.0 - k * rt @ np.asarray(self.center, dtype=np.float64)
        return np.hstack([k * rt, offset[:, None]])

    def to_image(self, crop_points: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
        """Map (N, 3) crop points (x, y in crop pixels, z in crop pixel scale) to the image.

        x, y go through the inverse of :meth:`crop_matrix`; z is rescaled to
        image pixels (the rotation is about the camera axis, so depth is unchanged).
        """
        pts = np.asarray(crop_points, dtype=np.float64)
        k = size / self.side
        c, s = math.cos(self.angle_rad), math.sin(self.angle_rad)
        rot = np.array([[c, -s], [s, c]])
        xy = (pts[:, :2] - size / 2.0) / k @ rot.T + np.asarray(self.center, dtype=np.float64)
        return np.column_stack([xy, pts[:, 2] / k])


def roi_from_pose(frame: PoseFrame) -> HeadRoi | None:
    """A head ROI from the pose's face points, or None when the head is not seen.

    The angle is the ear line's (person's right to left ear) when it agrees with the
    face's own up-down line (eyes to mouth) to within ``_EAR_LINE_AGREE_DEG``, else
    the latter's: on a head tilted toward a shoulder the pose model swings the ears
    about (40 -> 147 -> 88 degrees within a second on a steady 45 degree tilt, where the
    eyes-to-mouth line held within 4), and a crop turned that far can give a mesh
    turned over. The centre is between the ear midpoint and the mouth, shifted toward the
    nose; the side is the larger of 2.2 ear distances and 4 eye-to-mouth heights, so a
    turned head (foreshortened ears) still fits.
    """
    if frame.is_empty:
        return None
    vis = frame.visibility
    if any(vis[int(lm)] < _MIN_HEAD_VISIBILITY for lm in HEAD_LANDMARKS):
        return None
    xy = frame.xy
    if not np.all(np.isfinite(xy[[int(lm) for lm in HEAD_LANDMARKS]])):
        return None
    left_ear, right_ear = xy[Landmark.LEFT_EAR], xy[Landmark.RIGHT_EAR]
    axis = left_ear - right_ear
    ears = float(np.hypot(*axis))
    eyes_mid = (xy[Landmark.LEFT_EYE] + xy[Landmark.RIGHT_EYE]) / 2.0
    mouth_mid = eyes_mid
    if np.all(np.isfinite(xy[[Landmark.MOUTH_LEFT, Landmark.MOUTH_RIGHT]])):
        mouth_mid = (xy[Landmark.MOUTH_LEFT] + xy[Landmark.MOUTH_RIGHT]) / 2.0
    height = float(np.hypot(*(mouth_mid - eyes_mid)))
    side = max(POSE_ROI_EARS * ears, POSE_ROI_FACE_HEIGHT * height)
    if not math.isfinite(side) or side < _MIN_ROI_PX:
        return None
    angle = math.atan2(axis[1], axis[0]) if ears > 1e-6 else 0.0
    down = face_down(frame)
    if down is not None:
        upright = math.atan2(down[1], down[0]) - math.pi / 2.0  # the eye line, from up-down
        gap = math.remainder(angle - upright, 2.0 * math.pi)
        if ears <= 1e-6 or abs(math.degrees(gap)) > _EAR_LINE_AGREE_DEG:
            angle = upright
    center = (eyes_mid + mouth_mid) / 2.0 * 0.5 + xy[Landmark.NOSE] * 0.5
    return HeadRoi(center=center, side=side, angle_rad=angle)


def face_down(frame: PoseFrame) -> np.ndarray | None:
    """Unit vector (image pixels, y down) from the pose's eye midpoint to its mouth
    midpoint (the nose where the mouth is not known): which way is down the face. None
    when those points are not known or coincide. Unlike the ears, these stay put on a
    tilted head."""
    if frame.is_empty:
        return None
    xy = frame.xy
    eyes = (xy[Landmark.LEFT_EYE] + xy[Landmark.RIGHT_EYE]) / 2.0
    below = (xy[Landmark.MOUTH_LEFT] + xy[Landmark.MOUTH_RIGHT]) / 2.0
    if not np.all(np.isfinite(below)):
        below = xy[Landmark.NOSE]
    d = below - eyes
    n = float(np.hypot(*d))
    return d / n if math.isfinite(n) and n > 1e-6 else None


def mesh_agrees_with_pose(points: np.ndarray, frame: PoseFrame) -> bool:
    """Whether a face mesh is the right way up for the pose: its forehead-to-chin line
    (mesh points 10 -> 152) within 90 degrees of the pose's eyes-to-mouth line. A mesh
    turned over (its left and right eyes swapped) would read a tilt 180 degrees off; a
    guard, as the crop's angle from the pose can be far out (true when the pose gives
    no face line to check against)."""
    down = face_down(frame)
    if down is None:
        return True
    pts = np.asarray(points, dtype=np.float64)
    mesh_down = pts[152, :2] - pts[10, :2]
    return bool(np.all(np.isfinite(mesh_down))) and float(mesh_down @ down) > 0.0


def roi_from_mesh(points: np.ndarray) -> HeadRoi:
    """MediaPipe's ROI from a face mesh: upright along the eye line, 1.5x its extent.

    Args:
        points: (468, 2 or 3) mesh points in image pixels.
    """
    pts = np.asarray(points, dtype=np.float64)[:, :2]
    eye = pts[263] - pts[33]
    angle = math.atan2(eye[1], eye[0])
    c, s = math.cos(angle), math.sin(angle)
    upright = pts @ np.array([[c, -s], [s, c]])  # rotate by -angle
    lo, hi = upright.min(axis=0), upright.max(axis=0)
    mid_upright = (lo + hi) / 2.0
    center = np.array([[c, -s], [s, c]]) @ mid_upright
    side = float(max(hi - lo)) * MESH_ROI_SCALE
    return HeadRoi(center=center, side=side, angle_rad=angle)


# --------------------------------------------------------------------------- estimator


class FaceEstimator:
    """Runs the face-mesh model on the head region of a pose.

    Args:
        model_path: ``face_landmark.tflite``; ``None`` resolves it with
            :func:`resolve_face_model`.
        min_presence: face score (0-1) below which no face is reported.
        track: reuse the previous frame's mesh for the ROI (one network run per
            frame once tracking; two when (re)starting from the pose).
    """

    def __init__(self, model_path: str | os.PathLike[str] | None = None, *,
                 min_presence: float = MIN_PRESENCE, track: bool = True) -> None:
        import cv2

        self.model_path = resolve_face_model(model_path)
        self._net = cv2.dnn.readNetFromTFLite(str(self.model_path))
        outputs = list(self._net.getUnconnectedOutLayersNames())
        if len(outputs) != 2:
            raise ModelUnavailableError(
                f"face model {self.model_path} has {len(outputs)} outputs, expected 2 (mesh "
                f"and face flag): it is not MediaPipe's face_landmark.tflite"
            )
        self._outputs = outputs
        self.min_presence = min_presence
        self.track = track
        self._last: tuple[float, HeadRoi] | None = None
        self.runs = 0

    def close(self) -> None:
        """Release the network."""
        self._net = None

    def reset(self) -> None:
        """Forget the tracked ROI (e.g. at the start of a new stream)."""
        self._last = None

    def run_roi(self, image_rgb: np.ndarray, roi: HeadRoi) -> tuple[np.ndarray, float]:
        """Run the network on one ROI.

        Args:
            image_rgb: (H, W, 3) uint8 RGB image.
            roi: the region to crop.

        Returns:
            ``(points, presence)``: (468, 3) mesh points in image pixels (z in the
            same scale) and the face score in [0, 1].
        """
        import cv2

        if self._net is None:
            raise RuntimeError("FaceEstimator is closed")
        crop = cv2.warpAffine(image_rgb, roi.crop_matrix(), (INPUT_SIZE, INPUT_SIZE),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        blob = cv2.dnn.blobFromImage(crop, 1.0 / 255.0)  # RGB in [0, 1], NCHW
        self._net.setInput(blob)
        mesh, flag = self._net.forward(self._outputs)
        if mesh.size != MESH_SIZE * 3:
            mesh, flag = flag, mesh
        self.runs += 1
        points = roi.to_image(mesh.reshape(MESH_SIZE, 3))
        logit = float(np.asarray(flag).ravel()[0])
        presence = 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, logit))))
        return points, presence

    def estimate(self, image_rgb: np.ndarray, frame: PoseFrame) -> HeadPose | None:
        """The head pose in ``image_rgb`` for the person in ``frame``.

        Args:
            image_rgb: (H, W, 3) uint8 RGB image the pose was estimated on.
            frame: that image's pose (pixels).

        Returns:
            The head pose, or ``None`` when the pose shows no head or the crop
            holds no face (score below ``min_presence``).
        """
        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
            raise ValueError(f"FaceEstimator.estimate: expected an (H, W, 3) uint8 RGB image, "
                             f"got shape {image_rgb.shape} dtype {image_rgb.dtype}")
        t = frame.timestamp_s
        from_pose = roi_from_pose(frame)
        if from_pose is None:
            self._last = None
            return None
        found = None
        tracked = self._tracked_roi(t, from_pose)
        if tracked is not None:
            found = self._run_passes(image_rgb, tracked, passes=1)
            if found is not None and not mesh_agrees_with_pose(found[0], frame):
                found = None  # the tracked mesh turned over: start again from the pose
        if found is None:  # (re)start from the pose's rough ROI, refined once by the mesh
            found = self._run_passes(image_rgb, from_pose, passes=2)
            if found is not None and not mesh_agrees_with_pose(found[0], frame):
                found = None  # upside down: no reading rather than a wrong one
        if found is None:
            self._last = None
            return None
        points, presence, roi = found
        self._last = (t, roi)
        head = HeadPose(points=points, presence=presence)
        return head if head.is_valid else None

    def _tracked_roi(self, t: float, from_pose: HeadRoi) -> HeadRoi | None:
        """The previous frame's mesh ROI, if recent and still on the pose's head."""
        if not self.track or self._last is None:
            return None
        last_t, roi = self._last
        if not 0.0 <= t - last_t <= TRACK_MAX_GAP_S:
            return None
        if float(np.hypot(*(roi.center - from_pose.center))) > 0.5 * roi.side:
            return None  # the head moved away from where the mesh was
        return roi

    def _run_passes(self, image_rgb: np.ndarray, roi: HeadRoi, passes: int
                    ) -> tuple[np.ndarray, float, HeadRoi] | None:
        """Run the network ``passes`` times, each on the ROI the previous mesh gives.

        Returns:
            (points, presence, ROI from the last mesh), or None if no face was found
            or the mesh collapsed.
        """
        points, presence = self.run_roi(image_rgb, roi)
        for _ in range(passes - 1):
            if presence < self.min_presence:
                return None
            points, presence = self.run_roi(image_rgb, roi_from_mesh(points))
        if presence < self.min_presence:
            return None
        next_roi = roi_from_mesh(points)
        if not math.isfinite(next_roi.side) or next_roi.side < _MIN_ROI_PX:
            return None
        return points, presence, next_roi
