"""Head and neck measures: the neck's side tilt and rotation (from the face model's mesh,
and pose-only twins), the chin tuck's glide and the head lift.

Registered into :data:`exercises.measures.MEASURES` when :mod:`exercises.measures` is
imported (it imports this module at its end); definitions name them like any other.
"""

from __future__ import annotations

import math

import numpy as np

from exercises.measures import (
    NAN,
    L,
    _fixed,
    _lr_sign,
    _p,
    _register,
    _side_view_side,
)
from pose.frame import PoseFrame
from pose.geometry import inclination_from_vertical, midpoint, signed_angle, wrap_degrees
from pose.head import HeadPose

#: Ratio of nose depth (in front of the ear axis) to half the ear-to-ear width,
#: used by ``neck_rotation_pose``: for a head turned by θ the nose moves by d·sin θ
#: while the ear half-width shrinks to r·cos θ, so θ = atan2(offset, K·half-width).
HEAD_DEPTH_RATIO = 1.2


def _face_toward_left(value_left: float, side: str) -> float:
    return value_left if side == "left" else -value_left


_HEAD_POSE_POINTS = (L.NOSE, L.LEFT_EAR, L.RIGHT_EAR)


def _head(frame: PoseFrame) -> HeadPose | None:
    """The face model's head, if any and if the pose locates the head (nose and ears)."""
    if frame.head is None or not np.all(np.isfinite(frame.xy[list(_HEAD_POSE_POINTS)])):
        return None
    return frame.head


#: Beyond any neck's sideways bend against the shoulder line (normal cervical lateral
#: flexion is about 45 degrees: AAOS, Joint Motion, 1965); a reading past it is a misread
#: shoulder line.
_NECK_TILT_MAX_DEG = 75.0


@_register("neck_lateral_tilt", "deg", True,
           "Head tilted toward the working side's shoulder: in-image angle between the eye "
           "line (face model's eye corners) and the shoulder line (positive = toward that "
           "side). Front view; needs the face.",
           _fixed(L.NOSE, L.LEFT_EAR, L.RIGHT_EAR, L.LEFT_SHOULDER, L.RIGHT_SHOULDER),
           needs_face=True)
def _neck_lateral_tilt(frame: PoseFrame, side: str) -> float:
    # The pose model's five face points read a sideways tilt at ~0.6 of its true angle;
    # the face mesh reads the eye line to ~1 degree (see pose.face).
    head = _head(frame)
    if head is None:
        return NAN
    shoulders = _p(frame, "left", "shoulder") - _p(frame, "right", "shoulder")
    if not np.all(np.isfinite(shoulders)) or float(np.hypot(*shoulders)) < 1e-6:
        return NAN
    shoulder_roll = math.degrees(math.atan2(shoulders[1], shoulders[0]))
    # roll > 0: the person's left side of the face is lower in the image (y down)
    toward_left = wrap_degrees(head.eye_line_deg - shoulder_roll)
    # The shoulder line is taken as a line, not a direction: the pose model now and then
    # swaps its left and right labels on a head tilted toward a shoulder (the ears swing
    # 40 -> 147 degrees within a second on a steady 45 degree tilt), which turns the
    # shoulder line by 180 and read that tilt as -135. No neck bends 90 degrees sideways.
    if abs(toward_left) > 90.0:
        toward_left = wrap_degrees(toward_left + 180.0)
    if abs(toward_left) > _NECK_TILT_MAX_DEG:
        return NAN  # a shoulder line caught mid-swap, not a neck
    return _face_toward_left(toward_left, side)


@_register("neck_rotation", "deg", True,
           "Head turned toward the working side: azimuth of the face's forward direction "
           "(face model's 3D mesh) about the vertical, relative to the camera's line of "
           "sight, so it assumes the trunk faces the camera (use baseline = \"rest\" to "
           "cancel a camera placed off to one side). Front view; needs the face.",
           _fixed(L.NOSE, L.LEFT_EAR, L.RIGHT_EAR), needs_face=True)
def _neck_rotation(frame: PoseFrame, side: str) -> float:
    head = _head(frame)
    if head is None:
        return NAN
    return _face_toward_left(head.yaw_deg, side)


@_register("neck_rotation_pose", "deg", True,
           "Head turned toward the working side, estimated from the pose's nose and ears only "
           "(how far the nose moves off the ear midpoint relative to the ear half-width; "
           "front view; good to a few degrees up to about 60°). For when the face is "
           "not seen; ``neck_rotation`` is the better reading.",
           _fixed(L.NOSE, L.LEFT_EAR, L.RIGHT_EAR))
def _neck_rotation_pose(frame: PoseFrame, side: str) -> float:
    left_ear, right_ear = _p(frame, "left", "ear"), _p(frame, "right", "ear")
    axis = left_ear - right_ear
    half = float(np.hypot(*axis)) / 2.0
    if not math.isfinite(half) or half < 1e-6:
        return NAN
    # Offset of the nose along the ear line (not along image x, so a tilt doesn't leak in).
    offset = float(np.dot(frame.point(L.NOSE) - midpoint(left_ear, right_ear), axis / (2 * half)))
    toward_left = math.degrees(math.atan2(offset, HEAD_DEPTH_RATIO * half))
    return toward_left if side == "left" else -toward_left


@_register("neck_lateral_tilt_pose", "deg", True,
           "Head tilt from the pose's ear line against the shoulder line (positive = toward "
           "the working side). Reads a sideways tilt at only ~0.6 of its true angle; "
           "``neck_lateral_tilt`` (face model) is the accurate reading.",
           _fixed(L.LEFT_EAR, L.RIGHT_EAR, L.LEFT_SHOULDER, L.RIGHT_SHOULDER))
def _neck_lateral_tilt_pose(frame: PoseFrame, side: str) -> float:
    shoulders = _p(frame, "left", "shoulder") - _p(frame, "right", "shoulder")
    ears = _p(frame, "left", "ear") - _p(frame, "right", "ear")
    toward_left = -signed_angle(shoulders, ears) * _lr_sign(frame, "shoulder")
    return toward_left if side == "left" else -toward_left


@_register("head_forward_angle", "deg", False,
           "Forward head position seen from the side: lean of the shoulder→ear line from "
           "vertical, positive toward where the face points. Side view.",
           _fixed(L.NOSE), near_side=("ear", "shoulder"))
def _head_forward_angle(frame: PoseFrame, side: str) -> float:
    s = _side_view_side(frame)
    ear, shoulder = _p(frame, s, "ear"), _p(frame, s, "shoulder")
    facing = frame.point(L.NOSE)[0] - ear[0]
    if not math.isfinite(facing) or facing == 0:
        return NAN
    return inclination_from_vertical(shoulder, ear) * (1.0 if facing > 0 else -1.0)


#: The shoulder→eye line's angle against the trunk, e, as the shoulder→ear line's, a:
#: e = HEAD_LIFT_EYE_GAIN * a + HEAD_LIFT_EYE_OFFSET. The eye sits forward of the ear on
#: the head, so it swings further as the head lifts and lies below the ear line. Fitted
#: on the rig's geometric points (not MediaPipe's) over cat-cow on four bodies (the sample
#: and three varied ones): gain 1.28-1.32, offset -19.7 to -23.3 degrees, residual 0.2-0.3
#: within a body; the spread between bodies is about 1.5 degrees of head lift.
HEAD_LIFT_EYE_GAIN = 1.3
HEAD_LIFT_EYE_OFFSET = -22.0


@_register("head_lift", "deg", False,
           "Head raised (+) or dropped (-) relative to the trunk line hip→shoulder, seen "
           "from the side (for cat-cow on all fours): the angle of the shoulder→ear line, "
           "read from the eye (MediaPipe places the eye well in profile, its ear often "
           "6 px off on a 45 px ear-to-shoulder segment: 9-12 degrees of error against the "
           "rig's geometry, 1.4-3.9 from the eye) through the head's proportions "
           "(HEAD_LIFT_EYE_GAIN, HEAD_LIFT_EYE_OFFSET). Side view.",
           _fixed(), near_side=("eye", "shoulder", "hip"))
def _head_lift(frame: PoseFrame, side: str) -> float:
    return (_lift_of(frame, "eye") - HEAD_LIFT_EYE_OFFSET) / HEAD_LIFT_EYE_GAIN


def _lift_of(frame: PoseFrame, part: str) -> float:
    """Angle of the shoulder→``part`` line against the trunk line hip→shoulder, on the
    side facing the camera, positive raised (side view)."""
    s = _side_view_side(frame)
    hip, shoulder, point = _p(frame, s, "hip"), _p(frame, s, "shoulder"), _p(frame, s, part)
    trunk = shoulder - hip
    if not math.isfinite(trunk[0]) or trunk[0] == 0:
        return NAN
    return signed_angle(trunk, point - shoulder) * (1.0 if trunk[0] > 0 else -1.0)


@_register("head_lift_ear", "deg", False,
           "The angle head_lift estimates, read from the ear itself: the shoulder→ear line "
           "against the trunk line hip→shoulder, seen from the side. Exact on geometric "
           "points (the avatar lab's truth of head_lift); on MediaPipe's points 9-12 "
           "degrees off in cat-cow, so definitions use head_lift. Side view.",
           _fixed(), near_side=("ear", "shoulder", "hip"))
def _head_lift_ear(frame: PoseFrame, side: str) -> float:
    return _lift_of(frame, "ear")
