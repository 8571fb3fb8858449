"""The judging engine: a small state machine per stretch and side.

``StretchTracker.update(frame) -> Feedback`` is called once per frame. It

* checks that the body is assessable (required landmarks visible, one person,
  the right camera view) and otherwise returns a "can't assess" feedback with a
  setup message, never a wrong correction;
* waits until the person has been at rest for ``settle_s`` before counting
  anything (no counts while getting into position);
* uses two thresholds (``rest`` and ``start``) plus a minimum dwell so jitter
  around one threshold never double-counts;
* times holds from frame timestamps (live streams drop frames), only while the
  primary measure is inside its target band; a break pauses the hold and a
  break longer than ``max_break_s`` ends it;
* records form faults as time intervals and picks at most two cues, by
  priority, with a minimum display time so cues do not flicker.

Pure Python + numpy: no OpenCV, MediaPipe or Streamlit here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum

from exercises.definition import Check, Prescription, StretchDefinition
from exercises.measures import get_measure, near_side, other_side
from pose.frame import PoseFrame
from pose.landmarks import Landmark, group_landmarks, side_landmark

__all__ = [
    "Cue",
    "FaultInterval",
    "Feedback",
    "Phase",
    "RepRecord",
    "StretchTracker",
]

#: Synthetic fault ids the engine adds on its own (definition checks add theirs).
NOT_FAR_ENOUGH = "not_far_enough"
HOLD_TOO_SHORT = "hold_too_short"
TOO_FAR = "too_far"

_FRONT_MIN_RATIO = 0.38   # view_ratio above this looks like facing the camera
_SIDE_MAX_RATIO = 0.28    # and below this like side-on


class Phase(str, Enum):
    """Where the tracker is in a repetition."""

    SETUP = "setup"               # not yet counting: waiting to see the person at rest
    CANT_ASSESS = "cant_assess"   # body not assessable in this frame
    REST = "rest"                 # at the starting position, ready
    MOVING = "moving"             # a rep has started, not yet in the target band
    POSITION = "position"         # inside the target band (holding)
    RETURNING = "returning"       # hold done or broken, on the way back to rest


@dataclass(frozen=True)
class Cue:
    """One short instruction for the user.

    Attributes:
        text: the sentence shown (and optionally spoken).
        kind: ``"setup"``, ``"form"``, ``"guide"`` or ``"praise"``.
        priority: lower is more important.
        source: the check id or engine rule that produced it.
    """

    text: str
    kind: str
    priority: int
    source: str


@dataclass
class FaultInterval:
    """A form fault that lasted from ``start_s`` to ``end_s`` (seconds)."""

    id: str
    cue: str
    start_s: float
    end_s: float
    rep: int | None = None
    side: str = ""

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return max(0.0, self.end_s - self.start_s)


@dataclass
class RepRecord:
    """One repetition, from leaving rest to coming back to it."""

    index: int
    side: str
    start_s: float
    end_s: float = float("nan")
    peak: float = float("nan")
    first_in_position_s: float | None = None
    hold_s: float = 0.0
    hold_required_s: float = 0.0
    reached_target: bool = False
    overshoot: bool = False
    faults: list[FaultInterval] = field(default_factory=list)
    assessable_s: float = 0.0
    complete: bool = False

    @property
    def hold_ok(self) -> bool:
        """Held at least as long as required (a zero requirement needs only the target)."""
        return self.reached_target and self.hold_s + 1e-6 >= self.hold_required_s

    @property
    def fault_seconds(self) -> dict[str, float]:
        """Total seconds per form fault id (engine-added faults excluded)."""
        out: dict[str, float] = {}
        for f in self.faults:
            if f.id not in (NOT_FAR_ENOUGH, HOLD_TOO_SHORT, TOO_FAR):
                out[f.id] = out.get(f.id, 0.0) + f.duration_s
        return out

    @property
    def correct(self) -> bool:
        """Reached the target, held long enough, no form fault."""
        return self.complete and self.hold_ok and not self.fault_seconds


@dataclass(frozen=True)
class Feedback:
    """What the tracker says about one frame.

    Attributes:
        timestamp_s: frame time.
        side: the working side (``"left"``, ``"right"``) or ``"both"``.
        phase: see ``Phase``.
        assessable: False when the body could not be judged in this frame.
        setup_message: what to change about the camera/position when not assessable.
        value: primary measure (degrees or ratio), ``None`` when not measurable.
        target: the primary target band (low, high).
        measures: every measure the definition uses, by ``"<measure>@<side>"``.
        cues: at most two cues, most important first.
        reps: repetitions completed.
        correct_reps: repetitions completed correctly.
        hold_s: seconds held in the current (or last) repetition.
        hold_required_s: seconds required per hold.
        active_faults: ids of form faults happening now.
        events: what happened in this frame (``"rep_started"``, ``"rep_completed"``,
            ``"hold_completed"``, ``"counting_started"``).
    """

    timestamp_s: float
    side: str
    phase: Phase
    assessable: bool
    setup_message: str | None
    value: float | None
    target: tuple[float, float]
    measures: dict[str, float]
    cues: tuple[Cue, ...]
    reps: int
    correct_reps: int
    hold_s: float
    hold_required_s: float
    active_faults: tuple[str, ...]
    events: tuple[str, ...]

    @property
    def hold_progress(self) -> float:
        """Share of the required hold done, 0..1 (1 when no hold is required)."""
        if self.hold_required_s <= 0:
            return 1.0 if self.phase in (Phase.POSITION, Phase.RETURNING) else 0.0
        return min(1.0, self.hold_s / self.hold_required_s)


def _fmt(text: str, side: str, definition: StretchDefinition, hold_s: float) -> str:
    other = other_side(side) if side in ("left", "right") else "other"
    lo, hi = definition.primary.target
    return text.format(side=side if side != "both" else "", other_side=other,
                       target=f"{lo:g}-{hi:g}", hold_s=f"{hold_s:g}").replace("  ", " ")


class _Dwell:
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


class StretchTracker:
    """Tracks one stretch on one side over a stream of frames.

    Args:
        definition: the stretch.
        side: ``"left"``/``"right"`` for a sided stretch, ``"both"`` for a symmetric one.
        prescription: dose to judge against (default: the definition's own).
    """

    def __init__(self, definition: StretchDefinition, side: str | None = None,
                 prescription: Prescription | None = None) -> None:
        if side is None:
            side = definition.run_sides[0]
        if definition.is_sided and side not in definition.sides:
            raise ValueError(f"{definition.id}: side must be one of {list(definition.sides)}, "
                             f"got {side!r}")
        if not definition.is_sided and side != "both":
            side = "both"
        self.definition = definition
        self.side = side
        self.prescription = prescription or definition.prescription
        self.tuning = definition.tuning
        p = definition.primary
        self._sign = 1.0 if p.direction == "increase" else -1.0
        self._primary = get_measure(p.measure)
        self._primary_side = self._measure_side(p.side)
        self._required = self._required_landmarks()
        self._check_sides = {c.id: self._measure_side(c.side) for c in definition.checks}

        self.phase = Phase.SETUP
        self.reps: list[RepRecord] = []
        self.faults: list[FaultInterval] = []
        self.counting = False
        self.baseline: float | None = None
        self._baseline_samples: list[float] = []
        self._rest = _Dwell(self.tuning.settle_s)
        self._start = _Dwell(self.tuning.min_dwell_s)
        self._back = _Dwell(self.tuning.min_dwell_s)
        self._current: RepRecord | None = None
        self._last_t: float | None = None
        self._in_band = False
        self._band_since: float | None = None  # in the target band since (while in REST)
        self._out_since: float | None = None
        self._hold_closed = False
        self._below_since: float | None = None
        self._unassessable_since: float | None = None
        self._open_faults: dict[str, FaultInterval] = {}
        self._fault_candidate: dict[str, float] = {}
        self._shown: tuple[Cue, ...] = ()
        self._shown_since = 0.0
        self._removed_at: dict[str, float] = {}  # cue source -> when it was last taken off
        self._hold_announced = False
        self.frames_seen = 0
        self.frames_assessable = 0
        self.setup_counts: dict[str, int] = {}

    # ------------------------------------------------------------ setup helpers

    @property
    def primary_side(self) -> str:
        """The side the primary measure is evaluated for (``"opposite"`` resolved)."""
        return self._primary_side

    def check_side(self, check_id: str) -> str:
        """The side a form check's measure is evaluated for."""
        return self._check_sides[check_id]

    def _measure_side(self, which: str) -> str:
        if self.side == "both":
            return "left"
        return self.side if which == "same" else other_side(self.side)

    def _required_landmarks(self) -> tuple[Landmark, ...]:
        lms: list[Landmark] = []
        for name in self.definition.required:
            lms.extend(group_landmarks(name))
        if self.definition.view == "front":
            lms.extend(self._primary.landmarks(self._primary_side))
        return tuple(dict.fromkeys(lms))

    @property
    def _hold_required(self) -> float:
        return self.prescription.hold_s

    def _setup_problem(self, frame: PoseFrame) -> tuple[str, str] | None:
        """(code, message) when the frame can't be judged, else None."""
        if frame.is_empty:
            if frame.num_people > 1:
                return ("several_people", "I can see more than one person. Make sure only you "
                        "are in the camera's view")
            return ("nobody", "I can't see you. Step into the camera's view, facing it"
                    if self.definition.view == "front" else
                    "I can't see you. Step into the camera's view, side-on to it")
        if frame.num_people > 1:
            return ("several_people", "I can see more than one person. Make sure only you are "
                    "in the camera's view")
        missing = frame.missing(self._required, self.tuning.visibility)
        if not missing and self._primary.near_side:
            near = near_side(frame)
            missing = frame.missing([side_landmark(near, part) for part in self._primary.near_side],
                                    self.tuning.visibility)
        if missing:
            return ("not_visible", self._visibility_message(frame, missing))
        view = self._primary_view_problem(frame)
        if view:
            return view
        return None

    def _visibility_message(self, frame: PoseFrame, missing: list[Landmark]) -> str:
        w, h = frame.image_size
        names = sorted({m.pretty.replace("left ", "").replace("right ", "") for m in missing})
        part = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        pts = [frame.point(m) for m in missing if all(math.isfinite(v) for v in frame.point(m))]
        if pts:
            xs = [p[0] for p in pts]
            ys = [p[1] for p in pts]
            if max(ys) > h * 0.98:
                return f"Step back a little so your {part} are in view"
            if min(ys) < h * 0.02:
                return f"Tilt the camera up or step back so your {part} are in view"
            if min(xs) < w * 0.02 or max(xs) > w * 0.98:
                return f"Move toward the middle of the picture so your {part} are in view"
        return f"I can't see your {part} clearly. Check the lighting and that nothing blocks them"

    def _primary_view_problem(self, frame: PoseFrame) -> tuple[str, str] | None:
        ratio = get_measure("view_ratio")(frame)
        if not math.isfinite(ratio):
            return None
        if self.definition.view == "front" and ratio < _SIDE_MAX_RATIO:
            return ("wrong_view", "Turn to face the camera for this stretch")
        if self.definition.view == "side" and ratio > _FRONT_MIN_RATIO:
            return ("wrong_view", "Turn sideways to the camera for this stretch")
        return None

    # ------------------------------------------------------------ main entry

    def update(self, frame: PoseFrame) -> Feedback:
        """Judge one frame and return the feedback for it."""
        t = frame.timestamp_s
        dt = 0.0 if self._last_t is None else min(max(t - self._last_t, 0.0), 1.0)
        self._last_t = t
        self.frames_seen += 1
        events: list[str] = []
        problem = self._setup_problem(frame)
        raw = self._primary(frame, self._primary_side) if problem is None else float("nan")
        if problem is None and not math.isfinite(raw):
            problem = ("not_measurable", "Hold still for a moment so I can see your position")
        measures: dict[str, float] = {}

        if problem is not None:
            self.setup_counts[problem[0]] = self.setup_counts.get(problem[0], 0) + 1
            if self._unassessable_since is None:
                self._unassessable_since = t
            self._start.update(False, t)
            self._back.update(False, t)
            self._rest.update(False, t)
            self._band_since = None
            self._close_all_faults(t)
            # an absence counts as a break: a long one ends the hold, like leaving the band
            rep = self._current
            if rep is not None and rep.first_in_position_s is not None:
                if self._out_since is None:
                    self._out_since = t
                if t - self._out_since >= self.tuning.max_break_s:
                    self._hold_closed = True
            message = problem[1]
            show = t - self._unassessable_since >= self.tuning.lost_s or not self.counting
            # never keep showing a form correction for a body we cannot see
            cues = ((Cue(message, "setup", 0, problem[0]),) if show else
                    tuple(c for c in self._shown if c.kind != "form"))
            self._set_cues(cues, t, force=True)
            return self._feedback(t, Phase.CANT_ASSESS, False, message if show else None,
                                  None, measures, events)
        self._unassessable_since = None
        self.frames_assessable += 1
        if self._current is not None:
            self._current.assessable_s += dt

        value = raw
        if self.definition.primary.baseline == "rest":
            if self.baseline is None:
                self._baseline_samples.append(raw)
                value = 0.0  # treated as rest until the baseline exists
            else:
                value = raw - self.baseline
        v = self._sign * value  # normalised so that "further into the stretch" is larger
        p = self.definition.primary
        rest, start = self._sign * p.rest, self._sign * p.start
        lo, hi = sorted((self._sign * p.target[0], self._sign * p.target[1]))
        measures[f"{p.measure}@{self._primary_side}"] = raw

        check_values = {c.id: get_measure(c.measure)(frame, self._check_sides[c.id])
                        for c in self.definition.checks}
        for c in self.definition.checks:
            measures[f"{c.measure}@{self._check_sides[c.id]}"] = check_values[c.id]

        # ---- phase transitions
        at_rest = v <= rest
        if not self.counting:
            if self._rest.update(at_rest, t):
                self.counting = True
                if self.definition.primary.baseline == "rest" and self._baseline_samples:
                    samples = sorted(self._baseline_samples[-30:])
                    self.baseline = samples[len(samples) // 2]
                events.append("counting_started")
                self.phase = Phase.REST
            elif not at_rest:
                self._baseline_samples.clear()
                self.phase = Phase.SETUP
        elif self.phase == Phase.REST:
            # time spent in the target band while the start dwell runs counts toward the hold
            in_band_now = lo <= v <= hi
            if not in_band_now:
                self._band_since = None
            elif self._band_since is None:
                self._band_since = t
            if self._start.update(v >= start, t):
                band_since = self._band_since
                self._begin_rep(t)
                events.append("rep_started")
                if band_since is not None and self._current is not None:
                    self._track_rep(v, lo, hi, t, t - band_since, events)
                    self._current.first_in_position_s = band_since
        elif self.phase in (Phase.MOVING, Phase.POSITION, Phase.RETURNING):
            self._track_rep(v, lo, hi, t, dt, events)
            if self._back.update(at_rest, t):
                self._end_rep(t, events)

        self._update_faults(check_values, t)
        cues = self._choose_cues(v, lo, hi, t)
        self._set_cues(cues, t, force=any(c.kind == "setup" for c in self._shown))
        return self._feedback(t, self.phase, True, None, raw, measures, events)

    # ------------------------------------------------------------ reps and holds

    def _begin_rep(self, t: float) -> None:
        start_t = self._start.since if self._start.since is not None else t
        self._current = RepRecord(index=len(self.reps) + 1, side=self.side, start_s=start_t,
                                  hold_required_s=self._hold_required)
        self.phase = Phase.MOVING
        self._in_band = False
        self._band_since = None
        self._out_since = None
        self._hold_closed = False
        self._below_since = None
        self._hold_announced = False
        self._start.update(False, t)

    def _track_rep(self, v: float, lo: float, hi: float, t: float, dt: float,
                   events: list[str]) -> None:
        rep = self._current
        assert rep is not None
        peak_v = self._sign * rep.peak if math.isfinite(rep.peak) else -math.inf
        if v > peak_v:
            rep.peak = self._sign * v  # measure units (relative to the baseline if any)
        hyst = self.tuning.band_hysteresis
        if self._in_band:
            in_band = lo - hyst <= v <= hi + hyst
        else:
            in_band = lo <= v <= hi
        if v > hi + hyst:
            rep.overshoot = True
        if v >= lo:
            rep.reached_target = True
        blocked = any(
            fid in self._open_faults
            for fid in (c.id for c in self.definition.checks if c.blocks_hold)
        )
        if in_band and not self._in_band and rep.first_in_position_s is None:
            rep.first_in_position_s = t
        self._in_band = in_band
        if in_band:
            self._out_since = None
            if not self._hold_closed and not blocked:
                rep.hold_s += dt
            if (not self._hold_announced and rep.hold_s + 1e-6 >= self._hold_required
                    and not self._hold_closed):
                self._hold_announced = True
                events.append("hold_completed")
            self.phase = Phase.RETURNING if self._hold_announced else Phase.POSITION
        else:
            if rep.first_in_position_s is not None:
                if self._out_since is None:
                    self._out_since = t
                if t - self._out_since >= self.tuning.max_break_s:
                    self._hold_closed = True
            if self._hold_announced or self._hold_closed:
                self.phase = Phase.RETURNING
            else:
                self.phase = Phase.MOVING
        if v >= lo:
            self._below_since = None
        elif self._below_since is None:
            self._below_since = t

    def _end_rep(self, t: float, events: list[str]) -> None:
        rep = self._current
        assert rep is not None
        rep.end_s = t
        rep.complete = True
        self._close_all_faults(t)
        if not rep.reached_target:
            rep.faults.append(FaultInterval(NOT_FAR_ENOUGH, self._guide_more(), rep.start_s, t,
                                            rep.index, self.side))
        elif rep.hold_s + 1e-6 < rep.hold_required_s:
            begin = rep.first_in_position_s if rep.first_in_position_s is not None else rep.start_s
            rep.faults.append(FaultInterval(
                HOLD_TOO_SHORT, f"Hold the stretch for {rep.hold_required_s:g} seconds",
                begin, t, rep.index, self.side))
        if rep.overshoot:
            rep.faults.append(FaultInterval(TOO_FAR, self._fmt(self.definition.primary.cue_less),
                                            rep.start_s, t, rep.index, self.side))
        for f in rep.faults:
            if f.id in (NOT_FAR_ENOUGH, HOLD_TOO_SHORT, TOO_FAR):
                self.faults.append(f)
        self.reps.append(rep)
        self._current = None
        self.phase = Phase.REST
        self._back.update(False, t)
        events.append("rep_completed")

    def snapshot(self, t: float | None = None) -> Feedback:
        """The tracker's state as feedback, without consuming a frame (e.g. a side waiting
        for its turn when both sides are done one after the other)."""
        t = t if t is not None else (self._last_t or 0.0)
        return self._feedback(t, self.phase, False, None, None, {}, [])

    def finish(self, t: float | None = None) -> None:
        """Close open faults and keep a rep in progress as incomplete (stream ended)."""
        t = t if t is not None else (self._last_t or 0.0)
        self._close_all_faults(t)
        if self._current is not None:
            rep = self._current
            rep.end_s = t
            rep.complete = False
            self.reps.append(rep)
            self._current = None

    # ------------------------------------------------------------ faults and cues

    def _check_applies(self, check: Check) -> bool:
        if check.during == "always":
            return self.counting
        if check.during == "rep":
            return self._current is not None
        return self._current is not None and self.phase in (Phase.POSITION, Phase.RETURNING) \
            and self._in_band

    def _update_faults(self, values: dict[str, float], t: float) -> None:
        for c in self.definition.checks:
            bad = self._check_applies(c) and c.violated(values[c.id])
            if bad:
                since = self._fault_candidate.setdefault(c.id, t)
                if c.id not in self._open_faults and t - since >= self.tuning.fault_min_s:
                    rep = self._current.index if self._current else None
                    self._open_faults[c.id] = FaultInterval(c.id, self._fmt(c.cue), since, t,
                                                            rep, self.side)
                elif c.id in self._open_faults:
                    self._open_faults[c.id].end_s = t
            else:
                self._fault_candidate.pop(c.id, None)
                self._close_fault(c.id, t)

    def _close_fault(self, fid: str, t: float) -> None:
        f = self._open_faults.pop(fid, None)
        if f is None:
            return
        f.end_s = max(f.end_s, min(t, f.end_s + 0.1))
        prev = next((x for x in reversed(self.faults) if x.id == fid), None)
        if prev is not None and prev.rep == f.rep and f.start_s - prev.end_s < 0.5:
            prev.end_s = f.end_s  # merge a fault interrupted by a flicker
            return
        self.faults.append(f)
        if self._current is not None and f.rep == self._current.index:
            self._current.faults.append(f)
        elif f.rep is not None:
            rep = next((r for r in self.reps if r.index == f.rep), None)
            if rep is not None:
                rep.faults.append(f)

    def _close_all_faults(self, t: float) -> None:
        for fid in list(self._open_faults):
            self._close_fault(fid, t)
        self._fault_candidate.clear()

    def _fmt(self, text: str) -> str:
        return _fmt(text, self.side, self.definition, self._hold_required)

    def _guide_more(self) -> str:
        return self._fmt(self.definition.primary.cue_more)

    def _choose_cues(self, v: float, lo: float, hi: float, t: float) -> tuple[Cue, ...]:
        cues: list[Cue] = []
        for c in sorted(self.definition.checks, key=lambda c: c.priority):
            if c.id in self._open_faults:
                cues.append(Cue(self._fmt(c.cue), "form", c.priority, c.id))
        p = self.definition.primary
        if not self.counting:
            cues.append(Cue("Get into the starting position and keep still for a moment",
                            "guide", 5, "settle"))
        elif self._current is not None:
            if v > hi + self.tuning.band_hysteresis:
                cues.append(Cue(self._fmt(p.cue_less), "guide", 3, "too_far"))
            elif (self._below_since is not None and t - self._below_since >= self.tuning.stall_s
                  and not self._hold_announced and not self._hold_closed):
                cues.append(Cue(self._fmt(p.cue_more), "guide", 4, "more"))
            elif self._hold_announced or self._hold_closed:
                cues.append(Cue(self._fmt(p.cue_release), "praise", 6, "release"))
            elif self.phase == Phase.POSITION:
                cues.append(Cue("Good position. Hold it and breathe slowly", "praise", 7, "hold"))
        return tuple(cues[:2])

    def _set_cues(self, cues: tuple[Cue, ...], t: float, force: bool = False) -> None:
        if cues == self._shown:
            return
        top_new = min((c.priority for c in cues), default=99)
        top_old = min((c.priority for c in self._shown), default=99)
        min_show = self.tuning.cue_min_show_s
        # a more important cue may cut in at once, unless it was itself taken off less than
        # cue_min_show_s ago: a fault flickering on and off would make the cue flicker too
        just_removed = any(t - self._removed_at.get(c.source, -math.inf) < min_show
                           for c in cues if c.priority == top_new)
        if (force or (top_new < top_old and not just_removed) or not self._shown
                or t - self._shown_since >= min_show):
            for c in self._shown:
                if c not in cues:
                    self._removed_at[c.source] = t
            self._shown = cues
            self._shown_since = t

    def _feedback(self, t: float, phase: Phase, assessable: bool, setup: str | None,
                  raw: float | None, measures: dict[str, float],
                  events: list[str]) -> Feedback:
        rep = self._current or (self.reps[-1] if self.reps else None)
        return Feedback(
            timestamp_s=t, side=self.side, phase=phase, assessable=assessable,
            setup_message=setup,
            value=raw if raw is not None and math.isfinite(raw) else None,
            target=self.definition.primary.target, measures=measures, cues=self._shown,
            reps=sum(1 for r in self.reps if r.complete),
            correct_reps=sum(1 for r in self.reps if r.correct),
            hold_s=rep.hold_s if rep else 0.0, hold_required_s=self._hold_required,
            active_faults=tuple(self._open_faults), events=tuple(events),
        )
