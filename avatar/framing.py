"""Truth and framing of demonstrations: measures on the posed rig, and the camera.

:class:`RigGeometry` computes a definition's measures as the product does, on the
rig's projected joints (never on MediaPipe); :func:`frame_camera` places a level
camera on the body part that matters (:func:`region`) over a whole performance.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .body import Body
from .camera import Camera
from .drivers import DRIVERS
from .postures import in_posture
from .rig import Rig
from .truth import TruthModel

if TYPE_CHECKING:
    from exercises.definition import StretchDefinition

__all__ = ["RigGeometry", "frame_box", "frame_camera", "probe_camera", "region"]

_REGION_LANDMARKS = {
    "head": tuple(range(0, 13)),
    "arms": tuple(range(0, 23)),
    "trunk": (*range(0, 13), 23, 24),
    "whole": tuple(range(0, 33)),
}
#: Postures framed on the whole body (the seat, the floor contact are part of it).
class RigGeometry:
    """Truth values of measures for posed rigs (projected joints, plus camera-frame 3D)."""

    def __init__(self, body: Body) -> None:
        self.body = body
        self.rig = Rig(body)
        self.truth = TruthModel(body)

    def points(self, pose: dict[str, float], cam: Camera) -> tuple[np.ndarray, np.ndarray,
                                                                   float]:
        """(33, 2) pixels, (33, 3) hip-centred camera-frame metres, head yaw (degrees)."""
        posed = self.rig.pose(pose)
        p3 = self.truth.points3d(posed)
        xy = cam.project(p3)
        world = cam.to_camera(p3)
        world = world - (world[23] + world[24]) / 2.0
        yaw = self.truth.head_angles(posed, cam, points2d=xy).yaw
        return xy, world, yaw

    def value(self, name: str, side: str, pts: tuple[np.ndarray, np.ndarray, float],
              cam: Camera) -> float:
        """The measure as the product computes it, on the geometric points.

        Face-model measures use the truth the rig has: the head's yaw for
        ``neck_rotation`` (its face points toward the camera's line of sight with the
        trunk square to the camera), the ear line (a rigid head) for the tilt.
        """
        from exercises.measures import MEASURES, compute, get_measure
        from pose.frame import PoseFrame

        xy, world, yaw = pts
        if name == "neck_rotation":
            return yaw if side == "left" else -yaw
        formula = name
        if get_measure(name).needs_face:
            if f"{name}_pose" not in MEASURES:
                return math.nan
            formula = f"{name}_pose"
        frame = PoseFrame(xy=xy, visibility=np.ones(33), timestamp_s=0.0,
                          image_size=(cam.width, cam.height), world=world)
        return compute(formula, frame, side)


def frame_camera(view: str, box_min: np.ndarray, box_max: np.ndarray, width: int,
            height: int) -> Camera:
    """A level camera centred on the box (world metres), far enough to fit it with margin."""
    focal = 0.8125 * width
    centre = (box_min + box_max) / 2.0
    ext = box_max - box_min
    across = ext[2] if view == "side" else ext[0]
    fill = 0.9
    d = max(focal * ext[1] / (fill * height), focal * across / (fill * width)) + 0.1
    d = max(d, 0.9)
    if view == "side":
        eye = (centre[0] + d, centre[1], centre[2])
    else:
        eye = (centre[0], centre[1], centre[2] + d)
    return Camera(eye=eye, target=tuple(centre), focal=focal, width=width, height=height)


def frame_box(geo: RigGeometry, poses: list[dict[str, float]], region: str,
               posture: str = "standing") -> tuple[np.ndarray, np.ndarray]:
    """World bounding box (metres) of the region's landmarks over the poses, padded for the
    top of the head and the fingers."""
    pts = []
    for pose in poses:
        p3 = geo.truth.points3d(geo.rig.pose(in_posture(geo.body, posture, pose)))
        sel = p3[list(_REGION_LANDMARKS[region])]
        pts.append(sel)
        eyes = (p3[2] + p3[5]) / 2.0
        pts.append((eyes + np.array([0.0, 0.14, 0.0]))[None])  # top of the head
        pts.append((eyes + np.array([0.0, -0.2, 0.0]))[None])  # chin and neck
        if region == "arms":
            for w, i in ((15, 19), (16, 20)):  # finger tips beyond the knuckles
                pts.append((p3[i] + 0.9 * (p3[i] - p3[w]))[None])
    allp = np.concatenate(pts)
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    pad = np.array([0.08, 0.06, 0.08])
    lo, hi = lo - pad, hi + pad
    # keep the person centred left-right (both sides are shown)
    half = max(abs(lo[0]), abs(hi[0]))
    lo[0], hi[0] = -half, half
    return lo, hi


def region(definition: StretchDefinition) -> str:
    """What the camera must show, from the measures and the required landmarks."""
    order = ("head", "arms", "trunk", "whole")
    regions = {DRIVERS[definition.primary.measure].region}
    for c in definition.checks:
        if c.measure in DRIVERS:
            regions.add(DRIVERS[c.measure].region)
        if "elbow" in c.measure or "shoulder_abduction" in c.measure:
            regions.add("arms")
        if "trunk" in c.measure:
            regions.add("trunk")
    req = set(definition.required)
    if req & {"arms", "elbows", "wrists", "hands"}:
        regions.add("arms")
    if req & {"hips"}:
        regions.add("trunk")
    if "arms" in regions and "trunk" in regions:
        return "trunk+arms"
    return max(regions, key=order.index)


def probe_camera(view: str, width: int, height: int, y: float = 1.2) -> Camera:
    """A camera for solving (the measures are angles/ratios; any sensible view works), level
    at height ``y``: near the body's own height, or depth differences between the points
    tilt the angles (a body on all fours seen from 1.7 m above it read its head lift 19
    degrees short)."""
    focal = 0.8125 * width
    if view == "side":
        return Camera(eye=(2.4, y, 0.05), target=(0.0, y, 0.05), focal=focal,
                      width=width, height=height)
    return Camera(eye=(0.0, y, 2.4), target=(0.0, y, 0.0), focal=focal, width=width,
                  height=height)
