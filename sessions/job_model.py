"""The ``analysis_jobs`` table: one video analysis run as a job (see ``sessions.jobs``).

Kept apart from ``sessions.models`` so the job machinery stays in its own modules;
``sessions.models`` imports it at the end so the schema head is one metadata.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sessions.models import Base, UTCDateTime

__all__ = ["JOB_STATES", "SAVE_TARGETS", "AnalysisJob"]

#: queued -> running -> done | failed | cancelled (running -> running again when a
#: worker died and the job is re-run; ``attempts`` counts the runs)
JOB_STATES = ("queued", "running", "done", "failed", "cancelled")
#: where a finished job's report goes: nowhere, personal sessions, or a patient's record
SAVE_TARGETS = ("none", "personal", "patient")


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN ({', '.join(repr(v) for v in values)})"


class AnalysisJob(Base):
    """One video analysis job, its progress and its result."""

    __tablename__ = "analysis_jobs"
    __table_args__ = (
        CheckConstraint(_in("state", JOB_STATES), name="state"),
        CheckConstraint(_in("save", SAVE_TARGETS), name="save"),
        Index("ix_analysis_jobs_state_created", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    batch: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    video_path: Mapped[str] = mapped_column(Text, nullable=False)
    label: Mapped[str] = mapped_column(String(255), nullable=False)
    exercise: Mapped[str] = mapped_column(String(64), nullable=False)
    side: Mapped[str | None] = mapped_column(String(16), nullable=True)
    params: Mapped[dict] = mapped_column(JSON, nullable=False)
    save: Mapped[str] = mapped_column(String(16), nullable=False)
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True)
    submitted_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    frames_done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    frames_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), nullable=True)
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
