"""What the judging engine reports: phases, cues, fault intervals, repetitions and the
per-frame feedback. Plain data, no judging here (see ``exercises.engine``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

__all__ = [
    "ENGINE_FAULTS",
    "HOLD_TOO_SHORT",
    "NOT_FAR_ENOUGH",
    "PARTIAL_REP",
    "TOO_FAR",
    "Cue",
    "FaultInterval",
    "Feedback",
    "Phase",
    "RepRecord",
]

NOT_FAR_ENOUGH = "not_far_enough"
HOLD_TOO_SHORT = "hold_too_short"
TOO_FAR = "too_far"
PARTIAL_REP = "partial_rep"
ENGINE_FAULTS = (NOT_FAR_ENOUGH, HOLD_TOO_SHORT, TOO_FAR, PARTIAL_REP)
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
    """One repetition, from leaving rest to coming back to it.

    ``range_fraction`` is how far the rep got from rest (0) to the low edge of the target
    band (1); a rep is *counted* only when it is complete, reached ``full_rep_fraction``
    of that range and is not a duplicate of a rep of the other side (``duplicate_of``).
    """

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
    range_fraction: float = 0.0
    full: bool = True
    duplicate_of: str | None = None

    @property
    def counted(self) -> bool:
        """A complete, full-range repetition of its own (what the rep counter shows)."""
        return self.complete and self.full and self.duplicate_of is None

    @property
    def hold_ok(self) -> bool:
        """Held at least as long as required (a zero requirement needs only the target)."""
        return self.reached_target and self.hold_s + 1e-6 >= self.hold_required_s

    @property
    def fault_seconds(self) -> dict[str, float]:
        """Total seconds per form fault id (engine-added faults excluded)."""
        out: dict[str, float] = {}
        for f in self.faults:
            if f.id not in ENGINE_FAULTS:
                out[f.id] = out.get(f.id, 0.0) + f.duration_s
        return out

    @property
    def correct(self) -> bool:
        """Counted, reached the target, held long enough, no form fault."""
        return self.counted and self.hold_ok and not self.fault_seconds


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
        reps: repetitions counted (complete and full range).
        correct_reps: counted repetitions done correctly.
        hold_s: seconds held in the current (or last) repetition.
        hold_required_s: seconds required per hold.
        active_faults: ids of form faults happening now.
        events: what happened in this frame (``"rep_started"``, ``"rep_completed"``,
            ``"partial_rep"``, ``"hold_completed"``, ``"counting_started"``).
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
