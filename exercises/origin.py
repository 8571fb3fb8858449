"""Where a primary measure is read from (a definition's ``baseline``).

``"none"``: the measure's own zero. ``"rest"``: the person's own resting value, the
median of the values seen at rest before counting starts, learned once. ``"low_point"``:
the low point of the rest before each rep, learned afresh after every rep, for a
movement that swings between two ends (cat-cow), where bodies differ in where they
hold each end but not in the swing between them.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Sequence

__all__ = ["LowPoint", "Origin", "from_low_points"]

#: A rest-relative baseline is the median of at most this many values before counting.
REST_SAMPLES = 30


class Origin:
    """Where one tracker's primary is read from, and the value it is read from now
    (``value``: None for ``"none"``, or while it is still being learned)."""

    def __init__(self, baseline: str, sign: float) -> None:
        self.mode = baseline
        self.value: float | None = None
        self._samples: list[float] = []
        self._low = LowPoint(sign) if baseline == "low_point" else None

    def relative(self, raw: float, at_rest: bool) -> float:
        """``raw`` as read from the origin (``at_rest``: no rep under way)."""
        if self._low is not None:
            rel = self._low.update(raw, follow=at_rest)
            self.value = self._low.value
            return rel
        if self.mode != "rest":
            return raw
        if self.value is None:
            self._samples.append(raw)
            return 0.0  # treated as rest until the baseline exists
        return raw - self.value

    def left_rest(self) -> None:
        """Before counting starts the person moved away from rest: those values are not
        the resting value."""
        self._samples.clear()

    def counting_started(self) -> None:
        """Counting starts: a ``"rest"`` baseline is learned from the values at rest."""
        if self.mode == "rest" and self._samples:
            samples = sorted(self._samples[-REST_SAMPLES:])
            self.value = samples[len(samples) // 2]

    def rep_ended(self) -> None:
        """A rep ended: a ``"low_point"`` is learned afresh from the new rest."""
        if self._low is not None:
            self._low.restart()


class LowPoint:
    """The lowest point of the current rest, for a primary measured from it (``baseline =
    "low_point"``). A movement that swings between two ends, such as cat-cow, has no one
    resting value that fits every body and camera, but its swing from one end to the
    other does. The low point follows the median of the last few values (a one-frame
    glitch cannot set it), only while ``follow`` (at rest), and is learned afresh after
    each repetition (``restart``). "Lowest" is in the stretch's direction: the highest
    value for a stretch whose primary decreases."""

    def __init__(self, sign: float, window: int = 5) -> None:
        self._sign = sign
        self._recent: collections.deque[float] = collections.deque(maxlen=window)
        self.value: float | None = None  # in the measure's own units

    def update(self, raw: float, follow: bool) -> float:
        """Take one value; return it relative to the low point (0 until one is known)."""
        self._recent.append(raw)
        if follow and len(self._recent) >= min(3, self._recent.maxlen or 1):
            ordered = sorted(self._recent)
            median = ordered[len(ordered) // 2]
            if self.value is None or self._sign * median < self._sign * self.value:
                self.value = median
        return 0.0 if self.value is None else raw - self.value

    def restart(self) -> None:
        """A new rest begins (a repetition just ended): its low point is learned afresh,
        from this rest's own values."""
        self.value = None
        self._recent.clear()


def from_low_points(values: Sequence[float | None], times: Sequence[float],
                    reps: Sequence[tuple[float, float | None]],
                    sign: float = 1.0) -> list[float | None]:
    """A recorded series as a ``baseline = "low_point"`` primary is judged: each value
    measured from the low point of the rest before it (the lowest value since the last
    rep ended), frozen from a rep's start to its end (for a report's chart).

    Args:
        values: the primary's raw values per frame (None where not measured).
        times: each value's time, seconds.
        reps: (start_s, end_s) of each rep; end None for one still under way.
        sign: -1 for a stretch whose primary decreases (its low point is the highest).
    """
    spans = sorted((a, math.inf if b is None else b) for a, b in reps)
    out: list[float | None] = []
    low: float | None = None
    k = 0  # the next rep whose end has not been passed
    for t, v in zip(times, values, strict=False):
        while k < len(spans) and t > spans[k][1]:
            k += 1
            low = None  # a new rest: its low point is learned afresh
        in_rep = k < len(spans) and spans[k][0] <= t
        if v is not None and not in_rep and (low is None or sign * v < sign * low):
            low = v
        out.append(None if v is None or low is None else v - low)
    return out
