"""Head-pose math (pure numpy): mesh points at a known orientation -> the same angles back;
the head ROI's crop/un-crop mapping; the HeadPose checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pose.face import HeadRoi, roi_from_mesh
from pose.head import MESH_SIZE, HeadPose, head_axes, head_rotation_angles
from tests.builders import face_mesh, rot_x, rot_y, rot_z


def _posed(rotation: np.ndarray, center: tuple[float, float] = (320, 200)) -> np.ndarray:
    return face_mesh(rotation, center)


@pytest.mark.parametrize(
    ("roll", "yaw", "pitch"),
    [(0, 0, 0), (30, 0, 0), (-44, 0, 0), (0, 55, 0), (0, -70, 0), (0, 0, 20), (0, 0, -15)],
)
def test_single_axis_rotations_read_back(roll: float, yaw: float, pitch: float) -> None:
    # yaw toward the person's left: their left side goes away from the camera (+z);
    # a head axis frame rotated about image-down (y) by -yaw does that; face down
    # (chin to chest) turns the forward axis -Z toward image-down: a rotation about x.
    r = rot_z(roll) @ rot_y(-yaw) @ rot_x(pitch)
    got = head_rotation_angles(head_axes(_posed(r)))
    assert got == pytest.approx((roll, yaw, pitch), abs=1e-6)


def test_head_axes_are_a_rotation() -> None:
    r = rot_z(20) @ rot_y(-35) @ rot_x(10)
    axes = head_axes(_posed(r))
    assert axes == pytest.approx(r, abs=1e-9)
    assert np.linalg.det(axes) == pytest.approx(1.0)


def test_roll_is_independent_of_translation_and_scale() -> None:
    r = rot_z(-25)
    a = head_rotation_angles(head_axes(_posed(r)))
    b = head_rotation_angles(head_axes(_posed(r) * 0.3 + 100))
    assert a == pytest.approx(b, abs=1e-9)


def test_degenerate_points_give_nan() -> None:
    axes = head_axes(np.zeros((MESH_SIZE, 3)))
    assert np.isnan(axes).all()
    assert all(math.isnan(v) for v in head_rotation_angles(axes))


def test_head_axes_checks_shape() -> None:
    with pytest.raises(ValueError, match=r"expected points of shape \(468, 3\), got \(10, 3\)"):
        head_axes(np.zeros((10, 3)))


def test_head_pose_checks_and_derives_angles() -> None:
    head = HeadPose(points=_posed(rot_z(12)), presence=0.9)
    assert head.roll_deg == pytest.approx(12)
    assert head.yaw_deg == pytest.approx(0, abs=1e-9)
    assert head.is_valid
    assert head.point("chin") == pytest.approx(head.points[152, :2])
    with pytest.raises(ValueError, match=r"HeadPose.points: expected shape \(468, 3\)"):
        HeadPose(points=np.zeros((468, 2)), presence=0.9)
    with pytest.raises(ValueError, match=r"presence: expected a value in \[0, 1\]"):
        HeadPose(points=_posed(np.eye(3)), presence=1.5)
    with pytest.raises(KeyError, match="unknown face point 'ear'"):
        head.point("ear")
    assert not head.points.flags.writeable


@pytest.mark.parametrize("angle", [0.0, 20.0, -40.0, 135.0])
def test_roi_crop_and_back_are_inverse(angle: float) -> None:
    roi = HeadRoi(center=np.array([300.0, 180.0]), side=96.0, angle_rad=math.radians(angle))
    m = roi.crop_matrix(192)
    image_pts = np.array([[300.0, 180.0], [340.0, 150.0], [260.0, 230.0]])
    crop = image_pts @ m[:, :2].T + m[:, 2]
    assert crop[0] == pytest.approx([96.0, 96.0])  # the centre maps to the crop's centre
    back = roi.to_image(np.column_stack([crop, [0.0, 2.0, -4.0]]), 192)
    assert back[:, :2] == pytest.approx(image_pts)
    assert back[:, 2] == pytest.approx([0.0, 1.0, -2.0])  # depth rescaled with x and y


def test_roi_crop_makes_a_tilted_line_upright() -> None:
    """A line at the ROI's angle in the image is horizontal in the crop."""
    roi = HeadRoi(center=np.array([200.0, 200.0]), side=100.0, angle_rad=math.radians(30))
    m = roi.crop_matrix(192)
    d = np.array([math.cos(math.radians(30)), math.sin(math.radians(30))]) * 20
    a, b = np.array([200.0, 200.0]) - d, np.array([200.0, 200.0]) + d
    ca, cb = m[:, :2] @ a + m[:, 2], m[:, :2] @ b + m[:, 2]
    assert ca[1] == pytest.approx(cb[1])
    assert cb[0] > ca[0]


def test_roi_from_mesh_follows_the_eye_line() -> None:
    pts = _posed(rot_z(25))
    pts[:, :2] = np.clip(pts[:, :2], 100, 540)  # keep scattered points near the face
    roi = roi_from_mesh(pts)
    assert math.degrees(roi.angle_rad) == pytest.approx(25, abs=1e-6)
    assert roi.side > 0


@pytest.mark.parametrize(("yaw", "roll"), [(30, 44), (-40, -20), (55, 10)])
def test_yaw_ignores_a_tilt_about_the_face_axis(yaw: float, roll: float) -> None:
    """A head turned, then tilted about its own forward axis, still reads the same turn."""
    r = rot_y(-yaw) @ rot_z(roll)
    _, got_yaw, got_pitch = head_rotation_angles(head_axes(_posed(r)))
    assert got_yaw == pytest.approx(yaw, abs=1e-6)
    assert got_pitch == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("roll", [0.0, 15.0, -44.0])
def test_eye_line_follows_the_in_image_tilt(roll: float) -> None:
    head = HeadPose(points=_posed(rot_z(roll)), presence=0.9)
    assert head.eye_line_deg == pytest.approx(roll, abs=1e-9)
    assert head.eye_line_deg == pytest.approx(head.roll_deg, abs=1e-9)
