"""Builders of synthetic ``PoseFrame``s at known angles (front view, person facing the camera).

Geometry (pixels, image 640x480, y down): mid-hip at (320, 400), trunk 160 px,
shoulders 120 px apart, upper arm 80 px, forearm 70 px. "Left" is the person's
left, drawn on the image's right.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import numpy as np

from pose.frame import PoseFrame
from pose.head import FACE_POINTS, MESH_SIZE, HeadPose
from pose.landmarks import NUM_LANDMARKS, Landmark

L = Landmark


def _rot(v: np.ndarray, deg: float) -> np.ndarray:
    """Rotate a vector counter-clockwise *on screen* by ``deg``."""
    a = math.radians(deg)
    # screen y is down: CCW on screen is CW in maths coordinates
    c, s = math.cos(a), math.sin(a)
    return np.array([c * v[0] + s * v[1], -s * v[0] + c * v[1]])


def rot_x(deg: float) -> np.ndarray:
    """(3, 3) rotation about the camera's x axis (x right, y down, z away)."""
    a = math.radians(deg)
    return np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])


def rot_y(deg: float) -> np.ndarray:
    """(3, 3) rotation about the camera's y axis (image down)."""
    a = math.radians(deg)
    return np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])


def rot_z(deg: float) -> np.ndarray:
    """(3, 3) rotation about the camera's z axis: clockwise on screen (y is down)."""
    a = math.radians(deg)
    return np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])


def face_mesh(rotation: np.ndarray | None = None, center: tuple[float, float] = (320.0, 200.0),
              scale: float = 1.0) -> np.ndarray:
    """A synthetic (468, 3) face mesh in pixels: a symmetric frontal face, rotated and placed.

    Head axes before ``rotation``: x to the person's left, y down, z toward the back of the
    head. Only the named points (``pose.head.FACE_POINTS``) carry the geometry; the rest
    are fixed pseudo-random points around the face. ``rot_y(-a)`` turns the head toward
    the person's left by ``a``; ``rot_z(a)`` tilts it so its left side drops by ``a``.
    """
    rng = np.random.default_rng(0)
    pts = rng.normal(0.0, 20.0, (MESH_SIZE, 3))
    named = {
        "right_eye_outer": (-45, -20, 10), "left_eye_outer": (45, -20, 10),
        "right_eye_inner": (-15, -18, 5), "left_eye_inner": (15, -18, 5),
        "right_cheek": (-70, 0, 40), "left_cheek": (70, 0, 40),
        "right_face_upper": (-68, -22, 42), "left_face_upper": (68, -22, 42),
        "right_face_lower": (-68, 22, 38), "left_face_lower": (68, 22, 38),
        "mouth_right": (-25, 45, 5), "mouth_left": (25, 45, 5),
        "forehead": (0, -90, 10), "chin": (0, 95, 10), "nose_tip": (0, 10, -30),
    }
    for name, p in named.items():
        pts[FACE_POINTS[name]] = p
    r = np.eye(3) if rotation is None else np.asarray(rotation, dtype=float)
    return (pts * scale) @ r.T + np.array([*center, 0.0])


def front_pose(
    *,
    t: float = 0.0,
    trunk_lean: float = 0.0,
    abduction: tuple[float, float] = (10.0, 10.0),
    elbow: tuple[float, float] = (175.0, 175.0),
    neck_tilt: float = 0.0,
    head_turn: float = 0.0,
    shoulder_tilt: float = 0.0,
    knee_flexion: tuple[float, float] = (0.0, 0.0),
    image_size: tuple[int, int] = (640, 480),
    visibility: float = 0.99,
    offset: tuple[float, float] = (0.0, 0.0),
    scale: float = 1.0,
    face: bool = True,
) -> PoseFrame:
    """A front-view pose with the given angles (degrees).

    Args:
        trunk_lean: lean of the trunk toward the person's LEFT (positive).
        abduction: (left, right) shoulder abduction, 0 = arm down, 180 = straight up.
        elbow: (left, right) elbow angles, 180 = straight.
        neck_tilt: head tilt toward the person's LEFT shoulder, relative to the shoulder line.
        head_turn: head rotation toward the person's LEFT.
        shoulder_tilt: shoulder line tilt, positive = LEFT shoulder higher.
        face: attach a face-model result (``PoseFrame.head``) for the same head: turned
            by ``head_turn`` about the vertical, then tilted about its own forward axis
            so that its left-right axis lies along the ear line.
        knee_flexion: (left, right) knee bend seen from the front, the shank swinging out
            to the person's side (0 = straight leg: thigh 120 px, shank 110 px, both
            vertical; the foot points straight out sideways, 25 px).
    """
    xy = np.full((NUM_LANDMARKS, 2), np.nan)
    up = np.array([0.0, -1.0])
    # trunk leaning to the person's left = image right = clockwise on screen
    trunk_dir = _rot(up, -trunk_lean)
    hip_mid = np.array([320.0 + offset[0], 400.0 + offset[1]])
    sh_mid = hip_mid + 160 * scale * trunk_dir
    across = _rot(trunk_dir, -90)  # points to image right (person's left)
    sh_dir = _rot(across, shoulder_tilt)
    xy[L.LEFT_SHOULDER] = sh_mid + 60 * scale * sh_dir
    xy[L.RIGHT_SHOULDER] = sh_mid - 60 * scale * sh_dir
    xy[L.LEFT_HIP] = hip_mid + 40 * scale * across
    xy[L.RIGHT_HIP] = hip_mid - 40 * scale * across
    down = -trunk_dir
    # The left arm swings out to the image's right: counter-clockwise on screen from "down".
    for side, sign, abd, elb in (("LEFT", 1, abduction[0], elbow[0]),
                                 ("RIGHT", -1, abduction[1], elbow[1])):
        sh = xy[L[f"{side}_SHOULDER"]]
        upper = _rot(down, sign * abd)
        el = sh + 80 * scale * upper
        fore = _rot(upper, sign * (180 - elb))
        xy[L[f"{side}_ELBOW"]] = el
        xy[L[f"{side}_WRIST"]] = el + 70 * scale * fore
    # perpendicular to the shoulder line, then tilted toward the person's left (clockwise)
    head_up = _rot(_rot(sh_dir, 90), -neck_tilt)
    head_c = sh_mid + 55 * scale * head_up
    ear_dir = _rot(head_up, -90)
    half = 22 * scale
    turn = math.radians(head_turn)
    xy[L.LEFT_EAR] = head_c + half * math.cos(turn) * ear_dir
    xy[L.RIGHT_EAR] = head_c - half * math.cos(turn) * ear_dir
    nose = head_c + 1.2 * half * math.sin(turn) * ear_dir + 5 * scale * (-head_up)
    xy[L.NOSE] = nose
    xy[L.LEFT_EYE] = nose + 8 * scale * ear_dir + 8 * scale * head_up
    xy[L.RIGHT_EYE] = nose - 8 * scale * ear_dir + 8 * scale * head_up
    xy[L.MOUTH_LEFT] = nose + 7 * scale * ear_dir - 10 * scale * head_up
    xy[L.MOUTH_RIGHT] = nose - 7 * scale * ear_dir - 10 * scale * head_up
    for side, sign, knee_flex in (("LEFT", 1, knee_flexion[0]), ("RIGHT", -1, knee_flexion[1])):
        hip = xy[L[f"{side}_HIP"]]
        knee = hip + np.array([0, 120]) * scale
        ankle = knee + 110 * scale * _rot(np.array([0.0, 1.0]), sign * knee_flex)
        xy[L[f"{side}_KNEE"]] = knee
        xy[L[f"{side}_ANKLE"]] = ankle
        xy[L[f"{side}_FOOT_INDEX"]] = ankle + np.array([sign * 25.0, 0.0]) * scale
        xy[L[f"{side}_HEEL"]] = ankle + np.array([0.0, 8.0]) * scale
    vis = np.where(np.isfinite(xy[:, 0]), visibility, 0.0)
    head = None
    if face:
        roll = math.degrees(math.atan2(ear_dir[1], ear_dir[0]))
        mesh = face_mesh(rot_y(-head_turn) @ rot_z(roll), (float(nose[0]), float(nose[1])),
                         0.3 * scale)
        head = HeadPose(points=mesh, presence=0.99)
    return PoseFrame(xy=xy, visibility=vis, timestamp_s=t, image_size=image_size, head=head)


def timeline(keyframes: Iterable[tuple[float, dict]], fps: float = 30.0) -> Iterator[PoseFrame]:
    """Linear interpolation between keyframes ``(time_s, front_pose kwargs)``.

    Tuple-valued kwargs are interpolated element-wise.
    """
    keys = list(keyframes)
    t_end = keys[-1][0]
    n = round(t_end * fps) + 1
    for i in range(n):
        t = i / fps
        j = max(k for k in range(len(keys)) if keys[k][0] <= t + 1e-9)
        k = min(j + 1, len(keys) - 1)
        (t0, a), (t1, b) = keys[j], keys[k]
        w = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
        kw = {}
        for name in set(a) | set(b):
            va, vb = a.get(name, b.get(name)), b.get(name, a.get(name))
            if isinstance(va, tuple):
                kw[name] = tuple(x + w * (y - x) for x, y in zip(va, vb, strict=True))
            else:
                kw[name] = va + w * (vb - va)
        yield front_pose(t=t, **kw)


def side_pose(
    *,
    t: float = 0.0,
    facing: str = "right",
    near: str = "left",
    trunk_incline: float = 0.0,
    hip_flexion: float = 0.0,
    knee_flexion: float = 0.0,
    ankle_dorsiflexion: float = 0.0,
    shoulder_flexion: float = 0.0,
    elbow: float = 175.0,
    far: dict | None = None,
    far_visibility: float = 0.2,
    visibility: float = 0.99,
    image_size: tuple[int, int] = (640, 480),
) -> PoseFrame:
    """A side-view pose (person side-on, facing the image's ``facing`` edge) at known angles.

    Geometry (pixels, before mirroring for ``facing="left"``): hip at (320, 260), trunk
    120 px, thigh and shank 100 px, foot (ankle to toe tip) 40 px, upper arm 70 px,
    forearm 60 px. Angles in degrees, clinical convention: ``trunk_incline`` tilts the trunk
    forward from vertical (90 = horizontal, as in a plank); ``hip_flexion`` swings the thigh
    forward from the trunk line; ``knee_flexion`` bends the shank back from the thigh line;
    ``ankle_dorsiflexion`` tilts the foot up from a right angle with the shank;
    ``shoulder_flexion`` swings the upper arm forward from the trunk line; ``elbow`` is the
    joint angle (180 = straight).

    The ``near`` side gets these angles and ``visibility``; the far side gets the same
    angles overridden by ``far`` (e.g. ``{"knee_flexion": 10}``) and ``far_visibility``,
    so a test can check that a near-side measure never reads the far limb.
    """
    xy = np.full((NUM_LANDMARKS, 2), np.nan)
    vis = np.zeros(NUM_LANDMARKS)
    up = np.array([0.0, -1.0])
    hip = np.array([320.0, 260.0])
    # facing the image's right: "forward" rotations are counter-clockwise on screen
    trunk = _rot(up, -trunk_incline)
    base = {"hip_flexion": hip_flexion, "knee_flexion": knee_flexion,
            "ankle_dorsiflexion": ankle_dorsiflexion, "shoulder_flexion": shoulder_flexion,
            "elbow": elbow}
    far_side = "right" if near == "left" else "left"
    for side, angles, v in ((far_side, {**base, **(far or {})}, far_visibility),
                            (near, base, visibility)):
        s = side.upper()
        shoulder = hip + 120 * trunk
        thigh = _rot(-trunk, angles["hip_flexion"])
        knee = hip + 100 * thigh
        shank = _rot(thigh, -angles["knee_flexion"])
        ankle = knee + 100 * shank
        foot = _rot(-shank, -(90 - angles["ankle_dorsiflexion"]))
        upper = _rot(-trunk, angles["shoulder_flexion"])
        elbow_pt = shoulder + 70 * upper
        fore = _rot(upper, 180 - angles["elbow"])
        points = {
            "SHOULDER": shoulder, "HIP": hip, "KNEE": knee, "ANKLE": ankle,
            "FOOT_INDEX": ankle + 40 * foot, "HEEL": ankle - 10 * foot,
            "ELBOW": elbow_pt, "WRIST": elbow_pt + 60 * fore,
            "EAR": shoulder + 35 * trunk,
        }
        for part, p in points.items():
            xy[L[f"{s}_{part}"]] = p
            vis[L[f"{s}_{part}"]] = v
    xy[L.NOSE] = xy[L[f"{near.upper()}_EAR"]] + 15 * _rot(trunk, -90)
    vis[L.NOSE] = visibility
    if facing == "left":
        xy[:, 0] = image_size[0] - xy[:, 0]
    elif facing != "right":
        raise ValueError(f"facing must be 'left' or 'right', got {facing!r}")
    return PoseFrame(xy=xy, visibility=vis, timestamp_s=t, image_size=image_size)
