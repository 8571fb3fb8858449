"""Saved sessions as rows: their details written with a session, and read back.

Authorization is the caller's (``sessions.service.Clinic``): these functions work on
rows the signed-in person may already read or write, inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from coach.report import TECHNICAL
from sessions.checks import as_date, finite, sides_of
from sessions.models import (
    Screening,
    SessionFault,
    SessionNote,
    SessionRep,
    SessionRow,
    SessionSeries,
    User,
)
from sessions.program_schemas import Days
from sessions.series import (
    LANDMARKS_ENCODING,
    PRIMARY_ENCODING,
    LandmarkSeries,
    decode_landmarks,
    decode_primary,
    encode_landmarks,
    encode_primary,
)
from sessions.summaries import FaultRow, NoteInfo, RepRow, SessionDetail

if TYPE_CHECKING:
    from coach.report import SessionReport

__all__ = ["add_details", "counts_as_result", "read_detail", "summary_fields", "within_days"]

#: The name of a stretch from its id and the name stored with the session (a stretch no
#: longer in the library keeps its stored name).
NameOf = Callable[[str, str], str]


def counts_as_result() -> ColumnElement[bool]:
    """SQL condition: the session is the patient's result, i.e. ``completed`` and not
    ended by a technical failure (``coach.report.TECHNICAL``).

    The one rule for what scores, trends, the dashboard and adherence count; a set
    stopped early, an abandoned one or a technical failure is not the patient's result.
    """
    return and_(SessionRow.completion == "completed",
                or_(SessionRow.problem.is_(None),
                    ~SessionRow.problem.startswith(TECHNICAL, autoescape=True)))


def within_days(q: Select, column: Any, days: Days, since: date | None,
                until: date | None) -> Select:
    """``q`` limited to ``column`` on local days ``since`` .. ``until`` (both included;
    None: no limit)."""
    if since is not None:
        q = q.where(column >= days.start(as_date(since, "since")))
    if until is not None:
        q = q.where(column < days.start(as_date(until, "until") + timedelta(days=1)))
    return q


def summary_fields(r: SessionRow, name_of: NameOf) -> dict[str, Any]:
    """The fields of a ``SessionSummary`` of row ``r``."""
    return dict(
        id=r.id, patient_id=r.patient_id, exercise=r.exercise,
        exercise_name=name_of(r.exercise, (r.report or {}).get("exercise_name", "")),
        sides=sides_of(r.sides), source=r.source, created_at=r.created_at,
        started_at=r.started_at, ended_at=r.ended_at, score=r.score, reps=r.reps,
        completion=r.completion, abandon_reason=r.abandon_reason, problem=r.problem,
        pain_before=r.pain_before, pain_after=r.pain_after, comment=r.comment)


def add_details(s: Session, row: SessionRow, report: SessionReport,
                landmarks: LandmarkSeries | None, keep_series: bool) -> None:
    """The reps, faults and replay series of a session being saved (one row at a time:
    a rep the database refuses fails here and the caller's transaction rolls back)."""
    lo, hi = row.target_low, row.target_high
    for r in report.reps:
        s.add(SessionRep(
            session_id=row.id, side=r["side"], rep_index=int(r["index"]),
            start_s=finite(r.get("start_s")), end_s=finite(r.get("end_s")),
            complete=bool(r["complete"]), peak=finite(r.get("peak")), target_low=lo,
            target_high=hi, reached_target=bool(r.get("reached_target")),
            hold_s=finite(r.get("hold_s")),
            hold_required_s=float(r.get("hold_required_s") or 0.0),
            hold_ok=bool(r.get("hold_ok")), correct=bool(r.get("correct")),
            score=finite(r.get("score")), rom=finite(r.get("rom")),
            hold=finite(r.get("hold")), form=finite(r.get("form")),
            faults=";".join(r.get("faults") or ())))
        s.flush()
    for f in report.faults:
        s.add(SessionFault(
            session_id=row.id, fault=f["id"], side=f["side"],
            rep_index=None if f.get("rep") is None else int(f["rep"]),
            start_s=finite(f.get("start_s")), end_s=finite(f.get("end_s")),
            duration_s=finite(f.get("duration_s")), cue=f.get("cue") or ""))
    if keep_series and report.series:
        s.add(SessionSeries(session_id=row.id, kind="primary", encoding=PRIMARY_ENCODING,
                            data=encode_primary(report.series)))
    if landmarks is not None:
        s.add(SessionSeries(session_id=row.id, kind="landmarks",
                            encoding=LANDMARKS_ENCODING, data=encode_landmarks(landmarks)))


def read_detail(s: Session, r: SessionRow, name_of: NameOf) -> SessionDetail:
    """Session ``r`` with its reps, faults, notes and replay series."""
    reps = s.scalars(select(SessionRep).where(SessionRep.session_id == r.id)
                     .order_by(SessionRep.start_s, SessionRep.id)).all()
    faults = s.scalars(select(SessionFault).where(SessionFault.session_id == r.id)
                       .order_by(SessionFault.start_s, SessionFault.id)).all()
    notes = s.execute(select(SessionNote, User.display_name)
                      .join(User, User.id == SessionNote.author_id)
                      .where(SessionNote.session_id == r.id)
                      .order_by(SessionNote.created_at, SessionNote.id)).all()
    series_rows = {x.kind: x for x in s.scalars(
        select(SessionSeries).where(SessionSeries.session_id == r.id))}
    screening = s.get(Screening, r.screening_id) if r.screening_id else None
    report = dict(r.report)
    series = (decode_primary(series_rows["primary"].data) if "primary" in series_rows
              else dict(report.get("series") or {}))
    report["series"] = series
    landmarks = (decode_landmarks(series_rows["landmarks"].data)
                 if "landmarks" in series_rows else None)
    target = (r.target_low, r.target_high) if r.target_low is not None else None
    return SessionDetail(
        **summary_fields(r, name_of), report=report,
        reps_rows=tuple(RepRow(
            side=x.side, index=x.rep_index, start_s=x.start_s, end_s=x.end_s,
            complete=x.complete, peak=x.peak, target_low=x.target_low,
            target_high=x.target_high, reached_target=x.reached_target,
            hold_s=x.hold_s, hold_required_s=x.hold_required_s, hold_ok=x.hold_ok,
            correct=x.correct, score=x.score, rom=x.rom, hold=x.hold, form=x.form,
            faults=sides_of(x.faults.replace(";", ","))) for x in reps),
        faults=tuple(FaultRow(fault=f.fault, side=f.side, rep=f.rep_index,
                              start_s=f.start_s, end_s=f.end_s,
                              duration_s=f.duration_s, cue=f.cue) for f in faults),
        notes=tuple(NoteInfo(id=n.id, author_id=n.author_id, author_display_name=name,
                             created_at=n.created_at, text=n.text)
                    for n, name in notes),
        series=series, landmarks=landmarks,
        score_breakdown=dict(r.score_breakdown or report.get("score") or {}),
        target=target, screening=dict(screening.answers) if screening else None,
        video_path=r.video_path)
