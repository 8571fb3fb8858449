"""Small parts of the judging engine, each with one job: a dwell timer, the thresholds of
a primary measure, the hold timer of one repetition, the fault log, the cue board and a
value's speed."""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

from exercises.records import Cue, FaultInterval, RepRecord

__all__ = ["CueBoard", "Dwell", "FaultLog", "HoldTimer", "Levels", "Speed"]

#: The primary's speed (for frame skipping) is its change over about this long:
#: frame-to-frame differences at 30 frames/s are mostly landmark jitter.
SPEED_WINDOW_S = 0.25


class Dwell:
    """True once a condition has held continuously for ``dwell_s`` seconds."""

    def __init__(self, dwell_s: float) -> None:
        self.dwell_s = dwell_s
        self.since: float | None = None

    def update(self, condition: bool, t: float) -> bool:
        if not condition:
            self.since = None
            return False
        if self.since is None:
            self.since = t
        return t - self.since >= self.dwell_s - 1e-9

    def reset(self) -> None:
        self.since = None


@dataclass(frozen=True)
class Levels:
    """The primary measure's thresholds, normalised so that "further into the stretch" is
    larger (units: the measure's own, relative to the baseline for rest-relative ones)."""

    rest: float
    start: float
    back: float        # a rep has ended when the value is back at or below this
    full: float        # a rep reaching this is a full rep
    lo: float
    hi: float
    hyst: float        # band hysteresis, in the measure's units

    def fraction(self, v: float) -> float:
        """How far ``v`` is from rest (0) to the target's low edge (1)."""
        span = self.lo - self.rest
        return (v - self.rest) / span if span > 0 else 1.0


class HoldTimer:
    """The hold of one repetition: time in the band, breaks, completion.

    ``state`` is ``"waiting"`` (not yet in the band), ``"holding"`` (in the band),
    ``"paused"`` (out of the band for less than ``max_break_s``) or ``"broken"`` (out of
    the band that long: the hold is over, time back in the band adds nothing).
    ``completed`` turns True once the band has been held ``required_s`` in all; the time
    held keeps counting after that (the report shows how long it really was).

    Two bands: ``in_band`` is the target band widened by the engine's hysteresis while
    holding (so reading noise at an edge neither pauses the clock nor flickers the
    display), ``in_raw`` the band itself. Time in the widened band counts, but a stay
    outside the band itself as long as ``max_break_s`` is a break even when it never
    left the widened band: the hold ends, and the time counted since it left the band
    is taken back (unless the required hold was already done: how a finished hold
    ended does not undo it). A reading a few degrees off can then hide no real break
    (arms lowered 7 degrees under the band for 3 s, read 4 degrees high, were one
    unbroken 16 s hold before; the geometry says a broken one of 6.7 s).
    """

    def __init__(self, required_s: float, max_break_s: float) -> None:
        self.required_s = required_s
        self.max_break_s = max_break_s
        self.state = "waiting"
        self.completed = False
        self.held_s = 0.0
        self.first_in_s: float | None = None
        self._out_since: float | None = None   # left the band itself (or the person) at
        self._excursion_s = 0.0                # counted since, in the widened band only

    @property
    def over(self) -> bool:
        """The hold is finished, by completion or by a long break."""
        return self.completed or self.state == "broken"

    @property
    def in_band(self) -> bool:
        """In the band now (the band's hysteresis applies)."""
        return self.state == "holding"

    def update(self, in_band: bool, t: float, dt: float, blocked: bool,
               in_raw: bool | None = None) -> bool:
        """Advance by one frame; True when the required hold was just completed.

        Args:
            in_band: inside the band as widened by the hysteresis (counts as held).
            t, dt: this frame's time and the time since the last one (seconds).
            blocked: a form fault whose check has ``blocks_hold``; counts as out of
                position: the position is reached, but not in the form the stretch
                needs, so that time is a break like any other and a block of
                ``max_break_s`` ends the hold.
            in_raw: inside the band itself (default: ``in_band``).
        """
        in_raw = in_band if in_raw is None else (in_raw and in_band)
        if in_band and self.first_in_s is None:
            self.first_in_s = t
        if not in_band or blocked:
            self.absent(t)
            return False
        if self.state == "broken":
            return False
        if in_raw:
            self._out_since, self._excursion_s = None, 0.0
        else:   # in the widened band only: counted, unless it lasts a whole break
            if self._out_since is None:
                self._out_since = t
            if self._break(t):
                return False
            self._excursion_s += dt
        self.state = "holding"
        self.held_s += dt
        if not self.completed and self.held_s + 1e-6 >= self.required_s:
            self.completed = True
            return True
        return False

    def absent(self, t: float) -> None:
        """Out of the band (or not seen) at ``t``: a long enough break ends the hold."""
        if self.first_in_s is None or self.state == "broken":
            return
        if self._out_since is None:
            self._out_since = t
        self.state = "paused"
        self._break(t)

    def _break(self, t: float) -> bool:
        """End the hold if the band was left ``max_break_s`` ago; the time counted since
        it was left (in the widened band) is taken back."""
        assert self._out_since is not None
        if t - self._out_since < self.max_break_s:
            return False
        self.state = "broken"
        if not self.completed:   # a hold already done is not undone by how it ended
            self.held_s = max(0.0, self.held_s - self._excursion_s)
        self._excursion_s = 0.0
        return True


class FaultLog:
    """Form faults of one tracker: candidates, open intervals and the closed record."""

    def __init__(self, min_s: float) -> None:
        self.min_s = min_s
        self.open: dict[str, FaultInterval] = {}
        self._candidate: dict[str, float] = {}
        self.closed: list[FaultInterval] = []

    def update(self, fid: str, bad: bool, t: float, cue: str, rep: RepRecord | None,
               side: str, reps: list[RepRecord]) -> None:
        if not bad:
            self._candidate.pop(fid, None)
            self.close(fid, t, rep, reps)
            return
        since = self._candidate.setdefault(fid, t)
        if fid in self.open:
            self.open[fid].end_s = t
        elif t - since >= self.min_s:
            self.open[fid] = FaultInterval(fid, cue, since, t, rep.index if rep else None, side)

    @property
    def pending(self) -> bool:
        """A fault is being seen but has not lasted long enough to open yet."""
        return bool(self._candidate)

    def close(self, fid: str, t: float, current: RepRecord | None,
              reps: list[RepRecord]) -> None:
        f = self.open.pop(fid, None)
        if f is None:
            return
        f.end_s = max(f.end_s, min(t, f.end_s + 0.1))
        prev = next((x for x in reversed(self.closed) if x.id == fid), None)
        if prev is not None and prev.rep == f.rep and f.start_s - prev.end_s < 0.5:
            prev.end_s = f.end_s  # merge a fault interrupted by a flicker
            return
        self.closed.append(f)
        owner = current if current is not None and f.rep == current.index else next(
            (r for r in reps if r.index == f.rep), None)
        if owner is not None:
            owner.faults.append(f)

    def close_all(self, t: float, current: RepRecord | None, reps: list[RepRecord]) -> None:
        for fid in list(self.open):
            self.close(fid, t, current, reps)
        self._candidate.clear()


class CueBoard:
    """The cues on show: at most two, each kept at least ``min_show_s`` (no flicker)."""

    def __init__(self, min_show_s: float) -> None:
        self.min_show_s = min_show_s
        self.shown: tuple[Cue, ...] = ()
        self._since = 0.0
        self._removed_at: dict[str, float] = {}

    def set(self, cues: tuple[Cue, ...], t: float, force: bool = False) -> None:
        if cues == self.shown:
            return
        top_new = min((c.priority for c in cues), default=99)
        top_old = min((c.priority for c in self.shown), default=99)
        # a more important cue may cut in at once, unless it was itself taken off less than
        # min_show_s ago: a fault flickering on and off would make the cue flicker too
        just_removed = any(t - self._removed_at.get(c.source, -math.inf) < self.min_show_s
                           for c in cues if c.priority == top_new)
        if (force or (top_new < top_old and not just_removed) or not self.shown
                or t - self._since >= self.min_show_s):
            for c in self.shown:
                if c not in cues:
                    self._removed_at[c.source] = t
            self.shown = cues
            self._since = t


class Speed:
    """How fast a value changes (units per second), measured over the last
    ``SPEED_WINDOW_S`` rather than frame to frame, so landmark jitter is not read as motion."""

    def __init__(self) -> None:
        self._recent: collections.deque[tuple[float, float]] = collections.deque()
        self.value = 0.0  # |change| per second

    def update(self, t: float, v: float) -> None:
        recent = self._recent
        recent.append((t, v))
        while len(recent) > 2 and t - recent[1][0] >= SPEED_WINDOW_S:
            recent.popleft()
        t0, v0 = recent[0]
        if t - t0 >= SPEED_WINDOW_S / 2:
            self.value = abs(v - v0) / (t - t0)
