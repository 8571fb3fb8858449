"""How the avatar moves each measure of a demonstration (:mod:`avatar.demo`).

:data:`DRIVERS` maps a definition's primary measure to the rig controls that move
it (with the joint's normal range and what the camera must frame);
:func:`check_posture` turns a definition's form checks into the posture around the
movement (straight or bent elbows, an arm overhead); :func:`measure_side` resolves
"same"/"opposite" as the engine does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from exercises.definition import StretchDefinition

__all__ = ["DRIVERS", "UNREACHABLE", "Driver", "check_posture", "measure_side"]

@dataclass(frozen=True)
class Driver:
    """How the avatar moves one measure.

    Attributes:
        pose: (amount, side) -> controls (degrees); ``side`` is the side the measure is
            evaluated for ("left"/"right"); amount 0 is the resting position.
        low, high: the amount's range, degrees of the control within the joint's normal
            range (both signs may be allowed; the solver takes the smaller movement).
        region: what the camera must show: "head" (head and shoulders), "arms" (upper
            body with the hands), "trunk" (down to the hips).
        setup: controls held throughout, resting pose included (e.g. arms crossed over
            the chest for a trunk rotation).
        rest: controls of the resting position between reps, over ``setup``, when it is
            not amount 0 (cat-cow rests in the "cat", back rounded and head dropped).
    """

    pose: Callable[[float, str], dict[str, float]]
    low: float
    high: float
    region: str
    setup: dict[str, float] = field(default_factory=dict)
    rest: dict[str, float] = field(default_factory=dict)


def _sgn(side: str) -> float:
    return 1.0 if side == "left" else -1.0


def _both(**kw: float) -> dict[str, float]:
    return {f"{s}_{k}": v for k, v in kw.items() for s in ("left", "right")}


def _cross(a: float, side: str) -> dict[str, float]:
    return {f"{side}_shoulder_flexion": 90.0, f"{side}_shoulder_abduction": 0.0,
            f"{side}_shoulder_horizontal_adduction": a, f"{side}_elbow_flexion": 10.0}


def _side_bend(a: float, side: str) -> dict[str, float]:
    """Bend toward ``side``; that hand slides down the leg, the other arm hangs along the
    trunk (the rig has no gravity: left alone it would stick out sideways)."""
    other = "right" if side == "left" else "left"
    return {"trunk_lateral_bend": _sgn(side) * a, f"{other}_shoulder_abduction": 9.0 - 0.6 * a}


#: Measure name -> how the avatar moves it. Ranges are the joints' normal ranges
#: (AAOS): neck lateral flexion 45, rotation 80, extension 45 (the cat-cow's head lift,
#: with the spine arching by 0.65 of it), trunk lateral flexion 45 (the rig
#: spreads it over the spine), thoracolumbar rotation 45, shrug (clavicle elevation)
#: 45, chin tuck: the head glides back by up to 4 cm (32 degrees of the rig's lower-neck
#: rotation; norm 2-3 cm, Ordway et al. 1999), horizontal adduction 120, abduction 170.
DRIVERS: dict[str, Driver] = {
    "neck_lateral_tilt": Driver(lambda a, s: {"neck_lateral_tilt": _sgn(s) * a}, 0, 45, "head"),
    "neck_rotation": Driver(lambda a, s: {"neck_rotation": _sgn(s) * a}, 0, 80, "head"),
    "head_lift": Driver(lambda a, s: {"trunk_flexion": -0.65 * a, "neck_flexion": -a},
                        0, 45, "whole", rest={"trunk_flexion": 15.0, "neck_flexion": 20.0}),
    "head_forward_angle": Driver(lambda a, s: {"head_protraction": a}, -32, 20, "head"),
    "shoulder_elevation": Driver(lambda a, s: _both(shoulder_elevation=a), 0, 45, "head"),
    "trunk_lateral_flexion": Driver(_side_bend, 0, 45, "trunk"),
    "trunk_rotation": Driver(lambda a, s: {"trunk_rotation": _sgn(s) * a}, 0, 45, "trunk",
                             setup={**_both(shoulder_flexion=35.0, shoulder_abduction=10.0,
                                            shoulder_external_rotation=-70.0),
                                    "left_elbow_flexion": 120.0, "right_elbow_flexion": 115.0}),
    "arms_forward_rotation": Driver(lambda a, s: {"trunk_rotation": _sgn(s) * a}, 0, 45,
                                    "trunk", setup=_both(shoulder_flexion=90.0,
                                                         shoulder_abduction=0.0,
                                                         elbow_flexion=0.0)),
    "wrist_cross_midline": Driver(_cross, 0, 120, "arms"),
    "arms_elevation": Driver(
        lambda a, s: _both(shoulder_abduction=a, shoulder_external_rotation=90.0 * min(a, 90) / 90),
        9, 170, "arms"),
    "arms_line_elevation": Driver(
        lambda a, s: _both(shoulder_abduction=a, shoulder_external_rotation=90.0 * min(a, 90) / 90),
        9, 170, "arms"),
    "arm_line_elevation": Driver(
        lambda a, s: {f"{s}_shoulder_abduction": a,
                      f"{s}_shoulder_external_rotation": 90.0 * min(a, 90) / 90},
        9, 170, "arms"),
    "shoulder_abduction": Driver(
        lambda a, s: {f"{s}_shoulder_abduction": a,
                      f"{s}_shoulder_external_rotation": 90.0 * min(a, 90) / 90},
        9, 170, "arms"),
}

#: Measures that need a posture the rig cannot take, with the reason (none left).
UNREACHABLE: dict[str, str] = {}


def measure_side(definition: StretchDefinition, run_side: str, which: str) -> str:
    """The side a measure is evaluated for, as the engine resolves it."""
    if run_side not in ("left", "right"):
        return "left"
    if which == "same":
        return run_side
    return "right" if run_side == "left" else "left"


def check_posture(definition: StretchDefinition, run_side: str) -> dict[str, float]:
    """Controls that put the body in the posture the form checks ask for."""
    pose: dict[str, float] = {}
    for c in definition.checks:
        side = measure_side(definition, run_side, c.side)
        if c.measure in ("elbows_extension", "elbow_extension", "elbows_extension_mean"):
            keys = (("left", "right") if c.measure != "elbow_extension" else (side,))
            if c.max is not None and c.max < 170:
                lo = c.min if c.min is not None else 0.0
                flex = 180.0 - (lo + c.max) / 2.0  # the middle of the allowed elbow angle
                for s in keys:  # forearm up in the picture (a "W")
                    pose[f"{s}_elbow_flexion"] = flex
                    pose[f"{s}_shoulder_external_rotation"] = 90.0
            else:
                for s in keys:
                    pose[f"{s}_elbow_flexion"] = 0.0
        elif c.measure == "shoulder_abduction" and c.min is not None:
            top = c.max if c.max is not None else 180.0
            pose[f"{side}_shoulder_abduction"] = min((c.min + top) / 2.0 + 10.0, 170.0)
            pose[f"{side}_shoulder_external_rotation"] = 90.0
            pose.setdefault(f"{side}_elbow_flexion", 0.0)
    return pose
