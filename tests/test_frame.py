"""``PoseFrame``: shape checks with "expected ... got ..." messages, empty frames,
visibility (including points outside the image) and the JSON form."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from pose.frame import VISIBILITY_THRESHOLD, PoseFrame
from pose.landmarks import NUM_LANDMARKS, Landmark
from tests.builders import front_pose

L = Landmark
GOOD_XY = np.zeros((NUM_LANDMARKS, 2))
GOOD_VIS = np.ones(NUM_LANDMARKS)


def make(**overrides) -> PoseFrame:
    kwargs = dict(xy=GOOD_XY, visibility=GOOD_VIS, timestamp_s=0.0, image_size=(640, 480))
    kwargs.update(overrides)
    return PoseFrame(**kwargs)


# ---------------------------------------------------------------- construction checks

@pytest.mark.parametrize(("case", "overrides", "field", "got"), [
    ("xy too few landmarks", {"xy": np.zeros((17, 2))}, "xy", "(17, 2)"),
    ("xy normalised xyz", {"xy": np.zeros((NUM_LANDMARKS, 3))}, "xy", "(33, 3)"),
    ("xy transposed", {"xy": np.zeros((2, NUM_LANDMARKS))}, "xy", "(2, 33)"),
    ("xy flat", {"xy": np.zeros(66)}, "xy", "(66,)"),
    ("visibility wrong length", {"visibility": np.ones(32)}, "visibility", "(32,)"),
    ("visibility 2D", {"visibility": np.ones((NUM_LANDMARKS, 1))}, "visibility", "(33, 1)"),
    ("world 2D instead of 3D", {"world": np.zeros((NUM_LANDMARKS, 2))}, "world", "(33, 2)"),
    ("image size zero", {"image_size": (0, 480)}, "image_size", "(0, 480)"),
    ("image size negative", {"image_size": (640, -1)}, "image_size", "(640, -1)"),
    ("image size with 3 numbers", {"image_size": (640, 480, 3)}, "image_size", "(640, 480, 3)"),
    ("timestamp NaN", {"timestamp_s": float("nan")}, "timestamp_s", "nan"),
    ("timestamp infinite", {"timestamp_s": float("inf")}, "timestamp_s", "inf"),
    ("negative people", {"num_people": -1}, "num_people", "-1"),
])
def test_bad_shapes_raise_value_error_with_expected_and_got(case: str, overrides: dict,
                                                            field: str, got: str) -> None:
    with pytest.raises(ValueError, match=r"expected .+, got ") as info:
        make(**overrides)
    msg = str(info.value)
    assert f"PoseFrame.{field}" in msg, case
    assert got in msg.split("got", 1)[1], case
    assert "\n" not in msg


def test_valid_inputs_are_converted() -> None:
    """Lists and a float image size are accepted and normalised."""
    frame = make(xy=GOOD_XY.tolist(), visibility=GOOD_VIS.tolist(), image_size=[640.0, 480.0])
    assert isinstance(frame.xy, np.ndarray) and frame.xy.dtype == np.float64
    assert frame.xy.shape == (NUM_LANDMARKS, 2)
    assert frame.image_size == (640, 480)
    assert all(isinstance(v, int) for v in frame.image_size)


def test_visibility_is_clipped_and_nan_becomes_zero() -> None:
    vis = np.full(NUM_LANDMARKS, 0.9)
    vis[0], vis[1], vis[2] = np.nan, 1.7, -0.3
    frame = make(visibility=vis)
    assert frame.visibility[0] == 0.0
    assert frame.visibility[1] == 1.0
    assert frame.visibility[2] == 0.0
    assert frame.visibility[3] == pytest.approx(0.9)


def test_frame_is_frozen() -> None:
    frame = make()
    with pytest.raises(AttributeError):
        frame.timestamp_s = 3.0  # type: ignore[misc]


# ---------------------------------------------------------------- empty

def test_empty_frame_is_a_normal_value() -> None:
    frame = PoseFrame.empty(timestamp_s=1.25, image_size=(1280, 720))
    assert frame.is_empty
    assert frame.num_people == 0
    assert frame.timestamp_s == 1.25
    assert frame.image_size == (1280, 720)
    assert frame.xy.shape == (NUM_LANDMARKS, 2) and np.all(np.isnan(frame.xy))
    assert np.all(frame.visibility == 0)
    assert all(not frame.visible(lm) for lm in Landmark)
    assert frame.missing(Landmark) == list(Landmark)


def test_empty_frame_can_record_several_people() -> None:
    frame = PoseFrame.empty(0.0, (640, 480), num_people=2)
    assert frame.is_empty and frame.num_people == 2


def test_empty_frame_still_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="image_size"):
        PoseFrame.empty(0.0, (0, 0))


def test_non_empty_frame_is_not_empty() -> None:
    assert not front_pose().is_empty


# ---------------------------------------------------------------- visible / missing

W, H = 640, 480


@pytest.mark.parametrize(("case", "xy", "vis", "expected"), [
    ("centre, confident", (320, 240), 0.9, True),
    ("exactly at the threshold", (320, 240), VISIBILITY_THRESHOLD, True),
    ("just below the threshold", (320, 240), VISIBILITY_THRESHOLD - 0.01, False),
    ("unknown position", (np.nan, 240), 0.9, False),
    ("infinite position", (np.inf, 240), 0.9, False),
    ("on the left edge", (0, 240), 0.9, True),
    ("on the bottom edge", (320, H), 0.9, True),
    ("1% outside on the right (tolerance)", (W * 1.01, 240), 0.9, True),
    ("far outside on the right", (W * 1.2, 240), 0.9, False),
    ("outside on the left", (-0.15 * W, 240), 0.95, False),
    ("3% outside on the left, unsure", (-0.03 * W, 240), 0.6, False),
    ("below the image", (320, H * 1.12), 0.99, False),
    ("just below the image, confident", (320, H * 1.08), 0.95, True),
    ("just below the image, unsure", (320, H * 1.08), 0.8, False),
    ("above the image", (320, -0.05 * H), 0.8, False),
    ("just above the image, confident", (320, -0.05 * H), 0.9, True),
])
def test_visible(case: str, xy, vis: float, expected: bool) -> None:
    pts = np.full((NUM_LANDMARKS, 2), np.nan)
    pts[L.LEFT_WRIST] = xy
    v = np.zeros(NUM_LANDMARKS)
    v[L.LEFT_WRIST] = vis
    frame = make(xy=pts, visibility=v, image_size=(W, H))
    assert frame.visible(L.LEFT_WRIST) is expected, case
    assert (frame.missing([L.LEFT_WRIST]) == [L.LEFT_WRIST]) is (not expected), case


def test_visible_uses_the_threshold_argument() -> None:
    frame = front_pose(visibility=0.6)
    assert frame.visible(L.NOSE, threshold=0.5)
    assert not frame.visible(L.NOSE, threshold=0.7)


def test_missing_keeps_order_and_only_lists_unseen() -> None:
    frame = front_pose()
    pts = frame.xy.copy()
    pts[L.LEFT_WRIST] = (W + 200, 100)   # out of the picture
    vis = frame.visibility.copy()
    vis[L.RIGHT_EAR] = 0.1               # occluded
    frame = make(xy=pts, visibility=vis)
    asked = [L.RIGHT_EAR, L.NOSE, L.LEFT_WRIST, L.LEFT_SHOULDER, L.LEFT_ANKLE]
    # the builder leaves ankles unknown (NaN, visibility 0)
    assert frame.missing(asked) == [L.RIGHT_EAR, L.LEFT_WRIST, L.LEFT_ANKLE]


def test_point_returns_pixels() -> None:
    frame = PoseFrame.from_points({L.NOSE: (12.5, 30.0)}, image_size=(100, 50))
    np.testing.assert_allclose(frame.point(L.NOSE), [12.5, 30.0])
    assert frame.visible(L.NOSE)
    assert np.all(np.isnan(frame.point(L.LEFT_EAR)))
    assert not frame.visible(L.LEFT_EAR)


def test_with_xy_is_a_checked_copy() -> None:
    frame = front_pose(t=2.0)
    moved = frame.with_xy(frame.xy + 1.0)
    assert moved is not frame
    np.testing.assert_allclose(moved.xy, frame.xy + 1.0)
    assert moved.timestamp_s == 2.0
    np.testing.assert_allclose(frame.xy, front_pose(t=2.0).xy)  # original untouched
    with pytest.raises(ValueError, match=r"expected shape \(33, 2\), got \(3, 2\)"):
        frame.with_xy(np.zeros((3, 2)))


# ---------------------------------------------------------------- to_dict

def _has_nan(obj: object) -> bool:
    if isinstance(obj, float):
        return not math.isfinite(obj)
    if isinstance(obj, dict):
        return any(_has_nan(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(_has_nan(v) for v in obj)
    return False


@pytest.mark.parametrize("case", ["builder pose", "partly unknown", "empty", "from_points"])
def test_to_dict_is_strict_json(case: str) -> None:
    if case == "builder pose":
        frame = front_pose(t=1.23456789, neck_tilt=20)
    elif case == "partly unknown":
        frame = front_pose()  # ankles, heels, feet... are NaN
    elif case == "empty":
        frame = PoseFrame.empty(3.0, (640, 480), num_people=2)
    else:
        frame = PoseFrame.from_points({L.NOSE: (1.0, 2.0)}, timestamp_s=0.5)
    d = frame.to_dict()
    assert not _has_nan(d), case
    text = json.dumps(d, allow_nan=False)  # raises on NaN/inf
    back = json.loads(text)
    assert back["num_people"] == frame.num_people
    assert back["t"] == pytest.approx(frame.timestamp_s, abs=1e-4)
    if frame.is_empty:
        assert back["xy"] is None and back["visibility"] is None
    else:
        assert len(back["xy"]) == NUM_LANDMARKS and len(back["visibility"]) == NUM_LANDMARKS
        for (x, y), (px, py) in zip(back["xy"], frame.xy, strict=True):
            if math.isfinite(px):
                assert x == pytest.approx(px, abs=0.05) and y == pytest.approx(py, abs=0.05)
            else:
                assert x is None


def test_to_dict_unknown_landmark_is_null() -> None:
    frame = PoseFrame.from_points({L.NOSE: (1.0, 2.0)})
    text = json.dumps(frame.to_dict(), allow_nan=False)
    assert re.search(r"\[null, null\]", text)
