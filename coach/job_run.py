"""One run of an analysis job: claim it, analyse the video, keep copies, save or say why not.

``run_job`` is what a worker thread (embedded or ``stretch-coach worker``) does with
a job id taken from the queue; the queue itself (the broker, the workers) is
``coach.jobs``, which re-exports the public names here (``run_job``, ``JobRun``,
``JobCancelled``). The job's record is ``sessions.jobs.JobStore``'s.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coach import analyze as _analysis
from coach.analyze import AnalysisOptions
from coach.report import SessionReport
from pose.video import VideoError

__all__ = [
    "PROGRESS_EVERY_S",
    "JobCancelled",
    "JobRun",
    "run_job",
]

# the same logger as the job engine (``coach.jobs``)
log = logging.getLogger("coach.jobs")

#: progress is written to the database at most this often (seconds); it is also how
#: often a running job notices a cancel
PROGRESS_EVERY_S = 0.5


class JobCancelled(Exception):  # noqa: N818 - a condition, not an error
    """Raised from the progress callback to stop an analysis that was cancelled."""


@dataclass(frozen=True)
class JobRun:
    """What one run of a job ended with.

    Attributes:
        job_id: the job.
        state: ``done``, ``failed``, ``cancelled``, ``skipped`` (not this run's to do:
            already finished, or taken over by another run) or ``interrupted`` (this
            process is stopping; the job stays ``running`` and is run again later).
        report: the report when done.
        session_id: the saved session, if any.
        error: the one-line reason when failed.
    """

    job_id: int
    state: str
    report: SessionReport | None = None
    session_id: int | None = None
    error: str | None = None


def _definition(job: Any) -> Any:
    from exercises.definition import load_library_with

    lib, _ = load_library_with(job.params.get("definitions"))
    if job.exercise not in lib:
        raise ValueError(f"unknown exercise {job.exercise!r}")
    d = lib[job.exercise]
    over = {k: job.params[k] for k in ("reps", "hold_s") if job.params.get(k) is not None}
    prescription = d.prescription.model_copy(update=over) if over else d.prescription
    return d, prescription


def run_job(job_id: int, store: Any = None, *, reraise: bool = False,
            on_progress: Callable[[int, int | None], None] | None = None) -> JobRun:
    """Run one job to its end in this thread: claim, analyse, save or record why not.

    Args:
        job_id: the job.
        store: a ``sessions.jobs.JobStore`` (default: one on the default database).
        reraise: re-raise the analysis error after recording the failure (the CLI
            maps error kinds to exit codes).
        on_progress: also called with (frames done, frames expected) on every frame.

    Returns:
        How the run ended.
    """
    from sessions.jobs import JobLost, JobStore, worker_name

    store = store or JobStore()
    attempt = store.claim(job_id, worker_name())
    try:
        job = store.get(job_id)
    except KeyError:
        return JobRun(job_id, "skipped")
    if attempt is None:
        if job.finished:
            _tidy_inputs(job)   # e.g. cancelled while queued
        return JobRun(job_id, "skipped")
    last = [0.0]

    def progress(done: int, total: int | None) -> None:
        if on_progress is not None:
            on_progress(done, total)
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_S:
            return
        last[0] = now
        if store.progress(job_id, attempt, done, total):
            raise JobCancelled(f"job {job_id} stopped")

    try:
        definition, prescription = _definition(job)
        p = job.params
        options = AnalysisOptions(side=job.side, prescription=prescription,
                                  model_path=p.get("model_path"),
                                  annotated_path=p.get("annotated_path"),
                                  csv_path=p.get("csv_path"),
                                  **({"max_skip_s": 0.0} if p.get("every_frame") else {}))
        report = _analysis.analyze_video(Path(job.video_path), definition, options,
                                         progress=progress)
        if report.frames == 0:
            raise VideoError(f"{job.label}: no frames could be decoded; check the file "
                             f"plays in a video player")
    except JobCancelled:
        if store.stopped(job_id, attempt) or store.get(job_id).finished:
            _tidy_inputs(job)
        if store.get(job_id).state == "cancelled":
            log.info("job %s cancelled while running", job_id)
            return JobRun(job_id, "cancelled")
        return JobRun(job_id, "skipped")
    except Exception as e:
        run = _failed(job_id, attempt, job, store, e, _reason)
        if reraise and run.state == "failed":
            raise
        return run
    report.media["file"] = job.label
    report.media.update(job.params.get("media") or {})
    min_share = float(job.params.get("min_assessable_to_save", 0.0))
    enough = report.assessable_share >= min_share
    save = job.save != "none" and enough
    # the app saves the report itself (a patient's upload, after the pain question):
    # the video is kept for that session although the job saves none
    app_saves = bool(job.params.get("app_saves")) and enough
    keep = job.params.get("keep_as") or job.params.get("keep_in")
    kept: list[str] = []
    try:
        if (save or app_saves) and keep:
            _keep_copies(job, report, kept)
        session_id = store.finish(job_id, attempt, report, save=save)
    except JobLost:
        _unlink(kept)
        info = store.get(job_id)
        if info.finished:
            _tidy_inputs(job)
        return JobRun(job_id, "cancelled" if info.state == "cancelled" else "skipped")
    except Exception as e:   # not kept, or the save was refused (safety gate, a sample...)
        _unlink(kept)
        run = _failed(job_id, attempt, job, store, e, _save_reason)
        if reraise and run.state == "failed":
            raise
        return run
    if session_id is None and not app_saves:
        _unlink(kept)
    _tidy_inputs(job)
    return JobRun(job_id, "done", report=report, session_id=session_id)


_exiting = False


@atexit.register
def _mark_exiting() -> None:
    global _exiting
    _exiting = True


def _failed(job_id: int, attempt: int, job: Any, store: Any, e: Exception,
            reason: Callable[[Exception, Any, str | None], str]) -> JobRun:
    """End this run after ``e``: ``interrupted`` when the process is stopping (the job
    is left to be run again), else ``failed`` with ``reason(e, job, database URL)``
    recorded."""
    if _shutting_down(e):
        log.warning("job %s interrupted by this process stopping; it will be re-run", job_id)
        return JobRun(job_id, "interrupted")
    why = reason(e, job, _db_url(store))
    store.fail(job_id, attempt, why)
    _tidy_inputs(job)
    return JobRun(job_id, "failed", error=why)


def _shutting_down(e: BaseException) -> bool:
    """Whether ``e`` comes from this process stopping (not from the video or the job)."""
    text = str(e)
    return (_exiting or sys.is_finalizing() or "after shutdown" in text
            or "interpreter shutdown" in text)


def _reason(e: Exception, job: Any, db_url: str | None = None) -> str:
    """One line saying why the analysis failed, naming the video by its label.

    The page shows it to the patient or therapist: a database error is said plainly
    (``sessions.errors.db_error_line``: never its SQL or parameters), and an
    unexpected error only by its kind (its traceback goes to the log).
    """
    from pose.model import ModelUnavailableError
    from sessions.errors import db_error_line

    db = db_error_line(e, db_url)
    if db is not None:
        return db
    text = str(e).replace(job.video_path, job.label) or type(e).__name__
    if isinstance(e, VideoError):
        return f"can't be analysed as a video: {text}"
    if isinstance(e, ModelUnavailableError):
        return f"the pose model isn't available: {text}"
    if isinstance(e, (ValueError, OSError)):
        return text
    log.exception("job %s failed", job.id)
    return (f"an unexpected error stopped the analysis ({type(e).__name__}); the details "
            f"are in the server's log")


def _db_url(store: Any) -> str | None:
    """The store's database URL, password masked (errors name its host or file only)."""
    engine = getattr(store, "engine", None)
    return None if engine is None else str(engine.url)


def _save_reason(e: Exception, job: Any, db_url: str | None = None) -> str:
    """One line saying why the finished analysis was not saved (the save's refusal)."""
    from sessions.auth import AccessDenied

    if isinstance(e, (ValueError, AccessDenied)):
        return f"not saved: {str(e).replace(job.video_path, job.label)}"
    return _reason(e, job, db_url)


def _keep_copies(job: Any, report: SessionReport, copies: list[str]) -> None:
    """Copy the video (and its annotated version) where it is kept with the session.

    ``params["keep_in"]``: a private video folder, copies named by a random token
    (``sessions.files.keep_in``); else ``params["keep_as"]``: the kept video's path.
    Either way the copies are clinical files: 0600, in a 0700 folder. Each copy is
    added to ``copies`` as soon as it exists, so a failure part-way can remove it.
    """
    from sessions.files import copy_private, keep_in

    annotated = job.params.get("annotated_path")
    annotated = annotated if annotated and Path(annotated).is_file() else None
    if job.params.get("keep_in"):
        folder = job.params["keep_in"]
        copies.append(str(keep_in(job.video_path, folder)))
        report.media["kept_video"] = copies[-1]
        if annotated:
            copies.append(str(keep_in(annotated, folder, ".mp4")))
            report.media["kept_annotated"] = copies[-1]
        return
    keep_as = Path(job.params["keep_as"])
    copies.append(str(keep_as))
    copy_private(job.video_path, keep_as)
    report.media["kept_video"] = str(keep_as)
    if annotated:
        kept_annotated = keep_as.with_name(keep_as.stem + "_annotated.mp4")
        copies.append(str(kept_annotated))
        copy_private(annotated, kept_annotated)
        report.media["kept_annotated"] = str(kept_annotated)


def _unlink(paths: list[str]) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            os.unlink(p)


def _tidy_inputs(job: Any) -> None:
    """Delete an uploaded video once its job has ended (``params["delete_after"]``)."""
    if job.params.get("delete_after"):
        _unlink([job.video_path])
