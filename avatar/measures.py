"""Angles used to check the avatar's truth against MediaPipe (numpy, pixels, degrees).

These follow the formulas of the product's measures, vectorised over frames:
every function takes (T, 33, 2) pixel landmarks (NaN where unknown) and returns
(T,) values. They live here so the avatar lab can verify its clips without
importing the product's packages.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MEASURES", "measure"]

L_EAR, R_EAR, NOSE = 7, 8, 0
L_SH, R_SH, L_EL, R_EL, L_WR, R_WR, L_HIP, R_HIP = 11, 12, 13, 14, 15, 16, 23, 24


def _angle_at(a: np.ndarray, v: np.ndarray, c: np.ndarray) -> np.ndarray:
    u, w = a - v, c - v
    cross = u[:, 0] * w[:, 1] - u[:, 1] * w[:, 0]
    dot = (u * w).sum(axis=1)
    return np.degrees(np.abs(np.arctan2(cross, dot)))


def _signed(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Signed angle from u to w, positive counter-clockwise on screen (y down)."""
    cross = u[:, 0] * (-w[:, 1]) - (-u[:, 1]) * w[:, 0]
    dot = (u * w).sum(axis=1)
    return np.degrees(np.arctan2(cross, dot))


def shoulder_abduction(p: np.ndarray, side: str) -> np.ndarray:
    """Angle at the shoulder between elbow and hip (same side)."""
    s, e, h = (L_SH, L_EL, L_HIP) if side == "left" else (R_SH, R_EL, R_HIP)
    return _angle_at(p[:, e], p[:, s], p[:, h])


def elbow_angle(p: np.ndarray, side: str) -> np.ndarray:
    """Angle at the elbow between shoulder and wrist (180 = straight)."""
    s, e, w = (L_SH, L_EL, L_WR) if side == "left" else (R_SH, R_EL, R_WR)
    return _angle_at(p[:, s], p[:, e], p[:, w])


def neck_tilt(p: np.ndarray) -> np.ndarray:
    """Signed angle from the shoulder line (L->R) to the ear line (L->R).

    Positive = head tilted toward the person's left in a front view.
    """
    return -_signed(p[:, R_SH] - p[:, L_SH], p[:, R_EAR] - p[:, L_EAR])


def shoulder_tilt(p: np.ndarray) -> np.ndarray:
    """Inclination of the shoulder line (L->R) from horizontal, degrees.

    Positive = the person's right shoulder higher (front view).
    """
    d = p[:, R_SH] - p[:, L_SH]
    return np.degrees(np.arctan2(-d[:, 1], -d[:, 0]))


def trunk_lateral(p: np.ndarray) -> np.ndarray:
    """Angle of mid-hip -> mid-shoulder from vertical; + = leaning to the person's left."""
    d = (p[:, L_SH] + p[:, R_SH]) / 2 - (p[:, L_HIP] + p[:, R_HIP]) / 2
    return np.degrees(np.arctan2(d[:, 0], -d[:, 1]))


def cross_body(p: np.ndarray, side: str) -> np.ndarray:
    """(wrist x - mid-shoulder x) / shoulder width, positive toward the other side."""
    mid = (p[:, L_SH, 0] + p[:, R_SH, 0]) / 2
    width = np.abs(p[:, L_SH, 0] - p[:, R_SH, 0])
    wr = p[:, L_WR, 0] if side == "left" else p[:, R_WR, 0]
    # Front view: the person's left is on the image's right, so crossing moves -x.
    sign = -1.0 if side == "left" else 1.0
    return sign * (wr - mid) / width


def neck_rotation(p: np.ndarray) -> np.ndarray:
    """Head turn from the nose's offset off the ear midpoint, degrees.

    asin(2 * offset / ear distance), clipped: 0 facing the camera, + = turned to
    the person's left (front view).
    """
    mid = (p[:, L_EAR, 0] + p[:, R_EAR, 0]) / 2
    width = np.abs(p[:, L_EAR, 0] - p[:, R_EAR, 0])
    ratio = np.clip(2 * (p[:, NOSE, 0] - mid) / width, -1, 1)
    return np.degrees(np.arcsin(ratio))


MEASURES = {
    "shoulder_abduction": shoulder_abduction,
    "elbow_angle": elbow_angle,
    "neck_tilt": neck_tilt,
    "shoulder_tilt": shoulder_tilt,
    "trunk_lateral": trunk_lateral,
    "cross_body": cross_body,
    "neck_rotation": neck_rotation,
}


def measure(name: str, p: np.ndarray, side: str | None = None) -> np.ndarray:
    """Compute measure ``name`` for (T, 33, 2) landmarks; ``side`` for sided ones."""
    fn = MEASURES[name]
    return fn(p, side) if name in ("shoulder_abduction", "elbow_angle", "cross_body") else fn(p)
