"""The measure registry: each measure on poses built at known angles (round trips), the
mirror property of sided measures, NaN on missing landmarks, and registry errors.

Expected values come from how the poses are built (``tests/builders.py`` and the side-view
builders below), never from running the measures.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from exercises.measures import (
    MEASURES,
    UnknownMeasureError,
    compute,
    get_measure,
    measure_names,
    other_side,
)
from exercises.measures_head import HEAD_LIFT_EYE_GAIN, HEAD_LIFT_EYE_OFFSET
from pose.frame import PoseFrame
from pose.head import MESH_LEFT_RIGHT_PAIRS, HeadPose
from pose.landmarks import NUM_LANDMARKS, Landmark, mirror
from tests.builders import front_pose, side_pose

L = Landmark
SIDES = ("left", "right")


# ---------------------------------------------------------------- helpers

def screen_dir(deg: float) -> np.ndarray:
    """Unit vector ``deg`` counter-clockwise on screen from the image's rightward axis."""
    a = math.radians(deg)
    return np.array([math.cos(a), -math.sin(a)])


def with_points(frame: PoseFrame, points: dict[Landmark, np.ndarray]) -> PoseFrame:
    xy = frame.xy.copy()
    vis = frame.visibility.copy()
    for lm, p in points.items():
        xy[int(lm)] = p
        vis[int(lm)] = 0.99
    return dataclasses.replace(frame, xy=xy, visibility=vis)


def mirrored(frame: PoseFrame) -> PoseFrame:
    """The same person mirrored left-right: x -> W - x AND left/right landmarks swapped.

    The result is again a person facing the camera (their left on the image's right), whose
    posture is the mirror image of the original: a tilt to the left becomes a tilt to the
    right. World coordinates (x right, y down, z away from the camera) are mirrored too.
    """
    order = [int(mirror(lm)) for lm in Landmark]  # new landmark i takes old mirror(i)
    xy = frame.xy[order].copy()
    xy[:, 0] = frame.image_size[0] - xy[:, 0]
    world = None
    if frame.world is not None:
        world = frame.world[order].copy()
        world[:, 0] = -world[:, 0]
    head = None
    if frame.head is not None:
        # mirror the mesh in the image and swap the person's left/right points that
        # define the head axes (the forehead-chin points are on the midline)
        pts = frame.head.points.copy()
        pts[:, 0] = frame.image_size[0] - pts[:, 0]
        for right, left in MESH_LEFT_RIGHT_PAIRS:
            pts[[right, left]] = pts[[left, right]]
        head = HeadPose(points=pts, presence=frame.head.presence)
    return PoseFrame(xy=xy, visibility=frame.visibility[order], timestamp_s=frame.timestamp_s,
                     image_size=frame.image_size, world=world, num_people=frame.num_people,
                     head=head)


def world_with_trunk_rotation(deg: float) -> np.ndarray:
    """World landmarks (metres; x to the image's right, y down, z away from the camera) with
    the shoulder line turned ``deg`` toward the person's LEFT relative to the hip line.

    Turning the trunk to the left moves the left shoulder back (away from the camera, +z)
    and the right shoulder forward.
    """
    w = np.full((NUM_LANDMARKS, 3), np.nan)
    a = math.radians(deg)
    w[L.LEFT_HIP], w[L.RIGHT_HIP] = (0.15, 0.0, 0.0), (-0.15, 0.0, 0.0)
    w[L.LEFT_SHOULDER] = (0.2 * math.cos(a), -0.5, 0.2 * math.sin(a))
    w[L.RIGHT_SHOULDER] = (-0.2 * math.cos(a), -0.5, -0.2 * math.sin(a))
    # legs bent differently toward the camera (-z): knee_flexion_3d reads them
    w[L.LEFT_KNEE], w[L.LEFT_ANKLE] = (0.15, 0.42, -0.15), (0.15, 0.85, 0.0)
    w[L.RIGHT_KNEE], w[L.RIGHT_ANKLE] = (-0.15, 0.45, -0.05), (-0.15, 0.9, 0.0)
    return w


def side_pose_head(*, facing: str, head_forward: float = 0.0,
                   image_size: tuple[int, int] = (640, 480)) -> PoseFrame:
    """Side view, standing: the shoulder→ear line leans ``head_forward`` degrees forward
    (toward where the face points). The far-side landmarks are poorly seen and placed
    deliberately wrong (ear straight above the shoulder) so using them would read 0."""
    f = 1.0 if facing == "right" else -1.0
    near, far = ("LEFT", "RIGHT") if facing == "right" else ("RIGHT", "LEFT")
    shoulder = np.array([320.0, 250.0])
    ear = shoulder + 70.0 * screen_dir(90.0 - f * head_forward)
    pts = {
        L[f"{near}_SHOULDER"]: shoulder, L[f"{near}_EAR"]: ear,
        L[f"{near}_HIP"]: shoulder + np.array([0.0, 160.0]),
        L.NOSE: ear + np.array([f * 25.0, 5.0]),
        L[f"{far}_SHOULDER"]: shoulder + np.array([-f * 5.0, 0.0]),
        L[f"{far}_EAR"]: shoulder + np.array([0.0, -70.0]),
        L[f"{far}_HIP"]: shoulder + np.array([-f * 5.0, 160.0]),
    }
    xy = np.full((NUM_LANDMARKS, 2), np.nan)
    vis = np.zeros(NUM_LANDMARKS)
    for lm, p in pts.items():
        xy[int(lm)] = p
        vis[int(lm)] = 0.3 if lm.name.startswith(far) else 0.95
    return PoseFrame(xy=xy, visibility=vis, timestamp_s=0.0, image_size=image_size)


def all_fours_pose(*, facing: str, head_lift: float) -> PoseFrame:
    """Side view on all fours (cat-cow): horizontal trunk hip→shoulder, the head raised
    ``head_lift`` degrees above the trunk line (negative = dropped)."""
    f = 1.0 if facing == "right" else -1.0
    near = "LEFT" if facing == "right" else "RIGHT"
    hip = np.array([320.0 - f * 100.0, 300.0])
    shoulder = np.array([320.0 + f * 100.0, 300.0])
    direction = head_lift if facing == "right" else 180.0 - head_lift
    ear = shoulder + 60.0 * screen_dir(direction)
    # the eye, forward of the ear on the head, lies on its own line from the shoulder
    # (exercises.measures_head: HEAD_LIFT_EYE_GAIN, HEAD_LIFT_EYE_OFFSET)
    eye_lift = HEAD_LIFT_EYE_GAIN * head_lift + HEAD_LIFT_EYE_OFFSET
    eye = shoulder + 75.0 * screen_dir(eye_lift if facing == "right" else 180.0 - eye_lift)
    return PoseFrame.from_points({
        L[f"{near}_HIP"]: hip, L[f"{near}_SHOULDER"]: shoulder, L[f"{near}_EAR"]: ear,
        L[f"{near}_EYE"]: eye, L.NOSE: ear + 20.0 * screen_dir(direction),
    })


def squeezed(frame: PoseFrame, k: float) -> PoseFrame:
    """Compress every x toward the body's centre line: a body turned toward side-on."""
    xy = frame.xy.copy()
    cx = np.nanmean(xy[[L.LEFT_HIP, L.RIGHT_HIP], 0])
    xy[:, 0] = cx + k * (xy[:, 0] - cx)
    return frame.with_xy(xy)


# ---------------------------------------------------------------- round trips

# (case, pose kwargs, measure, {side: expected}); unsided measures use key "left".
ROUND_TRIPS = [
    ("abduction 90/30", {"abduction": (90, 30)}, "shoulder_abduction",
     {"left": 90.0, "right": 30.0}),
    ("arms hanging along the trunk", {"abduction": (0, 0)}, "shoulder_abduction",
     {"left": 0.0, "right": 0.0}),
    ("arms straight up", {"abduction": (180, 180)}, "shoulder_abduction",
     {"left": 180.0, "right": 180.0}),
    ("abduction is relative to the trunk, not the image", {"abduction": (90, 45),
                                                            "trunk_lean": 15},
     "shoulder_abduction", {"left": 90.0, "right": 45.0}),
    ("both arms must rise: the lower one (+5)", {"abduction": (150, 60)}, "arms_elevation",
     {"left": 65.0}),
    ("elbow angles", {"elbow": (60, 175)}, "elbow_extension", {"left": 60.0, "right": 175.0}),
    ("more bent elbow", {"elbow": (60, 175)}, "elbows_extension", {"left": 60.0}),
    ("elbow asymmetry", {"elbow": (60, 175)}, "elbows_flexion_difference", {"left": 115.0}),
    ("neck tilt left 30", {"neck_tilt": 30}, "neck_lateral_tilt",
     {"left": 30.0, "right": -30.0}),
    ("neck tilt right 20", {"neck_tilt": -20}, "neck_lateral_tilt",
     {"left": -20.0, "right": 20.0}),
    ("neck tilt is relative to the shoulder line", {"neck_tilt": 20, "shoulder_tilt": 10},
     "neck_lateral_tilt", {"left": 20.0, "right": -20.0}),
    ("neck tilt unaffected by a trunk lean", {"neck_tilt": 25, "trunk_lean": -10},
     "neck_lateral_tilt", {"left": 25.0, "right": -25.0}),
    ("head turn left 40", {"head_turn": 40}, "neck_rotation", {"left": 40.0, "right": -40.0}),
    ("head turn right 25", {"head_turn": -25}, "neck_rotation", {"left": -25.0, "right": 25.0}),
    ("head turn with a tilt", {"head_turn": 30, "neck_tilt": 20}, "neck_rotation",
     {"left": 30.0, "right": -30.0}),
    ("no head turn", {}, "neck_rotation", {"left": 0.0, "right": 0.0}),
    ("trunk lean left 12", {"trunk_lean": 12}, "trunk_lateral_flexion",
     {"left": 12.0, "right": -12.0}),
    ("trunk lean right 20", {"trunk_lean": -20}, "trunk_lateral_flexion",
     {"left": -20.0, "right": 20.0}),
    ("left shoulder higher by 8", {"shoulder_tilt": 8}, "shoulder_level_difference",
     {"left": 8.0, "right": -8.0}),
    ("level shoulders", {}, "shoulder_level_difference", {"left": 0.0, "right": 0.0}),
    # builder: ears 55 px above mid-shoulder, shoulders 120 px apart
    # builder: the mouth 15 px below the head's centre, which is 55 px above the shoulders
    ("mouth-shoulder gap", {}, "shoulder_elevation", {"left": 40.0 / 120.0}),
    ("mouth-shoulder gap does not scale", {"scale": 1.7}, "shoulder_elevation",
     {"left": 40.0 / 120.0}),
    # builder: shoulders 120 px apart, trunk 160 px long
    ("front view ratio", {}, "view_ratio", {"left": 120.0 / 160.0}),
]


@pytest.mark.parametrize(("case", "kwargs", "name", "expected"), ROUND_TRIPS,
                         ids=[r[0] for r in ROUND_TRIPS])
def test_round_trip_on_builder_pose(case: str, kwargs: dict, name: str,
                                    expected: dict[str, float]) -> None:
    frame = front_pose(**kwargs)
    for side, value in expected.items():
        assert compute(name, frame, side) == pytest.approx(value, abs=0.01), f"{case} @{side}"


@pytest.mark.parametrize("angle", [0, 20, 45, 90, 120, 170])
def test_shoulder_abduction_sweep(angle: float) -> None:
    frame = front_pose(abduction=(angle, 180 - angle))
    assert compute("shoulder_abduction", frame, "left") == pytest.approx(angle, abs=0.01)
    assert compute("shoulder_abduction", frame, "right") == pytest.approx(180 - angle, abs=0.01)


@pytest.mark.parametrize("tilt", [-45, -30, -10, 0, 5, 22, 40, 60])
def test_neck_lateral_tilt_sweep(tilt: float) -> None:
    frame = front_pose(neck_tilt=tilt)
    assert compute("neck_lateral_tilt", frame, "left") == pytest.approx(tilt, abs=0.01)
    assert compute("neck_lateral_tilt", frame, "right") == pytest.approx(-tilt, abs=0.01)


@pytest.mark.parametrize("turn", [-60, -30, -5, 0, 10, 45, 60])
def test_neck_rotation_sweep(turn: float) -> None:
    frame = front_pose(head_turn=turn)
    assert compute("neck_rotation", frame, "left") == pytest.approx(turn, abs=0.01)


@pytest.mark.parametrize(("case", "k", "expected"), [
    ("wrist on the midline", 0.0, 0.0),
    ("wrist on its own shoulder", -0.5, -0.5),
    ("wrist on the other shoulder", 0.5, 0.5),
    ("wrist a quarter width past the other shoulder", 0.75, 0.75),
    ("wrist out to its own side", -1.2, -1.2),
])
@pytest.mark.parametrize("side", SIDES)
def test_wrist_cross_midline_explicit(case: str, k: float, expected: float, side: str) -> None:
    base = front_pose(shoulder_tilt=10, trunk_lean=5)  # the axis is the shoulder line, tilted
    own = base.point(L[f"{side.upper()}_SHOULDER"])
    other = base.point(L[f"{other_side(side).upper()}_SHOULDER"])
    wrist = (own + other) / 2 + k * (other - own)
    frame = with_points(base, {L[f"{side.upper()}_WRIST"]: wrist})
    assert compute("wrist_cross_midline", frame, side) == pytest.approx(expected, abs=1e-6)


def test_wrist_cross_midline_with_an_arm_across_the_body() -> None:
    # The left arm held straight and horizontal across the chest (abduction -90 in the
    # builder = swung past "down" toward the midline): shoulder x 380, wrist 150 px further
    # toward the image's left, x 230, i.e. 90 px past the midline (x 320) = 0.75 widths.
    across = front_pose(abduction=(-90, 10), elbow=(180, 175))
    assert compute("wrist_cross_midline", across, "left") == pytest.approx(0.75, abs=1e-6)
    # the right arm hangs at its own side
    assert compute("wrist_cross_midline", across, "right") < -0.3
    # an arm out to the side is on its own side of the midline
    out = front_pose(abduction=(90, 10))
    assert compute("wrist_cross_midline", out, "left") < -1.0


@pytest.mark.parametrize(("case", "k", "expected_max"), [
    ("turned well toward side-on", 0.2, 0.2),
    ("side-on", 0.05, 0.06),
])
def test_view_ratio_front_vs_side(case: str, k: float, expected_max: float) -> None:
    front = front_pose()
    side = squeezed(front, k)
    # only x shrinks: shoulder width by k, the (vertical) trunk length not at all
    assert compute("view_ratio", side) == pytest.approx(k * 120.0 / 160.0, abs=1e-6), case
    assert compute("view_ratio", side) < expected_max
    assert compute("view_ratio", front) > 0.6


@pytest.mark.parametrize("deg", [-40, -15, 0, 10, 30, 60])
def test_trunk_rotation_from_world(deg: float) -> None:
    frame = dataclasses.replace(front_pose(), world=world_with_trunk_rotation(deg))
    assert compute("trunk_rotation", frame, "left") == pytest.approx(deg, abs=1e-6)
    assert compute("trunk_rotation", frame, "right") == pytest.approx(-deg, abs=1e-6)


def test_trunk_rotation_needs_world() -> None:
    assert math.isnan(compute("trunk_rotation", front_pose(), "left"))


def world_with_arms_forward(turn_deg: float, elevation_deg: float = 0.0,
                            crossed: bool = False) -> np.ndarray:
    """World landmarks of a seated person whose chest, with both arms held straight out in
    front (``elevation_deg`` above horizontal), is turned ``turn_deg`` toward the person's
    LEFT; ``crossed``: the arms crossed over the chest instead (wrists near the opposite
    shoulders)."""
    w = np.full((NUM_LANDMARKS, 3), np.nan)
    a, e = math.radians(turn_deg), math.radians(elevation_deg)
    w[L.LEFT_HIP], w[L.RIGHT_HIP] = (0.15, 0.0, 0.0), (-0.15, 0.0, 0.0)
    right = np.array([math.cos(a), 0.0, math.sin(a)])       # the chest's left-right axis
    forward = np.array([math.sin(a), 0.0, -math.cos(a)])    # toward the camera at 0
    up = np.array([0.0, -1.0, 0.0])
    for sh, wr, s in ((L.LEFT_SHOULDER, L.LEFT_WRIST, 1.0), (L.RIGHT_SHOULDER, L.RIGHT_WRIST,
                                                             -1.0)):
        w[sh] = np.array([0.0, -0.5, 0.0]) + s * 0.18 * right
        el = L.LEFT_ELBOW if sh == L.LEFT_SHOULDER else L.RIGHT_ELBOW
        if crossed:
            w[wr] = w[sh] - s * 0.3 * right + 0.08 * forward
            w[el] = w[sh] + 0.28 * forward - s * 0.05 * right
        else:
            w[wr] = w[sh] + 0.6 * (math.cos(e) * forward + math.sin(e) * up)
            w[el] = (w[sh] + w[wr]) / 2.0
    return w


@pytest.mark.parametrize("turn", [-40, -15, 0, 10, 30, 60])
@pytest.mark.parametrize("elevation", [0, 30])
def test_arms_forward_rotation_reads_the_turn_of_outstretched_arms(turn: float,
                                                                   elevation: float) -> None:
    frame = dataclasses.replace(front_pose(), world=world_with_arms_forward(turn, elevation))
    assert compute("arms_forward_rotation", frame, "left") == pytest.approx(turn, abs=1e-6)
    assert compute("arms_forward_rotation", frame, "right") == pytest.approx(-turn, abs=1e-6)


def test_arms_forward_rotation_is_unmeasurable_without_the_arms_out_in_front() -> None:
    crossed = dataclasses.replace(front_pose(), world=world_with_arms_forward(30, crossed=True))
    assert math.isnan(compute("arms_forward_rotation", crossed, "left"))
    hanging = world_with_arms_forward(0, elevation_deg=-85)   # arms down by the sides
    assert math.isnan(compute("arms_forward_rotation",
                              dataclasses.replace(front_pose(), world=hanging), "left"))
    assert math.isnan(compute("arms_forward_rotation", front_pose(), "left"))  # no world


@pytest.mark.parametrize("facing", ["right", "left"])
@pytest.mark.parametrize("angle", [-10, 0, 15, 35, 50])
def test_head_forward_angle_side_view(facing: str, angle: float) -> None:
    frame = side_pose_head(facing=facing, head_forward=angle)
    assert compute("head_forward_angle", frame) == pytest.approx(angle, abs=1e-6)


@pytest.mark.parametrize("facing", ["right", "left"])
@pytest.mark.parametrize("angle", [-40, -10, 0, 20, 45])
def test_head_lift_side_view(facing: str, angle: float) -> None:
    frame = all_fours_pose(facing=facing, head_lift=angle)
    assert compute("head_lift", frame) == pytest.approx(angle, abs=1e-6)


def test_shoulder_flexion_side_view() -> None:
    # side view facing right: arm raised forward (toward image right) by 120 from hanging
    shoulder = np.array([320.0, 200.0])
    frame = PoseFrame.from_points({
        L.LEFT_SHOULDER: shoulder, L.LEFT_HIP: shoulder + np.array([0.0, 160.0]),
        L.LEFT_ELBOW: shoulder + 80 * screen_dir(-90 + 120),
    })
    assert compute("shoulder_flexion", frame, "left") == pytest.approx(120.0, abs=1e-6)


# ---------------------------------------------------------------- invariances

ASYMMETRIC = dict(abduction=(120.0, 40.0), elbow=(90.0, 160.0), neck_tilt=15.0,
                  head_turn=-20.0, shoulder_tilt=5.0, trunk_lean=-8.0, knee_flexion=(30.0, 10.0))


def asymmetric_pose() -> PoseFrame:
    frame = front_pose(**ASYMMETRIC)
    vis = frame.visibility.copy()
    # slightly better-seen left side, so side-view measures pick a definite side
    for lm in Landmark:
        if lm.name.startswith("RIGHT") and vis[lm] > 0:
            vis[lm] = 0.9
    world = world_with_trunk_rotation(20.0)
    # arms held out in front, turned with the chest, the left a little higher
    forward = np.array([math.sin(math.radians(20.0)), 0.0, -math.cos(math.radians(20.0))])
    for sh, wr, lift in ((L.LEFT_SHOULDER, L.LEFT_WRIST, -0.12), (L.RIGHT_SHOULDER,
                                                                  L.RIGHT_WRIST, -0.05)):
        world[wr] = world[sh] + 0.6 * forward + np.array([0.0, lift, 0.0])
        world[L.LEFT_ELBOW if sh == L.LEFT_SHOULDER else L.RIGHT_ELBOW] = (world[sh]
                                                                         + world[wr]) / 2.0
    return dataclasses.replace(frame, visibility=vis, world=world)


@pytest.mark.parametrize("name", measure_names())
def test_mirror_property(name: str) -> None:
    """Mirroring the person gives the other side's value (sided) or the same value."""
    frame = asymmetric_pose()
    mir = mirrored(frame)
    m = get_measure(name)
    for side in SIDES:
        original = m(frame, other_side(side) if m.sided else side)
        assert math.isfinite(original), f"{name} should be measurable on the test pose"
        assert m(mir, side) == pytest.approx(original, abs=1e-6), f"{name}@{side}"


@pytest.mark.parametrize("name", measure_names())
def test_sided_measures_depend_on_side(name: str) -> None:
    """A measure registered as sided gives different values per side on an asymmetric
    pose; an unsided one ignores the side argument."""
    frame = asymmetric_pose()
    m = get_measure(name)
    left, right = m(frame, "left"), m(frame, "right")
    if m.sided:
        assert left != pytest.approx(right, abs=1e-3)
    else:
        assert left == right


@pytest.mark.parametrize("name", measure_names())
def test_pixel_measures_ignore_position_scale_and_image_size(name: str) -> None:
    """Angles and ratios of the same body do not change with where it is in the picture,
    how big it is, or the (non-square) image size: all are computed in pixels."""
    base = front_pose(**ASYMMETRIC)
    other = front_pose(**ASYMMETRIC, image_size=(1920, 1080), scale=1.9, offset=(500.0, 250.0))
    for side in SIDES:
        a, b = compute(name, base, side), compute(name, other, side)
        if math.isnan(a):
            assert math.isnan(b)
        else:
            assert b == pytest.approx(a, abs=1e-6), f"{name}@{side}"


def _blank(frame: PoseFrame, landmarks) -> PoseFrame:
    xy = frame.xy.copy()
    vis = frame.visibility.copy()
    world = None if frame.world is None else frame.world.copy()
    for lm in landmarks:
        xy[int(lm)] = np.nan
        vis[int(lm)] = 0.0
        if world is not None:
            world[int(lm)] = np.nan
    return PoseFrame(xy=xy, visibility=vis, timestamp_s=frame.timestamp_s,
                     image_size=frame.image_size, world=world, head=frame.head)


#: Side-view measures pick the better-seen side at run time, so their declared landmark
#: list cannot name the side's ear/shoulder/hip; the definition's ``required`` must.
_RUNTIME_SIDE = {name for name, m in MEASURES.items() if m.near_side}


@pytest.mark.parametrize("name", sorted(set(measure_names()) - _RUNTIME_SIDE))
@pytest.mark.parametrize("side", SIDES)
def test_any_declared_landmark_missing_gives_nan(name: str, side: str) -> None:
    """``Measure.landmarks`` lists what must be visible: without any one of them the
    measure is not computable (NaN), never silently the other side's value."""
    frame = asymmetric_pose()
    m = get_measure(name)
    declared = m.landmarks(side)
    assert declared, f"{name} declares no landmarks"
    for lm in declared:
        got = m(_blank(frame, [lm]), side)
        assert math.isnan(got), f"{name}@{side} without {lm.name} gave {got}"


@pytest.mark.parametrize("name", sorted(set(measure_names()) - _RUNTIME_SIDE))
@pytest.mark.parametrize("side", SIDES)
def test_measure_uses_only_declared_landmarks(name: str, side: str) -> None:
    """Blanking every landmark a measure does not declare leaves its value unchanged, so
    the tracker's visibility check (built from the declaration) covers what it uses
    (optional landmarks, used only when seen, are declared in OPTIONAL_LANDMARKS)."""
    from exercises.measures import OPTIONAL_LANDMARKS

    frame = asymmetric_pose()
    m = get_measure(name)
    declared = set(m.landmarks(side)) | set(OPTIONAL_LANDMARKS.get(name, ()))
    got = m(_blank(frame, [lm for lm in Landmark if lm not in declared]), side)
    assert got == pytest.approx(m(frame, side), abs=1e-9)


@pytest.mark.parametrize(("name", "near"), [
    ("head_forward_angle", [L.LEFT_EAR, L.LEFT_SHOULDER, L.NOSE]),
    ("head_lift", [L.LEFT_EYE, L.LEFT_SHOULDER, L.LEFT_HIP]),
])
def test_side_view_measure_without_its_side_gives_nan(name: str, near: list) -> None:
    assert name in _RUNTIME_SIDE
    frame = all_fours_pose(facing="right", head_lift=20.0)  # only the left side exists
    assert math.isfinite(compute(name, frame))
    for lm in near:
        assert math.isnan(compute(name, _blank(frame, [lm]))), f"{name} without {lm.name}"


@pytest.mark.parametrize("name", measure_names())
def test_empty_frame_gives_nan(name: str) -> None:
    assert math.isnan(compute(name, PoseFrame.empty(0.0, (640, 480)), "left"))


# ---------------------------------------------------------------- registry

def test_registry_entries_are_well_formed() -> None:
    assert measure_names() == sorted(MEASURES)
    for name, m in MEASURES.items():
        assert m.name == name
        assert m.unit in ("deg", "ratio"), name
        assert len(m.description) > 10, name


@pytest.mark.parametrize("bad", ["neck_tlt", "", "Neck_Lateral_Tilt", "shoulder abduction"])
def test_unknown_measure_lists_valid_names(bad: str) -> None:
    with pytest.raises(UnknownMeasureError) as info:
        get_measure(bad)
    msg = str(info.value)
    assert repr(bad) in msg
    for name in measure_names():
        assert name in msg
    assert "\n" not in msg
    with pytest.raises(UnknownMeasureError):
        compute(bad, front_pose(), "left")
    assert isinstance(info.value, KeyError)  # still catchable as a failed lookup


@pytest.mark.parametrize(("side", "expected", "raises"), [
    ("left", "right", False),
    ("right", "left", False),
    ("both", None, True),
    ("Left", None, True),
])
def test_other_side(side: str, expected: str | None, raises: bool) -> None:
    if raises:
        with pytest.raises(ValueError, match=r"left.*right"):
            other_side(side)
    else:
        assert other_side(side) == expected


@pytest.mark.parametrize("abduction", [10.0, 60.0, 95.0, 150.0, 175.0])
def test_arm_elevation_without_hips_in_view_assumes_an_upright_trunk(abduction: float) -> None:
    """A webcam framing the upper body: the hips are out of view, the reading stays."""
    import dataclasses

    full = front_pose(abduction=(abduction, abduction))
    vis = full.visibility.copy()
    vis[[int(Landmark.LEFT_HIP), int(Landmark.RIGHT_HIP)]] = 0.05
    no_hips = dataclasses.replace(full, visibility=vis)
    for name, side in (("shoulder_abduction", "left"), ("shoulder_abduction", "right"),
                       ("arms_elevation", "left")):
        assert compute(name, no_hips, side) == pytest.approx(abduction, abs=0.5), name
        assert compute(name, no_hips, side) == pytest.approx(compute(name, full, side), abs=0.5)


# ---------------------------------------------------------------- face-model measures

FACE_MEASURES = ("neck_lateral_tilt", "neck_rotation")


@pytest.mark.parametrize("name", FACE_MEASURES)
def test_face_measures_need_the_face(name: str) -> None:
    """Without a face-model result the head measures are not computable (no silent
    fallback to the pose's five face points)."""
    assert get_measure(name).needs_face
    frame = front_pose(neck_tilt=20, head_turn=10)
    assert math.isfinite(compute(name, frame, "left"))
    no_face = dataclasses.replace(frame, head=None)
    assert math.isnan(compute(name, no_face, "left"))


def test_only_head_measures_need_the_face() -> None:
    assert {n for n in measure_names() if get_measure(n).needs_face} == set(FACE_MEASURES)


def test_definitions_that_need_the_face() -> None:
    from exercises.definition import load_library
    from exercises.measures import definition_needs_face

    library = load_library()
    needing = {k for k, d in library.items() if definition_needs_face(d)}
    # neck rotation needs the face for its primary, and so does its head-level check
    assert {"neck_side_tilt", "neck_rotation"} <= needing
    assert "overhead_reach" not in needing and "chest_opener" not in needing


def test_neck_tilt_reads_the_face_not_the_ears() -> None:
    """The face's left-right axis, not the pose's ear line, gives the tilt."""
    frame = front_pose(neck_tilt=30)
    ears_level = frame.xy.copy()
    mid = (ears_level[L.LEFT_EAR] + ears_level[L.RIGHT_EAR]) / 2
    ears_level[L.LEFT_EAR] = mid + np.array([22.0, 0.0])
    ears_level[L.RIGHT_EAR] = mid - np.array([22.0, 0.0])
    assert compute("neck_lateral_tilt", frame.with_xy(ears_level), "left") == pytest.approx(30.0)
    assert compute("neck_lateral_tilt_pose", frame.with_xy(ears_level), "left") == pytest.approx(
        0.0, abs=1e-9)


# ---------------------------------------------------------------- whole body (legs, hips, trunk)

@pytest.mark.parametrize("facing", ["right", "left"])
@pytest.mark.parametrize("near", SIDES)
@pytest.mark.parametrize(("name", "kwargs", "expected"), [
    ("knee_flexion", {"knee_flexion": 0.0}, 0.0),
    ("knee_flexion", {"knee_flexion": 45.0}, 45.0),
    ("knee_flexion", {"knee_flexion": 90.0, "hip_flexion": 90.0}, 90.0),
    ("knee_flexion", {"knee_flexion": 135.0, "hip_flexion": 110.0}, 135.0),
    ("hip_flexion", {"hip_flexion": 0.0}, 0.0),
    ("hip_flexion", {"hip_flexion": 60.0}, 60.0),
    ("hip_flexion", {"hip_flexion": 100.0, "knee_flexion": 100.0}, 100.0),
    ("hip_flexion", {"hip_flexion": 30.0, "trunk_incline": 40.0}, 30.0),
    ("ankle_dorsiflexion", {"ankle_dorsiflexion": 0.0}, 0.0),
    ("ankle_dorsiflexion", {"ankle_dorsiflexion": 15.0}, 15.0),
    ("ankle_dorsiflexion", {"ankle_dorsiflexion": -30.0}, -30.0),
    ("elbow_extension", {"elbow": 90.0, "shoulder_flexion": 40.0}, 90.0),
    ("elbow_extension", {"elbow": 170.0, "trunk_incline": 90.0}, 170.0),
])
def test_joint_angles_round_trip_side_view(name: str, kwargs: dict, expected: float, near: str,
                                           facing: str) -> None:
    """A limb posed at a known clinical angle reads that angle, on the named side and, via the
    ``_near`` variant, on the side facing the camera, whichever way the person faces; the
    far limb is posed differently and never leaks in."""
    far = {"knee_flexion": 5.0, "hip_flexion": 5.0, "ankle_dorsiflexion": -10.0, "elbow": 150.0}
    frame = side_pose(facing=facing, near=near, far=far, **kwargs)
    assert compute(name, frame, near) == pytest.approx(expected, abs=1e-6)
    assert compute(f"{name}_near", frame) == pytest.approx(expected, abs=1e-6)
    assert compute(f"{name}_near", frame, "left") == compute(f"{name}_near", frame, "right")


@pytest.mark.parametrize("facing", ["right", "left"])
@pytest.mark.parametrize("incline", [0.0, 30.0, 90.0, 120.0])
def test_trunk_inclination_side_view(incline: float, facing: str) -> None:
    """0 upright, 90 for a horizontal trunk (plank / push-up), whichever way the person faces."""
    frame = side_pose(facing=facing, trunk_incline=incline, far_visibility=0.99)
    assert compute("trunk_inclination", frame) == pytest.approx(incline, abs=1e-6)


@pytest.mark.parametrize("lean", [-25.0, 0.0, 15.0])
def test_trunk_inclination_front_view_is_unsigned(lean: float) -> None:
    assert compute("trunk_inclination", front_pose(trunk_lean=lean)) == pytest.approx(abs(lean),
                                                                                      abs=1e-6)


@pytest.mark.parametrize(("case", "kwargs", "expected"), [
    ("straight plank", {"trunk_incline": 90.0, "hip_flexion": 0.0}, 180.0),
    ("hips piked 30", {"trunk_incline": 90.0, "hip_flexion": 30.0}, 150.0),
    ("knees bent do not count", {"trunk_incline": 90.0, "knee_flexion": 0.0,
                                 "hip_flexion": 20.0}, 160.0),
])
def test_body_line_near(case: str, kwargs: dict, expected: float) -> None:
    frame = side_pose(far={"hip_flexion": 60.0}, **kwargs)
    assert compute("body_line_near", frame) == pytest.approx(expected, abs=1e-6), case


@pytest.mark.parametrize(("knees", "expected"), [((0.0, 0.0), 0.0), ((40.0, 20.0), 30.0),
                                                 ((70.0, 70.0), 70.0)])
def test_knees_flexion_front_view_mean(knees: tuple[float, float], expected: float) -> None:
    assert compute("knees_flexion", front_pose(knee_flexion=knees)) == pytest.approx(expected,
                                                                                     abs=1e-6)


@pytest.mark.parametrize("bend", [0.0, 30.0, 75.0, 110.0])
def test_knee_flexion_3d_reads_a_knee_bending_toward_the_camera(bend: float) -> None:
    """Facing the camera, a knee bending in the sagittal plane moves along the depth axis:
    the picture's 2D angle stays near straight, the world landmarks' 3D angle is the bend."""
    frame = front_pose()
    world = np.zeros((NUM_LANDMARKS, 3))
    b = math.radians(bend)
    for side, x in (("LEFT", 0.1), ("RIGHT", -0.1)):
        hip, knee = np.array([x, 0.0, 0.0]), np.array([x, 0.45, -0.45 * math.sin(b / 2)])
        world[Landmark[f"{side}_HIP"]] = hip
        world[Landmark[f"{side}_KNEE"]] = knee
        # the shin turns back by ``bend`` from the thigh's direction, in the y-z plane
        thigh = (knee - hip) / np.linalg.norm(knee - hip)
        rot = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
        world[Landmark[f"{side}_ANKLE"]] = knee + 0.42 * rot @ thigh
    frame = dataclasses.replace(frame, world=world)
    assert compute("knee_flexion", frame, "left") == pytest.approx(0.0, abs=1e-6)
    assert compute("knee_flexion_3d", frame, "left") == pytest.approx(bend, abs=1e-6)
    assert compute("knee_flexion_3d", frame, "right") == pytest.approx(bend, abs=1e-6)
    assert compute("knee_flexion_3d_near", frame) == pytest.approx(bend, abs=1e-6)
    assert math.isnan(compute("knee_flexion_3d", dataclasses.replace(frame, world=None), "left"))


@pytest.mark.parametrize(("elbows", "expected"), [((180.0, 180.0), 180.0), ((90.0, 150.0), 120.0)])
def test_elbows_extension_mean(elbows: tuple[float, float], expected: float) -> None:
    frame = front_pose(elbow=elbows, abduction=(30.0, 30.0))
    assert compute("elbows_extension_mean", frame) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(("name", "reads"), [
    ("knee_flexion_near", ("hip", "knee", "ankle")),
    ("hip_flexion_near", ("shoulder", "hip", "knee")),
    ("ankle_dorsiflexion_near", ("knee", "ankle", "foot_index")),
    ("elbow_extension_near", ("shoulder", "elbow", "wrist")),
    ("body_line_near", ("shoulder", "hip", "ankle")),
])
def test_near_measures_declare_their_near_parts(name: str, reads: tuple[str, ...]) -> None:
    """The engine asks only for the near side's parts: each part the measure reads is
    declared, and without any of them on the near side the measure is NaN (never the far
    side's value)."""
    m = get_measure(name)
    assert m.near_side and not m.sided
    assert set(reads) <= set(m.near_side)
    frame = side_pose(knee_flexion=40.0, hip_flexion=50.0, elbow=100.0, trunk_incline=20.0)
    assert math.isfinite(m(frame))
    for part in reads:
        lm = L[f"LEFT_{part.upper()}"]
        assert math.isnan(m(_blank(frame, [lm]))), f"{name} without {lm.name}"


def test_whole_body_measures_state_unit_and_direction() -> None:
    """Each whole-body measure says its unit, what it approximates and which way it grows."""
    for name in ("knee_flexion", "hip_flexion", "ankle_dorsiflexion", "trunk_inclination"):
        m = get_measure(name)
        assert m.unit == "deg"
        assert "0 =" in m.description or "0 upright" in m.description, name
        assert "ncrease" in m.description or "90 =" in m.description, name


@pytest.mark.parametrize(("arms", "expected"), [
    ((100.0, 100.0), 100.0),   # level: the value itself
    ((96.0, 104.0), 100.0),    # level within noise: the mean, not the lower reading
    ((170.0, 10.0), 15.0),     # one arm up: the lower arm (+5), never a two-arm rep
    ((120.0, 60.0), 65.0),
])
def test_arms_elevation_is_the_mean_of_level_arms_and_the_lower_otherwise(
        arms: tuple[float, float], expected: float) -> None:
    assert compute("arms_elevation", front_pose(abduction=arms)) == pytest.approx(expected,
                                                                                  abs=0.01)


@pytest.mark.parametrize(("view", "drop"), [("front", 0.0), ("front", 1.0), ("side", 0.0),
                                            ("side", 1.0)])
def test_hip_height_reads_alike_from_the_front_and_the_side(view: str, drop: float) -> None:
    # trunk 160 px (shoulder to hip), shoulders 150 px apart facing the camera; the hips
    # 1.7 trunk lengths above the ankles standing, ``drop`` trunk lengths lower squatting
    trunk, ankle_y, x = 160.0, 440.0, 320.0
    hip_y = ankle_y - (1.7 - drop) * trunk
    half = 75.0 if view == "front" else 4.0  # side-on the shoulders overlap
    pts = {}
    for side, sign in (("LEFT", 1.0), ("RIGHT", -1.0)):
        lean = 0.0 if view == "front" else 0.7 * trunk * drop  # a squat leans the trunk
        pts[Landmark[f"{side}_HIP"]] = (x + sign * 0.6 * half, hip_y)
        pts[Landmark[f"{side}_SHOULDER"]] = (x + sign * half + lean,
                                             hip_y - math.sqrt(trunk**2 - lean**2))
        pts[Landmark[f"{side}_ANKLE"]] = (x + sign * 0.6 * half, ankle_y)
    frame = PoseFrame.from_points(pts, image_size=(640, 480))
    assert compute("hip_height", frame) == pytest.approx(1.7 - drop, abs=1e-6)


def test_the_arm_line_halves_the_shoulder_points_error_overhead() -> None:
    # MediaPipe's shoulder point sits on the raised shoulder's surface, off the joint: a
    # 10 px slip across the raised arm turns the 80 px upper arm's line ~9 degrees, the
    # 150 px whole arm's ~6
    frame = front_pose(abduction=(170.0, 170.0), elbow=(180.0, 180.0))
    assert compute("arm_line_elevation", frame, "left") == pytest.approx(170.0, abs=1e-6)
    xy = frame.xy.copy()
    xy[Landmark.LEFT_SHOULDER] += (10.0, 0.0)  # across the raised arm
    slipped = frame.with_xy(xy)
    whole = compute("arm_line_elevation", slipped, "left")
    upper = compute("shoulder_abduction", slipped, "left")
    assert abs(whole - 170.0) < 0.7 * abs(upper - 170.0)
    assert abs(upper - 170.0) > 3.0


def test_the_arm_line_is_not_the_upper_arm_when_the_elbow_bends() -> None:
    # "W" arms: the upper arm level (90), the hand up; the arm line reads the hand's
    # direction, which is why it is only for straight-arm stretches
    frame = front_pose(abduction=(90.0, 90.0), elbow=(90.0, 90.0))
    assert compute("shoulder_abduction", frame, "left") == pytest.approx(90.0, abs=1e-6)
    assert compute("arm_line_elevation", frame, "left") > 120.0


def test_trunk_upside_down_only_for_a_head_down_trunk() -> None:
    from exercises.measures import trunk_upside_down

    for lean in (-30.0, 0.0, 30.0):
        assert not trunk_upside_down(front_pose(trunk_lean=lean), 0.5)
        assert not trunk_upside_down(side_pose(), 0.5)
    f = front_pose()
    xy = f.xy.copy()
    xy[:, 1] = f.image_size[1] - xy[:, 1]  # head-down, as drawn on a close-up of the legs
    flipped = f.with_xy(xy)
    assert trunk_upside_down(flipped, 0.5)
    vis = flipped.visibility.copy()
    vis[23] = 0.1  # a hip not seen: no judgement
    assert not trunk_upside_down(dataclasses.replace(flipped, visibility=vis), 0.5)


@pytest.mark.parametrize("tilt", [-45.0, 30.0, 45.0])
def test_neck_tilt_survives_the_pose_swapping_its_shoulders(tilt: float) -> None:
    """The pose model sometimes swaps its left and right labels on a tilted head (seen on a
    generated 45 degree tilt: read as -135). The shoulder line is a line, not a direction."""
    frame = front_pose(neck_tilt=tilt)
    xy = frame.xy.copy()
    xy[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER]] = xy[[L.RIGHT_SHOULDER, L.LEFT_SHOULDER]]
    swapped = frame.with_xy(xy)
    assert compute("neck_lateral_tilt", swapped, "left") == pytest.approx(tilt, abs=0.01)
    assert compute("neck_lateral_tilt", swapped, "right") == pytest.approx(-tilt, abs=0.01)


def test_neck_tilt_past_any_neck_is_not_a_reading() -> None:
    """A shoulder line caught mid-swap (at right angles to the eyes) gives no value, not 90."""
    frame = front_pose(neck_tilt=10.0)
    xy = frame.xy.copy()
    mid = (xy[L.LEFT_SHOULDER] + xy[L.RIGHT_SHOULDER]) / 2
    xy[L.LEFT_SHOULDER] = mid + np.array([0.0, 60.0])
    xy[L.RIGHT_SHOULDER] = mid - np.array([0.0, 60.0])
    assert math.isnan(compute("neck_lateral_tilt", frame.with_xy(xy), "left"))


@pytest.mark.parametrize("bend", [50.0, 70.0, 85.0])   # facing, up to a thigh level
def test_knee_flexion_any_view_reads_the_picture_side_on_and_3d_facing(bend: float) -> None:
    """Side-on (thigh across the picture) the picture's angle is right and is used, even
    when the world landmarks disagree; facing the camera (the thigh pointing at it,
    shorter in the picture than the shin) the picture's angle reads near straight and
    the world landmarks' 3D angle is used."""
    b = math.radians(bend)
    hip, px = np.array([320.0, 200.0]), 250.0        # picture: pixels per metre
    side_on = front_pose()
    xy = side_on.xy.copy()
    world_straight = np.zeros((NUM_LANDMARKS, 3))
    for side in ("LEFT", "RIGHT"):
        # thigh forward and down by the bend, shin straight down: in the picture's plane
        knee = hip + 0.45 * px * np.array([math.sin(b), math.cos(b)])
        xy[Landmark[f"{side}_HIP"]], xy[Landmark[f"{side}_KNEE"]] = hip, knee
        xy[Landmark[f"{side}_ANKLE"]] = knee + np.array([0.0, 0.42 * px])
        world_straight[Landmark[f"{side}_KNEE"]] = (0.0, 0.45, 0.0)
        world_straight[Landmark[f"{side}_ANKLE"]] = (0.0, 0.87, 0.0)
    side_on = dataclasses.replace(side_on, xy=xy, world=world_straight)
    assert compute("knee_flexion_any_view_near", side_on) == pytest.approx(bend, abs=1e-6)

    facing = front_pose()
    xy, world = facing.xy.copy(), np.zeros((NUM_LANDMARKS, 3))
    for side, x in (("LEFT", 0.1), ("RIGHT", -0.1)):
        # the thigh turns toward the camera (-z) by the bend; the shin stays vertical
        w_hip = np.array([x, 0.0, 0.0])
        w_knee = w_hip + 0.45 * np.array([0.0, math.cos(b), -math.sin(b)])
        w_ankle = w_knee + np.array([0.0, 0.42, 0.0])
        for name, p in (("HIP", w_hip), ("KNEE", w_knee), ("ANKLE", w_ankle)):
            world[Landmark[f"{side}_{name}"]] = p
            xy[Landmark[f"{side}_{name}"]] = hip + px * p[:2]   # the picture drops depth
    facing = dataclasses.replace(facing, xy=xy, world=world)
    assert compute("knee_flexion_near", facing) == pytest.approx(0.0, abs=1e-6)
    assert compute("knee_flexion_any_view_near", facing) == pytest.approx(bend, abs=1e-6)
