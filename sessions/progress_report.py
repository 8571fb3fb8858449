"""Gathering the progress report of one patient (the PDF is drawn by ``progress_pdf``).

Called only by ``Clinic.export_pdf`` with the patient row it has already
authorized, inside the same transaction; every query here is scoped to that
patient. It takes what it needs (the transaction, the local days, the library)
as arguments and calls the same module functions the clinic's own methods call
(``programs``, ``trends``), so the report and the dashboard cannot drift apart.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from exercises.definition import StretchDefinition
from sessions import programs
from sessions.models import Flag, Screening, SessionRow, User
from sessions.progress_pdf import ProgressData
from sessions.session_rows import within_days
from sessions.trends import patient_trends

__all__ = ["progress_data"]


def progress_data(s: Session, patient: User, days: programs.Days,
                  library: dict[str, StretchDefinition], since: date | None,
                  until: date | None) -> ProgressData:
    """Everything the progress report shows for ``patient`` (already authorized).

    Args:
        s: the open transaction in which ``patient`` was authorized.
        patient: the patient's row.
        days: local days and now for this request (the clinic's clock and time zone).
        library: stretch definitions by id (names, units, prescriptions).
        since, until: local dates, inclusive; None = from the first session / to today.
    """
    since = _date(since)
    until = _date(until)
    program = programs.active_program(s, patient.id)
    items = programs.program_items(s, program, library)
    # charts: completed sessions only, as on the dashboard
    trends = patient_trends(s, patient.id, days, library, items, since, until, False)
    recorded = list(s.scalars(within_days(
        select(SessionRow).where(SessionRow.patient_id == patient.id),
        SessionRow.created_at, days, since, until
    ).order_by(SessionRow.created_at, SessionRow.id)))
    flags = s.scalars(within_days(select(Flag).where(Flag.patient_id == patient.id),
                                  Flag.created_at, days, since, until)
                      .order_by(Flag.created_at)).all()
    screenings = s.execute(within_days(
        select(Screening.created_at, Screening.pain_before)
        .where(Screening.patient_id == patient.id), Screening.created_at, days, since, until
    ).order_by(Screening.created_at)).all()
    therapist = s.get(User, patient.therapist_id) if patient.therapist_id else None
    first = recorded[0].created_at if recorded else None
    return ProgressData(
        display_name=patient.display_name, username=patient.username,
        since=since if since else (days.local(first).date() if first else None),
        until=until if until else days.today,
        sessions=len(recorded), completed=sum(trends.calendar.values()),
        prescribed_per_week=trends.prescribed_per_week,
        program=items,
        trends=trends,
        flags=[(days.local(f.created_at), f.kind, f.detail, f.resolved_at is not None)
               for f in flags],
        generated=days.local(days.now), local=days.local,
        program_start=program.starts_on if program is not None else None,
        program_end=program.ends_on if program is not None else None,
        adherence=programs.adherence(s, patient.id, days, library, since, until),
        therapist=therapist.display_name if therapist is not None else None,
        program_notes=program.notes if program is not None else "",
        pain_before=[(t, int(p)) for t, p in screenings if p is not None],
        pain_after=[(r.created_at, int(r.pain_after)) for r in recorded
                    if r.pain_after is not None])


def _date(x: object) -> date | None:
    if x is None:
        return None
    if isinstance(x, datetime):
        return x.date()
    if isinstance(x, date):
        return x
    raise ValueError(f"expected a date, got {x!r}")
