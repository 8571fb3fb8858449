"""Whole-body measures: legs, hips, the trunk line and side-view (``*_near``) variants.

Registered into :data:`exercises.measures.MEASURES` when :mod:`exercises.measures` is
imported (it imports this module at its end); definitions name them like any other.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from exercises.measures import (
    NAN,
    _both,
    _elbow_extension,
    _fixed,
    _mid,
    _p,
    _register,
    _side_view_side,
    _sided,
    body_size_px,
)
from pose.frame import PoseFrame
from pose.geometry import inclination_from_vertical, joint_angle, joint_angle_3d
from pose.landmarks import side_landmark

# ================================================================ whole body (legs, hips, trunk)
#
# Joint angles follow the clinical convention of the AAOS / AMA goniometry tables
# (0 = anatomical neutral, positive = flexion), so a definition's thresholds can be
# copied from a normal range-of-motion table: knee flexion 0-135, hip flexion 0-120,
# ankle dorsiflexion 0-20 / plantarflexion 0-50 (AAOS, "Joint Motion: Method of
# Measuring and Recording", 1965; Greene & Heckman 1994). Seen in a 2D image they are
# true only when the limb moves in a plane facing the camera (side view for knee, hip
# and ankle flexion); a limb moving toward the camera reads smaller.
#
# ``*_near`` variants are for side-on views: they read the side facing the camera
# (``near_side``: the better-seen ear and shoulder), and the engine asks only that
# side's landmarks to be visible (``Measure.near_side``), so a hidden far limb never
# blocks or corrupts the reading.


def _near(name: str, description: str, parts: tuple[str, ...],
          fn: Callable[[PoseFrame, str], float]) -> None:
    """Register ``name``: ``fn`` read on the side facing the camera (side view); only that
    side's ``parts`` must be seen (``Measure.near_side``)."""
    _register(name, "deg", False, description, _fixed(), near_side=parts)(
        lambda frame, side: fn(frame, _side_view_side(frame)))


def _w(frame: PoseFrame, side: str, part: str) -> np.ndarray:
    """A landmark's MediaPipe world position (metres, hip-centred); NaN without one."""
    if frame.world is None:
        return np.full(3, np.nan)
    return frame.world[int(side_landmark(side, part))]


def _knee_flexion_3d(frame: PoseFrame, side: str) -> float:
    return 180.0 - joint_angle_3d(_w(frame, side, "hip"), _w(frame, side, "knee"),
                                  _w(frame, side, "ankle"))


def _knee_flexion(frame: PoseFrame, side: str) -> float:
    return 180.0 - joint_angle(_p(frame, side, "hip"), _p(frame, side, "knee"),
                               _p(frame, side, "ankle"))


def _hip_flexion(frame: PoseFrame, side: str) -> float:
    return 180.0 - joint_angle(_p(frame, side, "shoulder"), _p(frame, side, "hip"),
                               _p(frame, side, "knee"))


def _ankle_dorsiflexion(frame: PoseFrame, side: str) -> float:
    return 90.0 - joint_angle(_p(frame, side, "knee"), _p(frame, side, "ankle"),
                              _p(frame, side, "foot_index"))


def _body_line(frame: PoseFrame, side: str) -> float:
    return joint_angle(_p(frame, side, "shoulder"), _p(frame, side, "hip"),
                       _p(frame, side, "ankle"))


_register("knee_flexion", "deg", True,
          "Knee bend: 180 minus the angle hip-knee-ankle of the working side (0 = straight "
          "leg, 90 = right angle; AAOS normal 0-135). Increases as the knee bends. True "
          "from the side; facing the camera a squat reads smaller (the thigh points at it).",
          _sided("hip", "knee", "ankle"))(_knee_flexion)

_near("knee_flexion_near",
      "knee_flexion of the leg facing the camera (side view): only that leg must be seen.",
      ("shoulder", "hip", "knee", "ankle"), _knee_flexion)


_register("knee_flexion_3d", "deg", True,
          "knee_flexion measured in 3D from MediaPipe's world landmarks (depth estimated "
          "from one camera), so a knee bending toward the camera is not foreshortened: "
          "reads alike from the front and the side. MediaPipe's estimate of a straight "
          "standing leg is itself bent by about 10-20 degrees, so keep rest thresholds "
          "above that.",
          _sided("hip", "knee", "ankle"))(_knee_flexion_3d)

#: Thigh over shin length in the picture under which the thigh points toward (or away
#: from) the camera: the two are about equally long (0.245 and 0.246 of body height,
#: Winter, Biomechanics and Motor Control of Human Movement, 4th ed., table 4.1), so
#: under 0.8 the thigh is more than about 37 degrees out of the picture's plane
#: (cos 37 = 0.8) and the picture's knee angle is foreshortened.
FORESHORTENED_THIGH = 0.8


def _knee_flexion_any_view(frame: PoseFrame, side: str) -> float:
    flat = _knee_flexion(frame, side)
    hip, knee, ankle = (_p(frame, side, part) for part in ("hip", "knee", "ankle"))
    thigh, shin = float(np.hypot(*(hip - knee))), float(np.hypot(*(knee - ankle)))
    if shin > 1e-6 and thigh / shin < FORESHORTENED_THIGH:
        deep = _knee_flexion_3d(frame, side)
        if math.isfinite(deep):
            return deep
    return flat


_near("knee_flexion_any_view_near",
      "Knee bend of the leg facing the camera from any angle: the picture's angle while "
      "the thigh lies across the picture (its picture length at least 0.8 of the "
      "shin's), where it is right; the world landmarks' 3D angle once the thigh points "
      "toward the camera (a squat facing it: the picture's angle is foreshortened, a 70 "
      "degree bend reads 35-40). Standing, the picture's angle is used, so MediaPipe's "
      "3D bend of a straight leg (10-20 degrees) does not lift the resting value.",
      ("shoulder", "hip", "knee", "ankle"), _knee_flexion_any_view)


_near("knee_flexion_3d_near",
      "knee_flexion_3d of the leg facing the camera (the better-seen side): only that leg "
      "must be seen. For squats and lunges filmed from any angle.",
      ("shoulder", "hip", "knee", "ankle"), _knee_flexion_3d)


@_register("knees_flexion", "deg", False,
           "Mean knee_flexion of both legs (front view, both legs seen; a squat facing the "
           "camera reads smaller than its true bend).",
           _both("hip", "knee", "ankle"))
def _knees_flexion(frame: PoseFrame, side: str) -> float:
    return (_knee_flexion(frame, "left") + _knee_flexion(frame, "right")) / 2.0


_register("hip_flexion", "deg", True,
          "Hip bend: 180 minus the angle shoulder-hip-knee of the working side (0 = standing "
          "straight, 90 = trunk and thigh at a right angle; AAOS normal 0-120, with the trunk "
          "standing in for the pelvis, so it includes some lumbar flexion). Increases as "
          "the hip bends. Side view.",
          _sided("shoulder", "hip", "knee"))(_hip_flexion)

_near("hip_flexion_near",
      "hip_flexion of the side facing the camera (side view).",
      ("shoulder", "hip", "knee"), _hip_flexion)

_register("ankle_dorsiflexion", "deg", True,
          "Ankle bend: 90 minus the angle knee-ankle-toe tip of the working side (0 = foot "
          "at a right angle to the shin, + = dorsiflexion, - = plantarflexion; AAOS normal "
          "dorsiflexion 0-20, plantarflexion 0-50). The ankle-to-toe line stands in for the "
          "foot's axis (a few degrees off a goniometer's). Increases as the shin tilts over "
          "the foot. Side view.",
          _sided("knee", "ankle", "foot_index"))(_ankle_dorsiflexion)

_near("ankle_dorsiflexion_near",
      "ankle_dorsiflexion of the side facing the camera (side view).",
      ("knee", "ankle", "foot_index"), _ankle_dorsiflexion)

_near("elbow_extension_near",
      "elbow_extension (angle shoulder-elbow-wrist, 180 = straight) of the arm facing the ",
      ("shoulder", "elbow", "wrist"), _elbow_extension)

_near("body_line_near",
      "Straightness of the body seen from the side: angle shoulder-hip-ankle of the side "
      "facing the camera (180 = straight plank; below = hips piked up or sagging). ",
      ("shoulder", "hip", "ankle"), _body_line)


@_register("trunk_inclination", "deg", False,
           "Tilt of the trunk line mid-hip→mid-shoulder from vertical, unsigned (0 = upright, "
           "90 = horizontal as in a plank or push-up, 180 = head down). Any view: forward "
           "lean from the side, sideways lean from the front.",
           _both("shoulder", "hip"))
def _trunk_inclination(frame: PoseFrame, side: str) -> float:
    return abs(inclination_from_vertical(_mid(frame, "hip"), _mid(frame, "shoulder")))


#: Arms counted as "held out in front" when the wrists reach at least this far forward of
#: the shoulders (horizontally, in shoulder widths): straight arms at shoulder height read
#: 1.45-1.7 on rendered clips and 1.3-1.45 at the holds of a real standing rotation (dipping
#: to 1.0-1.15 mid-turn), arms crossed over the chest about 0.93 (rendered).
ARMS_FORWARD_MIN_REACH = 1.0
#: From this turn on (degrees), the arm nearer the camera alone reads it (see below).
ARMS_FORWARD_NEAR_ARM_DEG = 15.0


@_register("arms_forward_rotation", "deg", True,
           "Turn of the upper body about the vertical axis, read from the arms held straight "
           "out in front at shoulder height: each arm's sideways offset of wrist from "
           "shoulder against its horizontal length (from its bone lengths), in MediaPipe's "
           "estimated 3D world landmarks, as an angle, the two arms averaged; positive "
           "toward the working side; turned well round, from the arm nearer the camera (the "
           "far one is partly behind it). The arms turn with the chest, and their long lever reads "
           "the turn where the shoulder points cannot (a 40 degree seated turn reads 16 "
           "from the shoulders). The sideways offset lies in the picture's plane, so the "
           "model's depth guess enters only through the bone lengths. Use with "
           "baseline = \"rest\". Unmeasurable when the arms are not out in front. Front "
           "view.",
           _both("shoulder", "elbow", "wrist"),
           needs=("your arms were not held out in front",
                  "Hold both arms straight out in front of you at shoulder height"))
def _arms_forward_rotation(frame: PoseFrame, side: str) -> float:
    if frame.world is None:
        return NAN
    w = frame.world

    def at(s: str, name: str) -> np.ndarray:
        return w[int(side_landmark(s, name))]

    d = (at("left", "wrist") + at("right", "wrist") - at("left", "shoulder")
         - at("right", "shoulder")) / 2.0
    width = float(np.linalg.norm(at("left", "shoulder") - at("right", "shoulder")))
    reach = math.hypot(float(d[0]), float(d[2]))
    if not (math.isfinite(reach) and width > 1e-6) or reach < ARMS_FORWARD_MIN_REACH * width:
        return NAN

    def turn(s: str) -> float:
        """One arm's turn toward the person's left: its sideways reach against its
        horizontal length (x to the image's right: facing the camera, the person's left)."""
        arm_d = at(s, "wrist") - at(s, "shoulder")
        length = float(np.linalg.norm(at(s, "elbow") - at(s, "shoulder"))
                       + np.linalg.norm(at(s, "wrist") - at(s, "elbow")))
        if not math.isfinite(length):
            return NAN
        horizontal = math.sqrt(max(length * length - float(arm_d[1]) ** 2, 1e-12))
        return math.degrees(math.asin(max(-1.0, min(1.0, float(arm_d[0]) / horizontal))))

    left, right = turn("left"), turn("right")
    if not (math.isfinite(left) and math.isfinite(right)):
        return NAN
    both = (left + right) / 2.0
    # turned well round, the arm further from the camera is partly behind the other and
    # placed too far round (right turns read 7-20 degrees wide at the holds from both
    # arms, 3-9 from the near one, on five bodies): lean on the arm that swings toward
    # the camera
    near = right if both > 0 else left
    k = min(1.0, abs(both) / ARMS_FORWARD_NEAR_ARM_DEG)
    toward_left = (1.0 - k) * both + k * near
    return toward_left if side == "left" else -toward_left


@_register("elbows_extension_mean", "deg", False,
           "Mean elbow angle of both arms (180 = both straight): for two-arm exercises "
           "(pull-ups) seen from the front or back, steadier than one arm.",
           _both("shoulder", "elbow", "wrist"))
def _elbows_extension_mean(frame: PoseFrame, side: str) -> float:
    return (_elbow_extension(frame, "left") + _elbow_extension(frame, "right")) / 2.0


# Segment lengths as shares of body height H (Winter, Biomechanics and Motor Control of
# Human Movement, 4th ed. 2009, fig. 4.1): hip (greater trochanter) 0.530 H, knee 0.285 H,
# ankle 0.039 H, shoulder 0.818 H. Standing, the hip is 0.49 H above the ankle, about 1.7
# times the trunk (shoulder to hip, 0.288 H); with the thigh level (a parallel squat,
# shin leaning forward about 40 degrees) it is about 0.19 H, 0.65 trunk lengths.

def _mean_y(frame: PoseFrame, part: str) -> float:
    """Mean image y of the left and right ``part`` where known (side-on, the model still
    places the far one at about the same height); nan if neither is."""
    ys = [float(_p(frame, s, part)[1]) for s in ("left", "right")]
    ys = [y for y in ys if math.isfinite(y)]
    return float(np.mean(ys)) if ys else NAN


@_register("hip_height", "ratio", False,
           "Height of the hips above the ankles, in body sizes (the larger of shoulder "
           "width and trunk length, so it reads alike from the front and the side). Falls "
           "as the hips go down: squats, sit-to-stand, lunges; any view, only one hip and "
           "ankle need be seen. Use baseline = \"rest\" (0 = standing; a parallel squat "
           "is about -1.0: Winter 2009 segment lengths).",
           _fixed(), near_side=("hip", "ankle"))
def _hip_height(frame: PoseFrame, side: str) -> float:
    size = body_size_px(frame)
    if not math.isfinite(size) or size < 1e-6:
        return NAN
    return (_mean_y(frame, "ankle") - _mean_y(frame, "hip")) / size
