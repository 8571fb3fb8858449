"""Base postures other than standing: seated on a stool, and on all fours.

A posture is a set of rig controls (:mod:`avatar.rig`) solved once on the body's
own geometry so that it touches what it rests on: seated, the feet are flat on the
floor and the thighs rest on a stool whose top is placed under them; on all fours,
the palms (wrists bent back, fingers forward) and the knees are on the floor, the
thighs vertical, the hands a little ahead of the shoulders, and the trunk tipped so
both touch (76 degrees from vertical for the base body: its arms are long for its
thighs, so the shoulders sit a little higher than the hips). The floor is the plane
the standing body's soles rest on (the lowest rendered vertex).

:func:`all_fours` also moves the spine between "cat" (rounded, head dropped) and
"cow" (arched, head lifted) while the hands and knees stay planted: the spine's
bend is split so that the pelvis and the chest tilt by half of it each in opposite
directions (the line from hip to shoulder keeps about its direction), the thighs and
arms are re-aimed to keep theirs, and the trunk's tip is solved again per bend (the
bent spine's chord is shorter) so the palms stay on the floor.

:func:`prop_meshes` gives the floor and the stool as meshes for the renderer.
Their positions are fixed in the world, so they never move with the body's sway.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body import Body
from .camera import Camera
from .rig import NEUTRAL, Rig

__all__ = ["POSTURES", "Placement", "all_fours", "in_posture", "placement", "prop_meshes",
           "seated"]

#: Postures the rig can take ("any"/"standing" need no solving).
POSTURES = ("standing", "seated", "all_fours")

FLOOR_COLOUR = (0.92, 0.88, 0.8)
STOOL_COLOUR = (0.45, 0.32, 0.22)
#: Hip and knee flexion of the seated posture (thighs level, shins vertical).
SEAT_HIP, SEAT_KNEE = 90.0, 90.0
#: On all fours the hands are placed this far (degrees of arm angle) ahead of the
#: shoulders, as people do.
HANDS_FORWARD = 12.0
#: Spine bends (degrees) at which the all-fours pitch is solved (interpolated between).
CAT_GRID = (-45.0, -30.0, -15.0, 0.0, 15.0, 30.0)


def _both(**kw: float) -> dict[str, float]:
    return {f"{s}_{k}": v for k, v in kw.items() for s in ("left", "right")}


def seated(lift: float) -> dict[str, float]:
    """Seated upright with the feet flat, lowered by ``lift`` cm (see :func:`placement`)."""
    return {**_both(hip_flexion=SEAT_HIP, knee_flexion=SEAT_KNEE), "body_lift": lift}


def all_fours(pitch: float, lift: float, cat: float = 0.0, neck: float = 0.0) -> dict[str, float]:
    """On hands and knees, the trunk tipped forward by ``pitch`` degrees.

    Args:
        pitch: the hip-to-shoulder line's tilt from vertical (90 = level).
        lift: whole-body drop, cm, that puts the knees and palms on the floor.
        cat: spine bend, degrees: + rounds the back (cat), - arches it (cow).
        neck: neck flexion, degrees: + drops the head (chin in), - lifts it.
    """
    pelvis, chest = pitch - cat / 2.0, pitch + cat / 2.0
    return {
        "body_pitch": pelvis, "body_lift": lift, "trunk_flexion": cat, "neck_flexion": neck,
        **_both(hip_flexion=pelvis, knee_flexion=90.0, ankle_plantarflexion=60.0,
                shoulder_flexion=chest + HANDS_FORWARD, shoulder_abduction=0.0, elbow_flexion=0.0,
                shoulder_external_rotation=-90.0, wrist_extension=85.0),
    }


@dataclass(frozen=True)
class Placement:
    """A posture solved for one body.

    Attributes:
        floor: floor height (y, metres).
        lift: body drop (cm) for the posture.
        pitch: trunk pitch (degrees), all fours only.
        seat: stool top height (metres), seated only.
        seat_z: (front, back) z extent of the stool top (metres), seated only.
        cat_pitch: all fours: (spine bend, pitch) pairs, see :meth:`pitch_at`.
    """

    floor: float
    lift: float
    pitch: float = 0.0
    seat: float = 0.0
    seat_z: tuple[float, float] = (0.0, 0.0)
    cat_pitch: tuple[tuple[float, float], ...] = ()

    def pitch_at(self, cat: float) -> float:
        """All fours: the trunk pitch that keeps the palms on the floor at this spine bend."""
        if not self.cat_pitch:
            return self.pitch
        c, p = zip(*self.cat_pitch, strict=True)
        return float(np.interp(cat, c, p))


def _rendered(body: Body) -> np.ndarray:
    return np.unique(body.faces)


def _lowest(rig: Rig, pose: dict[str, float], idx: np.ndarray) -> float:
    return float(rig.pose(pose).vertices[idx, 1].min())


def _bone_verts(body: Body, prefixes: tuple[str, ...]) -> np.ndarray:
    dom = np.array(body.bone_names)[body.dominant_bone()]
    mask = np.array([any(d.startswith(p) for p in prefixes) for d in dom])
    keep = np.zeros(len(mask), bool)
    keep[_rendered(body)] = True
    return np.flatnonzero(mask & keep)


def _solve(body: Body, posture: str) -> Placement:
    rig = Rig(body)
    floor = float(body.vertices[_rendered(body), 1].min())
    if posture == "seated":
        feet = _bone_verts(body, ("foot", "toe"))
        lift = (floor - _lowest(rig, seated(0.0), feet)) * 100.0
        posed = rig.pose(seated(lift)).vertices
        under = posed[_bone_verts(body, ("upperleg01", "upperleg02", "pelvis"))]
        seat = float(under[:, 1].min()) + 0.012  # the thighs sink a little into the seat
        back = float(under[:, 2].min())
        front = back + 0.75 * (float(under[:, 2].max()) - back)
        return Placement(floor, lift, seat=seat, seat_z=(front, back))
    if posture == "all_fours":
        hands = _bone_verts(body, ("wrist", "metacarpal", "finger"))
        knees = _bone_verts(body, ("lowerleg01",))

        def pitch_for(cat: float) -> float:
            lo, hi = 60.0, 90.0
            for _ in range(20):  # arms longer than thighs: tip the trunk until both touch
                mid = (lo + hi) / 2.0
                pose = all_fours(mid, 0.0, cat)
                if _lowest(rig, pose, hands) < _lowest(rig, pose, knees):
                    hi = mid
                else:
                    lo = mid
            return (lo + hi) / 2.0

        pitch = pitch_for(0.0)
        lift = (floor - _lowest(rig, all_fours(pitch, 0.0), knees)) * 100.0
        # the bent spine shortens the hip-to-shoulder chord a little: re-tip per bend
        table = tuple((c, pitch_for(c)) for c in CAT_GRID)
        return Placement(floor, lift, pitch=pitch, cat_pitch=table)
    return Placement(floor, 0.0)


#: id(body) -> (body, {posture: placement}); the body is kept so its id stays its own.
_CACHE: dict[int, tuple[Body, dict[str, Placement]]] = {}


def placement(body: Body, posture: str) -> Placement:
    """The posture solved for ``body`` (cached per body)."""
    if posture not in POSTURES and posture != "any":
        raise ValueError(f"unknown posture {posture!r}; known: {', '.join(POSTURES)}")
    _, solved = _CACHE.setdefault(id(body), (body, {}))
    if posture not in solved:
        solved[posture] = _solve(body, posture)
    return solved[posture]


def in_posture(body: Body, posture: str, pose: dict[str, float]) -> dict[str, float]:
    """``pose`` performed in ``posture``: the posture's controls plus the pose's own
    departures from neutral (so breathing sway and arm movements add to it).

    On all fours, ``trunk_flexion`` in ``pose`` is the cat (+) / cow (-) bend of the
    spine (see :func:`all_fours`); standing (or "any") returns ``pose`` unchanged.
    """
    if posture not in ("seated", "all_fours"):
        return dict(pose)
    pl = placement(body, posture)
    if posture == "seated":
        base = seated(pl.lift)
    else:
        cat = pose.get("trunk_flexion", 0.0)
        base = all_fours(pl.pitch_at(cat), pl.lift, cat=cat)
    out = dict(pose)
    for k, v in base.items():
        out[k] = v if k == "trunk_flexion" else v + pose.get(k, NEUTRAL[k]) - NEUTRAL[k]
    return out


def _box(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and outward triangles of an axis-aligned box (separate faces, flat)."""
    verts, faces = [], []
    for axis in range(3):
        for end in (0, 1):
            a, b = [i for i in range(3) if i != axis]
            quad = []
            for u, w in ((0, 0), (1, 0), (1, 1), (0, 1)):
                p = np.where(np.arange(3) == axis, (lo, hi)[end][axis], 0.0)
                p[a] = (lo, hi)[u][a]
                p[b] = (lo, hi)[w][b]
                quad.append(p)
            k = len(verts)
            verts.extend(quad)
            # orient outward: normal along +axis for end 1, -axis for end 0
            n = np.cross(quad[1] - quad[0], quad[2] - quad[0])
            tri = [(k, k + 1, k + 2), (k, k + 2, k + 3)]
            if (n[axis] > 0) != (end == 1):
                tri = [(t[0], t[2], t[1]) for t in tri]
            faces.extend(tri)
    return np.array(verts, float), np.array(faces, np.int32)


def prop_meshes(body: Body, posture: str, camera: Camera,
                offset: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> list[
        tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(vertices, faces, shaded colours) of the floor and, seated, the stool."""
    from .render import shade, vertex_normals

    if posture not in ("seated", "all_fours"):
        return []
    pl = placement(body, posture)
    off = np.asarray(offset, float)
    boxes = [(np.array([-3.0, pl.floor - 0.02, -3.0]), np.array([3.0, pl.floor, 3.0]),
              FLOOR_COLOUR)]
    if posture == "seated":
        front, back = pl.seat_z
        boxes.append((np.array([-0.21, pl.floor, back - 0.02]),
                      np.array([0.21, pl.seat, front]), STOOL_COLOUR))
    out = []
    for lo, hi, colour in boxes:
        v, f = _box(lo + off, hi + off)
        col = np.tile(np.asarray(colour, float), (len(v), 1))
        out.append((v, f, shade(col, vertex_normals(v, f), v, camera)))
    return out
