"""Posing the body with named, anatomical controls (degrees) and skinning it.

A pose is a plain ``dict`` of control name -> degrees; controls left out take
their neutral value (standing, arms relaxed down by the sides). Controls are
defined in the body's own frame (y up, person facing +z, person's left +x):

Per side (``left_`` / ``right_`` prefix, the *person's* side):

- ``shoulder_abduction``: arm raised sideways in the frontal plane, 0 = hanging.
- ``shoulder_flexion``: arm raised forward in the sagittal plane.
- ``shoulder_horizontal_adduction``: raised arm swung across the chest about the
  vertical axis (negative = horizontal abduction, arm drawn back).
- ``shoulder_external_rotation``: rotation about the upper-arm axis; 90 with
  elbow flexion 90 and abduction 80 gives "W arms" with forearms up.
- ``shoulder_elevation``: shrug (clavicle raised about the sternoclavicular joint).
- ``elbow_flexion``: 0 = straight.
- ``wrist_extension``: + = the hand bends back (palm flat on the floor on all fours).
- ``hip_flexion``: thigh raised forward in the sagittal plane (90 = seated).
- ``knee_flexion``: 0 = straight, + = the shin swings back (90 = seated, kneeling).
- ``ankle_plantarflexion``: + = toes pointed down (away from the shin).

Whole body (signed):

- ``neck_lateral_tilt``: + = ear toward the person's left shoulder.
- ``neck_rotation``: + = face turns to the person's left.
- ``neck_flexion``: + = chin down.
- ``head_protraction``: + = head pushed forward, - = chin tuck (head translates
  back, stays level); degrees of the lower neck's sagittal rotation.
- ``trunk_lateral_bend``: + = bend toward the person's left, spread over the spine.
- ``trunk_rotation``: + = chest turns to the person's left.
- ``trunk_flexion``: + = the spine bends forward (rounds: the "cat"), - = it arches
  back (the "cow"), spread over the five spine bones.
- ``body_pitch``: the whole body tipped forward about the hip joints' centre (90 =
  trunk horizontal, face down), before ``body_lift``.
- ``body_lift``: whole-body vertical shift in centimetres (- = down: sitting, kneeling).
- ``sway_x`` / ``sway_z``: small whole-body shift in centimetres (not degrees),
  used only for natural sway noise.

The arm's angles are applied in a fixed order: axial (external) rotation, then
abduction, then flexion, then horizontal adduction, all about axes of the trunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .body import Body

__all__ = ["CONTROLS", "NEUTRAL", "PosedBody", "Rig", "rotation"]

SIDES = ("left", "right")
_LIMB_CONTROLS = (
    "shoulder_abduction",
    "shoulder_flexion",
    "shoulder_horizontal_adduction",
    "shoulder_external_rotation",
    "shoulder_elevation",
    "elbow_flexion",
    "wrist_extension",
    "hip_flexion",
    "knee_flexion",
    "ankle_plantarflexion",
)
_BODY_CONTROLS = (
    "neck_lateral_tilt",
    "neck_rotation",
    "neck_flexion",
    "head_protraction",
    "trunk_lateral_bend",
    "trunk_rotation",
    "trunk_flexion",
    "body_pitch",
    "body_lift",
    "sway_x",
    "sway_z",
)

#: Every control name.
CONTROLS: tuple[str, ...] = tuple(f"{s}_{c}" for s in SIDES for c in _LIMB_CONTROLS) + (
    _BODY_CONTROLS
)

#: Neutral standing pose: arms relaxed down, slightly away from the body.
NEUTRAL: dict[str, float] = {name: 0.0 for name in CONTROLS}
NEUTRAL.update(
    {
        "left_shoulder_abduction": 9.0,
        "right_shoulder_abduction": 9.0,
        "left_elbow_flexion": 8.0,
        "right_elbow_flexion": 8.0,
    }
)

#: Degrees of clavicle elevation per degree of arm elevation above 30 degrees.
RHYTHM = 0.1

_SPINE = ("spine05", "spine04", "spine03", "spine02", "spine01")
_SPINE_BEND_SHARE = (0.16, 0.2, 0.22, 0.22, 0.2)
_SPINE_TWIST_SHARE = (0.05, 0.1, 0.25, 0.3, 0.3)
_NECK = ("neck01", "neck02", "neck03", "head")
_NECK_SHARE = (0.3, 0.3, 0.2, 0.2)


def rotation(axis: np.ndarray | tuple[float, float, float], degrees: float) -> np.ndarray:
    """(3, 3) rotation matrix about ``axis`` (any length) by ``degrees`` (right hand)."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    t = np.radians(degrees)
    c, s = np.cos(t), np.sin(t)
    x, y, z = a
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    return np.eye(3) * c + s * k + (1 - c) * np.outer(a, a)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _angle(u: np.ndarray, v: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip(np.dot(_unit(u), _unit(v)), -1.0, 1.0))))


@dataclass
class PosedBody:
    """A posed body.

    Attributes:
        transforms: (B, 4, 4) bone transforms from rest to posed (world, metres).
        joints: (B, 3) posed bone head positions.
    """

    rig: Rig
    transforms: np.ndarray
    joints: np.ndarray
    _vertices: np.ndarray | None = field(default=None, repr=False)

    def joint(self, name: str) -> np.ndarray:
        """(3,) posed head of the named bone."""
        return self.joints[self.rig.body.bone(name)]

    def point(self, bone: str, rest_point: np.ndarray) -> np.ndarray:
        """(3,) a rest-pose point carried rigidly by ``bone``."""
        m = self.transforms[self.rig.body.bone(bone)]
        return m[:3, :3] @ np.asarray(rest_point, float) + m[:3, 3]

    @property
    def vertices(self) -> np.ndarray:
        """(N, 3) skinned vertex positions (linear-blend skinning)."""
        if self._vertices is None:
            self._vertices = self.rig.skin(self.transforms)
        return self._vertices


class Rig:
    """Forward kinematics and skinning for a :class:`~avatar.body.Body`."""

    def __init__(self, body: Body) -> None:
        self.body = body
        self._b = {n: i for i, n in enumerate(body.bone_names)}
        h = body.heads
        self._arm: dict[str, dict[str, object]] = {}
        for side, sfx in (("left", ".L"), ("right", ".R")):
            sh = h[self._b["upperarm01" + sfx]]
            el = h[self._b["lowerarm01" + sfx]]
            wr = h[self._b["wrist" + sfx]]
            u = _unit(el - sh)
            lo = _unit(wr - el)
            hinge = _unit(np.cross(u, lo))
            rest_rest = np.column_stack([u, hinge, np.cross(u, hinge)])
            down, axis = np.array([0.0, -1.0, 0.0]), np.array([-1.0, 0.0, 0.0])
            target = np.column_stack([down, axis, np.cross(down, axis)])
            self._arm[side] = {
                "sfx": sfx,
                "neutral": target @ rest_rest.T,
                "hinge": hinge,
                "elbow_rest": _angle(u, lo),
                # the wrist bends about the line across the knuckles (index to little
                # finger): flexion and extension
                "wrist_axis": _unit(h[self._b["finger2-1" + sfx]] - h[self._b["finger5-1" + sfx]]),
            }
        #: The whole body pitches about the hip joints' centre.
        self._hip_centre = (h[self._b["upperleg01.L"]] + h[self._b["upperleg01.R"]]) / 2.0

    # -- forward kinematics -------------------------------------------------
    def local_rotations(self, pose: dict[str, float]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Per-bone rotations (rest frame, about each bone's head) for a pose.

        Returns:
            (bone name -> (3, 3) rotation, (3,) root translation in metres).
        """
        unknown = set(pose) - set(CONTROLS)
        if unknown:
            raise KeyError(
                f"unknown pose control(s) {sorted(unknown)}; valid: {', '.join(CONTROLS)}"
            )
        p = dict(NEUTRAL)
        p.update({k: float(v) for k, v in pose.items()})
        rots: dict[str, np.ndarray] = {}

        ex, ey, ez = np.eye(3)
        for side, arm in self._arm.items():
            sgn = 1.0 if side == "left" else -1.0
            sfx = arm["sfx"]
            g = lambda c, side=side: p[f"{side}_{c}"]  # noqa: E731
            # Anatomical rotation of the hanging arm, trunk axes.
            r = rotation(sgn * ey, g("shoulder_external_rotation"))
            r = rotation(sgn * ez, g("shoulder_abduction")) @ r
            r = rotation(-ex, g("shoulder_flexion")) @ r
            r = rotation(-sgn * ey, g("shoulder_horizontal_adduction")) @ r
            # Scapulohumeral rhythm: the shoulder girdle rises with the arm.
            elev = _angle(r @ -ey, -ey)
            girdle = RHYTHM * max(0.0, elev - 30.0)
            clav = rotation(sgn * ez, g("shoulder_elevation") + girdle)
            rots["clavicle" + sfx] = clav
            # The arm keeps its trunk-relative direction when the shoulder shrugs.
            rots["upperarm01" + sfx] = clav.T @ r @ arm["neutral"]
            rots["lowerarm01" + sfx] = rotation(
                arm["hinge"], g("elbow_flexion") - arm["elbow_rest"]
            )
            if g("wrist_extension"):
                rots["wrist" + sfx] = rotation(arm["wrist_axis"], sgn * g("wrist_extension"))

        tilt, turn = p["neck_lateral_tilt"], p["neck_rotation"]
        flex = p["neck_flexion"]
        prot = p["head_protraction"]
        for i, (bone, share) in enumerate(zip(_NECK, _NECK_SHARE, strict=True)):
            sag = flex * share + (prot if i < 2 else -prot) * 0.5
            rots[bone] = (
                rotation(-ez, tilt * share) @ rotation(ey, turn * share) @ rotation(ex, sag)
            )
        bend, twist = p["trunk_lateral_bend"], p["trunk_rotation"]
        flex = p["trunk_flexion"]
        for bone, sb, st in zip(_SPINE, _SPINE_BEND_SHARE, _SPINE_TWIST_SHARE, strict=True):
            rots[bone] = (rotation(-ez, bend * sb) @ rotation(ey, twist * st)
                          @ rotation(ex, flex * sb))
        for side, sfx in (("left", ".L"), ("right", ".R")):
            rots["upperleg01" + sfx] = rotation(-ex, p[f"{side}_hip_flexion"])
            rots["lowerleg01" + sfx] = rotation(ex, p[f"{side}_knee_flexion"])
            rots["foot" + sfx] = rotation(ex, p[f"{side}_ankle_plantarflexion"])
        if p["body_pitch"]:
            rots["root"] = rotation(ex, p["body_pitch"])
        root_t = np.array([p["sway_x"], p["body_lift"], p["sway_z"]]) / 100.0
        return rots, root_t

    def pose(self, pose: dict[str, float] | None = None) -> PosedBody:
        """Pose the body. ``pose`` maps control names to degrees (see module doc)."""
        rots, root_t = self.local_rotations(pose or {})
        body = self.body
        n = len(body.bone_names)
        g = np.zeros((n, 4, 4))
        for i, name in enumerate(body.bone_names):
            local = np.eye(4)
            r = rots.get(name)
            par = body.parents[i]
            if r is not None:
                hd = self._hip_centre if par < 0 else body.heads[i]
                local[:3, :3] = r
                local[:3, 3] = hd - r @ hd
            if par < 0:
                local[:3, 3] += root_t
                g[i] = local
            else:
                g[i] = g[par] @ local
        joints = np.einsum("bij,bj->bi", g[:, :3, :3], body.heads) + g[:, :3, 3]
        return PosedBody(self, g, joints)

    def skin(self, transforms: np.ndarray) -> np.ndarray:
        """(N, 3) linear-blend-skinned vertices for (B, 4, 4) bone transforms."""
        return self.skin_some(transforms, slice(None))

    def skin_some(self, transforms: np.ndarray, index: np.ndarray | slice) -> np.ndarray:
        """(K, 3) skinned positions of the vertices ``index`` (array or slice)."""
        b = self.body
        wv, wi, rest = b.weight_value[index], b.weight_index[index], b.vertices[index]
        m = np.einsum("nk,nkij->nij", wv, transforms[wi][:, :, :3, :])
        return np.einsum("nij,nj->ni", m[:, :, :3], rest) + m[:, :, 3]
