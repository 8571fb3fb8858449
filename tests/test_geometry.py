"""Round trips for ``pose.geometry``: build points at a known angle, measure it, get it back.

Conventions under test (from ``pose/geometry.py``): pixel coordinates, x right, y *down*;
``signed_angle`` is positive counter-clockwise *as seen on screen*;
``inclination_from_vertical`` is 0 for straight up and positive leaning to the image's
right; ``inclination_from_horizontal`` is 0 pointing right and positive when the end is
higher on screen. Points are built here with plain trigonometry in screen coordinates,
independently of the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pose.geometry import (
    inclination_from_horizontal,
    inclination_from_vertical,
    joint_angle,
    joint_angle_3d,
    midpoint,
    signed_angle,
    wrap_degrees,
)

NAN = float("nan")


def screen_dir(deg: float) -> np.ndarray:
    """Unit vector at ``deg`` counter-clockwise *on screen* from the image's rightward axis.

    Screen y points down, so "counter-clockwise on screen" means y decreases for small
    positive angles: 90 is straight up, i.e. (0, -1).
    """
    a = math.radians(deg)
    return np.array([math.cos(a), -math.sin(a)])


# ---------------------------------------------------------------- joint_angle

@pytest.mark.parametrize("angle", [0.0, 0.5, 1.0, 10.0, 45.0, 89.0, 90.0, 91.0, 135.0,
                                   170.0, 179.0, 179.5, 180.0])
@pytest.mark.parametrize("rotation", [0.0, 33.0, 90.0, 200.0, -75.0])
def test_joint_angle_round_trip(angle: float, rotation: float) -> None:
    vertex = np.array([300.0, 200.0])
    a = vertex + 80.0 * screen_dir(rotation)
    c = vertex + 55.0 * screen_dir(rotation + angle)
    assert joint_angle(a, vertex, c) == pytest.approx(angle, abs=1e-6)
    # unsigned: the order of the two arms does not matter
    assert joint_angle(c, vertex, a) == pytest.approx(angle, abs=1e-6)


@pytest.mark.parametrize("angle", [0.0, 0.5, 30.0, 90.0, 135.0, 179.5, 180.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_joint_angle_3d_round_trip(angle: float, seed: int) -> None:
    """Two arms at ``angle`` in a random plane through a random vertex read ``angle``."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))  # a random rotation (or reflection)
    vertex = rng.normal(size=3)
    a = vertex + 0.4 * q[:, 0]
    c = vertex + 0.3 * (math.cos(math.radians(angle)) * q[:, 0]
                        + math.sin(math.radians(angle)) * q[:, 1])
    assert joint_angle_3d(a, vertex, c) == pytest.approx(angle, abs=1e-6)
    assert joint_angle_3d(c, vertex, a) == pytest.approx(angle, abs=1e-6)
    assert math.isnan(joint_angle_3d(vertex, vertex, c))
    assert math.isnan(joint_angle_3d(a, vertex, np.array([np.nan, 0.0, 0.0])))


@pytest.mark.parametrize(("case", "a", "vertex", "c", "expected"), [
    ("straight arm", (0, 0), (10, 0), (20, 0), 180.0),
    ("folded back exactly", (20, 0), (10, 0), (30, 0), 0.0),
    ("right angle", (10, -10), (10, 0), (20, 0), 90.0),
    ("straight, vertical", (5, 0), (5, 50), (5, 100), 180.0),
])
def test_joint_angle_exact_table(case: str, a, vertex, c, expected: float) -> None:
    got = joint_angle(np.array(a, float), np.array(vertex, float), np.array(c, float))
    assert got == pytest.approx(expected, abs=1e-9), case
    assert 0.0 <= got <= 180.0


# ---------------------------------------------------------------- signed_angle

@pytest.mark.parametrize("angle", [-179.0, -135.0, -90.0, -30.0, -1.0, 0.0, 1.0, 30.0, 90.0,
                                   135.0, 179.0, 180.0])
@pytest.mark.parametrize("rotation", [0.0, 47.0, -120.0, 180.0])
def test_signed_angle_round_trip(angle: float, rotation: float) -> None:
    u = 3.0 * screen_dir(rotation)
    v = 7.0 * screen_dir(rotation + angle)
    got = signed_angle(u, v)
    if abs(angle) == 180.0:
        # the range is (-180, 180]: a half turn is reported as +180, never -180
        assert abs(got) == pytest.approx(180.0, abs=1e-9)
    else:
        assert got == pytest.approx(angle, abs=1e-6)
    assert -180.0 < got <= 180.0


@pytest.mark.parametrize(("case", "u", "v", "expected"), [
    ("right to up is counter-clockwise on screen", (1, 0), (0, -1), 90.0),
    ("right to down is clockwise on screen", (1, 0), (0, 1), -90.0),
    ("up to left is counter-clockwise", (0, -1), (-1, 0), 90.0),
    ("same direction", (2, 2), (5, 5), 0.0),
])
def test_signed_angle_sign_convention(case: str, u, v, expected: float) -> None:
    assert signed_angle(np.array(u, float), np.array(v, float)) == pytest.approx(expected), case


def test_signed_angle_has_no_flip_near_180() -> None:
    """Sweep 170..190 degrees in small steps: after unwrapping, the result is continuous."""
    sweep = np.arange(170.0, 190.0001, 0.05)
    u = screen_dir(12.0)
    got = np.array([signed_angle(u, screen_dir(12.0 + a)) for a in sweep])
    assert np.all(np.isfinite(got))
    unwrapped = np.degrees(np.unwrap(np.radians(got)))
    # the first sample (170) is inside (-180, 180], so after unwrapping it is the sweep itself
    np.testing.assert_allclose(unwrapped, sweep, atol=1e-6)
    # consecutive samples never jump by more than the step (no ±360 flips, no 2x-angle jumps)
    assert np.max(np.abs(np.diff(unwrapped))) < 0.05 + 1e-6
    # and the only wrap is a single one, at the half turn
    jumps = np.abs(np.diff(got)) > 180.0
    assert jumps.sum() == 1


def test_joint_angle_continuous_through_straight() -> None:
    """A straight limb (180) does not read as something else when slightly over-bent."""
    vertex = np.array([100.0, 100.0])
    a = vertex + 50.0 * screen_dir(0.0)
    sweep = np.arange(170, 190.01, 0.5)
    got = [joint_angle(a, vertex, vertex + 50.0 * screen_dir(d)) for d in sweep]
    expected = [180.0 - abs(180.0 - d) for d in sweep]
    np.testing.assert_allclose(got, expected, atol=1e-6)


# ---------------------------------------------------------------- inclinations

@pytest.mark.parametrize("lean", [-179.0, -120.0, -45.0, -10.0, 0.0, 10.0, 45.0, 90.0, 120.0,
                                  179.0])
def test_inclination_from_vertical_round_trip(lean: float) -> None:
    # positive lean = toward the image's right = clockwise on screen from straight up
    start = np.array([320.0, 400.0])
    end = start + 160.0 * screen_dir(90.0 - lean)
    assert inclination_from_vertical(start, end) == pytest.approx(lean, abs=1e-6)


@pytest.mark.parametrize(("case", "start", "end", "expected"), [
    ("straight up", (0, 100), (0, 0), 0.0),
    ("leans to image right", (0, 100), (100, 0), 45.0),
    ("leans to image left", (0, 100), (-100, 0), -45.0),
    ("horizontal to the right", (0, 0), (10, 0), 90.0),
    ("horizontal to the left", (0, 0), (-10, 0), -90.0),
])
def test_inclination_from_vertical_table(case: str, start, end, expected: float) -> None:
    got = inclination_from_vertical(np.array(start, float), np.array(end, float))
    assert got == pytest.approx(expected), case


def test_inclination_from_vertical_straight_down_is_half_turn() -> None:
    got = inclination_from_vertical(np.array([0.0, 0.0]), np.array([0.0, 50.0]))
    assert abs(got) == pytest.approx(180.0)


@pytest.mark.parametrize("angle", [-170.0, -90.0, -30.0, 0.0, 30.0, 90.0, 170.0, 180.0])
def test_inclination_from_horizontal_round_trip(angle: float) -> None:
    start = np.array([50.0, 50.0])
    end = start + 40.0 * screen_dir(angle)
    got = inclination_from_horizontal(start, end)
    if angle == 180.0:
        assert abs(got) == pytest.approx(180.0)
    else:
        assert got == pytest.approx(angle, abs=1e-6)


@pytest.mark.parametrize(("case", "start", "end", "expected"), [
    ("end higher on screen is positive", (0, 100), (100, 0), 45.0),
    ("end lower on screen is negative", (0, 0), (100, 100), -45.0),
    ("level", (0, 7), (3, 7), 0.0),
])
def test_inclination_from_horizontal_table(case: str, start, end, expected: float) -> None:
    got = inclination_from_horizontal(np.array(start, float), np.array(end, float))
    assert got == pytest.approx(expected), case


# ---------------------------------------------------------------- pixels, not normalised

@pytest.mark.parametrize("image_size", [(1280, 720), (720, 1280), (640, 480), (100, 1000)])
def test_angles_are_in_pixel_space_on_non_square_images(image_size: tuple[int, int]) -> None:
    """A 45° segment in pixels reads 45°, whatever the image's aspect ratio.

    Measuring the same points in normalised coordinates (x / width, y / height) would
    give a different angle on a non-square image; the functions take pixels.
    """
    w, h = image_size
    start = np.array([0.2 * w, 0.8 * h])
    end = start + np.array([60.0, -60.0])  # 60 px right, 60 px up: 45 degrees
    assert inclination_from_horizontal(start, end) == pytest.approx(45.0)
    assert inclination_from_vertical(start, end) == pytest.approx(45.0)
    vertex = start
    a = start + np.array([90.0, 0.0])
    assert joint_angle(a, vertex, end) == pytest.approx(45.0)
    if w != h:
        # the normalised version of the same points would not read 45: proves the test bites
        norm = np.array([w, h], dtype=float)
        assert inclination_from_horizontal(start / norm, end / norm) != pytest.approx(45.0,
                                                                                       abs=1)


# ---------------------------------------------------------------- NaN and degenerate input

P = np.array([10.0, 10.0])
Q = np.array([20.0, 15.0])
R = np.array([5.0, 40.0])
N = np.array([np.nan, 3.0])
INF = np.array([np.inf, 3.0])


@pytest.mark.parametrize(("case", "fn", "args"), [
    ("joint_angle, NaN first arm", joint_angle, (N, P, Q)),
    ("joint_angle, NaN vertex", joint_angle, (P, N, Q)),
    ("joint_angle, NaN second arm", joint_angle, (P, Q, N)),
    ("joint_angle, infinite point", joint_angle, (INF, P, Q)),
    ("joint_angle, zero-length first arm", joint_angle, (P, P, Q)),
    ("joint_angle, zero-length second arm", joint_angle, (R, Q, Q)),
    ("signed_angle, NaN u", signed_angle, (N, Q)),
    ("signed_angle, NaN v", signed_angle, (Q, N)),
    ("signed_angle, zero u", signed_angle, (np.zeros(2), Q)),
    ("signed_angle, zero v", signed_angle, (Q, np.zeros(2))),
    ("inclination_from_vertical, NaN end", inclination_from_vertical, (P, N)),
    ("inclination_from_vertical, same point", inclination_from_vertical, (P, P)),
    ("inclination_from_horizontal, NaN start", inclination_from_horizontal, (N, P)),
    ("inclination_from_horizontal, same point", inclination_from_horizontal, (Q, Q)),
])
def test_nan_or_degenerate_input_gives_nan(case: str, fn, args) -> None:
    got = fn(*args)
    assert isinstance(got, float), case
    assert math.isnan(got), case


def test_midpoint() -> None:
    np.testing.assert_allclose(midpoint(np.array([0.0, 10.0]), np.array([4.0, 20.0])),
                               [2.0, 15.0])
    assert np.isnan(midpoint(N, P)[0])


# ---------------------------------------------------------------- wrap_degrees

@pytest.mark.parametrize(("angle", "expected"), [
    (0.0, 0.0),
    (45.0, 45.0),
    (-45.0, -45.0),
    (179.9, 179.9),
    (180.0, 180.0),      # the range is (-180, 180]: +180 stays
    (-180.0, 180.0),     # and -180 maps onto it
    (181.0, -179.0),
    (-181.0, 179.0),
    (360.0, 0.0),
    (-360.0, 0.0),
    (540.0, 180.0),
    (-540.0, 180.0),
    (725.0, 5.0),
    (-725.0, -5.0),
    (1e6, -80.0),        # 1e6 = 2778 turns (1,000,080) - 80
])
def test_wrap_degrees(angle: float, expected: float) -> None:
    got = wrap_degrees(angle)
    assert got == pytest.approx(expected, abs=1e-9)
    assert -180.0 < got <= 180.0


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_wrap_degrees_non_finite_gives_nan(bad: float) -> None:
    assert math.isnan(wrap_degrees(bad))
