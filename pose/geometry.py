"""Plane geometry on pixel coordinates: joint angles, inclinations, normalised distances.

All inputs are pixel coordinates with x to the right and y *down* (image
convention); all angles are in degrees. Functions return ``nan`` when a needed
point is unknown (NaN) or degenerate (zero-length segment), never raise on data.

Angles between two directions are computed with ``atan2(cross, dot)``, which is
well conditioned everywhere and never flips near ±180° the way ``acos`` of a
clipped dot product or a difference of two ``atan2`` results can.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "inclination_from_horizontal",
    "inclination_from_vertical",
    "joint_angle",
    "joint_angle_3d",
    "midpoint",
    "signed_angle",
    "wrap_degrees",
]

_EPS = 1e-9


def _vec(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)


def _ok(v: np.ndarray) -> bool:
    # plain floats: called several times per judged frame, numpy's per-call cost dominates
    x, y = float(v[0]), float(v[1])
    return (math.isfinite(x) and math.isfinite(y) and math.hypot(x, y) > _EPS
            and (len(v) == 2 or bool(np.all(np.isfinite(v)))))


def wrap_degrees(angle: float) -> float:
    """Wrap an angle to the interval (-180, 180] degrees."""
    if not math.isfinite(angle):
        return float("nan")
    wrapped = math.fmod(angle + 180.0, 360.0)
    if wrapped <= 0:
        wrapped += 360.0
    return wrapped - 180.0


def midpoint(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Midpoint of two points, shape (2,)."""
    return (np.asarray(a, dtype=np.float64) + np.asarray(b, dtype=np.float64)) / 2.0


def signed_angle(u: np.ndarray, v: np.ndarray) -> float:
    """Signed angle from direction ``u`` to direction ``v``, degrees in (-180, 180].

    Positive means *counter-clockwise as seen on screen* (y axis points down, so
    this is a clockwise rotation in the usual maths frame flipped back).

    Args:
        u: (2,) direction vector in pixels.
        v: (2,) direction vector in pixels.
    """
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    if not (_ok(u) and _ok(v)):
        return float("nan")
    # Flip y to get a right-handed frame where counter-clockwise is positive on screen.
    cross = u[0] * (-v[1]) - (-u[1]) * v[0]
    dot = u[0] * v[0] + u[1] * v[1]
    return wrap_degrees(math.degrees(math.atan2(cross, dot)))


def joint_angle(a: np.ndarray, vertex: np.ndarray, c: np.ndarray) -> float:
    """Unsigned angle a-vertex-c at ``vertex``, degrees in [0, 180].

    Example: ``joint_angle(shoulder, elbow, wrist)`` is 180 for a straight arm.
    """
    u = _vec(vertex, a)
    v = _vec(vertex, c)
    if not (_ok(u) and _ok(v)):
        return float("nan")
    return abs(signed_angle(u, v))


def joint_angle_3d(a: np.ndarray, vertex: np.ndarray, c: np.ndarray) -> float:
    """Unsigned angle a-vertex-c at ``vertex`` between 3D points, degrees in [0, 180]
    (``atan2(|u x v|, u . v)``: well conditioned near 0 and 180)."""
    u = _vec(vertex, a)
    v = _vec(vertex, c)
    if not (np.all(np.isfinite(u)) and np.all(np.isfinite(v))):
        return float("nan")
    if float(np.linalg.norm(u)) <= _EPS or float(np.linalg.norm(v)) <= _EPS:
        return float("nan")
    return math.degrees(math.atan2(float(np.linalg.norm(np.cross(u, v))), float(u @ v)))


def inclination_from_vertical(start: np.ndarray, end: np.ndarray) -> float:
    """Signed angle of the segment start→end from straight *up* on screen, degrees.

    0 when ``end`` is directly above ``start``; positive when the segment leans
    toward the image's right; ±180 when it points straight down.
    """
    v = _vec(start, end)
    if not _ok(v):
        return float("nan")
    return -signed_angle(np.array([0.0, -1.0]), v)


def inclination_from_horizontal(start: np.ndarray, end: np.ndarray) -> float:
    """Signed angle of start→end from the image's rightward horizontal, degrees.

    Positive when ``end`` is *higher* on screen than ``start`` (counter-clockwise).
    """
    v = _vec(start, end)
    if not _ok(v):
        return float("nan")
    return signed_angle(np.array([1.0, 0.0]), v)
