"""The registry of named measures a stretch definition can refer to.

A measure turns one ``PoseFrame`` into one number (degrees, or a ratio of body
lengths) for a given working side. Sided measures are written once, for the
side passed in, and are *signed toward that side*, which is what makes
"write one side, mirror the other" work: the right-side version of a stretch is
the left-side definition evaluated with ``side="right"``.

All measures are computed from pixel coordinates (never normalised ones) and
return ``nan`` when a needed landmark is unknown. Where a 2D image cannot
measure a movement honestly, the docstring says what is approximated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from pose.frame import PoseFrame
from pose.geometry import (
    inclination_from_vertical,
    joint_angle,
    midpoint,
    signed_angle,
    wrap_degrees,
)
from pose.head import HeadPose
from pose.landmarks import Landmark, side_landmark

__all__ = [
    "MEASURES",
    "OPTIONAL_LANDMARKS",
    "Measure",
    "UnknownMeasureError",
    "body_size_px",
    "body_yaw",
    "compute",
    "definition_needs_face",
    "facing_away",
    "get_measure",
    "measure_names",
    "measures_need_face",
    "near_side",
    "other_side",
    "trunk_upside_down",
]

L = Landmark
NAN = float("nan")

#: Ratio of nose depth (in front of the ear axis) to half the ear-to-ear width,
#: used by ``neck_rotation``: for a head turned by θ the nose moves by d·sin θ
#: while the ear half-width shrinks to r·cos θ, so θ = atan2(offset, K·half-width).
HEAD_DEPTH_RATIO = 1.2


def other_side(side: str) -> str:
    """``"left"`` ↔ ``"right"``."""
    if side == "left":
        return "right"
    if side == "right":
        return "left"
    raise ValueError(f"side must be 'left' or 'right', got {side!r}")


@dataclass(frozen=True)
class Measure:
    """One named measure.

    Attributes:
        name: registry key used in definition files.
        unit: ``"deg"`` or ``"ratio"`` (a length divided by shoulder width).
        sided: True when the value depends on the working side.
        description: one line for humans (shown by ``stretch-coach exercises``).
        landmarks: function side -> landmarks that must be visible.
        fn: function (frame, side) -> value.
        near_side: for side-view measures, body parts (e.g. ``("ear", "shoulder")``) that
            must be visible on the side facing the camera, whichever side that is.
        needs_face: True when the measure reads the face model's result
            (``PoseFrame.head``): it is ``nan`` on frames without one, and the
            estimator must run the face model (see :func:`definition_needs_face`).
        needs: (clause, cue) for a measure that needs a set-up position to be read at
            all, said when it could not be: e.g. ("your arms were not held out in
            front", "Hold both arms straight out in front of you at shoulder height").
    """

    name: str
    unit: str
    sided: bool
    description: str
    landmarks: Callable[[str], tuple[Landmark, ...]]
    fn: Callable[[PoseFrame, str], float]
    near_side: tuple[str, ...] = ()
    needs_face: bool = False
    needs: tuple[str, str] | None = None

    def __call__(self, frame: PoseFrame, side: str = "left") -> float:
        if frame.is_empty:
            return NAN
        value = self.fn(frame, side)
        return float(value) if value is not None and math.isfinite(value) else NAN


class UnknownMeasureError(KeyError):
    """A definition names a measure that is not in the registry."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


MEASURES: dict[str, Measure] = {}


def _register(name: str, unit: str, sided: bool, description: str,
              landmarks: Callable[[str], tuple[Landmark, ...]], near_side: tuple[str, ...] = (),
              needs_face: bool = False, needs: tuple[str, str] | None = None):
    def deco(fn: Callable[[PoseFrame, str], float]) -> Callable[[PoseFrame, str], float]:
        MEASURES[name] = Measure(name, unit, sided, description, landmarks, fn, near_side,
                                 needs_face, needs)
        return fn
    return deco


def measure_names() -> list[str]:
    """Sorted names of every registered measure."""
    return sorted(MEASURES)


def get_measure(name: str) -> Measure:
    """Look a measure up by name.

    Raises:
        UnknownMeasureError: naming the valid measures.
    """
    try:
        return MEASURES[name]
    except KeyError:
        raise UnknownMeasureError(
            f"unknown measure {name!r}; valid measures: {', '.join(measure_names())}"
        ) from None


def compute(name: str, frame: PoseFrame, side: str = "left") -> float:
    """Compute measure ``name`` on ``frame`` for ``side`` (``nan`` if not measurable)."""
    return get_measure(name)(frame, side)


def measures_need_face(names: Iterable[str]) -> bool:
    """Whether any of the named measures reads the face model (``Measure.needs_face``).

    Raises:
        UnknownMeasureError: a name is not in the registry.
    """
    return any(get_measure(n).needs_face for n in names)


def definition_needs_face(definition: object) -> bool:
    """Whether judging a stretch needs the face model: its primary or a check reads the face.

    Args:
        definition: an ``exercises.definition.StretchDefinition`` (anything with
            ``primary.measure`` and ``checks[*].measure``).

    Returns:
        True when the pose estimator must run the face model for this stretch, and
        when a frame without a face (``PoseFrame.head is None``) means "turn your face
        toward the camera".
    """
    names = [definition.primary.measure]  # type: ignore[attr-defined]
    names += [c.measure for c in definition.checks]  # type: ignore[attr-defined]
    return measures_need_face(names)


# ---------------------------------------------------------------- helpers

def _p(frame: PoseFrame, side: str, part: str) -> np.ndarray:
    return frame.point(side_landmark(side, part))


def _mid(frame: PoseFrame, part: str) -> np.ndarray:
    """Midpoint of the left and right ``part`` (e.g. mid-shoulder), pixels."""
    return midpoint(_p(frame, "left", part), _p(frame, "right", part))


def _lr_sign(frame: PoseFrame, part: str) -> float:
    """+1 when the person's left ``part`` is on the image's right (facing the camera)."""
    dx = _p(frame, "left", part)[0] - _p(frame, "right", part)[0]
    if not math.isfinite(dx) or dx == 0:
        return 1.0
    return 1.0 if dx > 0 else -1.0


def _shoulder_width(frame: PoseFrame) -> float:
    d = _p(frame, "left", "shoulder") - _p(frame, "right", "shoulder")
    w = float(np.hypot(*d))
    return w if w > 1e-6 else NAN


def body_size_px(frame: PoseFrame) -> float:
    """How big the person is in the picture, pixels: the largest of shoulder width, trunk
    length (mid-shoulder to mid-hip) and twice an ear-to-shoulder distance (side-on, where
    the shoulders overlap). ``inf`` when none of them is known (nothing to judge by)."""
    sizes = [_shoulder_width(frame),
             float(np.hypot(*(_mid(frame, "shoulder") - _mid(frame, "hip"))))]
    for s in ("left", "right"):
        sizes.append(2.0 * float(np.hypot(*(_p(frame, s, "ear") - _p(frame, s, "shoulder")))))
    known = [x for x in sizes if math.isfinite(x)]
    return max(known) if known else math.inf


def trunk_upside_down(frame: PoseFrame, min_visibility: float) -> bool:
    """Whether the trunk points head-down in the picture: the mid-shoulder more than half a
    trunk length below the mid-hip (the trunk over 30 degrees below level, head first).
    A standing or seated person never looks so, but the model draws such a body, with
    high visibility, on a close-up of the legs or a cut-away (the engine asks only for
    upright postures: a push-up filmed head-on has the shoulders below the hips). False
    when a shoulder or hip is not seen."""
    if frame.is_empty:
        return False
    idx = (L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP)
    if any(frame.visibility[int(i)] < min_visibility for i in idx):
        return False
    d = _mid(frame, "shoulder") - _mid(frame, "hip")
    length = float(np.hypot(*d))
    if not math.isfinite(length) or length < 1e-6:
        return False
    return float(d[1]) > 0.5 * length  # image y points down


def body_yaw(frame: PoseFrame) -> float:
    """Which way the trunk faces, degrees, from MediaPipe's world landmarks: 0 = facing the
    camera, ±90 = side-on, ±180 = back to the camera (as labelled by the model); ``nan``
    without world landmarks. The shoulder and hip lines are averaged, so a shoulder
    rotation alone moves it by half."""
    if frame.world is None or frame.is_empty:
        return NAN
    w = frame.world
    d = (w[int(L.LEFT_SHOULDER)] - w[int(L.RIGHT_SHOULDER)]
         + w[int(L.LEFT_HIP)] - w[int(L.RIGHT_HIP)])
    if not np.all(np.isfinite(d)) or abs(d[0]) + abs(d[2]) < 1e-6:
        return NAN
    return math.degrees(math.atan2(d[2], d[0]))


def facing_away(frame: PoseFrame) -> bool:
    """True when the world landmarks put the nose behind the ears (a back view): facing the
    camera the nose is about a head's depth in front of them.

    Only with the ear line across the picture (more across than in depth): a head turned
    far to one side (a neck rotation held about 80 degrees from the camera) lines the ears
    up with the camera's axis, the nose then sits barely in front of them, and the
    model's depth put it 0.4-0.7 ear widths behind on 279 of such a clip's 628 frames
    (29 with the ear line checked), telling a person facing the camera to turn around."""
    if frame.world is None or frame.is_empty:
        return False
    w = frame.world
    ear_line = w[int(L.LEFT_EAR)] - w[int(L.RIGHT_EAR)]
    ears = (w[int(L.LEFT_EAR)] + w[int(L.RIGHT_EAR)]) / 2.0
    width = float(np.linalg.norm(ear_line))
    behind = float(w[int(L.NOSE)][2] - ears[2])
    across = abs(float(ear_line[0])) >= abs(float(ear_line[2]))
    return bool(math.isfinite(behind) and width > 1e-6 and across and behind > 0.25 * width)


def _sided(*parts: str) -> Callable[[str], tuple[Landmark, ...]]:
    return lambda side: tuple(side_landmark(side, p) for p in parts)


def _both(*parts: str) -> Callable[[str], tuple[Landmark, ...]]:
    return lambda side: tuple(side_landmark(s, p) for p in parts for s in ("left", "right"))


def _fixed(*lms: Landmark) -> Callable[[str], tuple[Landmark, ...]]:
    return lambda side: lms


# ---------------------------------------------------------------- arms

@_register("shoulder_abduction", "deg", True,
           "Arm raised away from the trunk: angle between the upper arm and the trunk axis "
           "mid-shoulder→mid-hip (0 = arm down along the trunk, 180 = straight up). With the "
           "hips out of view (a webcam framing the upper body) the trunk axis is taken "
           "square to the shoulder line, i.e. an upright trunk. Front view.",
           lambda side: (side_landmark(side, "elbow"), L.LEFT_SHOULDER, L.RIGHT_SHOULDER))
def _shoulder_abduction(frame: PoseFrame, side: str) -> float:
    # The trunk axis, not the line to the same side's hip: hips are narrower than
    # shoulders, so elbow-shoulder-hip would read ~7° with the arm hanging along the trunk.
    shoulder = _p(frame, side, "shoulder")
    return joint_angle(_p(frame, side, "elbow"), shoulder, shoulder + _trunk_down(frame))


#: Landmarks a measure uses when they are seen but never requires (it has a fallback).
OPTIONAL_LANDMARKS: dict[str, tuple[Landmark, ...]] = {
    "shoulder_abduction": (L.LEFT_HIP, L.RIGHT_HIP),
    "arms_elevation": (L.LEFT_HIP, L.RIGHT_HIP),
    "arm_line_elevation": (L.LEFT_HIP, L.RIGHT_HIP),
    "arms_line_elevation": (L.LEFT_HIP, L.RIGHT_HIP),
}


def _trunk_down(frame: PoseFrame) -> np.ndarray:
    """A vector down the trunk, pixels: mid-shoulder→mid-hip when both hips are seen, else
    square to the shoulder line, pointing down the picture (an upright trunk assumed)."""
    if frame.visible(L.LEFT_HIP) and frame.visible(L.RIGHT_HIP):
        return _mid(frame, "hip") - _mid(frame, "shoulder")
    across = _p(frame, "left", "shoulder") - _p(frame, "right", "shoulder")
    down = np.array([-across[1], across[0]])
    return down if down[1] >= 0 else -down


@_register("shoulder_flexion", "deg", True,
           "Arm raised forward: angle elbow-shoulder-hip seen from the side "
           "(0 = arm down, 180 = straight up). Side view.",
           _sided("shoulder", "elbow", "hip"))
def _shoulder_flexion(frame: PoseFrame, side: str) -> float:
    return joint_angle(_p(frame, side, "elbow"), _p(frame, side, "shoulder"),
                       _p(frame, side, "hip"))


@_register("elbow_extension", "deg", True,
           "Elbow angle shoulder-elbow-wrist (180 = straight arm).",
           _sided("shoulder", "elbow", "wrist"))
def _elbow_extension(frame: PoseFrame, side: str) -> float:
    return joint_angle(_p(frame, side, "shoulder"), _p(frame, side, "elbow"),
                       _p(frame, side, "wrist"))


#: How far apart the two arms may be and still count as level, degrees (arms_elevation).
ARMS_LEVEL_TOLERANCE = 10.0


@_register("arms_elevation", "deg", False,
           "Both arms' elevation (as shoulder_abduction): their mean while they are within "
           "10° of each other, else the lower arm plus 5°, so both arms must rise (one arm "
           "alone never passes) without the low bias of taking the lower of two noisy "
           "readings.",
           _both("shoulder", "elbow"))
def _arms_elevation(frame: PoseFrame, side: str) -> float:
    return _both_arms(_shoulder_abduction(frame, "left"), _shoulder_abduction(frame, "right"))


def _both_arms(a: float, b: float) -> float:
    """Two arms' elevations as one: the mean of level arms, else the lower plus half the
    tolerance (``ARMS_LEVEL_TOLERANCE``)."""
    # np.minimum propagates NaN; the builtin min(nan, x) or min(x, nan) depends on order
    return float(np.minimum(a, b) + np.minimum(abs(a - b), ARMS_LEVEL_TOLERANCE) / 2.0)


def _arm_line_elevation(frame: PoseFrame, side: str) -> float:
    shoulder = _p(frame, side, "shoulder")
    return joint_angle(_p(frame, side, "wrist"), shoulder, shoulder + _trunk_down(frame))


_register("arm_line_elevation", "deg", True,
          "A straight arm raised away from the trunk, read along the whole arm: angle "
          "between the line shoulder→wrist and the trunk axis (as shoulder_abduction: 0 = "
          "arm down, 180 = straight up). For straight-arm stretches (pair it with a "
          "straight-elbow check): twice as long as the upper arm, the line turns half as "
          "much with MediaPipe's shoulder point, which rides up on a raised shoulder "
          "(overhead, shoulder→elbow read 11-16 degrees low against the avatar rig's "
          "geometry, shoulder→wrist 4-6). A bent elbow reads as a different angle.",
          lambda side: (side_landmark(side, "wrist"), L.LEFT_SHOULDER, L.RIGHT_SHOULDER))(
    _arm_line_elevation)


@_register("arms_line_elevation", "deg", False,
           "Both straight arms' elevation read along the whole arm (arm_line_elevation), "
           "combined as arms_elevation: the mean of level arms, else the lower plus 5.",
           _both("shoulder", "wrist"))
def _arms_line_elevation(frame: PoseFrame, side: str) -> float:
    return _both_arms(_arm_line_elevation(frame, "left"), _arm_line_elevation(frame, "right"))


@_register("elbows_extension", "deg", False,
           "The more bent of the two elbows (180 = both straight).",
           _both("shoulder", "elbow", "wrist"))
def _elbows_extension(frame: PoseFrame, side: str) -> float:
    return float(np.minimum(_elbow_extension(frame, "left"), _elbow_extension(frame, "right")))


@_register("elbows_flexion_difference", "deg", False,
           "How differently the two elbows are bent (0 = symmetric).",
           _both("shoulder", "elbow", "wrist"))
def _elbows_flexion_difference(frame: PoseFrame, side: str) -> float:
    return abs(_elbow_extension(frame, "left") - _elbow_extension(frame, "right"))


@_register("wrist_cross_midline", "ratio", True,
           "How far the working wrist reaches past the body's midline toward the other "
           "shoulder, in shoulder widths (0 = on the midline, negative = own side).",
           lambda side: (side_landmark(side, "wrist"), L.LEFT_SHOULDER, L.RIGHT_SHOULDER))
def _wrist_cross_midline(frame: PoseFrame, side: str) -> float:
    own = _p(frame, side, "shoulder")
    other = _p(frame, other_side(side), "shoulder")
    axis = other - own
    width = float(np.hypot(*axis))
    if not math.isfinite(width) or width < 1e-6:
        return NAN
    rel = _p(frame, side, "wrist") - midpoint(own, other)
    return float(np.dot(rel, axis / width) / width)


# ---------------------------------------------------------------- head and neck

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


def near_side(frame: PoseFrame) -> str:
    """The side facing the camera in a side view (see :func:`_side_view_side`)."""
    return _side_view_side(frame)


#: Visibility sums (ear + shoulder) closer than this do not tell the sides apart.
_VISIBILITY_MARGIN = 0.2


def _side_view_side(frame: PoseFrame) -> str:
    """The side facing the camera in a side view: the better-seen ear/shoulder pair, and
    when both are seen alike, the pair nearer the camera in the world landmarks' depth.

    MediaPipe's visibility saturates at 1.0 for both sides of a person seen side-on (on
    the cat-cow sample it tied on every frame, so the far side was used on about half
    of them, reading a "cow" 10 degrees low), while its depth put the near side nearer
    on every frame of the side-view samples.
    """
    vis = frame.visibility
    left = vis[L.LEFT_EAR] + vis[L.LEFT_SHOULDER]
    right = vis[L.RIGHT_EAR] + vis[L.RIGHT_SHOULDER]
    if abs(left - right) <= _VISIBILITY_MARGIN and frame.world is not None:
        w = frame.world
        depth = (w[L.LEFT_EAR, 2] + w[L.LEFT_SHOULDER, 2]
                 - w[L.RIGHT_EAR, 2] - w[L.RIGHT_SHOULDER, 2])
        if math.isfinite(depth) and depth != 0:
            return "left" if depth < 0 else "right"
    return "left" if left >= right else "right"


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


# ---------------------------------------------------------------- shoulders and trunk

@_register("shoulder_level_difference", "deg", True,
           "Tilt of the shoulder line from horizontal, positive when the working side's "
           "shoulder is the higher one (a shrug or a lean shows here).",
           _fixed(L.LEFT_SHOULDER, L.RIGHT_SHOULDER))
def _shoulder_level_difference(frame: PoseFrame, side: str) -> float:
    own, other = _p(frame, side, "shoulder"), _p(frame, other_side(side), "shoulder")
    return math.degrees(math.atan2(other[1] - own[1], abs(own[0] - other[0])))


@_register("shoulder_elevation", "ratio", False,
           "Vertical gap between the mouth and the shoulders, in shoulder widths (smaller = "
           "shoulders shrugged up). Use with baseline = \"rest\": the head keeps still in a "
           "shrug, so the change is the shoulders' rise. The mouth, not the ears: MediaPipe "
           "drags its ear points along with the shoulders, reading a shrug at 0.55-0.66 of "
           "the rig's rise from the ears, 0.66-0.89 from the mouth. Front view.",
           _fixed(L.MOUTH_LEFT, L.MOUTH_RIGHT, L.LEFT_SHOULDER, L.RIGHT_SHOULDER))
def _shoulder_elevation(frame: PoseFrame, side: str) -> float:
    mouth = midpoint(frame.point(L.MOUTH_LEFT), frame.point(L.MOUTH_RIGHT))
    shoulders = _mid(frame, "shoulder")
    return float(shoulders[1] - mouth[1]) / _shoulder_width(frame)


@_register("trunk_lateral_flexion", "deg", True,
           "Sideways lean of the trunk line mid-hip→mid-shoulder from vertical, positive "
           "toward the working side. Front view.",
           _both("shoulder", "hip"))
def _trunk_lateral_flexion(frame: PoseFrame, side: str) -> float:
    hips = _mid(frame, "hip")
    shoulders = _mid(frame, "shoulder")
    toward_left = inclination_from_vertical(hips, shoulders) * _lr_sign(frame, "hip")
    return toward_left if side == "left" else -toward_left


@_register("trunk_rotation", "deg", True,
           "Rotation of the shoulder line against the hip line about the vertical axis, "
           "positive toward the working side, from MediaPipe's estimated 3D world "
           "landmarks (depth is estimated from one camera: treat as approximate).",
           _both("shoulder", "hip"))
def _trunk_rotation(frame: PoseFrame, side: str) -> float:
    if frame.world is None:
        return NAN
    w = frame.world

    def yaw(a: Landmark, b: Landmark) -> float:
        d = w[int(a)] - w[int(b)]
        return math.degrees(math.atan2(d[2], d[0]))

    sh = yaw(L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
    hp = yaw(L.LEFT_HIP, L.RIGHT_HIP)
    diff = (sh - hp + 180.0) % 360.0 - 180.0
    toward_left = diff
    return toward_left if side == "left" else -toward_left


@_register("view_ratio", "ratio", False,
           "Shoulder width divided by trunk length: about 0.6-0.9 facing the camera, "
           "below 0.3 side-on. Used to check the camera view.",
           _both("shoulder", "hip"))
def _view_ratio(frame: PoseFrame, side: str) -> float:
    hips = _mid(frame, "hip")
    shoulders = _mid(frame, "shoulder")
    torso = float(np.hypot(*(shoulders - hips)))
    if not math.isfinite(torso) or torso < 1e-6:
        return NAN
    return _shoulder_width(frame) / torso


# The whole-body measures (legs, hips, trunk line, side-view variants) live in their own
# module; importing it registers them here.
from exercises import measures_body as _measures_body  # noqa: E402,F401
