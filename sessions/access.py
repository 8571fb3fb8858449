"""Who may reach which patient, session and flag: the clinic's authorization rules.

``sessions.service.Clinic`` calls these inside each request's transaction, with
the principal it has just re-validated against the database (never a
hand-made one): a therapist reaches only patients whose ``therapist_id`` is
theirs; a patient only themselves; an admin no clinical data at all. A record
that exists but is not yours and a record that does not exist give the same
``AccessDenied`` message, so ids can't be probed.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from sessions.auth import AccessDenied, Principal
from sessions.checks import as_id
from sessions.models import Flag, SessionRow, User

__all__ = ["flag", "my_patient_ids", "patient", "require", "session_row"]

_DENIED_PATIENT = "no such patient, or not one you can access"
_DENIED_SESSION = "no such session, or not one you can access"
_DENIED_FLAG = "no such flag, or not one you can access"

_R = TypeVar("_R", SessionRow, Flag)


def patient(s: Session, me: Principal, patient_id: int | None, *,
            therapist_only: bool = False) -> User:
    """The patient ``me`` may read; therapist: own patients; patient: self."""
    if me.role == "therapist":
        if patient_id is None:
            raise ValueError("patient_id is required")
        user = s.get(User, as_id(patient_id))
        if user is None or user.role != "patient" or user.therapist_id != me.user_id:
            raise AccessDenied(_DENIED_PATIENT)
        return user
    if me.role == "patient" and not therapist_only:
        if patient_id is not None and as_id(patient_id) != me.user_id:
            raise AccessDenied(_DENIED_PATIENT)
        return s.get(User, me.user_id)
    if me.role == "admin":
        raise AccessDenied("admin accounts have no access to clinical data; sign in with "
                           "a therapist account")
    raise AccessDenied("only the patient's therapist can do this")


def require(me: Principal, *roles: str) -> None:
    """Refuse unless ``me`` has one of ``roles``."""
    if me.role not in roles:
        if me.role == "admin":
            raise AccessDenied("admin accounts have no access to clinical data")
        raise AccessDenied(f"only {' or '.join(roles)} accounts can do this")


def my_patient_ids(me: Principal) -> Select:
    """A select of the ids of the therapist ``me``'s patients."""
    return select(User.id).where(User.role == "patient", User.therapist_id == me.user_id)


def session_row(s: Session, me: Principal, session_id: int, *,
                therapist_only: bool = False) -> SessionRow:
    """A clinic session of a patient ``me`` may read (``patient``'s rules)."""
    return _patients_row(s, me, SessionRow, session_id, _DENIED_SESSION, therapist_only)


def flag(s: Session, me: Principal, flag_id: int) -> Flag:
    """A flag of one of the therapist ``me``'s patients."""
    return _patients_row(s, me, Flag, flag_id, _DENIED_FLAG, therapist_only=True)


def _patients_row(s: Session, me: Principal, model: type[_R], row_id: int, denied: str,
                  therapist_only: bool) -> _R:
    """Row ``row_id`` of ``model`` when it belongs to a patient ``me`` may reach; else
    ``AccessDenied(denied)``, the same for a missing row and a forbidden one (an id tells
    nobody whether it exists)."""
    row = s.get(model, as_id(row_id))
    if row is None or row.patient_id is None:
        raise AccessDenied(denied)
    try:
        patient(s, me, row.patient_id, therapist_only=therapist_only)
    except AccessDenied:
        raise AccessDenied(denied) from None
    return row
