"""Landmark smoothing with the One-Euro filter (Casiez, Roussel and Vogel, CHI 2012).

The One-Euro filter is a low-pass filter whose cut-off rises with speed: still
landmarks are smoothed hard (no jitter), moving ones lightly (little lag). It
runs on timestamps, so dropped frames in a live stream are handled correctly.
The lag it adds is measured by ``benchmarks/bench_pipeline.py`` and reported in
the README.
"""

from __future__ import annotations

import math

import numpy as np

from pose.frame import PoseFrame

__all__ = ["OneEuroFilter", "PoseSmoother"]


def _alpha(cutoff_hz: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Vectorised One-Euro filter over an array of values.

    Args:
        min_cutoff_hz: cut-off frequency when the signal is still (lower = smoother).
        beta: how fast the cut-off rises with speed (higher = less lag when moving).
        d_cutoff_hz: cut-off used to smooth the speed estimate.
    """

    def __init__(self, min_cutoff_hz: float = 1.5, beta: float = 0.05,
                 d_cutoff_hz: float = 1.0) -> None:
        if min_cutoff_hz <= 0 or d_cutoff_hz <= 0 or beta < 0:
            raise ValueError("OneEuroFilter: cut-offs must be > 0 and beta >= 0, got "
                             f"min_cutoff_hz={min_cutoff_hz}, d_cutoff_hz={d_cutoff_hz}, "
                             f"beta={beta}")
        self.min_cutoff_hz = min_cutoff_hz
        self.beta = beta
        self.d_cutoff_hz = d_cutoff_hz
        self.reset()

    def reset(self) -> None:
        """Forget the history (e.g. after the person left the view)."""
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        """Filter one sample.

        Args:
            x: values, any shape (NaN entries pass through and restart that entry).
            t: timestamp in seconds; must increase.

        Returns:
            The filtered values, same shape as ``x``.
        """
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._t is None or t <= self._t:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t
            return x.copy()
        dt = t - self._t
        prev = np.where(np.isfinite(self._x), self._x, x)
        dx = (x - prev) / dt
        dx = np.where(np.isfinite(dx), dx, 0.0)
        a_d = _alpha(self.d_cutoff_hz, dt)
        dx_hat = a_d * dx + (1 - a_d) * self._dx
        cutoff = self.min_cutoff_hz + self.beta * np.abs(dx_hat)
        a = _alpha(cutoff, dt)
        x_hat = a * x + (1 - a) * prev
        x_hat = np.where(np.isfinite(x), x_hat, np.nan)
        self._x, self._dx, self._t = x_hat, dx_hat, t
        return x_hat


class PoseSmoother:
    """Smooths the pixel coordinates of a stream of ``PoseFrame``.

    Empty frames pass through unchanged and reset the filter after
    ``reset_after_s`` without a person, so a new person never inherits an old
    position. Parameters are in pixels per second via the filter's ``beta``.

    Args:
        min_cutoff_hz: see ``OneEuroFilter``.
        beta: see ``OneEuroFilter``.
        reset_after_s: gap after which the history is dropped.
    """

    def __init__(self, min_cutoff_hz: float = 1.5, beta: float = 0.05,
                 reset_after_s: float = 0.5) -> None:
        self._filter = OneEuroFilter(min_cutoff_hz=min_cutoff_hz, beta=beta)
        self._reset_after_s = reset_after_s
        self._last_t: float | None = None

    def __call__(self, frame: PoseFrame) -> PoseFrame:
        """Return a smoothed copy of ``frame``."""
        if frame.is_empty:
            if self._last_t is not None and frame.timestamp_s - self._last_t > self._reset_after_s:
                self._filter.reset()
                self._last_t = None
            return frame
        if self._last_t is not None and frame.timestamp_s - self._last_t > self._reset_after_s:
            self._filter.reset()
        self._last_t = frame.timestamp_s
        return frame.with_xy(self._filter(frame.xy, frame.timestamp_s))
