"""Screening records and the safety gate every recorded session passes.

The rules (questions, red flags, pain rise, validity window) are pure functions
in ``sessions.screening``; this module stores screenings and answers the one
question every path that records a session asks (live coach, uploaded video,
``analyze --save``): may a session be recorded for this patient now?

- no, on a day a screening raised a red flag (until the next local day);
- no, without a passed screening of the same local day taken at most
  ``SCREENING_VALID_S`` before the session started;
- yes otherwise, with that screening (its pain before becomes the session's).

Authorization is not done here: ``sessions.service.Clinic`` checks who may act
for which patient, then calls these functions inside its transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from sessions.auth import AccessDenied
from sessions.models import Flag, Screening
from sessions.screening import (
    ADVICE_OK,
    ADVICE_RED_FLAG,
    ADVICE_RED_FLAG_TODAY,
    SCREENING_QUESTIONS,
    SCREENING_VALID_S,
    evaluate,
)

__all__ = ["ScreeningResult", "current", "record", "red_flag_today", "require_valid",
           "valid_screening"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScreeningResult:
    """Outcome of the safety questions: ``ok`` False means do not start the session."""

    ok: bool
    advice: str
    screening_id: int
    red_flags: tuple[str, ...] = ()


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t


def red_flag_today(s: Session, patient_id: int, day_start: datetime) -> Screening | None:
    """The latest screening since ``day_start`` (UTC) that raised a red flag, if any."""
    return s.scalars(select(Screening).where(
        Screening.patient_id == patient_id, Screening.red_flag,
        Screening.created_at >= day_start)
        .order_by(Screening.created_at.desc(), Screening.id.desc())).first()


def _window_start(started_at: datetime, day_start: datetime) -> datetime:
    return max(day_start, _utc(started_at) - timedelta(seconds=SCREENING_VALID_S))


def valid_screening(s: Session, patient_id: int, started_at: datetime, day_start: datetime,
                    now: datetime) -> Screening | None:
    """The latest passed screening covering a session started at ``started_at``."""
    return s.scalars(select(Screening).where(
        Screening.patient_id == patient_id, Screening.red_flag.is_(False),
        Screening.created_at >= _window_start(started_at, day_start),
        Screening.created_at <= now)
        .order_by(Screening.created_at.desc(), Screening.id.desc())).first()


def record(s: Session, patient_id: int, answers: dict[str, bool], pain_before: int,
           now: datetime, day_start: datetime) -> ScreeningResult:
    """Store a screening; a red flag also raises a ``red_flag`` flag for the therapist.

    On a day a red flag was already raised the result is never ``ok``.

    Raises:
        ValueError: a missing or unknown question, or pain outside 0..10.
    """
    red = evaluate(answers, pain_before)
    earlier = red_flag_today(s, patient_id, day_start)
    advice = ADVICE_RED_FLAG if red else (ADVICE_RED_FLAG_TODAY if earlier else ADVICE_OK)
    row = Screening(patient_id=patient_id, created_at=now, answers=dict(answers),
                    pain_before=pain_before, red_flag=bool(red), advice=advice)
    s.add(row)
    s.flush()
    if red:
        detail = "; ".join(SCREENING_QUESTIONS.get(k, f"pain before {pain_before}/10")
                           for k in red)
        s.add(Flag(patient_id=patient_id, kind="red_flag", created_at=now,
                   detail=f"Screening: {detail}", screening_id=row.id))
        log.warning("red flag in screening %s of patient %s: %s", row.id, patient_id,
                    ", ".join(red))
    return ScreeningResult(ok=not red and earlier is None, advice=advice,
                           screening_id=row.id, red_flags=tuple(red))


def current(s: Session, patient_id: int, now: datetime, day_start: datetime
            ) -> ScreeningResult | None:
    """Today's deciding screening: a red flag (not ok), else the latest valid one, else None."""
    red = red_flag_today(s, patient_id, day_start)
    if red is not None:
        return ScreeningResult(ok=False, advice=ADVICE_RED_FLAG_TODAY, screening_id=red.id,
                               red_flags=tuple(evaluate(red.answers, red.pain_before)))
    sc = valid_screening(s, patient_id, now, day_start, now)
    if sc is None:
        return None
    return ScreeningResult(ok=True, advice=sc.advice, screening_id=sc.id)


def require_valid(s: Session, patient_id: int, screening_id: int | None,
                  started_at: datetime, day_start: datetime, now: datetime) -> Screening:
    """The screening that allows recording a session started at ``started_at``.

    ``screening_id`` None means the latest valid one of the day.

    Raises:
        AccessDenied: the screening is another patient's (or unknown).
        ValueError: a red flag today, no valid screening, or a screening that is too
            old or from another day.
    """
    red = red_flag_today(s, patient_id, day_start)
    if red is not None:
        raise ValueError(f"the safety screening raised a red flag today (screening "
                         f"{red.id}): no session can be recorded for this patient today")
    if screening_id is None:
        sc = valid_screening(s, patient_id, started_at, day_start, now)
        if sc is None:
            raise ValueError("answer the safety questions first: a session is recorded only "
                             f"after a screening today, within {SCREENING_VALID_S // 3600} h "
                             f"of its start")
        return sc
    sc = s.get(Screening, screening_id)
    if sc is None or sc.patient_id != patient_id:
        raise AccessDenied("no such screening, or not this patient's")
    if sc.red_flag:
        raise ValueError(f"screening {sc.id} found a red flag: this session must not be "
                         f"started")
    if not _window_start(started_at, day_start) <= _utc(sc.created_at) <= now:
        raise ValueError(f"screening {sc.id} is no longer valid (older than "
                         f"{SCREENING_VALID_S // 3600} h before the session, or from another "
                         f"day): answer the safety questions again")
    return sc
