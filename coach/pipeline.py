"""Wiring of the one-direction data flow for one stretch session.

frame source -> PoseEstimator -> PoseFrame -> PoseSmoother -> StretchTracker(s) -> Feedback
-> session report; overlay drawing is a separate, optional step.

``CoachSession`` is per user session (one per browser tab, one per CLI run): it
holds its own estimator, smoother and trackers and no module-level state, so two
sessions never share counters.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from exercises.definition import Prescription, StretchDefinition
from exercises.engine import Feedback, Phase, StretchTracker
from exercises.measures import definition_needs_face, get_measure
from exercises.sides import dedupe_sides
from pose.frame import PoseFrame
from pose.landmarks import Landmark
from pose.overlay import OverlayInfo, annotate
from pose.smoothing import PoseSmoother

__all__ = ["CoachSession", "FrameResult", "resolve_sides"]

log = logging.getLogger(__name__)


def resolve_sides(definition: StretchDefinition, side: str | None) -> tuple[str, ...]:
    """Sides to track for a requested ``side`` (``left``, ``right``, ``both`` or None).

    Raises:
        ValueError: one line naming the valid sides.
    """
    if not definition.is_sided:
        if side not in (None, "both"):
            raise ValueError(f"{definition.id} is done with both sides together; "
                             f"leave out --side or use --side both")
        return ("both",)
    if side in (None, "both"):
        return tuple(definition.sides)
    if side not in definition.sides:
        raise ValueError(f"{definition.id}: side must be one of "
                         f"{', '.join([*definition.sides, 'both'])}; got {side!r}")
    return (side,)


@dataclass
class FrameResult:
    """Everything known about one processed frame."""

    frame: PoseFrame
    feedback: list[Feedback]
    active_side: str | None = None
    primary: Feedback = field(init=False)

    def __post_init__(self) -> None:
        active = [f for f in self.feedback if f.side == self.active_side]
        self.primary = active[0] if active else _most_relevant(self.feedback)


def _most_relevant(feedback: Sequence[Feedback]) -> Feedback:
    """The side whose feedback matters most now (active rep first)."""
    order = {Phase.POSITION: 0, Phase.RETURNING: 1, Phase.MOVING: 2, Phase.CANT_ASSESS: 3,
             Phase.REST: 4, Phase.SETUP: 5}
    return min(feedback, key=lambda f: order[f.phase])


class CoachSession:
    """One stretch, one person, one stream.

    Args:
        definition: the stretch.
        sides: sides tracked in parallel (from ``resolve_sides``).
        estimator: a ``pose.estimator.PoseEstimator`` (or anything with
            ``estimate(image_rgb, t) -> PoseFrame``); None when frames come pre-estimated.
            If it has ``enable_face(bool)``, the face model is switched on exactly when
            the stretch has a measure that needs it (``definition_needs_face``).
        prescription: the dose to judge against.
        smoothing: apply One-Euro smoothing to landmarks.
        sequence: with two sides, do them one after the other (live coaching): only the
            current side is judged until its reps are done, then the next side starts.
            Without it (video analysis) both sides are tracked in parallel.
    """

    def __init__(self, definition: StretchDefinition, sides: Sequence[str],
                 estimator: object | None = None, prescription: Prescription | None = None,
                 smoothing: bool = True, sequence: bool = False) -> None:
        self.definition = definition
        self.sides = tuple(sides)
        self.prescription = prescription or definition.prescription
        self.estimator = estimator
        self.needs_face = definition_needs_face(definition)
        enable_face = getattr(estimator, "enable_face", None)
        if callable(enable_face):
            enable_face(self.needs_face)
        self.smoother = PoseSmoother() if smoothing else None
        self.trackers = {s: StretchTracker(definition, s, self.prescription) for s in self.sides}
        self.sequence = sequence and len(self.sides) > 1
        self.active = 0
        self.last: FrameResult | None = None
        self.frames = 0
        self.people_warnings = 0

    def process_pose(self, frame: PoseFrame) -> FrameResult:
        """Judge an already-estimated pose."""
        if self.smoother is not None:
            frame = self.smoother(frame)
        self.frames += 1
        if frame.num_people > 1:
            self.people_warnings += 1
        if not self.sequence:
            self.last = FrameResult(frame, [t.update(frame) for t in self.trackers.values()])
            return self.last
        side = self.sides[self.active]
        feedback = []
        for s, tracker in self.trackers.items():
            feedback.append(tracker.update(frame) if s == side
                            else tracker.snapshot(frame.timestamp_s))
        done = self.trackers[side]
        target = self.prescription.reps * self.prescription.sets
        if (done.counted_reps >= target and done.phase == Phase.REST
                and self.active + 1 < len(self.sides)):
            self.active += 1  # this side's set is done: the next frame judges the next side
        self.last = FrameResult(frame, feedback, active_side=side)
        return self.last

    def settled(self, horizon_s: float = 0.2) -> bool:
        """Every tracker being judged is settled (see ``StretchTracker.settled``): the next
        ``horizon_s`` seconds of frames may be judged less often without changing counts
        or holds."""
        if self.sequence:
            return self.trackers[self.sides[self.active]].settled(horizon_s=horizon_s)
        return all(t.settled(horizon_s=horizon_s) for t in self.trackers.values())

    @property
    def active_side(self) -> str:
        """The side being judged now (the only one, or the current one in a sequence)."""
        return self.sides[self.active] if self.sequence else self.sides[0]

    def process(self, image_rgb: np.ndarray, timestamp_s: float) -> FrameResult:
        """Estimate the pose in ``image_rgb`` and judge it."""
        if self.estimator is None:
            raise RuntimeError("CoachSession has no estimator; use process_pose()")
        frame = self.estimator.estimate(image_rgb, timestamp_s)  # type: ignore[attr-defined]
        return self.process_pose(frame)

    def finish(self) -> None:
        """Close open reps and faults at the end of the stream."""
        t = self.last.frame.timestamp_s if self.last else 0.0
        for tr in self.trackers.values():
            tr.finish(t)
        if not self.sequence and len(self.trackers) > 1:
            dedupe_sides(list(self.trackers.values()))

    # ------------------------------------------------------------ drawing

    def overlay_info(self, result: FrameResult) -> OverlayInfo:
        """Describe what to draw for ``result`` (no drawing here)."""
        fb = result.primary
        d = self.definition
        m = get_measure(d.primary.measure)
        tracker = self.trackers[fb.side]
        lo, hi = d.primary.target
        value = fb.value
        target = (lo, hi)
        if d.primary.baseline != "none" and tracker.baseline is not None and value is not None:
            value = value - tracker.baseline
        if m.unit == "deg":
            scale = (min(0.0, lo - 20), max(180.0 if hi > 90 else 90.0, hi))
        else:
            span = hi - lo
            scale = (min(d.primary.rest, lo) - span * 0.3, max(d.primary.rest, hi) + span * 0.3)
        highlight: tuple[Landmark, ...] = tuple(m.landmarks(tracker.primary_side))
        fault_lms: list[Landmark] = []
        for c in d.checks:
            if c.id in fb.active_faults:
                fault_lms.extend(get_measure(c.measure).landmarks(tracker.check_side(c.id)))
        side = "" if fb.side == "both" else f" ({fb.side})"
        reps_total = sum(f.reps for f in result.feedback)
        return OverlayInfo(
            title=f"{d.name}{side}",
            label=d.primary.label,
            value=value,
            unit=m.unit,
            target=target,
            scale=scale,
            highlight=highlight + tuple(fault_lms),
            cues=[c.text for c in fb.cues],
            setup_message=fb.setup_message,
            reps=reps_total,
            reps_target=self.prescription.reps * self.prescription.sets * len(self.sides),
            hold_s=fb.hold_s,
            hold_target_s=fb.hold_required_s,
            in_position=fb.phase in (Phase.POSITION, Phase.RETURNING)
            and value is not None and math.isfinite(value),
            fault_landmarks=tuple(fault_lms),
        )

    def draw(self, image_rgb: np.ndarray, result: FrameResult | None = None) -> np.ndarray:
        """Return ``image_rgb`` with the skeleton and the coaching panel drawn on it."""
        result = result or self.last
        if result is None:
            return image_rgb.copy()
        return annotate(image_rgb, result.frame, self.overlay_info(result))
