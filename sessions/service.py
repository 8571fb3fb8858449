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
The methods here authorize (the rules: ``sessions.access``), then delegate: programs
(prescribing, dates, today's program) and adherence to ``sessions.programs``, session
records (saved, listed, notes) to ``sessions.records``, session rows (details written
and read back) to ``sessions.session_rows``, the dashboard to ``sessions.dashboard``,
progress over time to ``sessions.trends``, screening to ``sessions.screening_service``,
flags to ``sessions.flags``, what exports gather to ``sessions.export_data`` and
``sessions.progress_report``; what they return is in ``sessions.summaries`` and the
checks of values before any SQL in ``sessions.checks``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from exercises.definition import StretchDefinition, load_library
from sessions import access, dashboard, programs, records, screening_service
from sessions import flags as flags_service
from sessions.auth import AccessDenied, Accounts, AuthError, Principal, utcnow
from sessions.checks import as_date, as_id, clean_text, one_line
from sessions.db import ensure_schema, get_engine
from sessions.flags import FlagInfo
from sessions.models import User
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
from sessions.records import MAX_NOTE
from sessions.screening import SCREENING_QUESTIONS
from sessions.screening_service import ScreeningResult
from sessions.series import LandmarkSeries
from sessions.session_rows import read_detail
from sessions.summaries import (
    FaultRow,
    NoteInfo,
    PatientInfo,
    PatientSummary,
    RepRow,
    SessionDetail,
    SessionSummary,
    StretchTrend,
    Trends,
)
from sessions.trends import patient_trends

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


@lru_cache(maxsize=1)
def _default_library() -> dict[str, StretchDefinition]:
    return load_library()


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

    # --- authorization: every public method goes through sessions.access (the rules)

    def _patient(self, s: Session, me: Principal, patient_id: int | None, *,
                 therapist_only: bool = False) -> User:
        """The patient ``me`` may read; therapist: own patients; patient: self."""
        return access.patient(s, me, patient_id, therapist_only=therapist_only)

    # ------------------------------------------------------------------ patients

    def patients(self) -> list[PatientSummary]:
        """The therapist's patients with adherence this week, latest score, trend, flags."""
        with self._session() as s, s.begin():
            me = self._me(s)
            access.require(me, "therapist")
            return dashboard.patient_summaries(s, me.user_id, self._days(), self.library)

    def patient(self, patient_id: int) -> PatientInfo:
        """One patient (their therapist, or the patient themselves)."""
        with self._session() as s, s.begin():
            me = self._me(s)
            u = self._patient(s, me, patient_id)
            return dashboard.patient_info(s, u, self._days(), self.library)

    def set_video_opt_in(self, opt_in: bool) -> None:
        """The patient allows (or stops allowing) their session videos to be kept."""
        with self._session() as s, s.begin():
            me = self._me(s)
            access.require(me, "patient")
            s.get(User, me.user_id).video_opt_in = bool(opt_in)

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
            access.require(me, "patient")
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
            None if since is None else as_date(since, "since"),
            None if until is None else as_date(until, "until"))

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
            access.require(me, "patient", "therapist")
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
            access.require(me, "patient", "therapist")
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
        completion, abandon_reason, comment, data = records.check_save(
            report, completion, abandon_reason, comment, pain_before, pain_after)
        now = self._now()
        if started_at is None:
            started_at = now - timedelta(seconds=max(0.0, float(report.duration_s or 0.0)))
        with self._session() as s:
            try:
                with s.begin():
                    me = self._me(s)
                    if me.role == "therapist" and patient_id is None:
                        raise ValueError("patient_id is required when a therapist saves")
                    access.require(me, "patient", "therapist")
                    patient = self._patient(s, me, patient_id)
                    sc = screening_service.require_valid(
                        s, patient.id, None if screening_id is None else as_id(screening_id),
                        started_at, self._day_start(self._today()), self._now())
                    new_id = records.insert_session(
                        s, patient, me.user_id, report, data, sc, now=now,
                        started_at=started_at, completion=completion,
                        abandon_reason=abandon_reason, pain_before=pain_before,
                        pain_after=pain_after, comment=comment, video_path=video_path,
                        landmarks=landmarks, keep_series=keep_series, name=self._name)
            except IntegrityError as e:  # a rep the database refused: all rolled back
                raise ValueError(f"could not save the session: {one_line(e)}") from None
        log.info("saved session %s of patient %s (%s, %s)", new_id, patient.id,
                 report.exercise, completion)
        return new_id

    def sessions(self, patient_id: int | None = None, since: date | None = None,
                 until: date | None = None, exercise: str | None = None
                 ) -> list[SessionSummary]:
        """Sessions, newest first: a patient's own; a therapist's patients' (one or all).

        ``since`` and ``until`` are local dates, both included.
        """
        with self._session() as s, s.begin():
            me = self._me(s)
            if me.role == "therapist" and patient_id is None:
                patients = access.my_patient_ids(me)
            else:
                patients = self._patient(s, me, patient_id).id
            return records.list_sessions(s, patients, self._days(), since, until, exercise,
                                         self._name)

    def session(self, session_id: int) -> SessionDetail:
        """One session with reps, faults, notes and replay series."""
        with self._session() as s, s.begin():
            me = self._me(s)
            return read_detail(s, access.session_row(s, me, session_id), self._name)

    def add_note(self, session_id: int, text: str) -> None:
        """A note on a session, by the patient's therapist (the patient can read it)."""
        text = clean_text(text, "note", MAX_NOTE)
        if not text:
            raise ValueError("the note is empty")
        with self._session() as s, s.begin():
            me = self._me(s)
            access.require(me, "therapist")
            r = access.session_row(s, me, session_id, therapist_only=True)
            records.add_note(s, r.id, me.user_id, self._now(), text)

    # ------------------------------------------------------------------ flags

    def flags(self, patient_id: int | None = None, open_only: bool = True) -> list[FlagInfo]:
        """Flags of the therapist's patients (one or all), newest first. Therapist only."""
        with self._session() as s, s.begin():
            me = self._me(s)
            access.require(me, "therapist")
            if patient_id is None:
                return flags_service.list_flags(s, access.my_patient_ids(me), open_only)
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
        note = clean_text(note, "note", MAX_NOTE)
        if not note:
            raise ValueError("say what was done about this flag (a note is required to "
                             "close it)")
        with self._session() as s, s.begin():
            me = self._me(s)
            access.require(me, "therapist")
            f = access.flag(s, me, flag_id)
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
        return patient_trends(s, patient_id, self._days(), self.library,
                              self._items(s, patient_id), since, until, include_incomplete)

    # ------------------------------------------------------------------ exports

    def export_csv(self, patient_id: int, since: date | None, until: date | None
                   ) -> tuple[str, str]:
        """(sessions CSV, reps CSV) of a patient for a date range (local dates, inclusive)."""
        from sessions.export_data import csv_rows
        from sessions.exports import reps_csv, sessions_csv

        with self._session() as s, s.begin():
            me = self._me(s)
            u = self._patient(s, me, patient_id)
            summaries, reps = csv_rows(s, u.id, self._days(), since, until, self._name)
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
            data = progress_data(s, u, self._days(), self.library, since, until)
        return progress_pdf(data)

    def export_handout(self, patient_id: int | None = None) -> bytes:
        """The printable program handout (PDF) of a therapist's patient, or a patient's own:
        each prescribed stretch with steps, dose, note, safety and demonstration stills."""
        from sessions.export_data import handout_header
        from sessions.handout import handout_items, handout_pdf

        with self._session() as s, s.begin():
            me = self._me(s)
            u = self._patient(s, me, patient_id)
            items = self._items(s, u.id)
            data = handout_header(s, u, self._today())
        data = replace(data, items=handout_items(items, self.library))
        return handout_pdf(data)
