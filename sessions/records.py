"""Session records of the clinic: saving one (values checked, the row with its
details, a pain-rise flag), listing them, and therapists' notes on them.

Authorization is the caller's (``sessions.service.Clinic``): ``insert_session``,
``list_sessions`` and ``add_note`` work inside the caller's transaction, on a
patient and session the signed-in person may already write or read, after the
safety gate (``sessions.screening_service.require_valid``) for a save.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sessions.checks import clean_text, finite, flush
from sessions.models import COMPLETIONS, Flag, SessionNote, SessionRow, User
from sessions.program_schemas import Days
from sessions.screening import check_pain, pain_rose
from sessions.series import LandmarkSeries
from sessions.session_rows import add_details, summary_fields, within_days
from sessions.sources import is_bundled_sample
from sessions.summaries import SessionSummary

if TYPE_CHECKING:
    from coach.report import SessionReport
    from sessions.models import Screening

__all__ = ["MAX_COMMENT", "MAX_NOTE", "add_note", "check_save", "insert_session",
           "list_sessions", "summary"]

log = logging.getLogger(__name__)

MAX_NOTE = 5000
MAX_COMMENT = 5000

NameOf = Callable[..., str]


def check_save(report: SessionReport, completion: str, abandon_reason: str, comment: str,
               pain_before: int | None, pain_after: int | None
               ) -> tuple[str, str, str, dict[str, Any]]:
    """The values of a save checked before any SQL.

    Returns:
        (completion, abandon reason, comment, the report as JSON data without its
        series): "completed" on a report that is not complete becomes "interrupted".

    Raises:
        ValueError: not a report, a bundled sample, an unknown completion, an
            abandoned session without a reason, too long text, pain outside 0..10.
    """
    from coach.report import SessionReport

    if not isinstance(report, SessionReport):
        raise ValueError(f"report must be a SessionReport, got {type(report).__name__}")
    if is_bundled_sample(report.media):
        raise ValueError("this report was made from a bundled sample video: samples are "
                         "never saved into a clinical record")
    if completion not in COMPLETIONS:
        raise ValueError(f"completion must be one of {', '.join(COMPLETIONS)}; "
                         f"got {completion!r}")
    abandon_reason = clean_text(abandon_reason, "abandon reason", MAX_COMMENT)
    if completion == "abandoned" and not abandon_reason:
        raise ValueError("an abandoned session needs a reason")
    if completion == "completed" and not report.complete:
        completion = "interrupted"
    comment = clean_text(comment, "comment", MAX_COMMENT)
    for name, v in (("pain_before", pain_before), ("pain_after", pain_after)):
        if v is not None:
            check_pain(v, name)
    data = json.loads(json.dumps(report.to_dict(include_series=False), allow_nan=False))
    return completion, abandon_reason, comment, data


def insert_session(s: Session, patient: User, recorded_by: int, report: SessionReport,
                   data: dict[str, Any], screening: Screening, *, now: datetime,
                   started_at: datetime, completion: str, abandon_reason: str,
                   pain_before: int | None, pain_after: int | None, comment: str,
                   video_path: str | None, landmarks: LandmarkSeries | None,
                   keep_series: bool, name: NameOf) -> int:
    """Write a checked session (``check_save``) of ``patient`` with its details.

    ``pain_before`` defaults to the screening's; the video path is kept only if the
    patient opted in; pain after minus pain before of 2 or more raises a
    ``pain_rise`` flag.

    Returns:
        The session id.
    """
    screening_id = screening.id
    if pain_before is None:
        pain_before = screening.pain_before
    if video_path is not None and not patient.video_opt_in:
        log.info("video path not kept: patient %s has not opted in",
                 patient.id)
        video_path = None
    score = report.score or {}
    row = SessionRow(
        created_at=now, exercise=report.exercise,
        sides=",".join(report.sides), source=report.source,
        score=finite(score.get("score")), reps=report.reps_done,
        complete=bool(report.complete), problem=report.problem, report=data,
        patient_id=patient.id, recorded_by=recorded_by, started_at=started_at,
        ended_at=now, completion=completion,
        abandon_reason=abandon_reason or None, pain_before=pain_before,
        pain_after=pain_after, comment=comment or None,
        screening_id=screening_id, video_path=video_path,
        target_low=finite(report.target[0]) if report.target else None,
        target_high=finite(report.target[1]) if report.target else None,
        score_breakdown=data.get("score"))
    s.add(row)
    s.flush()
    add_details(s, row, report, landmarks, keep_series)
    if pain_rose(pain_before, pain_after):
        s.add(Flag(patient_id=patient.id, kind="pain_rise", created_at=now,
                   session_id=row.id,
                   detail=f"Pain rose from {pain_before}/10 to {pain_after}/10 "
                          f"during {name(report.exercise)}"))
    flush(s, "session")
    return int(row.id)


def summary(r: SessionRow, name: NameOf) -> SessionSummary:
    """A session row as the summary ``Clinic`` returns."""
    return SessionSummary(**summary_fields(r, name))


def list_sessions(s: Session, patients: Any, days: Days, since: date | None,
                  until: date | None, exercise: str | None, name: NameOf
                  ) -> list[SessionSummary]:
    """Sessions of ``patients`` (a patient id, or a select of ids), newest first.

    ``since`` and ``until`` are local dates, both included.
    """
    q = select(SessionRow)
    q = q.where(SessionRow.patient_id == patients) if isinstance(patients, int) else \
        q.where(SessionRow.patient_id.in_(patients))
    q = within_days(q, SessionRow.created_at, days, since, until)
    if exercise:
        q = q.where(SessionRow.exercise == exercise)
    q = q.order_by(SessionRow.created_at.desc(), SessionRow.id.desc())
    return [summary(r, name) for r in s.scalars(q)]


def add_note(s: Session, session_id: int, author_id: int, now: datetime, text: str) -> None:
    """A note (already checked non-empty) on session ``session_id``."""
    s.add(SessionNote(session_id=session_id, author_id=author_id, created_at=now, text=text))
