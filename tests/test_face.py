"""The face model end to end: crop/landmark mapping at known angles, and the face-based
neck measures on the committed neck clips against the avatar rig's geometric head angle.

Truth here is geometry, recomputed from the rig (never from where a model puts a point):
each clip's poses are rebuilt from its scenario (timeline + seeded sway, exactly as the
avatar lab rendered it; checked against the sidecar's commanded controls), then

* the sideways tilt is the in-image angle between the rigid head's projected outer eye
  corners (``TruthModel``, geometric``) and the projected shoulder points, as the
  measure defines it (positive toward the working side);
* the rotation is the head bone's yaw relative to the upper trunk (``spine01``): the
  azimuth of the head's forward axis about the trunk's vertical axis. The sample
  clips' camera is frontal, so this equals the commanded ``neck_rotation`` control.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from coach.analyze import AnalysisOptions, analyze_video
from exercises.definition import load_library
from exercises.measures import get_measure
from pose.estimator import PoseEstimator
from pose.face import FaceEstimator, mesh_agrees_with_pose, roi_from_pose
from pose.frame import PoseFrame
from pose.head import FACE_POINTS, head_rotation_angles
from pose.landmarks import Landmark as L  # noqa: N817
from pose.video import open_video

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_videos"
#: Clips whose primary measure reads the face (a shrug's head-still check also uses the
#: face, but its primary measure does not).
FACE_CLIPS = sorted(
    p for p in SAMPLES.glob("*.truth.json")
    if get_measure(load_library()[json.loads(p.read_text())["exercise"]].primary.measure)
    .needs_face
)
#: The issue's target for neck tilt and rotation against geometric truth.
MAE_LIMIT_DEG = 4.0


def test_the_neck_clips_are_covered() -> None:
    names = {p.name.split(".")[0] for p in FACE_CLIPS}
    assert {"neck_side_tilt_left_good", "neck_side_tilt_right_shrug",
            "neck_rotation_right_good"} <= names


# ---------------------------------------------------------------- known angles


@pytest.fixture(scope="module")
def face_frame() -> tuple[np.ndarray, PoseFrame]:
    """Frame 0 of a neck clip (avatar facing the camera, head upright) and its pose."""
    with open_video(SAMPLES / "neck_side_tilt_left_good.mp4") as reader:
        image = next(iter(reader.frames())).image
    with PoseEstimator(running_mode="image", people_check_s=None) as est:
        frame = est.estimate(image, 0.0)
    assert not frame.is_empty
    return image, frame


def _rotated(image: np.ndarray, frame: PoseFrame, deg: float) -> tuple[np.ndarray, PoseFrame]:
    """The image and its pose points turned by ``deg`` (clockwise on screen) about the head."""
    center = tuple(float(v) for v in (frame.point(L.LEFT_EAR) + frame.point(L.RIGHT_EAR)) / 2)
    m = cv2.getRotationMatrix2D(center, -deg, 1.0)  # OpenCV: positive = counter-clockwise
    h, w = image.shape[:2]
    out = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
    xy = frame.xy @ m[:, :2].T + m[:, 2]
    return out, frame.with_xy(xy)


def test_mesh_landmark_indices_sit_where_named(face_frame) -> None:
    image, frame = face_frame
    face = FaceEstimator(track=False)
    head = face.estimate(image, frame)
    assert head is not None and head.presence > 0.9
    p = {name: head.point(name) for name in FACE_POINTS}
    # facing the camera: the person's right is on the image's left
    assert p["right_cheek"][0] < p["right_eye_outer"][0] < p["right_eye_inner"][0] \
        < p["nose_tip"][0] < p["left_eye_inner"][0] < p["left_eye_outer"][0] < p["left_cheek"][0]
    eyes_y = (p["right_eye_outer"][1] + p["left_eye_outer"][1]) / 2
    mouth_y = (p["mouth_right"][1] + p["mouth_left"][1]) / 2
    assert p["forehead"][1] < eyes_y < p["nose_tip"][1] < mouth_y < p["chin"][1]
    # the mesh's eyes are where the pose model puts the eyes (a few pixels apart)
    pose_eye_l, pose_eye_r = frame.point(L.LEFT_EYE), frame.point(L.RIGHT_EYE)
    ear_dist = float(np.hypot(*(frame.point(L.LEFT_EAR) - frame.point(L.RIGHT_EAR))))
    mesh_eye_l = (p["left_eye_outer"] + p["left_eye_inner"]) / 2
    mesh_eye_r = (p["right_eye_outer"] + p["right_eye_inner"]) / 2
    assert np.hypot(*(mesh_eye_l - pose_eye_l)) < 0.2 * ear_dist
    assert np.hypot(*(mesh_eye_r - pose_eye_r)) < 0.2 * ear_dist
    assert abs(head.roll_deg) < 3 and abs(head.yaw_deg) < 5


@pytest.mark.parametrize("deg", [-40.0, -20.0, 10.0, 25.0, 45.0])
def test_rotating_the_image_rotates_the_reading_by_exactly_that(face_frame, deg: float) -> None:
    """Turn the picture by a known angle: the eye line and the head roll turn by that
    angle, and the head's 3D orientation turns about the camera axis by it (so yaw and
    pitch change only as that rotation predicts: the face's slight downward pitch leaks
    into the azimuth). This pins the crop -> landmarks -> image mapping (rotation
    direction, scale, centre), the depth mapping and the landmark order."""
    image, frame = face_frame
    face = FaceEstimator(track=False)
    base = face.estimate(image, frame)
    assert base is not None
    img2, frame2 = _rotated(image, frame, deg)
    head = face.estimate(img2, frame2)
    assert head is not None
    eye0 = base.point("left_eye_outer") - base.point("right_eye_outer")
    eye1 = head.point("left_eye_outer") - head.point("right_eye_outer")
    turned = math.degrees(math.atan2(eye1[1], eye1[0]) - math.atan2(eye0[1], eye0[0]))
    assert turned == pytest.approx(deg, abs=1.0)
    assert head.roll_deg - base.roll_deg == pytest.approx(deg, abs=1.0)
    a = math.radians(deg)
    spin = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    _, want_yaw, want_pitch = head_rotation_angles(spin @ base.rotation)
    assert head.yaw_deg == pytest.approx(want_yaw, abs=1.5)
    assert head.pitch_deg == pytest.approx(want_pitch, abs=1.5)


def test_a_crop_without_a_face_gives_none(face_frame) -> None:
    image, frame = face_frame
    roi = roi_from_pose(frame)
    assert roi is not None
    blank = np.full_like(image, 200)
    assert FaceEstimator(track=False).estimate(blank, frame) is None
    assert FaceEstimator().estimate(image, PoseFrame.empty(0.0, (640, 480))) is None


def test_head_crop_follows_the_face_when_the_pose_swings_its_ears() -> None:
    """On a tilted head the pose's ears swing about (40 -> 147 degrees within a second on a
    steady 45 degree tilt): the crop then turns with the eyes-to-mouth line instead."""
    from tests.builders import front_pose

    for tilt in (0.0, 30.0, -40.0):
        frame = front_pose(neck_tilt=tilt)
        roi = roi_from_pose(frame)
        assert roi is not None
        xy = frame.xy.copy()
        xy[[L.LEFT_EAR, L.RIGHT_EAR]] = xy[[L.RIGHT_EAR, L.LEFT_EAR]]  # swung round
        swung = roi_from_pose(frame.with_xy(xy))
        assert swung is not None
        gap = math.degrees(math.remainder(swung.angle_rad - roi.angle_rad, 2 * math.pi))
        assert abs(gap) < 10.0, (tilt, gap)


def test_an_upside_down_mesh_is_refused() -> None:
    from tests.builders import face_mesh, front_pose, rot_z

    frame = front_pose()
    assert mesh_agrees_with_pose(face_mesh(), frame)
    assert mesh_agrees_with_pose(face_mesh(rot_z(60.0)), frame)
    assert not mesh_agrees_with_pose(face_mesh(rot_z(180.0)), frame)
    assert not mesh_agrees_with_pose(face_mesh(rot_z(120.0)), frame)


# ---------------------------------------------------------------- geometric truth


def _rig_truth(truth: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: (in-image eye-line tilt vs shoulder line, head yaw vs upper trunk),
    both toward the person's LEFT, degrees, from the rig as the clip was rendered."""
    from avatar.body import load_body
    from avatar.choreo import Sway
    from avatar.lab import FPS, build_timeline, camera_for
    from avatar.rig import Rig
    from avatar.scenarios import by_name
    from avatar.truth import TruthModel

    sc = by_name(truth["clip"])
    body = load_body()
    rig, model = Rig(body), TruthModel(body)
    cam = camera_for(sc)
    tl, _, _ = build_timeline(sc)
    sway = Sway(sc.seed)
    head, trunk = body.bone("head"), body.bone("spine01")
    tilt, yaw = [], []
    for i in range(truth["n_frames"]):
        t = i / FPS
        pose = sway.apply(tl.at(t), t)
        for name, values in truth["controls"].items():  # the clip is the one rendered
            assert pose.get(name, 0.0) == pytest.approx(values[i], abs=0.051), (name, i)
        posed = rig.pose(pose)
        pts = cam.project(model.points3d(posed))
        eyes = pts[3] - pts[6]  # person's right outer eye corner -> left one
        shoulders = pts[11] - pts[12]
        a = math.degrees(math.atan2(eyes[1], eyes[0]) - math.atan2(shoulders[1], shoulders[0]))
        tilt.append((a + 180.0) % 360.0 - 180.0)
        g = posed.transforms
        forward = (g[trunk, :3, :3].T @ g[head, :3, :3]) @ np.array([0.0, 0.0, 1.0])
        yaw.append(math.degrees(math.atan2(forward[0], forward[2])))  # +x = person's left
    return np.array(tilt), np.array(yaw)


@pytest.mark.slow
@pytest.mark.parametrize("truth_path", FACE_CLIPS, ids=lambda p: p.name.split(".")[0])
def test_face_neck_measure_matches_the_rig(truth_path: Path) -> None:
    """The real analysis path (decoder, pose model, face model, smoothing, tracker) reads
    the neck clips' primary measure within 4 degrees MAE of the rig's geometric angle."""
    truth = json.loads(truth_path.read_text())
    definition = load_library()[truth["exercise"]]
    side = truth["side"]
    report = analyze_video(truth_path.with_name(truth_path.name.replace(".truth.json", ".mp4")),
                           definition, AnalysisOptions(side=side, max_skip_s=0.0))  # every frame
    got = np.array([np.nan if v is None else v for v in report.series[side]], dtype=float)
    tilt_left, yaw_left = _rig_truth(truth)
    toward = 1.0 if side == "left" else -1.0
    measure = definition.primary.measure
    assert get_measure(measure).needs_face
    expected = toward * {"neck_lateral_tilt": tilt_left, "neck_rotation": yaw_left}[measure]
    assert got.size == expected.size
    ok = np.isfinite(got)
    assert ok.mean() > 0.97, "the face was lost on too many frames"
    err = np.abs(got[ok] - expected[ok])
    assert float(np.mean(err)) <= MAE_LIMIT_DEG, f"MAE {np.mean(err):.2f}"
    # and at the holds, where the judgement is made, the reading is not biased either way
    # (measured: the turn within 1 degree; with the head axis from the eye and mouth
    # corners it read 4-5 wide, see pose.head.MESH_AXIS_PAIRS; the tilts 3-4 low). Left
    # out: an acted shoulder hike (the shrug clip's fault). The tilt is read against the
    # pose's shoulder line, which follows a shrug only partly: there it reads 5-6 degrees
    # low against the rig (a known gap, visible in the MAE above, which includes it).
    hold = np.abs(expected) > 30
    fps = truth["fps"]
    for f in truth["expected"].get("faults", []):  # the hike with its 0.35 s ramps
        hold[round((f["start_s"] - 0.5) * fps):round((f["end_s"] + 0.5) * fps) + 1] = False
    assert hold.sum() > 100
    bias = float(np.mean(got[hold & ok] - expected[hold & ok]))
    assert abs(bias) < MAE_LIMIT_DEG, f"bias at the holds {bias:+.2f}"
