"""The therapist's dashboard and a patient's page header: adherence this week, the
latest score and its trend, open flags, the last session.

Authorization is the caller's (``sessions.service.Clinic``): these functions read
the patients the signed-in person may already read, inside the caller's transaction.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exercises.definition import StretchDefinition
from sessions import programs
from sessions.checks import as_utc
from sessions.models import Flag, SessionRow, User
from sessions.program_schemas import Days
from sessions.session_rows import counts_as_result
from sessions.summaries import PatientInfo, PatientSummary
from sessions.trends import TREND_WINDOW, score_trend

__all__ = ["open_flags", "patient_info", "patient_summaries", "week_adherence"]


def open_flags(s: Session, patient_id: int) -> int:
    """How many flags of the patient are still open."""
    return int(s.scalar(select(func.count()).select_from(Flag).where(
        Flag.patient_id == patient_id, Flag.resolved_at.is_(None))))


def week_adherence(s: Session, patient_id: int, days: Days,
                   library: dict[str, StretchDefinition]) -> tuple[int, int]:
    """(done, prescribed) this week, Monday to Sunday."""
    monday = days.monday
    a = programs.adherence(s, patient_id, days, library, monday, monday + timedelta(days=6))
    return a.done, a.prescribed


def patient_summaries(s: Session, therapist_id: int, days: Days,
                      library: dict[str, StretchDefinition]) -> list[PatientSummary]:
    """The therapist's patients with adherence this week, latest score, trend, flags."""
    users = s.scalars(select(User).where(
        User.role == "patient", User.therapist_id == therapist_id)
        .order_by(User.display_name, User.id)).all()
    out = []
    for u in users:
        done, prescribed = week_adherence(s, u.id, days, library)
        # the patient's results only: an interrupted set or one cut short by a
        # technical failure is not one
        scores = s.execute(
            select(SessionRow.score, SessionRow.created_at)
            .where(SessionRow.patient_id == u.id, SessionRow.score.is_not(None),
                   counts_as_result())
            .order_by(SessionRow.created_at.desc(), SessionRow.id.desc())
            .limit(2 * TREND_WINDOW)).all()
        last = s.scalar(select(func.max(SessionRow.created_at))
                        .where(SessionRow.patient_id == u.id))
        out.append(PatientSummary(
            id=u.id, username=u.username, display_name=u.display_name,
            adherence_done=done, adherence_prescribed=prescribed,
            latest_score=scores[0][0] if scores else None,
            trend=score_trend([r[0] for r in reversed(scores)]),
            open_flags=open_flags(s, u.id),
            last_session_at=last if last is None else as_utc(last)))
    return out


def patient_info(s: Session, u: User, days: Days,
                 library: dict[str, StretchDefinition]) -> PatientInfo:
    """One patient (already authorized) with their therapist, program notes and counts."""
    therapist = s.get(User, u.therapist_id) if u.therapist_id else None
    program = programs.active_program(s, u.id)
    done, prescribed = week_adherence(s, u.id, days, library)
    return PatientInfo(
        id=u.id, username=u.username, display_name=u.display_name,
        therapist_id=u.therapist_id,
        therapist_display_name=therapist.display_name if therapist else None,
        created_at=u.created_at, program_notes=program.notes if program else "",
        video_opt_in=u.video_opt_in, adherence_done=done,
        adherence_prescribed=prescribed, open_flags=open_flags(s, u.id))
