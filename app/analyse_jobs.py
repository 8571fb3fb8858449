"""The analyse page's analyses as jobs: submit, follow with progress, cancel, pick up again.

Thin: the job record is ``sessions.jobs.JobStore``'s, the runner ``coach.jobs``' (the
embedded runner in this process, or ``stretch-coach worker`` processes behind a broker).
The page keeps the job id in the address (``?job=ID``), so a reload finds the job;
``JobStore.get_for`` shows it only to the account that submitted it.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import streamlit as st

from app.auth_ui import engine
from app.patient_ui import Screened
from sessions.jobs import JobInfo, JobStore

__all__ = [
    "JOB_PARAM",
    "POLL_S",
    "STALE_S",
    "current_job_id",
    "drop_job",
    "failure_text",
    "job_panel",
    "job_store",
    "progress_text",
    "remove_job_files",
    "save_upload",
    "screened_of",
    "submit_analysis",
    "sweep_old_job_files",
]

log = logging.getLogger("stretch_coach.app.analyse")

#: the query parameter holding the page's current job
JOB_PARAM = "job"
#: how often the progress panel reads the job (seconds)
POLL_S = 1.0
#: job folders (upload, annotated video, CSV) untouched for this long are deleted, unless
#: their job has not finished (seconds)
STALE_S = 6 * 3600


@st.cache_resource(show_spinner=False)
def _store_for(url: str) -> JobStore:
    return JobStore(engine())


def job_store() -> JobStore:
    """The job store on the app's database (one per server and database)."""
    from sessions.db import database_url

    return _store_for(database_url())


_TAB_JOB = "analyse-job-id"
_RUNNER_CHECKED = "analyse-job-runner-checked"


def current_job_id() -> int | None:
    """The page's job: the id in the address (``?job=ID``), else the last one of this tab
    (the address loses it when the person visits another page and comes back)."""
    raw = st.query_params.get(JOB_PARAM)
    try:
        job_id = int(raw) if raw else None
    except ValueError:
        job_id = None
    if job_id is None and st.session_state.get(_TAB_JOB) is not None:
        job_id = int(st.session_state[_TAB_JOB])
        st.query_params[JOB_PARAM] = str(job_id)
    if job_id is not None:
        st.session_state[_TAB_JOB] = job_id
    return job_id


def drop_job() -> None:
    """Forget the page's job (the address loses ``?job=``)."""
    st.query_params.pop(JOB_PARAM, None)
    st.session_state.pop(_TAB_JOB, None)


def _fps(video: Path) -> float | None:
    """The video's frame rate, for progress in seconds (None: not readable as a video;
    the job then fails with the reason)."""
    from pose.video import VideoError, open_video

    try:
        with open_video(video) as reader:
            return float(reader.info.fps)
    except (VideoError, OSError, ValueError):
        return None


def save_upload(uploaded: IO[bytes], folder: Path, suffix: str) -> Path:
    """Write an uploaded video into its job's private ``folder`` as ``upload<suffix>``,
    a 0600 file (health data), in 1 MiB blocks."""
    from coach.private_files import open_private

    path = folder / f"upload{suffix.lower() or '.mp4'}"
    with open_private(path) as fh:
        shutil.copyfileobj(uploaded, fh, length=1 << 20)
    return path


def submit_analysis(video: Path, *, label: str, exercise: str, side: str | None,
                    folder: Path, user_id: int | None, delete_after: bool,
                    save_personal: bool = False, app_saves: bool = False,
                    keep_in: Path | None = None, media: dict[str, Any] | None = None,
                    min_share: float = 0.0, screened: Screened | None = None) -> int:
    """Record an analysis job for ``video``, hand it to the runner, and put it in the address.

    Args:
        video: the file to analyse (an upload in ``folder``, or a bundled sample).
        label: the name shown for it (the upload's own file name).
        exercise: stretch id; side: side judged (None: every side).
        folder: the job's private folder (``sessions.files.new_job_folder``): the annotated
            video and the per-frame CSV are written there.
        user_id: the signed-in account (None: personal mode).
        delete_after: delete ``video`` when the job ends (an upload).
        save_personal: the job saves the session to My sessions (personal mode).
        app_saves: the page saves the report itself (a patient's upload, after the pain
            question); the job keeps the video for it when ``keep_in`` is given.
        keep_in: private folder to keep the video (and its annotated copy) in.
        media: merged into the report's ``media`` (sample marks, fingerprint).
        min_share: below this share of assessable frames nothing is saved or kept.
        screened: the safety check passed before this upload (kept for after a reload).

    Returns:
        The job id.
    """
    from coach import jobs as runner

    params: dict[str, Any] = {
        "annotated_path": str(folder / "annotated.mp4"),
        "csv_path": str(folder / "frames.csv"),
        "folder": str(folder),
        "delete_after": delete_after,
        "media": media or {},
        "min_assessable_to_save": float(min_share),
        "fps": _fps(video),
        "app_saves": app_saves,
    }
    if keep_in is not None:
        params["keep_in"] = str(keep_in)
    if screened is not None:
        params["screened"] = asdict(screened)
    store = job_store()
    job_id = store.submit(video, exercise, label=label, side=side, params=params,
                          save="personal" if save_personal else "none",
                          submitted_by=user_id)
    runner.enqueue(job_id)
    st.query_params[JOB_PARAM] = str(job_id)
    st.session_state[_TAB_JOB] = job_id
    return job_id


def screened_of(job: JobInfo) -> Screened | None:
    """The safety check recorded with the job (None: none was asked)."""
    data = job.params.get("screened")
    try:
        return Screened(**data) if isinstance(data, dict) else None
    except TypeError:
        return None


def remove_job_files(job: JobInfo) -> None:
    """Delete a finished job's folder (its annotated video and CSV); kept videos stay."""
    folder = job.params.get("folder")
    if job.finished and folder:
        shutil.rmtree(folder, ignore_errors=True)


def sweep_old_job_files(max_age_s: float = STALE_S) -> int:
    """Delete the job folders untouched for ``max_age_s`` seconds (analyses that ended
    long ago, or whose tab was closed), but never the folder of a job that is still
    queued or running, however long it waited; returns how many went."""
    from sessions.files import sweep_job_folders
    from sessions.store import default_data_dir

    unfinished = job_store().list(states=("queued", "running"), limit=100_000)
    keep = [j.params["folder"] for j in unfinished if j.params.get("folder")]
    return sweep_job_folders(default_data_dir(), max_age_s, keep=keep)


def progress_text(job: JobInfo) -> str:
    """"Analysing: 40 % (12 of 30 s)", or what the job is waiting for."""
    if job.state == "queued":
        return "Waiting for the analysis to start..."
    if job.cancel_requested:
        return "Stopping the analysis..."
    share = job.share
    if share is None:
        return f"Analysing: frame {job.frames_done}"
    pct = f"{share * 100:.0f} %"
    fps = job.params.get("fps")
    if fps and job.frames_total:
        return (f"Analysing: {pct} ({job.frames_done / fps:.0f} of "
                f"{job.frames_total / fps:.0f} s)")
    return f"Analysing: {pct} (frame {job.frames_done} of {job.frames_total})"


def failure_text(job: JobInfo) -> str:
    """The one-line reason a job failed, as a sentence naming the video."""
    reason = job.error or "no reason was recorded"
    if reason.startswith("can't"):
        return f"{job.label} {reason}"
    return f"The analysis of {job.label} failed: {reason}"


def _log_unreadable(job_id: int, e: Exception) -> None:
    """Log why a job could not be read: a database error in one plain line (no SQL, no
    traceback on the server's terminal), anything else with its traceback (a bug)."""
    from sessions.checks import one_line
    from sessions.errors import db_error_line

    line = db_error_line(e)
    if line is None:
        log.exception("job %s: progress not readable", job_id)
        return
    cause = one_line(e)   # the driver's own first line helps whoever runs the server
    if cause not in line:
        line = f"{line} ({cause})"
    log.warning("job %s: progress not readable: %s", job_id, " ".join(line.split()))


@st.fragment(run_every=POLL_S)
def job_panel(job_id: int, user_id: int | None) -> None:
    """Progress bar with words and a Cancel button, refreshed every ``POLL_S`` seconds.

    Only this fragment reruns meanwhile, so the rest of the page stays usable; when the
    job has ended the whole page reruns to show the result.
    """
    store = job_store()
    try:
        job = store.get_for(job_id, user_id)
    except KeyError:
        st.rerun(scope="app")
    except Exception as e:   # the database went away: say so, and try again next poll
        _log_unreadable(job_id, e)
        st.warning("The analysis's progress can't be read right now (the database is "
                   "not answering); trying again...", icon=":material/sync_problem:")
        return
    if job.finished:
        st.rerun(scope="app")
    if not st.session_state.get(_RUNNER_CHECKED):
        # after a restart of the app the embedded runner starts with the first job it is
        # given; a job found by a reload is one too: start it, so a job the stopped app
        # left unfinished is queued again (no-op with a broker, or when running)
        from coach import jobs as runner

        runner.start()
        st.session_state[_RUNNER_CHECKED] = True
    with st.container(key="job-panel", border=True):
        st.markdown(f"**{job.label}**")
        st.progress(job.share or 0.0, text=progress_text(job))
        if job.cancel_requested:
            st.caption("Cancel asked: the analysis stops within a second; nothing is saved.")
        elif st.button("Cancel", key=f"cancel-job-{job_id}", icon=":material/cancel:"):
            store.cancel_for(job_id, user_id)
            log.info("job %s: cancelled from the page", job_id)
            st.rerun(scope="fragment")
        st.caption("You can use the rest of the app meanwhile; if you reload this page, "
                   "the analysis continues and is shown here when it is done.")
