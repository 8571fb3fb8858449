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
)
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


# ---------------------------------------------------------------- side views

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


# The head-and-neck and the whole-body measures (legs, hips, trunk line, side-view
# variants) live in their own modules; importing them registers them here.
from exercises import measures_body as _measures_body  # noqa: E402,F401
from exercises import measures_head as _measures_head  # noqa: E402,F401
