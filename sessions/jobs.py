"""Video analyses as jobs: their state, progress and result in the database.

A job goes ``queued`` -> ``running`` -> ``done`` | ``failed`` | ``cancelled``. Who runs
it (an in-process worker, or ``stretch-coach worker`` processes behind a broker) is
``coach.jobs``' business; this module only records, and it makes the record safe
against workers that die or run the same job twice:

- ``claim`` starts a run and returns its attempt number (``attempts`` + 1). A job
  whose worker died stays ``running``; claiming it again starts a new attempt.
- ``finish`` saves the session (if asked) and marks the job ``done`` in ONE
  transaction, and only for the current attempt: a run that was overtaken by a
  re-run, or cancelled, saves nothing. So a job is saved exactly once, and a worker
  killed mid-job leaves nothing half-saved.
- ``progress`` records frames done (throttled by the caller) and tells the worker
  whether it should stop (cancel asked, or another attempt took the job over).

No SQL outside ``sessions/``: the app, the CLI and the workers go through ``JobStore``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

from coach.report import SessionReport
from sessions.db import ensure_schema, get_engine
from sessions.job_model import JOB_STATES, SAVE_TARGETS, AnalysisJob
from sessions.models import SessionRow, User

__all__ = [
    "JOB_STATES",
    "SAVE_TARGETS",
    "JobInfo",
    "JobLost",
    "JobStore",
    "worker_name",
]

log = logging.getLogger(__name__)

FINAL_STATES = ("done", "failed", "cancelled")
MAX_ERROR = 500


class JobLost(Exception):  # noqa: N818 - it is a condition, not a failure of the caller
    """This attempt no longer owns the job (re-run elsewhere, cancelled, or finished)."""


def worker_name() -> str:
    """``host:pid`` of this process: who is running a job."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _one_line(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= MAX_ERROR else line[: MAX_ERROR - 3] + "..."


@dataclass(frozen=True)
class JobInfo:
    """One job as the UI and the CLI see it.

    Attributes:
        id: job id.
        state: one of ``JOB_STATES``.
        label: what to call the video (its original file name).
        exercise: stretch id; side: side judged (None: every side).
        video_path: the file the worker reads (must be reachable by the worker).
        params: analysis parameters (output paths, prescription overrides...).
        save: ``none``, ``personal`` or ``patient``.
        patient_id: whose record a ``patient`` job is saved to.
        submitted_by: the account that asked for it (None without accounts).
        batch: batch tag (``stretch-coach batch``), or None.
        attempts: runs started (more than 1: a worker died or the job was re-run).
        worker: ``host:pid`` of the last run.
        frames_done, frames_total: progress of the current run (total None: unknown).
        cancel_requested: a cancel was asked while it ran.
        error: why it failed, one line.
        session_id: the saved session, when saved.
        created_at, started_at, finished_at, heartbeat_at: UTC times.
        result: the report as a dict (``SessionReport.to_dict``), when done.
    """

    id: int
    state: str
    label: str
    exercise: str
    side: str | None
    video_path: str
    params: dict
    save: str
    patient_id: int | None
    submitted_by: int | None
    batch: str | None
    attempts: int
    worker: str | None
    frames_done: int
    frames_total: int | None
    cancel_requested: bool
    error: str | None
    session_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    result: dict | None

    @property
    def finished(self) -> bool:
        """Done, failed or cancelled."""
        return self.state in FINAL_STATES

    @property
    def share(self) -> float | None:
        """Progress 0..1 of the current run (None: total unknown)."""
        if self.state == "done":
            return 1.0
        if not self.frames_total:
            return None
        return min(1.0, self.frames_done / self.frames_total)

    def report(self) -> SessionReport | None:
        """The finished job's report, or None."""
        return SessionReport.from_dict(dict(self.result)) if self.result else None


def _locked(s: Session, *where: Any) -> AnalysisJob | None:
    """The job row matching ``where``, write-locked for the rest of ``s``'s transaction.

    A no-op UPDATE first: SQLite then takes its write lock before reading (a read that
    later writes could fail with "database is locked"), PostgreSQL locks the row.
    """
    s.execute(update(AnalysisJob).where(*where).values(updated_at=AnalysisJob.updated_at))
    return s.execute(select(AnalysisJob).where(*where).with_for_update()).scalar_one_or_none()


def _info(j: AnalysisJob) -> JobInfo:
    return JobInfo(
        id=j.id, state=j.state, label=j.label, exercise=j.exercise, side=j.side,
        video_path=j.video_path, params=dict(j.params or {}), save=j.save,
        patient_id=j.patient_id, submitted_by=j.submitted_by, batch=j.batch,
        attempts=j.attempts, worker=j.worker,
        frames_done=j.frames_done, frames_total=j.frames_total,
        cancel_requested=bool(j.cancel_requested), error=j.error, session_id=j.session_id,
        created_at=j.created_at, started_at=j.started_at, finished_at=j.finished_at,
        heartbeat_at=j.heartbeat_at, result=j.result)


class JobStore:
    """Records analysis jobs in the session database.

    Args:
        url_or_engine: SQLAlchemy URL or engine (default: ``sessions.db.get_engine()``:
            ``$STRETCH_COACH_DB_URL`` or the SQLite file). The schema is upgraded once.

    Thread- and process-safe: every method is one short transaction.
    """

    def __init__(self, url_or_engine: str | Engine | None = None) -> None:
        self.engine = (url_or_engine if isinstance(url_or_engine, Engine)
                       else get_engine(url_or_engine))
        ensure_schema(self.engine)

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # ------------------------------------------------------------------ submit and read

    def submit(self, video_path: str | os.PathLike[str], exercise: str, *,
               label: str | None = None, side: str | None = None,
               params: dict[str, Any] | None = None, save: str = "none",
               patient_id: int | None = None, submitted_by: int | None = None,
               batch: str | None = None) -> int:
        """Record a new queued job and return its id.

        The caller has checked who may save where (``save="patient"`` needs the
        ``patient_id`` the signed-in user may save for: see ``sessions.cli`` and the
        analyse page). ``params`` must be JSON-able.

        Raises:
            ValueError: an unknown save target, or ``patient`` without a patient.
        """
        if save not in SAVE_TARGETS:
            raise ValueError(f"save must be one of {', '.join(SAVE_TARGETS)}; got {save!r}")
        if (save == "patient") != (patient_id is not None):
            raise ValueError("a patient_id goes with save='patient', and only with it")
        params = json.loads(json.dumps(params or {}))
        now = _now()
        path = os.fspath(video_path)
        job = AnalysisJob(
            created_at=now, updated_at=now, state="queued", cancel_requested=False,
            batch=batch, video_path=path, label=(label or os.path.basename(path))[:255],
            exercise=exercise, side=side, params=params, save=save, patient_id=patient_id,
            submitted_by=submitted_by, attempts=0, frames_done=0)
        with self._session() as s, s.begin():
            s.add(job)
            s.flush()
            job_id = int(job.id)
        log.info("job %s queued: %s (%s)", job_id, job.label, exercise)
        return job_id

    def get(self, job_id: int) -> JobInfo:
        """One job.

        Raises:
            KeyError: no such job.
        """
        with self._session() as s:
            j = s.get(AnalysisJob, int(job_id))
            if j is None:
                raise KeyError(f"no analysis job {job_id}")
            return _info(j)

    def list(self, *, batch: str | None = None, states: tuple[str, ...] | None = None,
             ids: list[int] | None = None, limit: int = 1000) -> list[JobInfo]:
        """Jobs, oldest first, filtered by batch, states or ids."""
        q = select(AnalysisJob).order_by(AnalysisJob.id).limit(limit)
        if batch is not None:
            q = q.where(AnalysisJob.batch == batch)
        if states is not None:
            q = q.where(AnalysisJob.state.in_(states))
        if ids is not None:
            q = q.where(AnalysisJob.id.in_([int(i) for i in ids]))
        with self._session() as s:
            return [_info(j) for j in s.scalars(q)]

    # ------------------------------------------------------------------ the worker's side

    def claim(self, job_id: int, worker: str | None = None) -> int | None:
        """Start a run of the job; returns its attempt number, or None if it must not run.

        A queued job, or a running one whose worker died (the broker hands the message
        to another worker), can be claimed; a finished one cannot. A job whose cancel
        was asked before this run started is marked cancelled instead.
        """
        now = _now()
        worker = worker or worker_name()
        with self._session() as s, s.begin():
            j = _locked(s, AnalysisJob.id == int(job_id))
            if j is None:
                log.warning("job %s: no such job (deleted?), skipped", job_id)
                return None
            if j.state in FINAL_STATES:
                log.info("job %s is already %s, not run again", job_id, j.state)
                return None
            if j.cancel_requested:
                j.state, j.finished_at, j.updated_at = "cancelled", now, now
                return None
            if j.state == "running":
                log.warning("job %s: re-run (attempt %s was on %s and stopped)", job_id,
                            j.attempts, j.worker)
            j.attempts += 1
            j.state, j.worker = "running", worker[:200]
            j.started_at = j.heartbeat_at = j.updated_at = now
            j.frames_done, j.frames_total, j.error = 0, None, None
            return int(j.attempts)

    def _owned(self, job_id: int, attempt: int) -> Any:
        return (AnalysisJob.id == int(job_id), AnalysisJob.attempts == int(attempt),
                AnalysisJob.state == "running")

    def progress(self, job_id: int, attempt: int, done: int, total: int | None) -> bool:
        """Record progress of a run; returns True when the run should stop.

        Stop: a cancel was asked, or this attempt no longer owns the job.
        """
        now = _now()
        with self._session() as s, s.begin():
            n = s.execute(update(AnalysisJob).where(*self._owned(job_id, attempt)).values(
                frames_done=int(done), frames_total=None if total is None else int(total),
                heartbeat_at=now, updated_at=now)).rowcount
            if n != 1:
                return True
            return bool(s.scalar(select(AnalysisJob.cancel_requested)
                                 .where(AnalysisJob.id == int(job_id))))

    def finish(self, job_id: int, attempt: int, report: SessionReport, *,
               save: bool = True) -> int | None:
        """Mark the run done with its report and save the session, in one transaction.

        Args:
            job_id: the job.
            attempt: the number ``claim`` returned.
            report: the analysis report.
            save: False keeps the report on the job only (e.g. nobody was seen).

        Returns:
            The saved session's id, or None when the job saves nothing.

        Raises:
            JobLost: this attempt no longer owns the job (nothing was saved); a job
                cancelled meanwhile is marked cancelled.
            ValueError: a patient's save refused (a bundled sample, no valid screening,
                a red flag today, a value the database refused...): nothing was saved
                and the job is left for the caller to mark failed (``fail``).
            AccessDenied: the screening is not the patient's.
        """
        if save:
            self._fingerprint(job_id, report)
        now = _now()
        data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
        with self._session() as s, s.begin():
            j = _locked(s, *self._owned(job_id, attempt))
            if j is None:
                raise JobLost(f"job {job_id}: attempt {attempt} no longer owns it")
            if j.cancel_requested:
                j.state, j.finished_at, j.updated_at = "cancelled", now, now
                s.flush()
                cancelled = True
            else:
                cancelled = False
                session_id = self._save(s, j, report, now) if save and j.save != "none" \
                    else None
                j.state, j.result, j.session_id = "done", data, session_id
                j.finished_at = j.heartbeat_at = j.updated_at = now
                j.frames_done = max(j.frames_done, int(report.frames))
        if cancelled:
            raise JobLost(f"job {job_id} was cancelled")
        log.info("job %s done (attempt %s)%s", job_id, attempt,
                 f", saved as session {session_id}" if session_id else "")
        return session_id

    def _fingerprint(self, job_id: int, report: SessionReport) -> None:
        """Before a patient's save: the analysed file's fingerprint into ``report.media``.

        The save (``records.check_save``) refuses a bundled sample by its mark or by
        this fingerprint, whatever the file is called. Done before the save's
        transaction: reading a long video takes a while.

        Raises:
            ValueError: the video can't be read any more, so it can't be told from a
                bundled sample (nothing is saved).
        """
        from sessions.sources import SHA_KEY, fingerprint, is_bundled_sample

        job = self.get(job_id)
        if job.save != "patient" or is_bundled_sample(report.media):
            return   # not a clinical record, or refused by its mark already
        try:
            report.media[SHA_KEY] = fingerprint(job.video_path)
        except OSError as e:
            raise ValueError(f"{job.label} can no longer be read ({e.strerror or e}), so it "
                             f"can't be checked not to be a bundled sample video: nothing "
                             f"was saved") from None

    def _save(self, s: Session, j: AnalysisJob, report: SessionReport, now: datetime) -> int:
        """Insert the session row (and a patient session's details) on ``s``'s transaction.

        A patient's session goes through the same checks and writes as every other
        save into a clinical record: ``records.check_save`` (a bundled sample is
        refused), the safety gate ``screening_service.require_valid`` (a red flag
        today, no valid screening), then ``records.insert_session``.
        """
        if j.save == "personal":
            score = (report.score or {}).get("score")
            row = SessionRow(
                created_at=now, exercise=report.exercise, sides=",".join(report.sides),
                source=report.source, score=None if score is None else float(score),
                reps=report.reps_done, complete=bool(report.complete),
                problem=report.problem,
                completion="completed" if report.complete else "interrupted",
                report=json.loads(json.dumps(report.to_dict(), allow_nan=False)))
            s.add(row)
            s.flush()
            return int(row.id)
        from sessions import records, screening_service
        from sessions.program_schemas import Days

        completion, abandon_reason, comment, data = records.check_save(
            report, "completed", "", "", None, None)
        patient = s.get(User, j.patient_id)
        if patient is None or patient.role != "patient" or not patient.active:
            raise ValueError(f"job {j.id}: patient {j.patient_id} is not an active patient")
        days = Days(None, now)
        started = now - timedelta(seconds=max(0.0, float(report.duration_s or 0.0)))
        screening = screening_service.require_valid(s, patient.id, None, started,
                                                    days.start(days.today), now)
        return records.insert_session(
            s, patient, j.submitted_by, report, data, screening, now=now, started_at=started,
            completion=completion, abandon_reason=abandon_reason, pain_before=None,
            pain_after=None, comment=comment,
            video_path=report.media.get("kept_annotated") or report.media.get("kept_video"),
            landmarks=None, keep_series=True, name=lambda exercise, fallback="": exercise)

    def fail(self, job_id: int, attempt: int, reason: str) -> bool:
        """Mark the run failed with a one-line reason; False if it no longer owned the job."""
        now = _now()
        with self._session() as s, s.begin():
            n = s.execute(update(AnalysisJob).where(*self._owned(job_id, attempt)).values(
                state="failed", error=_one_line(reason), finished_at=now,
                updated_at=now)).rowcount
        if n:
            log.info("job %s failed: %s", job_id, _one_line(reason))
        return bool(n)

    def stopped(self, job_id: int, attempt: int) -> bool:
        """Mark a run that stopped on a cancel as cancelled; False if it no longer owned it."""
        now = _now()
        with self._session() as s, s.begin():
            n = s.execute(update(AnalysisJob).where(
                *self._owned(job_id, attempt), AnalysisJob.cancel_requested.is_(True)).values(
                state="cancelled", finished_at=now, updated_at=now)).rowcount
        return bool(n)

    # ------------------------------------------------------------------ the user's side

    def cancel(self, job_id: int) -> JobInfo:
        """Cancel a job: a queued one at once, a running one at its next progress step.

        Returns:
            The job afterwards (a running job stays ``running`` with
            ``cancel_requested`` until its worker stops; a finished one is unchanged).

        Raises:
            KeyError: no such job.
        """
        now = _now()
        with self._session() as s, s.begin():
            j = _locked(s, AnalysisJob.id == int(job_id))
            if j is None:
                raise KeyError(f"no analysis job {job_id}")
            if j.state == "queued":
                j.state, j.finished_at = "cancelled", now
                j.cancel_requested, j.updated_at = True, now
            elif j.state == "running":
                j.cancel_requested, j.updated_at = True, now
        log.info("job %s: cancel asked", job_id)
        return self.get(job_id)

    def get_for(self, job_id: int, user_id: int | None) -> JobInfo:
        """One job, if ``user_id`` submitted it (None: personal mode, no accounts).

        The web page finds its job again after a reload by the id in the address; the
        id alone proves nothing, so a job is only shown to the account that submitted
        it (and, without accounts, only jobs submitted without one).

        Raises:
            KeyError: no such job, or not this user's (the same error either way, so
                ids can't be probed).
        """
        try:
            job = self.get(job_id)
        except (KeyError, ValueError, TypeError):
            raise KeyError(f"no analysis job {job_id}") from None
        if job.submitted_by != (None if user_id is None else int(user_id)):
            raise KeyError(f"no analysis job {job_id}")
        return job

    def cancel_for(self, job_id: int, user_id: int | None) -> JobInfo:
        """``cancel``, for the account that submitted the job only (see ``get_for``).

        Raises:
            KeyError: no such job, or not this user's.
        """
        self.get_for(job_id, user_id)
        return self.cancel(job_id)

    def attach_session(self, job_id: int, user_id: int | None, session_id: int) -> None:
        """Record the session saved from a done job's report by the app itself (a
        patient's upload is saved after the pain question), so a reload never offers
        to save it twice.

        Raises:
            KeyError: no such job, or not this user's.
        """
        self.get_for(job_id, user_id)
        with self._session() as s, s.begin():
            s.execute(update(AnalysisJob).where(
                AnalysisJob.id == int(job_id), AnalysisJob.state == "done",
                AnalysisJob.session_id.is_(None)).values(session_id=int(session_id),
                                                         updated_at=_now()))

    def stale(self, older_than_s: float) -> list[int]:
        """Jobs no live worker is moving: queued or running with no update for a while.

        A worker records progress at least every few seconds, so a running job that has
        not been updated for ``older_than_s`` lost its worker. The embedded runner
        re-enqueues these when it starts (with a broker, the broker re-delivers them).
        """
        cutoff = _now() - timedelta(seconds=float(older_than_s))
        q = (select(AnalysisJob.id).where(
            AnalysisJob.state.in_(("queued", "running")),
            or_(AnalysisJob.updated_at < cutoff, AnalysisJob.heartbeat_at < cutoff))
            .order_by(AnalysisJob.id))
        with self._session() as s:
            return [int(i) for i in s.scalars(q)]
