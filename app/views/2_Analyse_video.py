"""Analyse a recorded video: upload (or a sample), pick the stretch, get the report.

The analysis runs as a job on the app's job runner (``app.analyse_jobs``): a progress
bar with Cancel while the rest of the page stays usable, and the job id in the address
so a reload picks the running or finished job up again.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from app.analyse_jobs import (
    STALE_S,
    current_job_id,
    drop_job,
    failure_text,
    job_panel,
    job_store,
    remove_job_files,
    save_upload,
    screened_of,
    submit_analysis,
    sweep_old_job_files,
)
from app.auth_ui import clinic, clinic_mode, require_principal
from app.patient_ui import Screened, after_session_form, saved_id, screening_gate
from app.ui import (
    get_library,
    page_header,
    render_report,
    sample_clips,
    side_label,
    side_picker,
    stretch_picker,
)
from coach.report import SessionReport
from sessions.checks import one_line
from sessions.files import new_job_folder, video_folder
from sessions.jobs import JobInfo
from sessions.sources import SAMPLE_KEY, SHA_KEY, fingerprint, is_bundled_sample
from sessions.store import default_data_dir

log = logging.getLogger("stretch_coach.app.analyse")

VIDEO_TYPES = ["mp4", "mov", "webm", "avi", "mkv", "m4v"]
MAX_UPLOAD_MB = int(st.get_option("server.maxUploadSize"))  # the server's real limit
#: Below this share of judged frames the result is shown with a strong warning.
LOW_ASSESSABLE = 0.2


@dataclass
class Analysis:
    """A finished job's result in this tab (kept across reruns: the after-session form
    knows the report it saved by the object)."""

    job_id: int
    report: SessionReport
    annotated: Path | None
    frame_csv: Path | None
    kept_video: str | None
    saved_id: int | None
    label: str
    sample: bool = False
    to_record: bool = False      # a patient's upload: saved after the pain question
    screened: Screened | None = None
    video_path: str | None = None


page_header("Analyse a video", ":material/movie:",
            "Upload a recording of yourself doing a stretch, or try one of the sample "
            "videos. The video is analysed on this computer and deleted afterwards unless "
            "you choose to keep it.")

# Personal mode: results go to My sessions. Clinic mode: a patient's results go into
# their record; therapists and admins can analyse, nothing is saved for them.
in_clinic = clinic_mode()
principal = require_principal(intro="Sign in so your results go into your record.") \
    if in_clinic else None
user_id = principal.user_id if principal is not None else None
service = clinic(principal) if principal is not None and principal.role == "patient" else None
can_save = not in_clinic or service is not None
video_opt_in = service.patient(None).video_opt_in if service is not None else True
SAVE_LABEL = "Save the result to my record" if in_clinic else "Save the result to My sessions"
SAVED_TO = "your record" if in_clinic else "My sessions"
if in_clinic and service is None:
    st.info("You are signed in as a therapist or administrator: you can analyse videos "
            "here, but results are not saved. Patients' results are saved in their own "
            "record.", icon=":material/info:")


def _prescribed() -> str | None:
    """The patient's next prescribed stretch (first not done today), else None."""
    if service is None:
        return None
    items = service.todays_program()
    todo = [t for t in items if not t.done_for_today] or items
    return todo[0].item.exercise if todo else None


def _sweep_stale() -> None:
    """Delete analysis folders left by analyses that ended long ago (never a running
    job's), and the temporary folders older releases left."""
    for pattern in ("stretch-coach-analysis-*", "stretch-coach-upload-*"):
        for d in Path(tempfile.gettempdir()).glob(pattern):
            try:
                if time.time() - d.stat().st_mtime > STALE_S:
                    shutil.rmtree(d, ignore_errors=True)
            except OSError:
                pass
    try:
        sweep_old_job_files()
    except Exception as e:   # never stops an analysis from starting
        log.warning("could not sweep old job folders: %s", one_line(e))


def _load_job() -> JobInfo | None:
    """The page's job (``?job=ID``), if this account may see it."""
    job_id = current_job_id()
    if job_id is None:
        return None
    try:
        return job_store().get_for(job_id, user_id)
    except KeyError:
        drop_job()
        st.warning("That analysis isn't available here (it was started by another "
                   "account, or removed). Start a new one below.",
                   icon=":material/search_off:")
        return None


def _start(video: Path, folder: Path, label: str, exercise: str, side: str | None, *,
           keep: bool, save: bool, sample: bool = False,
           screened: Screened | None = None) -> None:
    """Submit ``video`` (an upload already in ``folder``, or a sample) as a job.

    A bundled sample is never saved (``sample``, or an upload with a sample's bytes).
    """
    if job is not None and job.finished:
        remove_job_files(job)   # the previous result's annotated video and CSV
    st.session_state.pop("analysis", None)
    _sweep_stale()
    media = {SAMPLE_KEY: True} if sample else {SHA_KEY: fingerprint(video)}
    sample = sample or is_bundled_sample(media)
    will_save = save and not sample
    owner = service.principal.user_id if service is not None else None
    keep_in = video_folder(default_data_dir(), owner) if keep and will_save else None
    submit_analysis(video, label=label, exercise=exercise, side=side, folder=folder,
                    user_id=user_id, delete_after=video.parent == folder,   # an upload
                    save_personal=will_save and service is None,
                    app_saves=will_save and service is not None, keep_in=keep_in,
                    media=media, min_share=LOW_ASSESSABLE, screened=screened)


def _analysis_of(job: JobInfo) -> Analysis | None:
    """The done job's result for this tab (the same object on every rerun)."""
    cached: Analysis | None = st.session_state.get("analysis")
    if cached is not None and cached.job_id == job.id:
        return cached
    report = job.report()
    if report is None:
        return None
    p = job.params
    annotated = Path(p["annotated_path"]) if p.get("annotated_path") else None
    frame_csv = Path(p["csv_path"]) if p.get("csv_path") else None
    enough = report.assessable_share >= LOW_ASSESSABLE
    analysis = Analysis(
        job_id=job.id, report=report,
        annotated=annotated if annotated is not None and annotated.is_file() else None,
        frame_csv=frame_csv if frame_csv is not None and frame_csv.is_file() else None,
        kept_video=report.media.get("kept_video"), saved_id=job.session_id,
        label=job.label, sample=is_bundled_sample(report.media),
        to_record=bool(p.get("app_saves")) and enough and service is not None,
        screened=screened_of(job),
        video_path=report.media.get("kept_annotated") or report.media.get("kept_video"))
    st.session_state["analysis"] = analysis
    return analysis


job = _load_job()
busy = job is not None and not job.finished
BUSY_NOTE = "An analysis is running (below): cancel it, or wait for it, to start another."

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
        definition = stretch_picker("analyse-stretch",
                                    default=st.query_params.get("stretch") or _prescribed())
    with c2:
        side = side_picker(definition, "analyse-side",
                           both_label="Both sides (tracked together)")
    save = can_save and st.checkbox(SAVE_LABEL, value=True, key="save-upload")
    screened = None
    if save and service is not None:
        # the same safety questions as the live coach, before anything is recorded
        screened = screening_gate(service, key="analyse-screening")
        if screened is not None:
            st.caption(f"Safety check done (pain {screened.pain_before}/10). "
                       f"{screened.advice}")
        else:
            st.caption("Answer the safety questions to save the result to your record, or "
                       "untick saving to only look at the analysis.")
    keep = can_save and video_opt_in and st.checkbox(
        "Keep the video with this session", value=False, disabled=not save,
        help="Otherwise the uploaded video is deleted as soon as it has been analysed.")
    if can_save and not video_opt_in:
        st.caption("The video is deleted after the analysis. To keep videos for your "
                   "therapist to watch, allow it on **My program**.")
    ready = uploaded is not None and (service is None or not save or screened is not None)
    if busy:
        st.caption(BUSY_NOTE)
    if st.button("Analyse", type="primary", disabled=not ready or busy):
        assert uploaded is not None
        folder = new_job_folder(default_data_dir())
        try:
            path = save_upload(uploaded, folder, Path(uploaded.name).suffix)
            # the job deletes the upload when it ends; its folder keeps the outputs
            _start(path, folder, uploaded.name, definition.id, side, keep=keep, save=save,
                   screened=screened)
        except Exception:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        st.rerun()   # drawn again with the job: Analyse disabled, the progress panel

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
                   f"known, so you can see how the coach does. Samples are never saved "
                   f"to {SAVED_TO}.")
        if busy:
            st.caption(BUSY_NOTE)
        if st.button("Analyse this sample", type="primary", disabled=busy):
            _start(clip.path, new_job_folder(default_data_dir()), clip.path.name,
                   clip.exercise, clip.side, keep=False, save=False, sample=True)
            st.rerun()

# --------------------------------------------------------------------------- result

analysis: Analysis | None = None
if job is not None:
    st.divider()
    if not job.finished:
        job_panel(job.id, user_id)
    elif job.state in ("failed", "cancelled"):
        remove_job_files(job)   # a partial annotated video: nothing to show from it
    if job.state == "failed":
        st.error(failure_text(job), icon=":material/error:")
    elif job.state == "cancelled":
        st.info(f"The analysis of {job.label} was cancelled. Nothing was saved.",
                icon=":material/cancel:")
    elif job.state == "done":
        analysis = _analysis_of(job)
        if analysis is None:
            st.error(f"The analysis of {job.label} finished without a report.")
if analysis is not None:
    report = analysis.report
    d = get_library().get(report.exercise)
    st.header(f"{report.exercise_name}: {analysis.label}")
    if analysis.sample:
        st.caption(f"A sample video: the result is not saved to {SAVED_TO}.")
    if analysis.to_record and service is not None and analysis.saved_id is None:
        # a patient's upload goes into the record with the pain question answered
        analysis.saved_id = saved_id(report) or after_session_form(
            service, report, analysis.screened, key="analyse-after",
            video_path=analysis.video_path)
        if analysis.saved_id is not None:   # a reload must not offer to save it again
            job_store().attach_session(analysis.job_id, user_id, analysis.saved_id)
    if analysis.saved_id is not None:
        st.caption(f"Saved to {SAVED_TO} (session {analysis.saved_id})."
                   + (" The video is kept with it." if analysis.kept_video else ""))
    if report.frames and report.assessable_share < LOW_ASSESSABLE:
        st.error("I could hardly see a person in this video, so there is nothing reliable to "
                 "report. Film yourself as the stretch's camera setup describes"
                 + (f": {d.camera.setup}" if d else ".") + " The session was not saved.",
                 icon=":material/visibility_off:")
        with st.expander("Show what was measured anyway"):
            render_report(report, key="analysis", definition=d,
                          annotated_video=analysis.annotated, frame_csv=analysis.frame_csv)
    else:
        render_report(report, key="analysis", definition=d, annotated_video=analysis.annotated,
                      frame_csv=analysis.frame_csv)
