"""Head pose from a face mesh: the checked result type and its pure-numpy math.

The face model (``pose.face``) gives the 468 points of MediaPipe's face mesh in
image pixels, with a relative depth per point in the same pixel scale. This
module turns them into the head's orientation seen from the camera: a
right-handed frame of head axes and three angles (roll, yaw, pitch) in
degrees. It imports only numpy so that ``exercises`` can use ``HeadPose``.

Camera axes are OpenCV's: x right, y down (image pixels), z away from the
camera (the mesh's depth: smaller = nearer the camera).

Head axes, as unit vectors in camera axes (columns of ``HeadPose.rotation``):

- ``X``: from the person's right to their left (the face outline at ear level,
  ``MESH_AXIS_PAIRS``); for a person facing the camera it points to the image's right;
- ``Y``: from the top of the head toward the chin (image down when upright);
- ``Z = X × Y``: from the face toward the back of the head (away from the
  camera when the person faces it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "FACE_POINTS",
    "MESH_AXIS_PAIRS",
    "MESH_LEFT_RIGHT_PAIRS",
    "MESH_SIZE",
    "HeadPose",
    "head_axes",
    "head_rotation_angles",
]

#: Number of points in MediaPipe's face mesh.
MESH_SIZE = 468

#: Named face-mesh indices (MediaPipe's canonical face mesh numbering; "left" and
#: "right" are the person's own).
FACE_POINTS: dict[str, int] = {
    "right_eye_outer": 33,
    "right_eye_inner": 133,
    "left_eye_inner": 362,
    "left_eye_outer": 263,
    "nose_tip": 1,
    "right_cheek": 234,
    "left_cheek": 454,
    "right_face_upper": 127,
    "left_face_upper": 356,
    "right_face_lower": 93,
    "left_face_lower": 323,
    "mouth_right": 61,
    "mouth_left": 291,
    "forehead": 10,
    "chin": 152,
}

#: Symmetric (person's right, person's left) named point pairs: eye corners, the face
#: outline at ear level, mouth corners. Mirroring a mesh swaps each pair.
MESH_LEFT_RIGHT_PAIRS: tuple[tuple[int, int], ...] = (
    (33, 263), (133, 362), (127, 356), (234, 454), (93, 323), (61, 291))

#: The pairs whose mean direction is the head's right-to-left axis: the face outline at
#: ear level (above, at and below the cheek point), the widest part of the face and
#: the nearest to the axis the head turns about. The mesh's depth is the model's
#: estimate, and the same depth error tilts a short pair (the eye or mouth corners,
#: 3-9 cm apart) further than this 13-15 cm one. Measured against the avatar rig's
#: head yaw (55 degree turns from rest; the sample and three validation bodies, cameras
#: 0-17 degrees off the front): the eye, cheek and mouth pairs together read them as
#: 60-65 degrees, these as 55-62 (the widest on a body chosen after this choice).
MESH_AXIS_PAIRS: tuple[tuple[int, int], ...] = ((127, 356), (234, 454), (93, 323))

#: (top, bottom) points giving the head's top-to-chin axis: forehead, chin.
MESH_TOP_CHIN: tuple[int, int] = (10, 152)


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    if not math.isfinite(n) or n < 1e-9:
        return np.full_like(v, np.nan, dtype=np.float64)
    return v / n


def head_axes(points: np.ndarray) -> np.ndarray:
    """The head's orientation from face-mesh points.

    Args:
        points: (468, 3) mesh points, x and y in image pixels (y down), z the
            relative depth in the same pixel scale (larger = farther away).

    Returns:
        (3, 3) rotation matrix whose columns are the head axes ``X`` (person's
        right to left), ``Y`` (top of the head to chin) and ``Z = X × Y`` (face
        to back of the head) in camera axes. All NaN if the points are
        degenerate or not finite.

    Raises:
        ValueError: ``points`` is not (468, 3).
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.shape != (MESH_SIZE, 3):
        raise ValueError(f"head_axes: expected points of shape ({MESH_SIZE}, 3), got {pts.shape}")
    x = np.zeros(3)
    for right, left in MESH_AXIS_PAIRS:
        x += _unit(pts[left] - pts[right])
    x = _unit(x)
    down = pts[MESH_TOP_CHIN[1]] - pts[MESH_TOP_CHIN[0]]
    y = _unit(down - np.dot(down, x) * x)  # Gram-Schmidt: square to X
    z = np.cross(x, y)
    rot = np.column_stack([x, y, z])
    if not np.all(np.isfinite(rot)):
        return np.full((3, 3), np.nan)
    return rot


def head_rotation_angles(rotation: np.ndarray) -> tuple[float, float, float]:
    """Roll, yaw and pitch of the head seen from the camera, in degrees.

    Args:
        rotation: (3, 3) head axes as columns (see :func:`head_axes`).

    Returns:
        ``(roll, yaw, pitch)`` in degrees:

        - roll: in-image angle of the head's right-to-left axis from the image's
          horizontal, ``atan2(X_y, X_x)``; positive when the person's left side
          of the face is lower in the image (a head tilted toward its left
          shoulder, facing the camera); in (-180, 180];
        - yaw: azimuth of the face's forward direction (``-Z``) about the image's
          vertical axis, ``atan2(-Z_x, Z_z)``: 0 facing the camera, positive when the
          face turns toward the image's right (the person's left, facing the
          camera); in (-180, 180]. A pure sideways tilt (roll) leaves it unchanged;
        - pitch: how far the face's forward direction points down in the image,
          ``atan2(-Z_y, hypot(Z_x, Z_z))``; positive = face turned down (chin toward
          the chest); in [-90, 90].

        NaN for a non-finite rotation.
    """
    r = np.asarray(rotation, dtype=np.float64)
    if r.shape != (3, 3):
        raise ValueError(f"head_rotation_angles: expected a (3, 3) rotation, got {r.shape}")
    if not np.all(np.isfinite(r)):
        return (math.nan, math.nan, math.nan)
    x, z = r[:, 0], r[:, 2]
    roll = math.degrees(math.atan2(x[1], x[0]))
    yaw = math.degrees(math.atan2(-z[0], z[2]))
    pitch = math.degrees(math.atan2(-z[1], math.hypot(z[0], z[2])))
    return (roll, yaw, pitch)


@dataclass(frozen=True, eq=False)
class HeadPose:
    """The head seen by the face model in one image.

    Attributes:
        points: (468, 3) face-mesh points: x, y in image pixels (y down), z the
            relative depth in the same pixel scale (larger = farther from the
            camera; only differences are meaningful).
        presence: the face model's confidence that a face is in its crop, 0-1.
        rotation: (3, 3) head axes in camera axes (see :func:`head_axes`);
            computed from ``points`` when not given.
        roll_deg: see :func:`head_rotation_angles` (degrees).
        yaw_deg: see :func:`head_rotation_angles` (degrees).
        pitch_deg: see :func:`head_rotation_angles` (degrees).
    """

    points: np.ndarray
    presence: float
    rotation: np.ndarray | None = None
    roll_deg: float = field(init=False, default=math.nan)
    yaw_deg: float = field(init=False, default=math.nan)
    pitch_deg: float = field(init=False, default=math.nan)

    def __post_init__(self) -> None:
        pts = np.asarray(self.points, dtype=np.float64)
        if pts.shape != (MESH_SIZE, 3):
            raise ValueError(f"HeadPose.points: expected shape ({MESH_SIZE}, 3), got {pts.shape}")
        pts = pts.copy()
        pts.setflags(write=False)
        object.__setattr__(self, "points", pts)
        if not (0.0 <= float(self.presence) <= 1.0):
            raise ValueError(
                f"HeadPose.presence: expected a value in [0, 1], got {self.presence!r}"
            )
        object.__setattr__(self, "presence", float(self.presence))
        rot = head_axes(pts) if self.rotation is None else np.asarray(self.rotation, np.float64)
        if rot.shape != (3, 3):
            raise ValueError(f"HeadPose.rotation: expected shape (3, 3), got {rot.shape}")
        rot = rot.copy()
        rot.setflags(write=False)
        object.__setattr__(self, "rotation", rot)
        roll, yaw, pitch = head_rotation_angles(rot)
        object.__setattr__(self, "roll_deg", roll)
        object.__setattr__(self, "yaw_deg", yaw)
        object.__setattr__(self, "pitch_deg", pitch)

    @property
    def eye_line_deg(self) -> float:
        """In-image angle (degrees) of the line from the person's right eye to their left eye.

        Each eye is the midpoint of its two corners; the angle is ``atan2(dy, dx)`` in
        image pixels (y down), so, like ``roll_deg``, positive when the person's left
        eye is lower in the image. This is the head's sideways tilt as seen in the
        picture; unlike ``roll_deg`` it uses the eyes only, which the face model
        places most precisely.
        """
        p = self.points
        right = (p[FACE_POINTS["right_eye_outer"], :2] + p[FACE_POINTS["right_eye_inner"], :2]) / 2
        left = (p[FACE_POINTS["left_eye_outer"], :2] + p[FACE_POINTS["left_eye_inner"], :2]) / 2
        d = left - right
        if not np.all(np.isfinite(d)) or float(np.hypot(*d)) < 1e-9:
            return math.nan
        return math.degrees(math.atan2(d[1], d[0]))

    @property
    def is_valid(self) -> bool:
        """True when the orientation could be computed (finite angles)."""
        return math.isfinite(self.roll_deg) and math.isfinite(self.yaw_deg)

    def point(self, name: str) -> np.ndarray:
        """Pixel coordinates (2,) of a named mesh point (see ``FACE_POINTS``)."""
        try:
            return self.points[FACE_POINTS[name], :2]
        except KeyError:
            valid = ", ".join(FACE_POINTS)
            raise KeyError(f"unknown face point {name!r}; valid: {valid}") from None
