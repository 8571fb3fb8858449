"""Ground-truth landmarks in MediaPipe's 33-point numbering.

Each landmark is a 3D point carried by the posed body and projected with the
same camera as the renderer:

- body joints are rig points carried by a bone (a bone head, or a point near
  it placed where MediaPipe puts that landmark: MediaPipe's "shoulder" is the
  top of the shoulder, its "hip" the top of the hip joint; see ``CALIBRATION``);
- face points (nose, eyes, ears, mouth corners), heels and toes are skinned
  mesh vertices, picked from the rest mesh by geometric rules or fixed indices.

The calibration was fitted with MediaPipe PoseLandmarker (full) on rendered
frames (a 17-movement calibration sequence, then the sample clips themselves);
``python -m avatar verify`` re-measures the residual offsets and angle errors.
Truth in this *MediaPipe convention* is what the product's measures should be
compared with; the commanded joint angles are in the sidecar's ``controls``.

Index 11 is the person's LEFT shoulder (on the image's right in a front view).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body import Body
from .camera import Camera
from .rig import PosedBody, rotation

__all__ = ["CALIBRATION", "FACE_ROLL_GAIN", "LANDMARK_NAMES", "TruthModel"]

LANDMARK_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)

#: Where MediaPipe puts the body landmarks on this avatar, as a rig point plus
#: an offset: part -> (bone whose head is the base point, bone that carries the
#: point, (dx, dy, dz) metres in rest body axes, dx toward the body's midline is
#: negative and mirrored for the right side). Fitted by running MediaPipe's
#: PoseLandmarker on rendered frames of 17 movements (abduction 60-170, W/Y
#: arms, cross-body, neck tilt/rotation, side bends, shrug, chest opener) and
#: on the sample clips: MediaPipe's "shoulder" is the top of the shoulder,
#: ~2.5 cm above the glenohumeral joint, moving with the shoulder girdle, not
#: the arm; its "hip" is ~8 cm above the hip joint (rig: upperleg01's head);
#: its "wrist" ~6.5 cm up the forearm from the rig's wrist joint.
#: Rig joints alone were off by: shoulders 7 px up, hips 18-22 px up, wrists
#: 5-9 px up, ears 6-8 px (front view, person ~75% of a 480 px frame).
CALIBRATION: dict[str, tuple[str, str, tuple[float, float, float]]] = {
    "shoulder": ("upperarm01", "shoulder01", (-0.01, 0.025, 0.02)),
    "elbow": ("lowerarm01", "upperarm02", (-0.02, 0.017, 0.0)),
    "wrist": ("wrist", "lowerarm02", (-0.041, 0.056, -0.0215)),
    "hip": ("upperleg01", "pelvis", (0.0, -0.005, 0.0)),
}

#: Face landmarks fixed to mesh vertices of hm08 (stable: the mesh is pinned by
#: the wheel's checksum), chosen by fitting MediaPipe on the neck clips: its
#: "ear" sits in front of the ear (on the side of the head at the temple), its
#: "nose" a little above the tip.
FACE_VERTICES: dict[int, int] = {0: 164, 7: 12351, 8: 5754}

#: part -> (bone, weight): the point is carried partly by this second bone (its
#: side suffix added when it has one). MediaPipe's shoulder follows a shrug (and
#: the girdle's rise with a raised arm) only partly: ~40% of a 35 deg shrug. Its
#: elbow sits a little higher on a straight arm than at the corner of a bent one.
SECOND_CARRIER: dict[str, tuple[str, float]] = {
    "shoulder": ("spine01", 0.5),
    "elbow": ("lowerarm01", 0.35),
}

#: MediaPipe reads a sideways head tilt (roll) on this avatar at about 0.6-0.7 of
#: its true angle, for the eyes, ears and mouth alike, at any camera distance,
#: skin or hair colour tried (44 deg reads 24-28 deg). A rigid head cannot give
#: that, so the face points (0-10) are rotated back about the base of the neck by
#: (1 - gain) of the head's roll relative to the upper trunk: the truth follows
#: MediaPipe's convention. Yaw (neck rotation) is left as is. Set to 1.0 for
#: the geometric head (``TruthModel(body, face_roll_gain=1.0)``).
FACE_ROLL_GAIN = 0.6

_FACE = np.arange(0, 11)


@dataclass(frozen=True)
class _Rigid:
    bone: str
    point: np.ndarray  # rest position
    #: optional second carrier and its weight (the point is blended between them)
    bone2: str | None = None
    weight2: float = 0.0


@dataclass(frozen=True)
class _Vertex:
    index: int


def _nearest(body: Body, group: str, target: np.ndarray, mask: np.ndarray | None = None) -> int:
    idx = body.vertex_groups[group]
    if mask is not None:
        idx = idx[mask[idx]]
    d = np.linalg.norm(body.vertices[idx] - target, axis=1)
    return int(idx[np.argmin(d)])


class TruthModel:
    """The 33 truth points of a body; :meth:`points3d` / :meth:`project` per pose."""

    def __init__(self, body: Body,
                 calibration: dict[str, tuple[str, str, tuple[float, float, float]]]
                 | None = None, face_roll_gain: float = FACE_ROLL_GAIN) -> None:
        self.body = body
        self.face_roll_gain = face_roll_gain
        self._head = body.bone("head")
        self._trunk = body.bone("spine01")
        self._neck_base = np.array(body.heads[body.bone("neck01")])
        cal = dict(CALIBRATION)
        cal.update(calibration or {})
        v, h = body.vertices, body.heads
        spec: list[_Rigid | _Vertex | None] = [None] * 33

        def head(name: str) -> np.ndarray:
            return h[body.bone(name)]

        def joint(name: str) -> _Rigid:
            """The head of bone ``name``, carried by its parent."""
            return _Rigid(body.bone_names[body.parents[body.bone(name)]], np.array(head(name)))

        def calibrated(part: str, sfx: str, sgn: float) -> _Rigid:
            base, carrier, off = cal[part]
            o = np.array(off, float)
            o[0] *= sgn
            second, weight = SECOND_CARRIER.get(part, (None, 0.0))
            if second and second + sfx in body.bone_names:
                second = second + sfx
            return _Rigid(carrier + sfx, np.array(head(base + sfx)) + o, second, weight)

        for s, sfx, sgn, base in (("left", ".L", 1.0, 0), ("right", ".R", -1.0, 1)):
            eye_c = v[body.vertex_groups[f"helper-{s[0]}-eye"]].mean(axis=0)
            eye_idx = body.vertex_groups[f"helper-{s[0]}-eye"]
            pupil = int(eye_idx[np.argmax(v[eye_idx, 2])])
            front_z = v[pupil, 2]
            # Eyes: pupil; corners on the lids either side of it.
            spec[2 if s == "left" else 5] = _Vertex(pupil)
            spec[1 if s == "left" else 4] = _Vertex(_nearest(
                body, "body", np.array([eye_c[0] - sgn * 0.016, eye_c[1], front_z - 0.01])))
            spec[3 if s == "left" else 6] = _Vertex(_nearest(
                body, "body", np.array([eye_c[0] + sgn * 0.018, eye_c[1], front_z - 0.016])))
            # Ear: on the side of the head, at the ear's middle.
            spec[7 + base] = _Vertex(_nearest(
                body, "body", np.array([sgn * 0.085, eye_c[1] - 0.02, eye_c[2] - 0.095])))
            # Mouth corner.
            mouth = head("oris03" + sfx)
            spec[9 + base] = _Vertex(_nearest(
                body, "body", np.array([sgn * 0.022, mouth[1] - 0.004, mouth[2] - 0.006])))

            spec[11 + base] = calibrated("shoulder", sfx, sgn)
            spec[13 + base] = calibrated("elbow", sfx, sgn)
            spec[15 + base] = calibrated("wrist", sfx, sgn)
            spec[17 + base] = joint("finger5-1" + sfx)
            spec[19 + base] = joint("finger2-1" + sfx)
            spec[21 + base] = joint("finger1-2" + sfx)
            spec[23 + base] = calibrated("hip", sfx, sgn)
            spec[25 + base] = joint("lowerleg01" + sfx)
            spec[27 + base] = joint("foot" + sfx)
            ank = head("foot" + sfx)
            spec[29 + base] = _Vertex(_nearest(
                body, "body", np.array([ank[0], ank[1] - 0.06, ank[2] - 0.09])))
            toe = head("toe2-1" + sfx)
            spec[31 + base] = _Vertex(_nearest(
                body, "body", np.array([toe[0], toe[1], toe[2] + 0.05])))
        nose_mask = np.zeros(len(v), bool)
        nose_mask[(np.abs(v[:, 0]) < 0.004) & (v[:, 1] > head("eye.L")[1] - 0.06)
                  & (v[:, 1] < head("eye.L")[1] - 0.01)] = True
        nose_idx = body.vertex_groups["body"][nose_mask[body.vertex_groups["body"]]]
        spec[0] = _Vertex(int(nose_idx[np.argmax(v[nose_idx, 2])]))
        for j, vi in FACE_VERTICES.items():
            spec[j] = _Vertex(vi)
        self.spec = tuple(spec)
        self._vert = np.array([sp.index if isinstance(sp, _Vertex) else -1 for sp in spec])
        self._bone = np.array([body.bone(sp.bone) if isinstance(sp, _Rigid) else -1
                               for sp in spec])
        self._rest = np.array([sp.point if isinstance(sp, _Rigid) else np.zeros(3)
                               for sp in spec])
        self._bone2 = np.array([body.bone(sp.bone2) if isinstance(sp, _Rigid) and sp.bone2
                                else -1 for sp in spec])
        self._w2 = np.array([sp.weight2 if isinstance(sp, _Rigid) and sp.bone2 else 0.0
                             for sp in spec])

    @property
    def vertex_indices(self) -> np.ndarray:
        """(33,) vertex index per landmark, -1 for rig-carried ones."""
        return self._vert

    def points3d(self, posed: PosedBody) -> np.ndarray:
        """(33, 3) world positions of the truth points for a posed body (NaN if undefined)."""
        out = np.full((33, 3), np.nan)
        rig_mask = self._bone >= 0
        m = posed.transforms[self._bone[rig_mask]]
        out[rig_mask] = np.einsum("kij,kj->ki", m[:, :3, :3], self._rest[rig_mask]) + m[:, :3, 3]
        for i in np.flatnonzero(self._bone2 >= 0):
            g2 = posed.transforms[self._bone2[i]]
            w = self._w2[i]
            out[i] = (1 - w) * out[i] + w * (g2[:3, :3] @ self._rest[i] + g2[:3, 3])
        vmask = self._vert >= 0
        if vmask.any():
            out[vmask] = posed.rig.skin_some(posed.transforms, self._vert[vmask])
        if self.face_roll_gain != 1.0:
            out[_FACE] = self._unroll(posed.transforms, out[_FACE])
        return out

    def _unroll(self, g: np.ndarray, pts: np.ndarray) -> np.ndarray:
        """Rotate face points back by (1 - gain) of the head's roll against the trunk."""
        rt, rh = g[self._trunk, :3, :3], g[self._head, :3, :3]
        up = (rt.T @ rh) @ np.array([0.0, 1.0, 0.0])
        roll = np.degrees(np.arctan2(-up[0], up[1]))
        back = rotation(rt @ np.array([0.0, 0.0, 1.0]), -(1.0 - self.face_roll_gain) * roll)
        pivot = g[self._trunk, :3, :3] @ self._neck_base + g[self._trunk, :3, 3]
        return (pts - pivot) @ back.T + pivot

    def project(self, posed: PosedBody, camera: Camera) -> np.ndarray:
        """(33, 2) pixel positions (x right, y down) seen by ``camera``."""
        return camera.project(self.points3d(posed))
