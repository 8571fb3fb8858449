"""The judging engine: a small state machine per stretch and side.

``StretchTracker.update(frame) -> Feedback`` is called once per frame. It

* checks that the body is assessable (required landmarks visible, one person,
  big enough in the picture, the right camera view: ``exercises.assessable``) and
  otherwise returns a "can't assess" feedback with a setup message, never a wrong
  correction;
* starts counting as soon as the person is at rest in the start posture
  (``settle_s``, short: real people start their first rep without pausing). "At
  rest" is the same zone that ends a rep (at or below the return level): a model
  that reads a straight elbow as 145 degrees must not keep counting from starting;
* counts a rep already under way when the person is first seen (a recording that
  starts mid-movement or with the first rep, someone stepping into view) if it goes on
  to reach the target band before ``settle_s`` at rest: first seen short of the band,
  then in the band. A movement first seen already in the band is not a rep (its way in
  was not seen); one that settles at rest first starts counting as usual;
* uses two thresholds (``start`` to begin a rep, a return level between
  ``rest`` and ``start`` to end it) plus dwells, so jitter never double-counts and
  reps that do not come all the way back still count: a rep begins after
  ``min_dwell_s`` past ``start`` (or, with no hold prescribed and after ``min_dwell_s``
  at rest, 0.1 s past it once in the target band: a quick rep, which real people do,
  spends only ~0.2 s past start) and ends after a
  short dwell (0.1 s, three frames at 30 frames/s) back past the return level (fast
  continuous reps spend 0.1-0.3 s at the top, and a model may read straight arms
  short of ``rest``);
* rides out short gaps (a frame or two where the body could not be assessed)
  without restarting its dwell timers;
* counts a rep only when it reached ``full_rep_fraction`` of the way from rest
  to the target band (a partial rep is recorded, not counted);
* times holds from frame timestamps (live streams drop frames), only while the
  primary measure is inside its target band, with a band hysteresis scaled to
  the measure's own range; a break longer than ``max_break_s`` ends the hold,
  and so does a stay that long outside the band itself, even inside the
  hysteresis (``HoldTimer``: the time counted since leaving the band is taken
  back unless the hold was already done);
* records form faults as time intervals and picks at most two cues, by
  priority, with a minimum display time so cues do not flicker;
* when nothing was counted, says why (``StretchTracker.diagnosis``, worded in
  ``exercises.diagnosis``): never a silent zero.

The phases and their transitions (all in ``StretchTracker._advance``)::

    SETUP --below the return level for settle_s--> REST --past start for min_dwell_s--> MOVING
    REST (no hold; rested min_dwell_s) --past start for 0.1 s and in the band (quick rep)--> MOVING
    SETUP (first seen short of the band, not yet settled) --in band--> MOVING / POSITION
    MOVING <--in band / out of band--> POSITION --hold done or broken--> RETURNING
    MOVING | POSITION | RETURNING --below the return level for _BACK_DWELL_S--> REST
    any --body not assessable--> CANT_ASSESS (reported per frame; the phase is kept)

Pure Python + numpy: no OpenCV, MediaPipe or Streamlit here.
"""

from __future__ import annotations

import math

from exercises.assessable import SetupCheck
from exercises.definition import Check, Prescription, StretchDefinition
from exercises.diagnosis import diagnose
from exercises.measures import get_measure, other_side
from exercises.origin import Origin
from exercises.records import (
    ENGINE_FAULTS,
    HOLD_TOO_SHORT,
    NOT_FAR_ENOUGH,
    PARTIAL_REP,
    TOO_FAR,
    Cue,
    FaultInterval,
    Feedback,
    Phase,
    RepRecord,
)
from exercises.tracker_parts import CueBoard, Dwell, FaultLog, HoldTimer, Levels, Speed
from pose.frame import PoseFrame

#: Back past the return level, a rep ends after this long (capped by ``min_dwell_s``):
#: three frames at 30 frames/s, enough to ride over a one-frame landmark glitch, short
#: enough for fast continuous reps whose top is brief (0.1-0.3 s on real push-ups).
_BACK_DWELL_S = 0.1
#: A gap in assessable frames up to this long keeps the dwell timers running (one or two
#: frames the model lost mid-movement must not throw away a rep's return).
_GAP_S = 0.2


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
        self.tuning = tu = definition.tuning
        p = definition.primary
        self._sign = 1.0 if p.direction == "increase" else -1.0
        self._primary = get_measure(p.measure)
        self._primary_side = self._measure_side(p.side)
        self._setup = SetupCheck(definition, self._primary, self._primary_side)
        self._check_sides = {c.id: self._measure_side(c.side) for c in definition.checks}
        self._levels = self._make_levels()

        self.phase = Phase.SETUP
        self.reps: list[RepRecord] = []
        self.counting = False
        self._origin = Origin(p.baseline, self._sign)
        self._settle = Dwell(tu.settle_s)
        # time of the first assessable frame while a rep may already be under way then
        # (None: no such rep possible any more)
        self._lead_in_t: float | None = None
        self._start = Dwell(tu.min_dwell_s)
        self._back = Dwell(min(tu.min_dwell_s, _BACK_DWELL_S))
        self._band_since: float | None = None  # in the band while the start dwell runs
        # at rest (at or below the return level) for min_dwell_s since the last rep: only
        # then may a quick rep begin (right after a rep, jitter must last min_dwell_s)
        self._rest = Dwell(tu.min_dwell_s)
        self._rested = False
        self._quick_reps = self.prescription.hold_s <= 0
        self._current: RepRecord | None = None
        self._hold: HoldTimer | None = None
        self._below_since: float | None = None
        self._over_since: float | None = None
        self._last_t: float | None = None
        self._last_v: float | None = None
        self._speed = Speed()  # the primary's, for frame skipping (``settled``)
        self._unassessable_since: float | None = None
        self._faults = FaultLog(tu.fault_min_s)
        self._cues = CueBoard(tu.cue_min_show_s)
        self.frames_seen = 0
        self.frames_assessable = 0
        self.setup_counts: dict[str, int] = {}
        self.max_fraction = -math.inf  # furthest reach seen while counting (share of range)

    # ------------------------------------------------------------ public accessors

    @property
    def baseline(self) -> float | None:
        """The value the primary is read from now (``baseline = "rest"``: the resting
        value; ``"low_point"``: the low point of the last rest); None for ``"none"``."""
        return self._origin.value

    @property
    def primary_side(self) -> str:
        """The side the primary measure is evaluated for (``"opposite"`` resolved)."""
        return self._primary_side

    def check_side(self, check_id: str) -> str:
        """The side a form check's measure is evaluated for."""
        return self._check_sides[check_id]

    @property
    def faults(self) -> list[FaultInterval]:
        """Every closed fault interval, engine-added ones included."""
        return self._faults.closed

    @property
    def started_a_rep(self) -> bool:
        """Whether any repetition has begun (finished, given up or under way)."""
        return bool(self.reps) or self._current is not None

    @property
    def counted_reps(self) -> int:
        """Repetitions counted so far (complete, full range, not a duplicate)."""
        return sum(1 for r in self.reps if r.counted)

    # ------------------------------------------------------------ setup

    def _measure_side(self, which: str) -> str:
        if self.side == "both":
            return "left"
        return self.side if which == "same" else other_side(self.side)

    def _make_levels(self) -> Levels:
        p, tu, s = self.definition.primary, self.tuning, self._sign
        rest, start = s * p.rest, s * p.start
        lo, hi = sorted((s * p.target[0], s * p.target[1]))
        span = max(lo - rest, 1e-9)
        return Levels(rest=rest, start=start, back=rest + tu.return_fraction * (start - rest),
                       full=rest + tu.full_rep_fraction * span, lo=lo, hi=hi,
                       hyst=tu.band_hysteresis * span)

    # ------------------------------------------------------------ main entry

    def update(self, frame: PoseFrame) -> Feedback:
        """Judge one frame and return the feedback for it."""
        t = frame.timestamp_s
        dt = 0.0 if self._last_t is None else min(max(t - self._last_t, 0.0), 1.0)
        self._last_t = t
        self.frames_seen += 1
        problem = self._setup.problem(frame, in_rep=self._current is not None,
                                      counting=self.counting)
        raw = self._primary(frame, self._primary_side) if problem is None else float("nan")
        if problem is None:
            problem = self._setup.measure_problem(raw)
        if problem is not None:
            return self._unassessable(problem, t)
        self._unassessable_since = None
        self.frames_assessable += 1
        if self._current is not None:
            self._current.assessable_s += dt

        p = self.definition.primary
        measures = {f"{p.measure}@{self._primary_side}": raw}
        check_values = {c.id: get_measure(c.measure)(frame, self._check_sides[c.id])
                        for c in self.definition.checks}
        for c in self.definition.checks:
            measures[f"{c.measure}@{self._check_sides[c.id]}"] = check_values[c.id]

        events: list[str] = []
        v = self._sign * self._origin.relative(raw, t, at_rest=self._current is None)
        self._advance(v, t, dt, events)
        self._last_v = v
        self._speed.update(t, v)
        for c in self.definition.checks:
            bad = self._check_applies(c) and c.violated(check_values[c.id])
            self._faults.update(c.id, bad, t, self._fmt(c.cue), self._current, self.side,
                                self.reps)
        cues = self._choose_cues(v, t)
        self._cues.set(cues, t, force=any(c.kind == "setup" for c in self._cues.shown))
        return self._feedback(t, self.phase, True, None, raw, measures, events)

    def _unassessable(self, problem: tuple[str, str], t: float) -> Feedback:
        code, message = problem
        self.setup_counts[code] = self.setup_counts.get(code, 0) + 1
        if self._unassessable_since is None:
            self._unassessable_since = t
        if t - self._unassessable_since > _GAP_S:
            for dwell in (self._start, self._back, self._settle, self._rest):
                dwell.reset()
            self._band_since = None
        self._faults.close_all(t, self._current, self.reps)
        if self._hold is not None:
            self._hold.absent(t)  # an absence counts as a break, like leaving the band
        show = t - self._unassessable_since >= self.tuning.lost_s or not self.counting
        if show and self._current is None:
            self._origin.rest_interrupted()  # unseen at rest for a while: may have moved
        # never keep showing a form correction for a body we cannot see
        cues = ((Cue(message, "setup", 0, code),) if show else
                tuple(c for c in self._cues.shown if c.kind != "form"))
        self._cues.set(cues, t, force=True)
        return self._feedback(t, Phase.CANT_ASSESS, False, message if show else None,
                              None, {}, [])

    # ------------------------------------------------------------ transitions

    def _advance(self, v: float, t: float, dt: float, events: list[str]) -> None:
        """Every phase transition happens here."""
        lv = self._levels
        if not self.counting:
            if self.frames_assessable == 1 and self.definition.primary.baseline == "none" \
                    and v < lv.lo:
                self._lead_in_t = t  # first seen short of the band: a rep may be under way
            if self._settle.update(v <= lv.back, t):
                self._lead_in_t = None
                self._start_counting(events)
            elif self._lead_in_t is not None and v >= lv.lo:
                lead_t, self._lead_in_t = self._lead_in_t, None
                self._start_counting(events)
                self._begin_rep(t, events)
                assert self._current is not None
                self._current.start_s = lead_t
                self._track_rep(v, t, 0.0, events)
            elif v > lv.back:
                self._origin.left_rest()
            return
        if self._current is None:  # REST
            self.max_fraction = max(self.max_fraction, lv.fraction(v))
            # time in the band while the start dwell runs counts toward the hold
            if not lv.lo <= v <= lv.hi:
                self._band_since = None
            elif self._band_since is None:
                self._band_since = t
            self._rested |= self._rest.update(v <= lv.back, t)
            past_start = self._start.update(v >= lv.start, t)
            # a quick rep: after a real rest, past start for _BACK_DWELL_S and already in the
            # target band is movement, not jitter (a 0.6 s front raise spends ~0.2 s past
            # start). Only where no hold is prescribed: a held stretch stays past start for
            # seconds, so there a brief excursion is a glitch, not a rep
            quick = (self._quick_reps and self._rested and self._start.since is not None
                     and v >= lv.lo and t - self._start.since >= _BACK_DWELL_S - 1e-9)
            if past_start or quick:
                band_since = self._band_since
                self._begin_rep(t, events)
                self._track_rep(v, t, 0.0 if band_since is None else t - band_since, events)
            return
        self._track_rep(v, t, dt, events)
        if self._back.update(v <= lv.back, t):
            self._end_rep(t, events, complete=True)

    def _start_counting(self, events: list[str]) -> None:
        self.counting = True
        self._origin.counting_started()
        events.append("counting_started")
        self.phase = Phase.REST

    def _begin_rep(self, t: float, events: list[str]) -> None:
        start_t = self._start.since if self._start.since is not None else t
        band_since = self._band_since
        self._current = RepRecord(index=len(self.reps) + 1, side=self.side, start_s=start_t,
                                  hold_required_s=self.prescription.hold_s)
        self._hold = HoldTimer(self.prescription.hold_s, self.tuning.max_break_s)
        if band_since is not None:
            self._hold.first_in_s = band_since
        self.phase = Phase.MOVING
        self._band_since = None
        self._below_since = None
        self._over_since = None
        self._start.reset()
        self._rest.reset()
        self._rested = False
        events.append("rep_started")

    def _track_rep(self, v: float, t: float, dt: float, events: list[str]) -> None:
        rep, hold, lv = self._current, self._hold, self._levels
        assert rep is not None and hold is not None
        self.max_fraction = max(self.max_fraction, lv.fraction(v))
        if not math.isfinite(rep.peak) or v > self._sign * rep.peak:
            rep.peak = self._sign * v  # measure units (relative to the baseline if any)
        rep.range_fraction = max(rep.range_fraction, lv.fraction(v))
        # beyond the band for fault_min_s, not for one jittery frame, is too far
        if v > lv.hi + lv.hyst:
            if self._over_since is None:
                self._over_since = t
            rep.overshoot |= t - self._over_since >= self.tuning.fault_min_s - 1e-9
        else:
            self._over_since = None
        rep.reached_target |= v >= lv.lo
        widen = lv.hyst if hold.in_band else 0.0
        in_band = lv.lo - widen <= v <= lv.hi + widen
        blocked = any(c.id in self._faults.open for c in self.definition.checks
                      if c.blocks_hold)
        if hold.update(in_band, t, dt, blocked, in_raw=lv.lo <= v <= lv.hi):
            events.append("hold_completed")
        if hold.first_in_s is not None and rep.first_in_position_s is None:
            rep.first_in_position_s = hold.first_in_s
        rep.hold_s = hold.held_s
        if hold.over:
            self.phase = Phase.RETURNING
        else:
            self.phase = Phase.POSITION if in_band else Phase.MOVING
        if v >= lv.lo:
            self._below_since = None
        elif self._below_since is None:
            self._below_since = t

    def _end_rep(self, t: float, events: list[str], complete: bool) -> None:
        rep = self._current
        assert rep is not None
        rep.end_s = t
        rep.complete = complete
        rep.full = self._levels.rest + rep.range_fraction * (
            self._levels.lo - self._levels.rest) >= self._levels.full - 1e-9
        self._faults.close_all(t, rep, self.reps)
        span = (rep.start_s, t)
        if not rep.full:
            rep.faults.append(FaultInterval(
                PARTIAL_REP, f"Only {rep.range_fraction:.0%} of the way to the target: "
                + self._fmt(self.definition.primary.cue_more), *span, rep.index, self.side))
        elif not rep.reached_target:
            rep.faults.append(FaultInterval(NOT_FAR_ENOUGH, self._fmt(
                self.definition.primary.cue_more), *span, rep.index, self.side))
        elif rep.hold_s + 1e-6 < rep.hold_required_s:
            begin = rep.first_in_position_s if rep.first_in_position_s is not None else rep.start_s
            rep.faults.append(FaultInterval(
                HOLD_TOO_SHORT, f"Hold the stretch for {rep.hold_required_s:g} seconds",
                begin, t, rep.index, self.side))
        if rep.overshoot:
            rep.faults.append(FaultInterval(TOO_FAR, self._fmt(self.definition.primary.cue_less),
                                            *span, rep.index, self.side))
        self._faults.closed.extend(f for f in rep.faults if f.id in ENGINE_FAULTS)
        self.reps.append(rep)
        self._current = None
        self._hold = None
        self.phase = Phase.REST
        self._back.reset()
        self._origin.rep_ended(rep.full)
        if complete:
            events.append("rep_completed" if rep.full else "partial_rep")

    def rest_interrupted(self) -> None:
        """The stream dropped and resumes: a low point is learned afresh (the person may
        have moved while unseen); a rep under way keeps its own."""
        if self._current is None:
            self._origin.rest_interrupted()

    def snapshot(self, t: float | None = None) -> Feedback:
        """The tracker's state as feedback, without consuming a frame (e.g. a side waiting
        for its turn when both sides are done one after the other)."""
        t = t if t is not None else (self._last_t or 0.0)
        return self._feedback(t, self.phase, False, None, None, {}, [])

    def finish(self, t: float | None = None) -> None:
        """The stream ended: close open faults; a rep in progress that is back at the return
        level after its peak is complete (only the short dwell there was cut), any other is
        kept as incomplete: a repetition is leave rest, reach the range, *come back* (the
        real-clips truth counts a rep cut by the video's end as partial; a shrug only a
        third of the way back down at the end had been counted)."""
        t = t if t is not None else (self._last_t or 0.0)
        if self._current is None:
            self._faults.close_all(t, None, self.reps)
            return
        v = self._last_v  # in the tracker's signed units, like the levels
        peak = self._current.peak  # in the measure's own units
        returning = v is not None and v <= self._levels.back and v < (
            self._sign * peak if math.isfinite(peak) else v)
        self._end_rep(t, [], complete=returning)

    # ------------------------------------------------------------ frame skipping

    def settled(self, margin: float = 0.25, horizon_s: float = 0.2) -> bool:
        """True when the next frames cannot change the judgement soon, so a video analysis
        may judge fewer of them: counting, the last frame assessable, no dwell timer
        running, no fault pending or open, the primary value at least ``margin`` of the
        rest-to-target distance away from every threshold (rest, start, return level,
        full-rep level, both band edges with their hysteresis), and at least the distance
        it would travel in ``horizon_s`` (the longest skip) at its speed over the last
        quarter second (``tracker_parts.SPEED_WINDOW_S``). The primary's thresholds are then crossed
        only on frames judged one by one; a form check is seen at least every skip, well
        within ``fault_min_s``, and judged frame by frame from the first bad frame (a
        pending fault is not settled)."""
        v = self._last_v
        if (not self.counting or v is None or self._unassessable_since is not None
                or self._faults.open or self._faults.pending):
            return False
        if self._setup.view_dwell_running or any(
                d.since is not None for d in (self._start, self._back)):
            return False
        lv = self._levels
        edges = (lv.rest, lv.start, lv.back, lv.full, lv.lo, lv.hi, lv.lo - lv.hyst,
                 lv.hi + lv.hyst)
        need = max(margin * (lv.lo - lv.rest), self._speed.value * horizon_s)
        return min(abs(v - e) for e in edges) >= need

    # ------------------------------------------------------------ diagnosis

    def diagnosis(self) -> tuple[str, str] | None:
        """Why nothing was counted, as (code, one plain sentence); None when reps counted
        (see :func:`exercises.diagnosis.diagnose` for the codes)."""
        return diagnose(self.definition, self.reps, self.counting, self.frames_assessable,
                        self.setup_counts, self.max_fraction)

    # ------------------------------------------------------------ faults and cues

    def _check_applies(self, check: Check) -> bool:
        if check.during == "always":
            return self.counting
        if check.during == "rep":
            return self._current is not None
        return (self._current is not None and self._hold is not None and self._hold.in_band
                and self.phase in (Phase.POSITION, Phase.RETURNING))

    def _fmt(self, text: str) -> str:
        """A cue or fault text with its {side}, {other_side}, {target} and {hold_s} filled."""
        side = self.side
        other = other_side(side) if side in ("left", "right") else "other"
        lo, hi = self.definition.primary.target
        return text.format(side=side if side != "both" else "", other_side=other,
                           target=f"{lo:g}-{hi:g}",
                           hold_s=f"{self.prescription.hold_s:g}").replace("  ", " ")

    def _choose_cues(self, v: float, t: float) -> tuple[Cue, ...]:
        cues = [Cue(self._fmt(c.cue), "form", c.priority, c.id)
                for c in sorted(self.definition.checks, key=lambda c: c.priority)
                if c.id in self._faults.open]
        p, lv, hold = self.definition.primary, self._levels, self._hold
        if not self.counting:
            cues.append(Cue("Get into the starting position", "guide", 5, "settle"))
        elif self._current is not None and hold is not None:
            if v > lv.hi + lv.hyst:
                cues.append(Cue(self._fmt(p.cue_less), "guide", 3, "too_far"))
            elif (self._below_since is not None and t - self._below_since >= self.tuning.stall_s
                  and not hold.over):
                cues.append(Cue(self._fmt(p.cue_more), "guide", 4, "more"))
            elif hold.over:
                cues.append(Cue(self._fmt(p.cue_release), "praise", 6, "release"))
            elif self.phase == Phase.POSITION:
                cues.append(Cue("Good position. Hold it and breathe slowly", "praise", 7, "hold"))
        return tuple(cues[:2])

    def _feedback(self, t: float, phase: Phase, assessable: bool, setup: str | None,
                  raw: float | None, measures: dict[str, float],
                  events: list[str]) -> Feedback:
        rep = self._current or (self.reps[-1] if self.reps else None)
        return Feedback(
            timestamp_s=t, side=self.side, phase=phase, assessable=assessable,
            setup_message=setup,
            value=raw if raw is not None and math.isfinite(raw) else None,
            target=self.definition.primary.target, measures=measures, cues=self._cues.shown,
            reps=self.counted_reps, correct_reps=sum(1 for r in self.reps if r.correct),
            hold_s=rep.hold_s if rep else 0.0, hold_required_s=self.prescription.hold_s,
            active_faults=tuple(self._faults.open), events=tuple(events),
        )
