"""Analyse a recorded video: upload (or a sample), pick the stretch, get the report."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import streamlit as st

from app.auth_ui import clinic, clinic_mode, require_principal
from app.ui import (
    get_library,
    page_header,
    render_report,
    sample_clips,
    side_label,
    side_picker,
    stretch_picker,
)
from coach import jobs as job_engine
from sessions.jobs import JobInfo, JobStore
from sessions.store import default_data_dir

log = logging.getLogger("stretch_coach.app.analyse")

VIDEO_TYPES = ["mp4", "mov", "webm", "avi", "mkv", "m4v"]
MAX_UPLOAD_MB = int(st.get_option("server.maxUploadSize"))  # the server's real limit
#: Below this share of judged frames the result is shown with a strong warning.
LOW_ASSESSABLE = 0.2
#: the job shown on this page is in the URL (``?job=ID``), so a reload picks it up
JOB_PARAM = "job"


page_header("Analyse a video", ":material/movie:",
            "Upload a recording of yourself doing a stretch, or try one of the sample "
            "videos. The video is analysed on this computer and deleted afterwards unless "
            "you choose to keep it.")

# Personal mode: results go to My sessions. Clinic mode: a patient's results go into
# their record; therapists and admins can analyse, nothing is saved for them.
in_clinic = clinic_mode()
principal = require_principal(intro="Sign in so your results go into your record.") \
    if in_clinic else None
service = clinic(principal) if principal is not None and principal.role == "patient" else None
can_save = not in_clinic or service is not None
video_opt_in = service.patient(None).video_opt_in if service is not None else True
SAVE_LABEL = "Save the result to my record" if in_clinic else "Save the result to My sessions"
SAVED_TO = "your record" if in_clinic else "My sessions"
if in_clinic and service is None:
    st.info("You are signed in as a therapist or administrator: you can analyse videos "
            "here, but results are not saved. Patients' results are saved in their own "
            "record.", icon=":material/info:")


def _jobs_dir() -> Path:
    """Where uploads wait for their job and results are written.

    ``$STRETCH_COACH_JOBS_DIR``, else ``<data dir>/jobs``. With workers on other
    machines it must be a folder they share with the app.
    """
    env = os.environ.get("STRETCH_COACH_JOBS_DIR", "").strip()
    return Path(env).expanduser() if env else default_data_dir() / "jobs"


@st.cache_resource(show_spinner=False)
def _job_store(url_key: str) -> JobStore:
    return JobStore()


def job_store() -> JobStore:
    """The job record on the current database."""
    return _job_store(os.environ.get("STRETCH_COACH_DB_URL", "") or str(default_data_dir()))


def _sweep_stale(max_age_s: float = 6 * 3600) -> None:
    """Delete result folders of jobs shown long ago, and uploads of old crashed pages."""
    now = time.time()
    folders = list(Path(tempfile.gettempdir()).glob("stretch-coach-upload-*"))
    if _jobs_dir().is_dir():
        folders += [d for d in _jobs_dir().iterdir() if d.is_dir()]
    for d in folders:
        try:
            if now - d.stat().st_mtime > max_age_s:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


def _submit(video: Path, exercise: str, side: str | None, *, keep: bool, save: bool,
            original_name: str, upload: bool) -> None:
    """Record the analysis as a job, hand it to the runner and show it on this page."""
    _sweep_stale()
    out = _jobs_dir() / uuid.uuid4().hex
    out.mkdir(parents=True, exist_ok=True)
    if upload:   # the upload waits in the job's folder; the job deletes it when it ends
        moved = out / f"upload{video.suffix}"
        shutil.move(str(video), moved)
        video = moved
    params: dict = {"annotated_path": str(out / "annotated.mp4"),
                    "csv_path": str(out / "frames.csv"),
                    "min_assessable_to_save": LOW_ASSESSABLE, "delete_after": upload}
    if keep and save:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        params["keep_as"] = str(default_data_dir() / "videos"
                                / f"{stamp}_{Path(original_name).name}")
    target: dict = {"save": "none"}
    if save and service is not None:
        target = {"save": "patient", "patient_id": principal.user_id}  # type: ignore[union-attr]
    elif save:
        target = {"save": "personal"}
    store = job_store()
    job_id = store.submit(video, exercise, label=original_name, side=side, params=params,
                          submitted_by=principal.user_id if principal else None, **target)
    try:
        job_engine.enqueue(job_id)
    except Exception as e:  # the broker is down: say so, keep the job for a retry
        log.exception("could not hand job %s to the job runner", job_id)
        st.error(f"The analysis could not be started ({type(e).__name__}); the job runner "
                 "is unavailable. Please try again in a minute.")
        store.cancel(job_id)
        return
    st.session_state["analysis_job"] = job_id
    st.query_params[JOB_PARAM] = str(job_id)


def _shown_job() -> JobInfo | None:
    """The job this page shows: from the URL (survives a reload) or this browser session."""
    raw = st.query_params.get(JOB_PARAM) or st.session_state.get("analysis_job")
    try:
        job = job_store().get(int(raw)) if raw else None
    except (KeyError, ValueError):
        job = None
    if job is not None and in_clinic and (principal is None
                                          or job.submitted_by != principal.user_id):
        job = None   # only your own jobs
    if job is None and raw:
        st.query_params.pop(JOB_PARAM, None)
        st.session_state.pop("analysis_job", None)
    return job


# --------------------------------------------------------------------------- inputs

tab_upload, tab_sample = st.tabs(["Your video", "Try a sample video"])

with tab_upload:
    uploaded = st.file_uploader(
        "Video file", type=VIDEO_TYPES, key="upload",
        help=f"mp4, mov, webm, avi or mkv, up to {MAX_UPLOAD_MB} MB. For longer recordings, "
             "trim the video to the stretch, or use the command line: "
             "`stretch-coach analyze VIDEO --exercise ID`.")
    st.caption(f"Up to {MAX_UPLOAD_MB} MB per file. Film yourself as described in the stretch's "
               "camera setup (see the library), with one person in view.")
    c1, c2 = st.columns([3, 2])
    with c1:
        definition = stretch_picker("analyse-stretch", default=st.query_params.get("stretch"))
    with c2:
        side = side_picker(definition, "analyse-side",
                           both_label="Both sides (tracked together)")
    save = can_save and st.checkbox(SAVE_LABEL, value=True, key="save-upload")
    keep = can_save and video_opt_in and st.checkbox(
        "Keep the video with this session", value=False, disabled=not save,
        help="Otherwise the uploaded video is deleted as soon as it has been analysed.")
    if can_save and not video_opt_in:
        st.caption("The video is deleted after the analysis. To keep videos for your "
                   "therapist to watch, allow it on **My program**.")
    if st.button("Analyse", type="primary", disabled=uploaded is None):
        assert uploaded is not None
        suffix = Path(uploaded.name).suffix.lower() or ".mp4"
        tmp = Path(tempfile.mkdtemp(prefix="stretch-coach-upload-"))
        try:
            path = tmp / f"upload{suffix}"
            with open(path, "wb") as fh:
                shutil.copyfileobj(uploaded, fh, length=1 << 20)
            _submit(path, definition.id, side, keep=keep, save=save,
                    original_name=uploaded.name, upload=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # moved to the job's folder by then

with tab_sample:
    clips = sample_clips()
    if not clips:
        st.info("No sample videos are installed yet (they live in `sample_videos/`).")
    else:
        lib = get_library()
        wanted = st.query_params.get("sample")
        default = next((i for i, c in enumerate(clips) if c.path.stem == wanted), 0)
        choice = st.selectbox(
            "Sample", range(len(clips)), key="sample", index=default,
            format_func=lambda i: f"{lib[clips[i].exercise].name}"
                                  + (f" ({side_label(clips[i].side)})"
                                     if clips[i].side else "") + f" · {clips[i].path.name}")
        clip = clips[choice]
        d = lib[clip.exercise]
        st.caption(f"{d.summary} The clip shows an animated person; its true counts are "
                   f"known, so you can see how the coach does.")
        save_sample = can_save and st.checkbox(SAVE_LABEL, value=True, key="save-sample")
        if st.button("Analyse this sample", type="primary"):
            _submit(clip.path, clip.exercise, clip.side, keep=False, save=save_sample,
                    original_name=clip.path.name, upload=False)

# --------------------------------------------------------------------------- result



@st.fragment(run_every=1.0)
def _job_progress(job_id: int) -> None:
    """Progress of a queued or running job, with Cancel; reruns itself every second.

    Only this fragment reruns: the rest of the page stays usable meanwhile. When the
    job ends the whole page reruns to show the result.
    """
    job = job_store().get(job_id)
    if job.finished:
        st.rerun(scope="app")
    if job.state == "queued":
        st.progress(0.0, text=f"{job.label}: waiting for a free worker...")
    else:
        share = job.share
        text = (f"Analysing {job.label}: frame {job.frames_done} of {job.frames_total}"
                if job.frames_total else f"Analysing {job.label}: frame {job.frames_done}")
        st.progress(share or 0.0, text=text)
    if job.cancel_requested:
        st.caption("Stopping...")
    elif st.button("Cancel", key=f"cancel-{job_id}", icon=":material/cancel:"):
        job_store().cancel(job_id)
        st.rerun(scope="fragment")
    st.caption("You can keep using the app: the analysis runs in the background, and this "
               "page picks the result up when you come back to it.")


def _show_result(job: JobInfo) -> None:
    report = job.report()
    assert report is not None
    d = get_library().get(report.exercise)
    st.header(f"{report.exercise_name}: {job.label}")
    kept = report.media.get("kept_video")
    if job.session_id is not None:
        st.caption(f"Saved to {SAVED_TO} (session {job.session_id})."
                   + (" The video is kept with it." if kept else ""))
    annotated = report.media.get("kept_annotated") or job.params.get("annotated_path")
    annotated_path = Path(annotated) if annotated and Path(annotated).is_file() else None
    csv = job.params.get("csv_path")
    csv_path = Path(csv) if csv and Path(csv).is_file() else None
    if report.frames and report.assessable_share < LOW_ASSESSABLE:
        st.error("I could hardly see a person in this video, so there is nothing reliable to "
                 "report. Film yourself as the stretch's camera setup describes"
                 + (f": {d.camera.setup}" if d else ".") + " The session was not saved.",
                 icon=":material/visibility_off:")
        with st.expander("Show what was measured anyway"):
            render_report(report, key="analysis", definition=d,
                          annotated_video=annotated_path, frame_csv=csv_path)
    else:
        if job.save != "none" and job.session_id is None:
            st.warning(f"The report could not be saved to {SAVED_TO}.")
        render_report(report, key="analysis", definition=d, annotated_video=annotated_path,
                      frame_csv=csv_path)


job_engine.start()   # embedded runner: up (and jobs left by a stopped app queued again)
shown = _shown_job()
if shown is not None:
    st.divider()
    if not shown.finished:
        _job_progress(shown.id)
    elif shown.state == "done":
        _show_result(shown)
    elif shown.state == "cancelled":
        st.info(f"The analysis of {shown.label} was cancelled. Nothing was saved.",
                icon=":material/cancel:")
    else:
        error = shown.error or "unknown reason"
        if error.startswith("can't be analysed as a video"):
            st.error(f"This file {error}", icon=":material/movie:")
        elif error.startswith("the pose model"):
            st.error(error[0].upper() + error[1:], icon=":material/extension:")
        else:
            st.error(f"{shown.label} could not be analysed: {error}")
