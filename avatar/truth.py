"""Geometric ground truth: landmarks, head angles and measures from the rig itself.

Every truth point is a point of the posed body, projected with the same pinhole
camera as the renderer, in MediaPipe's 33-point numbering. Nothing here was
fitted to where MediaPipe puts a landmark: where MediaPipe's points sit off
these (its "shoulder" a few pixels above the joint, its "ear" in front of the
ear), that offset is error for :mod:`avatar.verify` to measure.

Body landmarks are joint centres of the rig, by one of two rules:

- where a pose control rotates a limb about the joint (shoulder, elbow), the
  landmark is that rotation centre: the head of the bone that rotates, exactly
  the point the rendered (skinned) limb pivots about;
- elsewhere (wrist, hip, knee, ankle) it is the centre of MakeHuman's joint
  helper for that joint, the cube of mesh vertices the rig file uses to place
  the bone head on this mesh (strategy "CUBE"), skinned with the mesh (its
  vertices belong wholly to the proximal segment, so it rides on it rigidly).

The rig's stored ``default_position`` bone heads were evaluated on another
default body and sit 1-5 cm from this mesh's joint helpers (the wrist bone's
head lies ~5 cm into the palm); the rendered limbs pivot about the stored
positions, which is why the pivots are used where a control rotates a limb.

==========  ==================  ===========================================
index       landmark            rig point (``.L`` / ``.R``)
==========  ==================  ===========================================
11, 12      shoulder            head of ``upperarm01``: the glenohumeral
                                pivot of the upper arm
13, 14      elbow               head of ``lowerarm01``: the elbow pivot
15, 16      wrist               centre of helper ``joint-l-hand`` (wrist),
                                carried by the forearm
17, 18      pinky               head of ``finger5-1``: 5th knuckle (MCP)
19, 20      index               head of ``finger2-1``: 2nd knuckle (MCP)
21, 22      thumb               head of ``finger1-2``: thumb MCP joint
23, 24      hip                 centre of helper ``joint-l-upper-leg``: the
                                hip joint, carried by the pelvis
25, 26      knee                centre of helper ``joint-l-knee``
27, 28      ankle               centre of helper ``joint-l-ankle``
==========  ==================  ===========================================

Face and foot landmarks are skinned mesh vertices of ``hm08``, chosen once on
the rest mesh by geometric rules (see :func:`face_vertices`):

- nose (0): the most forward body vertex on the midline between eye and mouth
  level (the nose tip);
- eyes (2, 5): the pupil, the most forward vertex of the eyeball;
- inner / outer eye corners (1, 4 / 3, 6): the most medial / lateral vertex of
  the lid margin, the body vertices in front of the eyeball's centre that touch
  the eyeball (no farther from its centre than its radius);
- ears (7, 8): the ear centre, the pinna vertex nearest the centroid of the
  pinna (head vertices standing out sideways beyond the skull's width above
  the ear);
- mouth corners (9, 10): the lateral end of the lip line, the most lateral
  front-facing vertex sharing a triangle with the inside of the mouth;
- heels (29, 30): the rearmost vertex of the foot below the ankle;
- foot index (31, 32): the most forward vertex of the toes.

Head angles (:meth:`TruthModel.head_angles`) are the head bone's rotation
relative to the upper trunk (bone ``spine01``), decomposed in the rig's own
order (roll about the forward axis, then yaw about the vertical, then pitch
about the left-right axis), signed as the rig's controls: roll + = ear toward
the person's left shoulder, yaw + = face turned to the person's left, pitch +
= chin down. ``roll_image`` is the in-image angle from the projected shoulder
line to the projected left-right axis of the head, signed as the product's
``neck_lateral_tilt`` toward the person's left.

Index 11 is the person's LEFT shoulder (on the image's right in a front view).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .body import Body
from .camera import Camera
from .rig import PosedBody

__all__ = ["CONVENTION", "HELPERS", "JOINTS", "LANDMARK_NAMES", "HeadAngles", "TruthModel",
           "face_vertices", "head_angles_from_rotation", "measure_keys", "truth_measures",
           "world_landmarks"]

LANDMARK_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)

#: Written to every sidecar as ``landmark_convention``.
CONVENTION = (
    "projected rig joints and mesh vertices; no fitting to MediaPipe: shoulders and elbows "
    "are the rig's pivots (heads of upperarm01, lowerarm01), wrists, hips, knees and ankles "
    "the centres of MakeHuman's joint helpers (skinned), face points mesh vertices chosen "
    "by geometric rules (nose tip, pupils, lid-margin corners, ear centre, mouth corners); "
    "see avatar/truth.py. 'controls' holds the commanded angles"
)

#: Left-side landmark index -> bone whose head is the landmark (right = index + 1, ".R").
JOINTS: dict[int, str] = {
    11: "upperarm01", 13: "lowerarm01", 17: "finger5-1", 19: "finger2-1", 21: "finger1-2",
}

#: Left-side landmark index -> joint helper whose centre is the landmark ("-l-" -> "-r-").
HELPERS: dict[int, str] = {
    15: "joint-l-hand", 23: "joint-l-upper-leg", 25: "joint-l-knee", 27: "joint-l-ankle",
}

#: Bones whose relative rotation gives the head angles.
HEAD_BONE, TRUNK_BONE = "head", "spine01"


def _adjacent_to(faces: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(N,) bool: vertices sharing a triangle with a vertex in ``mask``."""
    hit = mask[faces].any(axis=1)
    out = np.zeros(len(mask), bool)
    out[faces[hit].ravel()] = True
    return out


def face_vertices(body: Body) -> dict[int, int]:
    """Landmark index -> rest-mesh vertex for the face and feet, by geometric rules.

    The rules are in the module docstring; every threshold is a body dimension in
    metres (rest pose: y up, the person facing +z, the person's left +x).
    """
    from .render import vertex_normals

    v, h = body.vertices, body.heads
    on_body = np.zeros(len(v), bool)
    on_body[body.vertex_groups["body"]] = True
    faces = body.faces[body.face_group == body.groups.index("body")]
    normals = vertex_normals(v, faces)
    dom = body.dominant_bone()
    names = np.array(body.bone_names)
    out: dict[int, int] = {}

    eye_y = float(np.mean([v[body.vertex_groups[g], 1].mean()
                           for g in ("helper-l-eye", "helper-r-eye")]))
    mouth_y = float((h[body.bone("oris04.L"), 1] + h[body.bone("oris06.L"), 1]) / 2)
    # Nose tip: the most forward midline vertex between mouth and eye level.
    mid = on_body & (np.abs(v[:, 0]) < 0.004) & (v[:, 1] > mouth_y) & (v[:, 1] < eye_y - 0.01)
    cand = np.flatnonzero(mid)
    out[0] = int(cand[np.argmax(v[cand, 2])])

    # Inside of the mouth: faces looking backward, between chin and nose, in front.
    inner = (on_body & (np.abs(v[:, 0]) < 0.035) & (np.abs(v[:, 1] - mouth_y) < 0.02)
             & (v[:, 2] > h[body.bone("jaw"), 2] + 0.05) & (normals[:, 2] < -0.1))
    lip_line = on_body & (normals[:, 2] > 0.3) & _adjacent_to(faces, inner)
    lip_line &= np.abs(v[:, 1] - mouth_y) < 0.02

    head_bone = names[dom] == "head"
    for side, sgn, off in (("l", 1.0, 0), ("r", -1.0, 3)):
        eye = body.vertex_groups[f"helper-{side}-eye"]
        centre = v[eye].mean(axis=0)
        radius = float(np.linalg.norm(v[eye] - centre, axis=1).mean())
        out[2 + off] = int(eye[np.argmax(v[eye, 2])])  # pupil
        # Lid margin: body vertices in front of the eye's centre touching the eyeball.
        near = np.linalg.norm(v - centre, axis=1) <= radius
        lid = np.flatnonzero(on_body & near & (v[:, 2] > centre[2]))
        if len(lid) < 2:
            raise ValueError(f"no lid margin found around the {side} eye")
        lateral = sgn * v[lid, 0]
        out[1 + off] = int(lid[np.argmin(lateral)])  # inner corner (medial)
        out[3 + off] = int(lid[np.argmax(lateral)])  # outer corner (lateral)

        # Ear centre: the pinna stands out beyond the skull's width above the ear.
        side_x = sgn * v[:, 0]
        skull = head_bone & on_body & (v[:, 1] > eye_y + 0.03) & (v[:, 1] < eye_y + 0.06)
        width = float(side_x[skull].max())
        pinna = np.flatnonzero(head_bone & on_body & (side_x > width + 0.003)
                               & (v[:, 1] > eye_y - 0.08) & (v[:, 1] < eye_y + 0.03)
                               & (v[:, 2] < centre[2] - 0.04))
        if len(pinna) < 5:
            raise ValueError(f"no pinna found on the {side} side of the head")
        c = v[pinna].mean(axis=0)
        out[7 + off // 3] = int(pinna[np.argmin(np.linalg.norm(v[pinna] - c, axis=1))])

        # Mouth corner: the lateral end of the lip line.
        cand = np.flatnonzero(lip_line & (side_x > 0))
        if len(cand) == 0:
            raise ValueError(f"no lip line found on the {side} side of the mouth")
        out[9 + off // 3] = int(cand[np.argmax(side_x[cand])])

        # Feet: heel (rearmost below the ankle) and toe tip (most forward toe vertex).
        sfx = "." + side.upper()
        ankle = h[body.bone("foot" + sfx)]
        foot = on_body & np.isin(dom, [body.bone("foot" + sfx)]) & (v[:, 1] < ankle[1] - 0.03)
        cand = np.flatnonzero(foot)
        out[29 + off // 3] = int(cand[np.argmin(v[cand, 2])])
        toes = np.isin(dom, [i for i, n in enumerate(body.bone_names)
                             if n.startswith("toe") and n.endswith(sfx)])
        cand = np.flatnonzero(on_body & toes)
        out[31 + off // 3] = int(cand[np.argmax(v[cand, 2])])
    return out


def head_angles_from_rotation(rel: np.ndarray) -> tuple[float, float, float]:
    """(roll, yaw, pitch) degrees of a head rotation relative to the trunk.

    ``rel`` = trunk^T @ head (3, 3), decomposed as Rz(-roll) @ Ry(yaw) @ Rx(pitch),
    the rig's own order (see :mod:`avatar.rig`): roll + = toward the person's left
    shoulder, yaw + = face turned to the person's left, pitch + = chin down.
    """
    yaw = math.degrees(math.asin(float(np.clip(-rel[2, 0], -1.0, 1.0))))
    roll = -math.degrees(math.atan2(rel[1, 0], rel[0, 0]))
    pitch = math.degrees(math.atan2(rel[2, 1], rel[2, 2]))
    return roll, yaw, pitch


@dataclass(frozen=True)
class HeadAngles:
    """Head angles of one frame, degrees (see the module docstring)."""

    roll: float
    yaw: float
    pitch: float
    roll_image: float


class TruthModel:
    """The 33 truth points of a body; :meth:`points3d` / :meth:`project` per pose."""

    def __init__(self, body: Body) -> None:
        self.body = body
        bone = np.full(33, -1)
        for left, name in JOINTS.items():
            bone[left] = body.bone(name + ".L")
            bone[left + 1] = body.bone(name + ".R")
        vert = np.full(33, -1)
        for j, vi in face_vertices(body).items():
            vert[j] = vi
        helper: dict[int, np.ndarray] = {}
        for left, name in HELPERS.items():
            helper[left] = body.joint_helpers[name]
            helper[left + 1] = body.joint_helpers[name.replace("-l-", "-r-")]
        sources = (bone >= 0).astype(int) + (vert >= 0) + np.isin(np.arange(33), list(helper))
        if (sources != 1).any():
            raise AssertionError("every landmark needs exactly one source")
        self._bone, self._vert = bone, vert
        self._helper_idx = np.array(sorted(helper))
        self._helper_verts = np.concatenate([helper[j] for j in self._helper_idx])
        self._helper_split = np.cumsum([len(helper[j]) for j in self._helper_idx])[:-1]
        self._head = body.bone(HEAD_BONE)
        self._trunk = body.bone(TRUNK_BONE)
        self._head_rest = np.array(body.heads[self._head])

    @property
    def vertex_indices(self) -> np.ndarray:
        """(33,) vertex index per landmark, -1 for rig joints."""
        return self._vert

    @property
    def joint_bones(self) -> np.ndarray:
        """(33,) bone index whose head is the landmark, -1 for other landmarks."""
        return self._bone

    @property
    def helper_landmarks(self) -> dict[int, np.ndarray]:
        """Landmark index -> vertices of the joint helper whose centre it is."""
        parts = np.split(self._helper_verts, self._helper_split)
        return {int(j): p for j, p in zip(self._helper_idx, parts, strict=True)}

    def points3d(self, posed: PosedBody) -> np.ndarray:
        """(33, 3) world positions (metres) of the truth points for a posed body."""
        out = np.empty((33, 3))
        jm = self._bone >= 0
        out[jm] = posed.joints[self._bone[jm]]
        vm = self._vert >= 0
        out[vm] = posed.rig.skin_some(posed.transforms, self._vert[vm])
        cubes = posed.rig.skin_some(posed.transforms, self._helper_verts)
        out[self._helper_idx] = [c.mean(axis=0) for c in np.split(cubes, self._helper_split)]
        return out

    def project(self, posed: PosedBody, camera: Camera) -> np.ndarray:
        """(33, 2) pixel positions (x right, y down) seen by ``camera``."""
        return camera.project(self.points3d(posed))

    def head_angles(self, posed: PosedBody, camera: Camera, offset: np.ndarray | None = None,
                    points2d: np.ndarray | None = None) -> HeadAngles:
        """Head roll/yaw/pitch against the upper trunk, and the in-image roll.

        Args:
            posed: the posed body.
            camera: the camera (for ``roll_image``).
            offset: (3,) world shift of this body (several people), metres.
            points2d: its projected truth points if already computed (pixels).
        """
        g = posed.transforms
        rel = g[self._trunk, :3, :3].T @ g[self._head, :3, :3]
        roll, yaw, pitch = head_angles_from_rotation(rel)
        shift = np.zeros(3) if offset is None else np.asarray(offset, float)
        centre = g[self._head, :3, :3] @ self._head_rest + g[self._head, :3, 3] + shift
        axis = g[self._head, :3, :3] @ np.array([0.05, 0.0, 0.0])  # toward the person's left
        a, b = camera.project(np.stack([centre + axis, centre - axis]))
        p = points2d if points2d is not None else self.project(posed, camera)
        shoulders = p[11] - p[12]
        roll_image = _toward_left(shoulders, a - b)
        return HeadAngles(roll, yaw, pitch, roll_image)


def world_landmarks(points3d: np.ndarray, camera: Camera) -> np.ndarray:
    """(33, 3) truth points as MediaPipe gives its world landmarks: in the camera's frame
    (metres, x right, y down, z away from the camera), centred between the hips."""
    w = camera.to_camera(points3d)
    return w - (w[23] + w[24]) / 2.0


def _toward_left(shoulders: np.ndarray, axis: np.ndarray) -> float:
    """Angle from the shoulder line to ``axis`` (both person-left minus right, pixels),
    positive toward the person's left: the product's ``neck_lateral_tilt`` convention."""
    cross = shoulders[0] * (-axis[1]) - (-shoulders[1]) * axis[0]
    ang = math.degrees(math.atan2(cross, float(np.dot(shoulders, axis))))
    lr = 1.0 if shoulders[0] >= 0 else -1.0
    return -ang * lr


def measure_keys(exercise: str, side: str) -> list[tuple[str, str]]:
    """(measure, side) pairs a stretch definition uses: primary first, then each check.

    Sides are resolved as the engine does (``exercises.engine``): a symmetric
    stretch (``side`` "both") evaluates every measure for "left"; otherwise
    "same" is ``side`` and "opposite" the other side. Duplicates are dropped.
    """
    from exercises.definition import load_library

    definition = load_library()[exercise]

    def resolve(which: str) -> str:
        if side not in ("left", "right"):
            return "left"
        if which == "same":
            return side
        return "right" if side == "left" else "left"

    keys = [(definition.primary.measure, resolve(definition.primary.side))]
    for c in definition.checks:
        k = (c.measure, resolve(c.side))
        if k not in keys:
            keys.append(k)
    return keys


#: Measures whose truth is the quantity they estimate, read by another formula on the
#: rig's points: the head lift is estimated from the eye (MediaPipe's ear is off in
#: profile), its truth is the shoulder→ear angle itself.
TRUTH_FORMULAS = {"head_lift": "head_lift_ear"}


def truth_measures(marks: np.ndarray, keys: list[tuple[str, str]], fps: float,
                   image_size: tuple[int, int], world: np.ndarray | None = None,
                   ) -> dict[str, list[float | None]]:
    """Per-frame truth value of each measure, by the product's own formulas.

    Args:
        marks: (T, 33, 2) projected truth points, pixels.
        keys: (measure, side) pairs (see :func:`measure_keys`).
        fps: frames per second (frame timestamps).
        image_size: (width, height) pixels.
        world: (T, 33, 3) the same points in the camera's frame (metres, x right, y down,
            z away from the camera), centred between the hips, as MediaPipe's world
            landmarks: the depth measures (``trunk_rotation``) need it; without it they
            are None.

    Returns:
        ``"<measure>@<side>"`` -> T raw values (``exercises.measures.compute``: no
        rest baseline subtracted, no absolute value taken; None where undefined),
        rounded to 0.1 (degrees) or 0.001 (ratios). A measure the product reads from the
        face model (``needs_face``) is computed by its 33-point twin (``<name>_pose``) on
        the geometric points: for the tilt that is the rigid head's ear line against the
        shoulders, exact; the rotation's twin is an estimate, so ``tests/test_face.py``
        compares the face-based rotation with the rig's head yaw instead. A measure in
        :data:`TRUTH_FORMULAS` is computed by the formula named there (the quantity it
        estimates, read directly).
    """
    from exercises.measures import MEASURES, compute, get_measure
    from pose.frame import PoseFrame

    frames = [PoseFrame(xy=m, visibility=np.where(np.isfinite(m[:, 0]), 1.0, 0.0),
                        timestamp_s=i / fps, image_size=image_size,
                        world=None if world is None else world[i])
              for i, m in enumerate(marks)]
    out: dict[str, list[float | None]] = {}
    for name, side in keys:
        digits = 1 if get_measure(name).unit == "deg" else 3
        formula = TRUTH_FORMULAS.get(name) or (
            f"{name}_pose" if get_measure(name).needs_face and f"{name}_pose" in MEASURES
            else name)
        vals = (compute(formula, f, side) for f in frames)
        out[f"{name}@{side}"] = [round(x, digits) if math.isfinite(x) else None for x in vals]
    return out
