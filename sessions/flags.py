"""Flags for the therapist: listing them, and closing them with a note, who and when.

A flag is raised by the screening (``red_flag``) or by a session whose pain rose
(``pain_rise``). Closing needs a note saying what was done; who closed it and
when are recorded with it, and a closed flag is never reopened or overwritten.
Authorization is done by ``sessions.service.Clinic`` before these are called.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sessions.models import Flag, User

__all__ = ["FlagInfo", "list_flags", "resolve"]


@dataclass(frozen=True)
class FlagInfo:
    """A flag for the therapist."""

    id: int
    patient_id: int
    patient_username: str
    patient_display_name: str
    kind: str                    # "red_flag" | "pain_rise"
    detail: str
    created_at: datetime
    session_id: int | None
    screening_id: int | None
    resolved_at: datetime | None
    resolved_by: int | None
    resolved_by_name: str | None = None
    resolution_note: str | None = None


def list_flags(s: Session, patients: Any, open_only: bool) -> list[FlagInfo]:
    """Flags of ``patients`` (a patient id, or a select of ids), newest first."""
    q = select(Flag, User).join(User, User.id == Flag.patient_id)
    q = q.where(Flag.patient_id == patients) if isinstance(patients, int) else \
        q.where(Flag.patient_id.in_(patients))
    if open_only:
        q = q.where(Flag.resolved_at.is_(None))
    rows = s.execute(q.order_by(Flag.created_at.desc(), Flag.id.desc())).all()
    closers = {x.id: x.display_name for x in s.scalars(select(User).where(
        User.id.in_({f.resolved_by for f, _ in rows if f.resolved_by})))}
    return [FlagInfo(id=f.id, patient_id=f.patient_id, patient_username=u.username,
                     patient_display_name=u.display_name, kind=f.kind, detail=f.detail,
                     created_at=f.created_at, session_id=f.session_id,
                     screening_id=f.screening_id, resolved_at=f.resolved_at,
                     resolved_by=f.resolved_by, resolved_by_name=closers.get(f.resolved_by),
                     resolution_note=f.resolution_note) for f, u in rows]


def resolve(flag: Flag, by_user_id: int, now: datetime, note: str) -> bool:
    """Close ``flag`` with ``note`` (already checked non-empty); False if already closed."""
    if flag.resolved_at is not None:
        return False
    flag.resolved_at = now
    flag.resolved_by = by_user_id
    flag.resolution_note = note
    return True
