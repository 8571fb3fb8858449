"""The database schema as SQLAlchemy 2 models (the head of ``sessions/migrations``).

Tables: ``users`` (accounts, argon2 hashes), ``login_sessions`` (hashed tokens),
``login_throttle`` (failed logins per username), ``programs`` / ``program_items``
(what a therapist prescribes), ``screenings`` (safety answers before a session),
``sessions`` (one stretch session; the first release's table with new columns),
``session_reps``, ``session_faults``, ``session_series`` (compact replay data),
``session_notes`` and ``flags``.

Times are stored in UTC; ``UTCDateTime`` gives timezone-aware values back on
every backend (SQLite drops the zone). A change here needs a new migration in
``sessions/migrations/versions`` (``tests/test_migrations.py`` checks that the
models and the migrated schema agree).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "COMPLETIONS",
    "FLAG_KINDS",
    "ROLES",
    "Base",
    "Flag",
    "LoginSession",
    "LoginThrottle",
    "Program",
    "ProgramItem",
    "Screening",
    "SessionFault",
    "SessionNote",
    "SessionRep",
    "SessionRow",
    "SessionSeries",
    "UTCDateTime",
    "User",
]

ROLES = ("therapist", "patient", "admin")
COMPLETIONS = ("completed", "interrupted", "abandoned")
FLAG_KINDS = ("red_flag", "pain_rise")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
}


class UTCDateTime(TypeDecorator):
    """``DateTime(timezone=True)`` that always returns aware UTC datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware (UTC) datetime")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    """Declarative base with deterministic constraint names."""

    metadata = MetaData(naming_convention=NAMING)


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN ({', '.join(repr(v) for v in values)})"


class User(Base):
    """An account: therapist, patient or admin (one role per account)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(150), nullable=False)
    username_key: Mapped[str] = mapped_column(String(150), nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    video_opt_in: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class LoginSession(Base):
    """A signed-in session: the SHA-256 of a random token, expiring when idle."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    idle_timeout_s: Mapped[int] = mapped_column(Integer, nullable=False)


class LoginThrottle(Base):
    """Failed logins per username (known or not), for rate limiting and lockout."""

    __tablename__ = "login_throttle"

    username_key: Mapped[str] = mapped_column(String(150), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Program(Base):
    """A patient's program; setting a new one deactivates the previous (history kept).

    It runs from ``starts_on`` to ``ends_on`` (local dates, both included; no end date =
    open-ended).
    """

    __tablename__ = "programs"
    __table_args__ = (
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # added by revision 0005
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class ProgramItem(Base):
    """One prescribed stretch: sides, dose, how often, optional target override.

    ``times_per_week``: on how many days of a week (1-7; items prescribed before
    ``times_per_day`` existed may say up to 28 sessions a week, once a day);
    ``times_per_day``: sessions on each of those days.
    """

    __tablename__ = "program_items"
    __table_args__ = (
        CheckConstraint("sets >= 1 AND sets <= 10", name="sets"),
        CheckConstraint("reps >= 1 AND reps <= 50", name="reps"),
        CheckConstraint("hold_s >= 0 AND hold_s <= 300", name="hold_s"),
        CheckConstraint("times_per_week >= 1 AND times_per_week <= 28", name="times_per_week"),
        CheckConstraint("times_per_day >= 1 AND times_per_day <= 6", name="times_per_day"),
        CheckConstraint("rest_between_sets_s >= 0 AND rest_between_sets_s <= 600",
                        name="rest_between_sets_s"),
        CheckConstraint("(target_low IS NULL AND target_high IS NULL) OR "
                        "(target_low IS NOT NULL AND target_high IS NOT NULL AND "
                        "target_low < target_high)", name="target"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    exercise: Mapped[str] = mapped_column(String(64), nullable=False)
    sides: Mapped[str] = mapped_column(String(32), nullable=False)
    sets: Mapped[int] = mapped_column(Integer, nullable=False)
    reps: Mapped[int] = mapped_column(Integer, nullable=False)
    hold_s: Mapped[float] = mapped_column(Float, nullable=False)
    times_per_week: Mapped[int] = mapped_column(Integer, nullable=False)
    target_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    target_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # added by revision 0005
    times_per_day: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    rest_between_sets_s: Mapped[int] = mapped_column(Integer, nullable=False, default=30)


class Screening(Base):
    """Safety answers and pain before a session; ``red_flag`` means it must not start."""

    __tablename__ = "screenings"
    __table_args__ = (
        CheckConstraint("pain_before >= 0 AND pain_before <= 10", name="pain_before"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    answers: Mapped[dict] = mapped_column(JSON, nullable=False)
    pain_before: Mapped[int] = mapped_column(Integer, nullable=False)
    red_flag: Mapped[bool] = mapped_column(Boolean, nullable=False)
    advice: Mapped[str] = mapped_column(Text, nullable=False, default="")


class SessionRow(Base):
    """One stretch session. The first eight columns are the first release's table.

    ``patient_id`` NULL means a personal-mode session (``SessionStore``, no accounts);
    those are never visible through the clinic service.
    """

    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint(_in("completion", COMPLETIONS), name="completion"),
        CheckConstraint("pain_before IS NULL OR (pain_before >= 0 AND pain_before <= 10)",
                        name="pain_before"),
        CheckConstraint("pain_after IS NULL OR (pain_after >= 0 AND pain_after <= 10)",
                        name="pain_after"),
        Index("ix_sessions_patient_created", "patient_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    exercise: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    sides: Mapped[str] = mapped_column(String(32), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    reps: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    complete: Mapped[bool] = mapped_column(Boolean, nullable=False)
    problem: Mapped[str | None] = mapped_column(Text, nullable=True)
    report: Mapped[dict] = mapped_column(JSON, nullable=False)
    # added by revision 0002
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completion: Mapped[str] = mapped_column(String(16), nullable=False,
                                            server_default="completed")
    abandon_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    pain_before: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pain_after: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    screening_id: Mapped[int | None] = mapped_column(ForeignKey("screenings.id"), nullable=True)
    video_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    target_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    target_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    score_breakdown: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class SessionRep(Base):
    """One repetition of a session with its metrics."""

    __tablename__ = "session_reps"
    __table_args__ = (
        UniqueConstraint("session_id", "side", "rep_index", name="uq_session_reps_rep"),
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", name="score"),
        CheckConstraint("hold_s IS NULL OR hold_s >= 0", name="hold_s"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    side: Mapped[str] = mapped_column(String(8), nullable=False)
    rep_index: Mapped[int] = mapped_column(Integer, nullable=False)
    start_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    end_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    complete: Mapped[bool] = mapped_column(Boolean, nullable=False)
    peak: Mapped[float | None] = mapped_column(Float, nullable=True)
    target_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    target_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    reached_target: Mapped[bool] = mapped_column(Boolean, nullable=False)
    hold_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    hold_required_s: Mapped[float] = mapped_column(Float, nullable=False)
    hold_ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    correct: Mapped[bool] = mapped_column(Boolean, nullable=False)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    rom: Mapped[float | None] = mapped_column(Float, nullable=True)
    hold: Mapped[float | None] = mapped_column(Float, nullable=True)
    form: Mapped[float | None] = mapped_column(Float, nullable=True)
    faults: Mapped[str] = mapped_column(Text, nullable=False, default="")


class SessionFault(Base):
    """One form fault with its time span (seconds from the session start)."""

    __tablename__ = "session_faults"
    __table_args__ = (
        CheckConstraint("duration_s IS NULL OR duration_s >= 0", name="duration_s"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    fault: Mapped[str] = mapped_column(String(64), nullable=False)
    side: Mapped[str] = mapped_column(String(8), nullable=False)
    rep_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    start_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    end_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    cue: Mapped[str] = mapped_column(Text, nullable=False, default="")


class SessionSeries(Base):
    """Compact replay data: ``primary`` (measure per frame) or ``landmarks`` (33x2 per frame)."""

    __tablename__ = "session_series"
    __table_args__ = (CheckConstraint(_in("kind", ("primary", "landmarks")), name="kind"),)

    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    encoding: Mapped[str] = mapped_column(String(32), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class SessionNote(Base):
    """A therapist's note on a session."""

    __tablename__ = "session_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)


class Flag(Base):
    """Something the therapist must look at: a red flag in screening, or pain rising."""

    __tablename__ = "flags"
    __table_args__ = (CheckConstraint(_in("kind", FLAG_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), nullable=True)
    screening_id: Mapped[int | None] = mapped_column(
        ForeignKey("screenings.id", ondelete="CASCADE"), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    resolution_note: Mapped[str | None] = mapped_column(Text, nullable=True)


# the job table lives in its own module; imported here so the schema head is one metadata
from sessions.job_model import AnalysisJob  # noqa: E402, F401
