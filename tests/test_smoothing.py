"""One-Euro smoothing: less jitter when still, follows steps and ramps, NaN and gaps, and
time-based behaviour under irregular frame timing.

A useful closed form: with ``beta = 0`` the filter is a first-order low-pass with time
constant ``tau = 1 / (2π min_cutoff)`` and ``alpha = 1 / (1 + tau/dt)``. On a ramp of
slope ``v`` the steady-state lag ``e`` satisfies ``e = (1 - alpha)(e + v dt)``, i.e.
``e = v tau`` whatever ``dt`` is, and it stays exactly ``v tau`` from one sample to the
next even when ``dt`` changes. So the lag of a still-cut-off filter is a property of time,
not of the frame rate.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pose.frame import PoseFrame
from pose.landmarks import NUM_LANDMARKS
from pose.smoothing import OneEuroFilter, PoseSmoother
from tests.builders import front_pose


def run_filter(f: OneEuroFilter, values, times) -> np.ndarray:
    return np.array([f(np.asarray(v, dtype=float), t) for v, t in zip(values, times,
                                                                      strict=True)])


# ---------------------------------------------------------------- jitter

@pytest.mark.parametrize("fps", [30.0, 60.0])
def test_still_noisy_signal_matches_low_pass_theory(fps: float) -> None:
    """With beta = 0, white jitter through x_n = a*raw + (1-a)*x_(n-1) keeps a variance
    share a / (2 - a), so the variance drops by (2 - a) / a: 7.4x at 30 fps, 13.7x at 60."""
    rng = np.random.default_rng(3)
    n = int(60 * fps)
    times = np.arange(n) / fps
    raw = 100.0 + rng.normal(0.0, 2.0, size=(n, 2))  # ~2 px landmark jitter
    fc = 1.5
    out = run_filter(OneEuroFilter(min_cutoff_hz=fc, beta=0.0), raw, times)
    a = 1.0 / (1.0 + (1.0 / (2 * math.pi * fc)) * fps)
    settle = int(2 * fps)  # skip the start-up
    ratio = raw[settle:].var(axis=0) / out[settle:].var(axis=0)
    np.testing.assert_allclose(ratio, (2 - a) / a, rtol=0.15)
    assert np.all(ratio > 7.0)
    # and no bias: the filtered value stays around the true position
    assert np.allclose(out[settle:].mean(axis=0), 100.0, atol=0.5)


@pytest.mark.parametrize("fps", [30.0, 60.0])
def test_still_noisy_signal_jitter_is_reduced_with_defaults(fps: float) -> None:
    """The default filter (beta > 0) still cuts the jitter variance several times over.

    Less than with beta = 0: the speed estimate (change over one frame) is driven by the
    jitter itself (2 px in 33 ms reads as 60 px/s), which raises the cut-off a little.
    """
    rng = np.random.default_rng(3)
    n = int(30 * fps)
    times = np.arange(n) / fps
    raw = 100.0 + rng.normal(0.0, 2.0, size=(n, 2))
    out = run_filter(OneEuroFilter(), raw, times)
    settle = int(2 * fps)
    ratio = raw[settle:].var(axis=0) / out[settle:].var(axis=0)
    assert np.all(ratio > 4.0), ratio


# ---------------------------------------------------------------- following motion

@pytest.mark.parametrize(("fps", "within_s"), [(30.0, 0.5), (60.0, 0.5), (15.0, 0.5)])
def test_follows_a_step(fps: float, within_s: float) -> None:
    """A landmark that jumps 100 px is followed to within 1 px in ``within_s`` seconds."""
    n = int(3 * fps)
    times = np.arange(n) / fps
    step_at = n // 3
    raw = np.where(np.arange(n) < step_at, 0.0, 100.0)
    out = run_filter(OneEuroFilter(), raw, times)
    assert out[step_at - 1] == pytest.approx(0.0)
    after = times - times[step_at]
    # monotone approach, never overshooting
    seg = out[step_at:]
    assert np.all(np.diff(seg) >= -1e-9) and np.all(seg <= 100.0 + 1e-9)
    assert np.all(np.abs(out[after >= within_s] - 100.0) < 1.0)
    # but it is a filter: the first sample after the step is not the raw value
    assert out[step_at] < 100.0


@pytest.mark.parametrize("schedule", ["60 fps", "15 fps", "irregular"])
def test_ramp_lag_is_a_time_not_a_frame_count(schedule: str) -> None:
    """With beta = 0 the steady-state lag on a ramp is v / (2π min_cutoff) at any frame
    timing (see the module docstring)."""
    v, fc = 120.0, 1.5   # px/s, Hz
    if schedule == "60 fps":
        times = np.arange(0, 6, 1 / 60)
    elif schedule == "15 fps":
        times = np.arange(0, 6, 1 / 15)
    else:
        rng = np.random.default_rng(11)
        times = np.cumsum(rng.uniform(0.01, 0.12, size=120))
    out = run_filter(OneEuroFilter(min_cutoff_hz=fc, beta=0.0), v * times, times)
    lag = v * times - out
    late = times > 4.0
    assert np.allclose(lag[late], v / (2 * math.pi * fc), rtol=1e-3), schedule


def test_speed_lowers_the_lag() -> None:
    """beta > 0 raises the cut-off with speed: less lag on a fast ramp than beta = 0."""
    times = np.arange(0, 4, 1 / 30)
    raw = 300.0 * times
    slow = raw - run_filter(OneEuroFilter(beta=0.0), raw, times)
    fast = raw - run_filter(OneEuroFilter(beta=0.05), raw, times)
    assert fast[-1] < 0.5 * slow[-1]


@pytest.mark.parametrize(("case", "kwargs"), [
    ("zero cut-off", {"min_cutoff_hz": 0.0}),
    ("negative beta", {"beta": -0.1}),
    ("zero derivative cut-off", {"d_cutoff_hz": 0.0}),
])
def test_bad_parameters_raise(case: str, kwargs: dict) -> None:
    with pytest.raises(ValueError, match="OneEuroFilter"):
        OneEuroFilter(**kwargs)


# ---------------------------------------------------------------- NaN and resets

def test_nan_passes_through_and_restarts_that_entry() -> None:
    f = OneEuroFilter()
    times = np.arange(12) / 30.0
    for t in times[:10]:
        f(np.array([10.0, 20.0]), t)
    out = f(np.array([np.nan, 25.0]), times[10])
    assert math.isnan(out[0])                 # unknown stays unknown, never invented
    assert 20.0 < out[1] < 25.0               # the other entry is still filtered
    back = f(np.array([50.0, 25.0]), times[11])
    assert back[0] == pytest.approx(50.0)     # restarts at the new value, no pull from 10
    assert np.all(np.isfinite(back))


def test_nan_does_not_poison_the_speed_estimate() -> None:
    f = OneEuroFilter(beta=0.05)
    t = 0.0
    for _ in range(30):
        f(np.array([5.0]), t)
        t += 1 / 30
    f(np.array([np.nan]), t)
    for _ in range(30):
        t += 1 / 30
        out = f(np.array([5.0]), t)
        assert np.isfinite(out).all()
    assert out[0] == pytest.approx(5.0)


def test_reset_forgets_history() -> None:
    f = OneEuroFilter()
    for i in range(30):
        f(np.array([0.0]), i / 30)
    f.reset()
    assert f(np.array([80.0]), 1.1)[0] == pytest.approx(80.0)


def test_time_going_backwards_restarts() -> None:
    f = OneEuroFilter()
    for i in range(10):
        f(np.array([0.0]), 1.0 + i / 30)
    assert f(np.array([40.0]), 0.5)[0] == pytest.approx(40.0)


def _pose(t: float, dx: float = 0.0) -> PoseFrame:
    frame = front_pose(t=t)
    return frame.with_xy(frame.xy + np.array([dx, 0.0]))


def test_pose_smoother_resets_after_a_gap_with_nobody() -> None:
    s = PoseSmoother(reset_after_s=0.5)
    for i in range(30):
        s(_pose(i / 30))
    for t in (1.1, 1.3, 1.5):             # nobody for more than reset_after_s
        empty = PoseFrame.empty(t, (640, 480))
        assert s(empty) is empty
    out = s(_pose(1.6, dx=60.0))          # a new person 60 px away: nothing inherited
    np.testing.assert_allclose(out.xy, _pose(1.6, dx=60.0).xy, equal_nan=True)


def test_pose_smoother_resets_after_a_time_gap_without_frames() -> None:
    s = PoseSmoother(reset_after_s=0.5)
    for i in range(30):
        s(_pose(i / 30))
    out = s(_pose(2.0, dx=60.0))          # 1 s later: nothing inherited
    np.testing.assert_allclose(out.xy, _pose(2.0, dx=60.0).xy, equal_nan=True)


def test_pose_smoother_keeps_history_over_a_short_gap() -> None:
    s = PoseSmoother(reset_after_s=0.5)
    for i in range(30):
        s(_pose(i / 30))
    s(PoseFrame.empty(1.0, (640, 480)))
    out = s(_pose(1.1, dx=60.0))          # 0.13 s gap: still filtered toward the old place
    raw = _pose(1.1, dx=60.0).xy
    known = np.isfinite(raw[:, 0])
    assert np.all(out.xy[known, 0] < raw[known, 0] - 1.0)


def test_pose_smoother_keeps_the_frame_metadata() -> None:
    s = PoseSmoother()
    frame = PoseFrame(xy=front_pose().xy, visibility=front_pose().visibility, timestamp_s=0.0,
                      image_size=(1280, 720), world=np.zeros((NUM_LANDMARKS, 3)), num_people=1)
    out = s(frame)
    assert out.image_size == (1280, 720) and out.world is not None
    assert out.timestamp_s == 0.0
    # unknown landmarks stay unknown
    assert np.array_equal(np.isnan(out.xy), np.isnan(frame.xy))


def test_pose_smoother_reduces_landmark_jitter() -> None:
    rng = np.random.default_rng(5)
    s = PoseSmoother()
    base = front_pose()
    known = np.isfinite(base.xy[:, 0])
    raws, outs = [], []
    for i in range(300):
        noisy = base.xy + rng.normal(0, 2.0, size=base.xy.shape)
        frame = PoseFrame(xy=noisy, visibility=base.visibility, timestamp_s=i / 30,
                          image_size=base.image_size)
        raws.append(noisy[known])
        outs.append(s(frame).xy[known])
    raw_var = np.var(np.array(raws)[60:], axis=0).mean()
    out_var = np.var(np.array(outs)[60:], axis=0).mean()
    assert raw_var / out_var > 3.5  # default parameters (see the jitter tests above)
