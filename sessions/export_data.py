"""What the CSV export and the program handout gather from the database.

Authorization is the caller's (``sessions.service.Clinic``): these functions read
one patient the signed-in person may already read, inside the caller's
transaction. Writing the files is ``sessions.exports`` (CSV) and
``sessions.handout`` (PDF); the progress report gathers in ``sessions.progress_report``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from sessions import programs
from sessions.handout import HandoutData
from sessions.models import SessionRep, SessionRow, User
from sessions.program_schemas import Days
from sessions.records import summary
from sessions.session_rows import within_days
from sessions.summaries import SessionSummary

__all__ = ["csv_rows", "handout_header"]


def csv_rows(s: Session, patient_id: int, days: Days, since: date | None,
             until: date | None, name: Callable[..., str]
             ) -> tuple[list[SessionSummary], list[SessionRep]]:
    """(sessions, their reps) of a patient for a date range (local dates, inclusive),
    oldest first."""
    rows = list(s.scalars(within_days(
        select(SessionRow).where(SessionRow.patient_id == patient_id),
        SessionRow.created_at, days, since, until)
        .order_by(SessionRow.created_at, SessionRow.id)))
    reps = list(s.scalars(select(SessionRep).where(
        SessionRep.session_id.in_([r.id for r in rows]))
        .order_by(SessionRep.session_id, SessionRep.start_s, SessionRep.id))) \
        if rows else []
    return [summary(r, name) for r in rows], reps


def handout_header(s: Session, patient: User, today: date) -> HandoutData:
    """The handout of ``patient`` without its items (``sessions.handout.handout_items``
    fills them in, outside the transaction: the stills are read from video)."""
    program = programs.active_program(s, patient.id)
    therapist = s.get(User, patient.therapist_id) if patient.therapist_id else None
    return HandoutData(
        display_name=patient.display_name,
        therapist=therapist.display_name if therapist is not None else None,
        program_start=program.starts_on if program else None,
        program_end=program.ends_on if program else None,
        generated=today, program_notes=program.notes if program else "",
        items=[])
