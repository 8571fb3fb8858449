"""What the clinic service returns: frozen views of patients, sessions, reps, faults,
notes and trends (``sessions.service.Clinic``). No database access here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sessions.series import LandmarkSeries

if TYPE_CHECKING:
    from coach.report import SessionReport

__all__ = ["FaultRow", "NoteInfo", "PatientInfo", "PatientSummary", "RepRow", "SessionDetail",
           "SessionSummary", "StretchTrend", "Trends"]


@dataclass(frozen=True)
class PatientSummary:
    """One row of the therapist's patient list."""

    id: int
    username: str
    display_name: str
    adherence_done: int
    adherence_prescribed: int
    latest_score: float | None   # of the latest completed session
    trend: str | None            # "up" | "down" | "flat" | None (too few completed sessions)
    open_flags: int
    last_session_at: datetime | None = None


@dataclass(frozen=True)
class PatientInfo:
    """A patient's account and program header."""

    id: int
    username: str
    display_name: str
    therapist_id: int | None
    therapist_display_name: str | None
    created_at: datetime
    program_notes: str
    video_opt_in: bool
    adherence_done: int
    adherence_prescribed: int
    open_flags: int


@dataclass(frozen=True)
class SessionSummary:
    """One saved session, as listed."""

    id: int
    patient_id: int
    exercise: str
    exercise_name: str
    sides: tuple[str, ...]
    source: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    score: float | None
    reps: int
    completion: str
    abandon_reason: str | None
    problem: str | None
    pain_before: int | None
    pain_after: int | None
    comment: str | None


@dataclass(frozen=True)
class RepRow:
    """One repetition's metrics (ROM reached vs target, hold, faults, score)."""

    side: str
    index: int
    start_s: float | None
    end_s: float | None
    complete: bool
    peak: float | None
    target_low: float | None
    target_high: float | None
    reached_target: bool
    hold_s: float | None
    hold_required_s: float
    hold_ok: bool
    correct: bool
    score: float | None
    rom: float | None
    hold: float | None
    form: float | None
    faults: tuple[str, ...]


@dataclass(frozen=True)
class FaultRow:
    """One form fault with its time span (seconds from the session start)."""

    fault: str
    side: str
    rep: int | None
    start_s: float | None
    end_s: float | None
    duration_s: float | None
    cue: str


@dataclass(frozen=True)
class NoteInfo:
    """A therapist's note on a session."""

    id: int
    author_id: int
    author_display_name: str
    created_at: datetime
    text: str


@dataclass(frozen=True)
class SessionDetail(SessionSummary):
    """A session with everything needed to review and replay it."""

    report: dict[str, Any] = field(default_factory=dict)
    reps_rows: tuple[RepRow, ...] = ()
    faults: tuple[FaultRow, ...] = ()
    notes: tuple[NoteInfo, ...] = ()
    series: dict[str, list[float | None]] = field(default_factory=dict)
    landmarks: LandmarkSeries | None = None
    score_breakdown: dict[str, Any] = field(default_factory=dict)
    target: tuple[float, float] | None = None
    screening: dict[str, bool] | None = None
    video_path: str | None = None

    def to_report(self) -> SessionReport:
        """The stored ``SessionReport`` (with its series)."""
        from coach.report import SessionReport

        return SessionReport.from_dict(dict(self.report))


@dataclass(frozen=True)
class StretchTrend:
    """One stretch over time, oldest first (completed sessions only, unless every session
    was asked for: ``Clinic.trends(include_incomplete=True)``)."""

    exercise: str
    name: str
    label: str
    unit: str
    direction: str
    target: tuple[float, float] | None
    session_ids: list[int]
    dates: list[datetime]
    scores: list[float | None]
    rom_peak: list[float | None]
    pain_before: list[int | None]
    pain_after: list[int | None]


@dataclass(frozen=True)
class Trends:
    """A patient's progress: per stretch, overall, and the adherence calendar."""

    patient_id: int
    stretches: dict[str, StretchTrend]
    calendar: dict[date, int]            # completed sessions per local day
    dates: list[datetime]                # every session, oldest first
    scores: list[float | None]
    pain_before: list[int | None]
    pain_after: list[int | None]
    prescribed_per_week: int
