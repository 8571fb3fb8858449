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

__all__ = ["LowPoint", "Origin", "from_low_points", "origin_words"]

#: A rest-relative baseline is the median of at most this many values before counting.
REST_SAMPLES = 30
#: A low point is the median of the values over this long (at least three of them).
LOW_WINDOW_S = 0.3


def origin_words(baseline: str) -> str:
    """Where a measure counts from, in words for people, placed after a band or value
    ("" for ``"none"``): the one wording the diagnosis and the pages share."""
    return {"rest": " from your resting position",
            "low_point": " from where each repetition starts"}.get(baseline, "")


class Origin:
    """Where one tracker's primary is read from, and the value it is read from now
    (``value``: None for ``"none"``, or while it is first being learned)."""

    def __init__(self, baseline: str, sign: float) -> None:
        self.mode = baseline
        self.value: float | None = None
        self._samples: list[float] = []
        self._low = LowPoint(sign) if baseline == "low_point" else None

    def relative(self, raw: float, t: float, at_rest: bool) -> float:
        """``raw`` at time ``t`` as read from the origin (``at_rest``: no rep under way)."""
        if self._low is not None:
            rel = self._low.update(raw, t, follow=at_rest)
            if self._low.value is not None:  # while a new rest's low is learned, the
                self.value = self._low.value  # last one still places the live gauge
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

    def rep_ended(self, full: bool) -> None:
        """A rep ended. After a full one a ``"low_point"`` is learned afresh from the new
        rest; after a partial one (a pause on the way up, a half swing) the rest goes on
        and keeps its low point."""
        if self._low is not None and full:
            self._low.restart()

    def rest_interrupted(self) -> None:
        """The person was out of sight (or the stream dropped) while at rest and may have
        moved: a ``"low_point"`` is learned afresh when they are seen again."""
        if self._low is not None:
            self._low.restart()


class LowPoint:
    """The lowest point of the current rest, for a primary measured from it (``baseline =
    "low_point"``). A movement that swings between two ends, such as cat-cow, has no one
    resting value that fits every body and camera, but its swing from one end to the
    other does. The low point follows the median of the last ``window_s`` of values (at
    least three), so a glitch shorter than half of that cannot set it; it follows only
    while ``follow`` (at rest), and is learned afresh on ``restart``. "Lowest" is in the
    stretch's direction: the highest value for a stretch whose primary decreases."""

    def __init__(self, sign: float, window_s: float = LOW_WINDOW_S) -> None:
        self._sign = sign
        self._window_s = window_s
        self._recent: collections.deque[tuple[float, float]] = collections.deque()
        self.value: float | None = None  # in the measure's own units

    def update(self, raw: float, t: float, follow: bool) -> float:
        """Take one value at time ``t``; return it relative to the low point (0 until
        one is known)."""
        self._recent.append((t, raw))
        while len(self._recent) > 3 and self._recent[0][0] < t - self._window_s:
            self._recent.popleft()
        if follow and len(self._recent) >= 3:
            ordered = sorted(v for _, v in self._recent)
            median = ordered[len(ordered) // 2]
            if self.value is None or self._sign * median < self._sign * self.value:
                self.value = median
        return 0.0 if self.value is None else raw - self.value

    def restart(self) -> None:
        """A new rest begins: its low point is learned afresh, from its own values."""
        self.value = None
        self._recent.clear()


def from_low_points(values: Sequence[float | None], times: Sequence[float],
                    reps: Sequence[tuple[float, float | None, bool]],
                    sign: float = 1.0) -> list[float | None]:
    """A recorded series as the tracker read a ``baseline = "low_point"`` primary (for a
    report's chart): replayed through ``LowPoint``, following at rest, frozen from a
    rep's start to its end, learned afresh after each full rep.

    Args:
        values: the judged frames' raw values (None where not measured).
        times: each value's time, seconds.
        reps: (start_s, end_s, full) of each rep; end None for one still under way.
        sign: -1 for a stretch whose primary decreases (its low point is the highest).
    """
    spans = sorted((a, math.inf if b is None else b, full) for a, b, full in reps)
    low = LowPoint(sign)
    out: list[float | None] = []
    last: float | None = None
    k = 0  # the next rep whose end has not been passed
    for t, v in zip(times, values, strict=False):
        # the report's times are rounded: a frame within 5 ms of a rep's end is past it
        while k < len(spans) and t > spans[k][1] - 0.005:
            if spans[k][2]:
                low.restart()
            k += 1
        if v is None:
            out.append(None)
            continue
        in_rep = k < len(spans) and spans[k][0] <= t + 0.005
        low.update(v, t, follow=not in_rep)
        last = low.value if low.value is not None else last
        out.append(None if last is None else v - last)
    return out
