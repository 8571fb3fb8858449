"""The clinic service: programs, screening, sessions, flags, dashboards and exports.

Every public method of ``Clinic`` authorizes against the signed-in principal
*inside* the method, in the same transaction as the query:

1. the principal's login token is checked against the database (unknown,
   ended or expired -> ``AuthError``) and its role is read from the account,
   so a hand-made ``Principal`` grants nothing;
2. every query is scoped: a therapist reaches only patients whose
   ``therapist_id`` is theirs; a patient only their own program and sessions;
   an admin no clinical data at all (see ``sessions.auth``).

A record that exists but is not yours and a record that does not exist give the
same ``AccessDenied`` message, so ids can't be probed.

Personal-mode sessions (``sessions.store.SessionStore``, no account: ``patient_id``
NULL) are never visible here.

Days and weeks (today, this week, the adherence calendar, date filters) are in
the local time zone of the machine unless ``tz`` is given; weeks start on Monday.
Programs (prescribing, dates, today's program) and adherence are in
``sessions.programs``; the methods here authorize, then delegate to it.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from exercises.definition import StretchDefinition, load_library
from sessions import flags as flags_service
from sessions import programs, screening_service
from sessions.auth import AccessDenied, Accounts, AuthError, Principal, utcnow
from sessions.db import ensure_schema, get_engine
from sessions.flags import FlagInfo
from sessions.models import (
    COMPLETIONS,
    Flag,
    Program,
    Screening,
    SessionFault,
    SessionNote,
    SessionRep,
    SessionRow,
    SessionSeries,
    User,
)
from sessions.programs import (
    Adherence,
    DuplicateItemError,
    ProgramError,
    ProgramInfo,
    ProgramItem,
    ProgramItemIn,
    TodayItem,
    adherence_text,
)
from sessions.screening import SCREENING_QUESTIONS, check_pain, pain_rose
from sessions.screening_service import ScreeningResult
from sessions.series import (
    LANDMARKS_ENCODING,
    PRIMARY_ENCODING,
    LandmarkSeries,
    decode_landmarks,
    decode_primary,
    encode_landmarks,
    encode_primary,
)
from sessions.sources import is_bundled_sample

if TYPE_CHECKING:
    from coach.report import SessionReport

__all__ = [
    "SCREENING_QUESTIONS",
    "AccessDenied",
    "Adherence",
    "AuthError",
    "Clinic",
    "DuplicateItemError",
    "FaultRow",
    "FlagInfo",
    "NoteInfo",
    "PatientInfo",
    "PatientSummary",
    "ProgramError",
    "ProgramInfo",
    "ProgramItem",
    "ProgramItemIn",
    "RepRow",
    "ScreeningResult",
    "SessionDetail",
    "SessionSummary",
    "StretchTrend",
    "TodayItem",
    "Trends",
    "adherence_text",
]

log = logging.getLogger(__name__)

TREND_WINDOW = 3          # last 3 scores vs the 3 before
TREND_FLAT = 5.0          # a change of less than 5 points is "flat"
MAX_NOTE = 5000
MAX_COMMENT = 5000
_DENIED_PATIENT = "no such patient, or not one you can access"
_DENIED_SESSION = "no such session, or not one you can access"
_DENIED_FLAG = "no such flag, or not one you can access"


@lru_cache(maxsize=1)
def _default_library() -> dict[str, StretchDefinition]:
    return load_library()


# --------------------------------------------------------------------------- data


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


# --------------------------------------------------------------------------- helpers


def _trend(scores: list[float]) -> str | None:
    """'up' / 'down' / 'flat' from the last 3 scores vs the 3 before (fewer: split evenly)."""
    k = min(TREND_WINDOW, len(scores) // 2)
    if k == 0:
        return None
    last = sum(scores[-k:]) / k
    prev = sum(scores[-2 * k:-k]) / k
    if last - prev >= TREND_FLAT:
        return "up"
    if prev - last >= TREND_FLAT:
        return "down"
    return "flat"


def _sides_of(text: str) -> tuple[str, ...]:
    return tuple(s for s in text.split(",") if s)


def _clean(text: str | None, what: str, max_len: int) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise ValueError(f"{what} must be text")
    if len(text) > max_len:
        raise ValueError(f"{what} is too long: {len(text)} characters, at most {max_len}")
    return text.strip()


def _finite(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


class Clinic:
    """The clinic service for one signed-in principal.

    Args:
        principal: from ``Accounts.login`` / ``Accounts.resume``; re-checked on every call.
        engine: database engine (default: ``get_engine()``); the schema is upgraded once.
        clock: returns the current aware UTC time (tests inject one).
        tz: time zone of days and weeks (default: the machine's local zone).
        library: stretch definitions by id (default: the built-in library).

    Raises:
        AuthError: the principal's login is unknown, ended or expired.
    """

    def __init__(self, principal: Principal, engine: Engine | None = None, *,
                 clock: Callable[[], datetime] | None = None, tz: tzinfo | None = None,
                 library: dict[str, StretchDefinition] | None = None) -> None:
        self.engine = engine if engine is not None else get_engine()
        ensure_schema(self.engine)
        self.clock = clock or utcnow
        self.tz = tz
        self._library = library
        self._accounts = Accounts(self.engine, clock=self.clock)
        self.principal = self._accounts.resume(principal.token if isinstance(
            principal, Principal) else "")

    # ------------------------------------------------------------------ plumbing

    @property
    def library(self) -> dict[str, StretchDefinition]:
        """Stretch definitions by id."""
        if self._library is None:
            self._library = _default_library()
        return self._library

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def _me(self, s: Session) -> Principal:
        """The principal, re-validated against the database inside transaction ``s``."""
        me = self._accounts._principal_for(s, self.principal.token)
        self.principal = me
        return me

    def _now(self) -> datetime:
        return self.clock()

    # local days: one implementation (sessions.programs.Days) for every service

    def _days(self) -> programs.Days:
        return programs.Days(self.tz, self._now())

    def _local(self, t: datetime) -> datetime:
        return self._days().local(t)

    def _today(self) -> date:
        return self._days().today

    def _day_start(self, d: date) -> datetime:
        return self._days().start(d)

    def _name(self, exercise: str, fallback: str = "") -> str:
        d = self.library.get(exercise)
        return d.name if d is not None else (fallback or exercise)

    # --- authorization: every public method goes through one of these

    def _patient(self, s: Session, me: Principal, patient_id: int | None, *,
                 therapist_only: bool = False) -> User:
        """The patient ``me`` may read; therapist: own patients; patient: self."""
        if me.role == "therapist":
            if patient_id is None:
                raise ValueError("patient_id is required")
            user = s.get(User, _as_id(patient_id))
            if user is None or user.role != "patient" or user.therapist_id != me.user_id:
                raise AccessDenied(_DENIED_PATIENT)
            return user
        if me.role == "patient" and not therapist_only:
            if patient_id is not None and _as_id(patient_id) != me.user_id:
                raise AccessDenied(_DENIED_PATIENT)
            return s.get(User, me.user_id)
        if me.role == "admin":
            raise AccessDenied("admin accounts have no access to clinical data; sign in with "
                               "a therapist account")
        raise AccessDenied("only the patient's therapist can do this")

    def _require(self, me: Principal, *roles: str) -> None:
        if me.role not in roles:
            if me.role == "admin":
                raise AccessDenied("admin accounts have no access to clinical data")
            raise AccessDenied(f"only {' or '.join(roles)} accounts can do this")

    def _my_patient_ids(self, s: Session, me: Principal) -> Select:
        return select(User.id).where(User.role == "patient", User.therapist_id == me.user_id)

    def _session_row(self, s: Session, me: Principal, session_id: int, *,
                     therapist_only: bool = False) -> SessionRow:
        row = s.get(SessionRow, _as_id(session_id))
        if row is None or row.patient_id is None:
            raise AccessDenied(_DENIED_SESSION)
        try:
            self._patient(s, me, row.patient_id, therapist_only=therapist_only)
        except AccessDenied:
            raise AccessDenied(_DENIED_SESSION) from None
        return row

    # ------------------------------------------------------------------ patients

    def patients(self) -> list[PatientSummary]:
        """The therapist's patients with adherence this week, latest score, trend, flags."""
        with self._session() as s, s.begin():
            me = self._me(s)
            self._require(me, "therapist")
            users = s.scalars(select(User).where(
                User.role == "patient", User.therapist_id == me.user_id)
                .order_by(User.display_name, User.id)).all()
            out = []
            for u in users:
                done, prescribed = self._adherence(s, u.id)
                # completed sessions only: an interrupted set or one cut short by a
                # technical failure is not the patient's result
                scores = s.execute(
                    select(SessionRow.score, SessionRow.created_at)
                    .where(SessionRow.patient_id == u.id, SessionRow.score.is_not(None),
                           SessionRow.completion == "completed")
                    .order_by(SessionRow.created_at.desc(), SessionRow.id.desc())
                    .limit(2 * TREND_WINDOW)).all()
                last = s.scalar(select(func.max(SessionRow.created_at))
                                .where(SessionRow.patient_id == u.id))
                out.append(PatientSummary(
                    id=u.id, username=u.username, display_name=u.display_name,
                    adherence_done=done, adherence_prescribed=prescribed,
                    latest_score=scores[0][0] if scores else None,
                    trend=_trend([r[0] for r in reversed(scores)]),
                    open_flags=self._open_flags(s, u.id),
                    last_session_at=last if last is None else _utc(last)))
            return out

    def patient(self, patient_id: int) -> PatientInfo:
        """One patient (their therapist, or the patient themselves)."""
        with self._session() as s, s.begin():
            me = self._me(s)
            u = self._patient(s, me, patient_id)
            therapist = s.get(User, u.therapist_id) if u.therapist_id else None
            program = self._active_program(s, u.id)
            done, prescribed = self._adherence(s, u.id)
            return PatientInfo(
                id=u.id, username=u.username, display_name=u.display_name,
                therapist_id=u.therapist_id,
                therapist_display_name=therapist.display_name if therapist else None,
                created_at=u.created_at, program_notes=program.notes if program else "",
                video_opt_in=u.video_opt_in, adherence_done=done,
                adherence_prescribed=prescribed, open_flags=self._open_flags(s, u.id))

    def set_video_opt_in(self, opt_in: bool) -> None:
        """The patient allows (or stops allowing) their session videos to be kept."""
        with self._session() as s, s.begin():
            me = self._me(s)
            self._require(me, "patient")
            s.get(User, me.user_id).video_opt_in = bool(opt_in)

    def _open_flags(self, s: Session, patient_id: int) -> int:
        return int(s.scalar(select(func.count()).select_from(Flag).where(
            Flag.patient_id == patient_id, Flag.resolved_at.is_(None))))

    # ------------------------------------------------------------------ programs
    # the rules live in sessions.programs; these methods authorize and delegate

    def set_program(self, patient_id: int, items: list[ProgramItemIn], notes: str = "", *,
                    starts_on: date | None = None, ends_on: date | None = None) -> None:
        """Prescribe a new program (the previous one is kept, inactive). Therapist only.

        Args:
            starts_on: its first day (local date; default today).
            ends_on: its last day (local date, included; default none: open-ended).

        Raises:
            ProgramError: unknown stretch, bad sides, dose, frequency, target or dates
                (a ``ValueError``; nothing is changed).
            DuplicateItemError: the same stretch and sides twice.
        """
        with self._session() as s, s.begin():
            me = self._me(s)
            u = self._patient(s, me, patient_id, therapist_only=True)
            programs.set_program(s, u.id, me.user_id, items, notes, starts_on=starts_on,
                                 ends_on=ends_on, days=self._days(), library=self.library)
        log.info("therapist %s set a program of %d items for patient %s", me.user_id,
                 len(items), u.id)

    def _active_program(self, s: Session, patient_id: int) -> Program | None:
        return programs.active_program(s, patient_id)

    def _items(self, s: Session, patient_id: int) -> list[ProgramItem]:
        return programs.program_items(s, programs.active_program(s, patient_id), self.library)

    def program(self, patient_id: int | None = None) -> list[ProgramItem]:
        """The active program's items: a therapist's patient's, or the patient's own."""
        with self._session() as s, s.begin():
            me = self._me(s)
            u = self._patient(s, me, patient_id)
            return self._items(s, u.id)

    def program_info(self, patient_id: int | None = None) -> ProgramInfo | None:
        """The active program with its dates, notes, items and status (upcoming, running,
        ended): a therapist's patient's, or the patient's own; None without one."""
        with self._session() as s, s.begin():
            me = self._me(s)
            u = self._patient(s, me, patient_id)
            return programs.program_info(s, u.id, self._days(), self.library)

    def todays_program(self) -> list[TodayItem]:
        """The patient's running program with completed sessions today and this week
        (patient only); [] when there is none, or it has not started or has ended."""
        with self._session() as s, s.begin():
            me = self._me(s)
            self._require(me, "patient")
            return programs.todays_items(s, me.user_id, self._days(), self.library)

    def adherence(self, patient_id: int | None = None, since: date | None = None,
                  until: date | None = None) -> Adherence:
        """Prescribed sessions done over a period of local days (both included; None =
        from the program's start / to today): the count the dashboard and the progress
        report show (``sessions.programs.adherence``)."""
        with self._session() as s, s.begin():
            me = self._me(s)
            u = self._patient(s, me, patient_id)
            return self._adherence_in(s, u.id, since, until)

    def _adherence_in(self, s: Session, patient_id: int, since: date | None = None,
                      until: date | None = None) -> Adherence:
        return programs.adherence(
            s, patient_id, self._days(), self.library,
            None if since is None else _as_date(since), None if until is None else _as_date(until))

    def _adherence(self, s: Session, patient_id: int) -> tuple[int, int]:
        """(done, prescribed) this week, Monday to Sunday."""
        monday = self._days().monday
        a = self._adherence_in(s, patient_id, monday, monday + timedelta(days=6))
        return a.done, a.prescribed

    # ------------------------------------------------------------------ screening

    def record_screening(self, answers: dict[str, bool], pain_before: int, *,
                         patient_id: int | None = None) -> ScreeningResult:
        """Record the safety answers; a red flag stops the session and flags it.

        A patient answers for themselves; a therapist may enter their patient's
        answers (``patient_id`` required), e.g. in the clinic. On a day a red flag
        was already raised, the result is never ``ok``: no session can be recorded
        for the patient until the next day (``sessions.screening_service``).

        Raises:
            AccessDenied: not your patient, or an admin.
            ValueError: a missing or unknown question, or pain outside 0..10.
        """
        with self._session() as s, s.begin():
            me = self._me(s)
            self._require(me, "patient", "therapist")
            if me.role == "therapist" and patient_id is None:
                raise ValueError("patient_id is required when a therapist records a screening")
            patient = self._patient(s, me, patient_id)
            return screening_service.record(s, patient.id, answers, pain_before, self._now(),
                                            self._day_start(self._today()))

    def screening_today(self, patient_id: int | None = None) -> ScreeningResult | None:
        """Today's screening that decides whether a session may be recorded now.

        A red flag raised today (``ok`` False), else the latest screening still
        valid (``SCREENING_VALID_S``, same local day), else None: ask the questions.
        """
        with self._session() as s, s.begin():
            me = self._me(s)
            self._require(me, "patient", "therapist")
            patient = self._patient(s, me, patient_id)
            return screening_service.current(s, patient.id, self._now(),
                                             self._day_start(self._today()))

    # ------------------------------------------------------------------ sessions

    def save_session(self, report: SessionReport, *, patient_id: int | None = None,
                     pain_before: int | None = None, pain_after: int | None = None,
                     comment: str = "", completion: str = "completed",
                     abandon_reason: str = "", screening_id: int | None = None,
                     video_path: str | None = None, started_at: datetime | None = None,
                     landmarks: LandmarkSeries | None = None,
                     keep_series: bool = True) -> int:
        """Save a session with its reps, faults and replay data, in one transaction.

        A patient saves their own sessions; a therapist saves for one of their
        patients (``patient_id`` required). ``completion`` "completed" on a report
        that is not complete is stored as "interrupted"; "abandoned" needs a
        reason. ``pain_before`` defaults to the screening's. The video path is kept
        only if the patient opted in (``set_video_opt_in``). Pain after minus
        pain before of 2 or more raises a ``pain_rise`` flag.

        Returns:
            The session id.

        Raises:
            AccessDenied: not your patient, or an admin.
            ValueError: bad values, a screening with a red flag, or a write the
                database refused (nothing is stored then).
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
        abandon_reason = _clean(abandon_reason, "abandon reason", MAX_COMMENT)
        if completion == "abandoned" and not abandon_reason:
            raise ValueError("an abandoned session needs a reason")
        if completion == "completed" and not report.complete:
            completion = "interrupted"
        comment = _clean(comment, "comment", MAX_COMMENT)
        for name, v in (("pain_before", pain_before), ("pain_after", pain_after)):
            if v is not None:
                check_pain(v, name)
        data = json.loads(json.dumps(report.to_dict(include_series=False), allow_nan=False))
        now = self._now()
        if started_at is None:
            started_at = now - timedelta(seconds=max(0.0, float(report.duration_s or 0.0)))
        with self._session() as s:
            try:
                with s.begin():
                    me = self._me(s)
                    if me.role == "therapist" and patient_id is None:
                        raise ValueError("patient_id is required when a therapist saves")
                    self._require(me, "patient", "therapist")
                    patient = self._patient(s, me, patient_id)
                    sc = screening_service.require_valid(
                        s, patient.id, None if screening_id is None else _as_id(screening_id),
                        started_at, self._day_start(self._today()), self._now())
                    screening_id = sc.id
                    if pain_before is None:
                        pain_before = sc.pain_before
                    if video_path is not None and not patient.video_opt_in:
                        log.info("video path not kept: patient %s has not opted in",
                                 patient.id)
                        video_path = None
                    score = report.score or {}
                    row = SessionRow(
                        created_at=now, exercise=report.exercise,
                        sides=",".join(report.sides), source=report.source,
                        score=_finite(score.get("score")), reps=report.reps_done,
                        complete=bool(report.complete), problem=report.problem, report=data,
                        patient_id=patient.id, recorded_by=me.user_id, started_at=started_at,
                        ended_at=now, completion=completion,
                        abandon_reason=abandon_reason or None, pain_before=pain_before,
                        pain_after=pain_after, comment=comment or None,
                        screening_id=screening_id, video_path=video_path,
                        target_low=_finite(report.target[0]) if report.target else None,
                        target_high=_finite(report.target[1]) if report.target else None,
                        score_breakdown=data.get("score"))
                    s.add(row)
                    s.flush()
                    self._add_details(s, row, report, landmarks, keep_series)
                    if pain_rose(pain_before, pain_after):
                        s.add(Flag(patient_id=patient.id, kind="pain_rise", created_at=now,
                                   session_id=row.id,
                                   detail=f"Pain rose from {pain_before}/10 to {pain_after}/10 "
                                          f"during {self._name(report.exercise)}"))
                    _flush(s, "session")
                    new_id = int(row.id)
            except IntegrityError as e:  # a rep the database refused: all rolled back
                raise ValueError(f"could not save the session: {_one_line(e)}") from None
        log.info("saved session %s of patient %s (%s, %s)", new_id, patient.id,
                 report.exercise, completion)
        return new_id

    def _add_details(self, s: Session, row: SessionRow, report: SessionReport,
                     landmarks: LandmarkSeries | None, keep_series: bool) -> None:
        lo, hi = row.target_low, row.target_high
        for r in report.reps:
            s.add(SessionRep(
                session_id=row.id, side=r["side"], rep_index=int(r["index"]),
                start_s=_finite(r.get("start_s")), end_s=_finite(r.get("end_s")),
                complete=bool(r["complete"]), peak=_finite(r.get("peak")), target_low=lo,
                target_high=hi, reached_target=bool(r.get("reached_target")),
                hold_s=_finite(r.get("hold_s")),
                hold_required_s=float(r.get("hold_required_s") or 0.0),
                hold_ok=bool(r.get("hold_ok")), correct=bool(r.get("correct")),
                score=_finite(r.get("score")), rom=_finite(r.get("rom")),
                hold=_finite(r.get("hold")), form=_finite(r.get("form")),
                faults=";".join(r.get("faults") or ())))
            s.flush()   # one row at a time: a bad rep fails here, the transaction rolls back
        for f in report.faults:
            s.add(SessionFault(
                session_id=row.id, fault=f["id"], side=f["side"],
                rep_index=None if f.get("rep") is None else int(f["rep"]),
                start_s=_finite(f.get("start_s")), end_s=_finite(f.get("end_s")),
                duration_s=_finite(f.get("duration_s")), cue=f.get("cue") or ""))
        if keep_series and report.series:
            s.add(SessionSeries(session_id=row.id, kind="primary", encoding=PRIMARY_ENCODING,
                                data=encode_primary(report.series)))
        if landmarks is not None:
            s.add(SessionSeries(session_id=row.id, kind="landmarks",
                                encoding=LANDMARKS_ENCODING, data=encode_landmarks(landmarks)))

    def sessions(self, patient_id: int | None = None, since: date | None = None,
                 until: date | None = None, exercise: str | None = None
                 ) -> list[SessionSummary]:
        """Sessions, newest first: a patient's own; a therapist's patients' (one or all).

        ``since`` and ``until`` are local dates, both included.
        """
        with self._session() as s, s.begin():
            me = self._me(s)
            q = select(SessionRow)
            if me.role == "therapist" and patient_id is None:
                q = q.where(SessionRow.patient_id.in_(self._my_patient_ids(s, me)))
            else:
                u = self._patient(s, me, patient_id)
                q = q.where(SessionRow.patient_id == u.id)
            q = self._date_filter(q, since, until)
            if exercise:
                q = q.where(SessionRow.exercise == exercise)
            q = q.order_by(SessionRow.created_at.desc(), SessionRow.id.desc())
            return [self._summary(r) for r in s.scalars(q)]

    def _date_filter(self, q: Select, since: date | None, until: date | None) -> Select:
        if since is not None:
            q = q.where(SessionRow.created_at >= self._day_start(_as_date(since)))
        if until is not None:
            q = q.where(SessionRow.created_at
                        < self._day_start(_as_date(until) + timedelta(days=1)))
        return q

    def _summary_fields(self, r: SessionRow) -> dict[str, Any]:
        return dict(
            id=r.id, patient_id=r.patient_id, exercise=r.exercise,
            exercise_name=self._name(r.exercise, (r.report or {}).get("exercise_name", "")),
            sides=_sides_of(r.sides), source=r.source, created_at=r.created_at,
            started_at=r.started_at, ended_at=r.ended_at, score=r.score, reps=r.reps,
            completion=r.completion, abandon_reason=r.abandon_reason, problem=r.problem,
            pain_before=r.pain_before, pain_after=r.pain_after, comment=r.comment)

    def _summary(self, r: SessionRow) -> SessionSummary:
        return SessionSummary(**self._summary_fields(r))

    def session(self, session_id: int) -> SessionDetail:
        """One session with reps, faults, notes and replay series."""
        with self._session() as s, s.begin():
            me = self._me(s)
            r = self._session_row(s, me, session_id)
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
                **self._summary_fields(r), report=report,
                reps_rows=tuple(RepRow(
                    side=x.side, index=x.rep_index, start_s=x.start_s, end_s=x.end_s,
                    complete=x.complete, peak=x.peak, target_low=x.target_low,
                    target_high=x.target_high, reached_target=x.reached_target,
                    hold_s=x.hold_s, hold_required_s=x.hold_required_s, hold_ok=x.hold_ok,
                    correct=x.correct, score=x.score, rom=x.rom, hold=x.hold, form=x.form,
                    faults=_sides_of(x.faults.replace(";", ","))) for x in reps),
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

    def add_note(self, session_id: int, text: str) -> None:
        """A note on a session, by the patient's therapist (the patient can read it)."""
        text = _clean(text, "note", MAX_NOTE)
        if not text:
            raise ValueError("the note is empty")
        with self._session() as s, s.begin():
            me = self._me(s)
            self._require(me, "therapist")
            r = self._session_row(s, me, session_id, therapist_only=True)
            s.add(SessionNote(session_id=r.id, author_id=me.user_id, created_at=self._now(),
                              text=text))

    # ------------------------------------------------------------------ flags

    def flags(self, patient_id: int | None = None, open_only: bool = True) -> list[FlagInfo]:
        """Flags of the therapist's patients (one or all), newest first. Therapist only."""
        with self._session() as s, s.begin():
            me = self._me(s)
            self._require(me, "therapist")
            if patient_id is None:
                return flags_service.list_flags(s, self._my_patient_ids(s, me), open_only)
            u = self._patient(s, me, patient_id, therapist_only=True)
            return flags_service.list_flags(s, u.id, open_only)

    def resolve_flag(self, flag_id: int, note: str) -> None:
        """Close a flag with a note saying what was done (the patient's therapist).

        Who closed it and when are recorded with the note; closing a closed flag
        changes nothing (the first note stays).

        Raises:
            ValueError: an empty or too long note.
            AccessDenied: not your patient's flag (or no such flag).
        """
        note = _clean(note, "note", MAX_NOTE)
        if not note:
            raise ValueError("say what was done about this flag (a note is required to "
                             "close it)")
        with self._session() as s, s.begin():
            me = self._me(s)
            self._require(me, "therapist")
            f = s.get(Flag, _as_id(flag_id))
            if f is None:
                raise AccessDenied(_DENIED_FLAG)
            try:
                self._patient(s, me, f.patient_id, therapist_only=True)
            except AccessDenied:
                raise AccessDenied(_DENIED_FLAG) from None
            flags_service.resolve(f, me.user_id, self._now(), note)

    # ------------------------------------------------------------------ trends

    def trends(self, patient_id: int, include_incomplete: bool = False) -> Trends:
        """Score, ROM and pain over time per stretch, and the adherence calendar.

        Only completed sessions are in the series unless ``include_incomplete``: a set
        the person stopped early, abandoned, or that a technical failure cut short
        (live: dropped connection, computer too busy) is not their result, and a 0/100
        there would drag the scores and trends down. The calendar counts completed
        sessions either way.
        """
        with self._session() as s, s.begin():
            me = self._me(s)
            u = self._patient(s, me, patient_id)
            return self._trends(s, u.id, include_incomplete=include_incomplete)

    def _trends(self, s: Session, patient_id: int, since: date | None = None,
                until: date | None = None, include_incomplete: bool = False) -> Trends:
        q = self._date_filter(select(SessionRow).where(SessionRow.patient_id == patient_id),
                              since, until).order_by(SessionRow.created_at, SessionRow.id)
        if not include_incomplete:
            q = q.where(SessionRow.completion == "completed")
        rows = list(s.scalars(q))
        peaks: dict[int, list[tuple[float, bool]]] = defaultdict(list)
        if rows:
            for sid, peak, complete in s.execute(
                    select(SessionRep.session_id, SessionRep.peak, SessionRep.complete)
                    .where(SessionRep.session_id.in_([r.id for r in rows]),
                           SessionRep.peak.is_not(None))):
                peaks[sid].append((peak, complete))
        programmed = {i.exercise: i for i in self._items(s, patient_id)}
        stretches: dict[str, StretchTrend] = {}
        calendar: Counter = Counter()
        for r in rows:
            d = self.library.get(r.exercise)
            if r.exercise not in stretches:
                item = programmed.get(r.exercise)
                target = item.target if item is not None and item.target else (
                    tuple(d.primary.target) if d is not None else None)
                from exercises.measures import get_measure

                stretches[r.exercise] = StretchTrend(
                    exercise=r.exercise, name=self._name(r.exercise),
                    label=d.primary.label if d else "", direction=(
                        d.primary.direction if d else "increase"),
                    unit=get_measure(d.primary.measure).unit if d else "",
                    target=target, session_ids=[], dates=[], scores=[], rom_peak=[],
                    pain_before=[], pain_after=[])
            t = stretches[r.exercise]
            t.session_ids.append(r.id)
            t.dates.append(r.created_at)
            t.scores.append(r.score)
            t.rom_peak.append(_best_peak(peaks.get(r.id, []), t.direction))
            t.pain_before.append(r.pain_before)
            t.pain_after.append(r.pain_after)
            if r.completion == "completed":
                calendar[self._local(r.created_at).date()] += 1
        return Trends(patient_id=patient_id, stretches=stretches, calendar=dict(calendar),
                      dates=[r.created_at for r in rows], scores=[r.score for r in rows],
                      pain_before=[r.pain_before for r in rows],
                      pain_after=[r.pain_after for r in rows],
                      prescribed_per_week=sum(i.per_week for i in programmed.values()))

    # ------------------------------------------------------------------ exports

    def export_csv(self, patient_id: int, since: date | None, until: date | None
                   ) -> tuple[str, str]:
        """(sessions CSV, reps CSV) of a patient for a date range (local dates, inclusive)."""
        from sessions.exports import reps_csv, sessions_csv

        with self._session() as s, s.begin():
            me = self._me(s)
            u = self._patient(s, me, patient_id)
            rows = list(s.scalars(self._date_filter(
                select(SessionRow).where(SessionRow.patient_id == u.id), since, until)
                .order_by(SessionRow.created_at, SessionRow.id)))
            reps = list(s.scalars(select(SessionRep).where(
                SessionRep.session_id.in_([r.id for r in rows]))
                .order_by(SessionRep.session_id, SessionRep.start_s, SessionRep.id))) \
                if rows else []
            summaries = [self._summary(r) for r in rows]
        by_id = {x.id: x for x in summaries}
        return (sessions_csv(summaries, u.username, self._local),
                reps_csv(reps, by_id, self._local))

    def export_pdf(self, patient_id: int, since: date | None, until: date | None) -> bytes:
        """A two-page PDF progress report of a patient for a date range (local dates,
        inclusive): prescription, adherence, score, pain and range of motion over time,
        flags (``sessions.progress_report``, ``sessions.progress_pdf``)."""
        from sessions.progress_pdf import progress_pdf
        from sessions.progress_report import progress_data

        with self._session() as s, s.begin():
            me = self._me(s)
            u = self._patient(s, me, patient_id)
            data = progress_data(self, s, u, since, until)
        return progress_pdf(data)

    def export_handout(self, patient_id: int | None = None) -> bytes:
        """The printable program handout (PDF) of a therapist's patient, or a patient's own:
        each prescribed stretch with steps, dose, note, safety and demonstration stills."""
        from sessions.handout import HandoutData, handout_items, handout_pdf

        with self._session() as s, s.begin():
            me = self._me(s)
            u = self._patient(s, me, patient_id)
            program = self._active_program(s, u.id)
            therapist = s.get(User, u.therapist_id) if u.therapist_id else None
            items = self._items(s, u.id)
            data = HandoutData(
                display_name=u.display_name,
                therapist=therapist.display_name if therapist is not None else None,
                program_start=program.starts_on if program else None,
                program_end=program.ends_on if program else None,
                generated=self._today(), program_notes=program.notes if program else "",
                items=[])
        data = replace(data, items=handout_items(items, self.library))
        return handout_pdf(data)


def _best_peak(peaks: list[tuple[float, bool]], direction: str) -> float | None:
    chosen = [p for p, c in peaks if c] or [p for p, _ in peaks]
    if not chosen:
        return None
    return max(chosen) if direction == "increase" else min(chosen)


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t


MAX_ID = 2**31 - 1   # ids are 32-bit INTEGER columns on every backend


def _as_id(x: Any) -> int:
    """``x`` as a row id, checked before any SQL (a 70-digit id never reaches the driver)."""
    if isinstance(x, bool):
        raise ValueError(f"expected an id, got {x!r}")
    try:
        value = int(x)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"expected an id, got {str(x)[:40]!r}") from None
    if not -MAX_ID <= value <= MAX_ID:
        raise ValueError(f"id out of range: {str(value)[:40]} (at most {MAX_ID})")
    return value


def _as_date(x: date | datetime) -> date:
    if isinstance(x, datetime):
        return x.date()
    if isinstance(x, date):
        return x
    raise ValueError(f"expected a date, got {x!r}")


def _one_line(e: BaseException) -> str:
    orig = getattr(e, "orig", None) or e
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(e).__name__


def _flush(s: Session, what: str) -> None:
    try:
        s.flush()
    except IntegrityError as e:
        raise ValueError(f"could not save the {what}: {_one_line(e)}") from None
