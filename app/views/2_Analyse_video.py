"""Analyse a recorded video: upload (or a sample), pick the stretch, get the report."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from app.auth_ui import clinic, clinic_mode, require_principal
from app.patient_ui import Screened, after_session_form, saved_id, screening_gate
from app.ui import (
    get_library,
    get_store,
    page_header,
    render_report,
    sample_clips,
    side_label,
    side_picker,
    stretch_picker,
)
from app.workdirs import TabWorkdir
from coach.analyze import AnalysisOptions, analyze_video
from coach.report import SessionReport
from pose.model import ModelUnavailableError
from pose.video import VideoError
from sessions.files import keep_video
from sessions.sources import SAMPLE_KEY, SHA_KEY, fingerprint, is_bundled_sample
from sessions.store import default_data_dir

log = logging.getLogger("stretch_coach.app.analyse")

VIDEO_TYPES = ["mp4", "mov", "webm", "avi", "mkv", "m4v"]
MAX_UPLOAD_MB = int(st.get_option("server.maxUploadSize"))  # the server's real limit
#: Below this share of judged frames the result is shown with a strong warning.
LOW_ASSESSABLE = 0.2


@dataclass
class Analysis:
    """The last analysis of this browser session (kept across reruns)."""

    report: SessionReport
    workdir: TabWorkdir          # removed with this object (new analysis, or the tab ends)
    annotated: Path | None
    frame_csv: Path | None
    kept_video: Path | None
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
    todo = [t for t in items if not t.done_today] or items
    return todo[0].item.exercise if todo else None


def _keep(src: Path, suffix: str | None = None) -> Path:
    """A private copy of ``src`` in this person's video folder (unguessable name)."""
    owner = service.principal.user_id if service is not None else None
    return keep_video(src, default_data_dir(), owner, suffix)


def _sweep_stale(max_age_s: float = 6 * 3600) -> None:
    """Delete analysis folders left by browser sessions that ended long ago."""
    now = time.time()
    for pattern in ("stretch-coach-analysis-*", "stretch-coach-upload-*"):
        for d in Path(tempfile.gettempdir()).glob(pattern):
            try:
                if now - d.stat().st_mtime > max_age_s:
                    shutil.rmtree(d, ignore_errors=True)
            except OSError:
                pass


def _discard(analysis: Analysis | None) -> None:
    if analysis is not None:
        analysis.workdir.cleanup()


def _run(video: Path, label: str, exercise: str, side: str | None, *, keep: bool,
         save: bool, original_name: str, sample: bool = False,
         screened: Screened | None = None) -> None:
    """Analyse ``video`` and keep the result in the session state.

    A bundled sample is never saved (``sample``, or an upload with a sample's bytes).
    """
    definition = get_library()[exercise]
    _discard(st.session_state.pop("analysis", None))
    _sweep_stale()
    holder = TabWorkdir()
    workdir = holder.path
    annotated = workdir / "annotated.mp4"
    frame_csv = workdir / "frames.csv"
    bar = st.progress(0.0, text=f"Analysing {label}...")
    last = [0.0, -1.0]

    def progress(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] < 0.25:
            return
        last[0] = now
        if total:
            share = min(1.0, done / total)
            bar.progress(share, text=f"Analysing {label}: frame {done} of {total}")
        else:
            bar.progress(0.0, text=f"Analysing {label}: frame {done}")

    options = AnalysisOptions(side=side, annotated_path=annotated, csv_path=frame_csv)
    try:
        report = analyze_video(video, definition, options, progress=progress)
    except VideoError as e:
        bar.empty()
        holder.cleanup()
        st.error(f"This file can't be analysed as a video: {_tidy(e, video, original_name)}",
                 icon=":material/movie:")
        return
    except ModelUnavailableError as e:
        bar.empty()
        holder.cleanup()
        st.error(f"The pose model isn't available: {e}", icon=":material/extension:")
        return
    except ValueError as e:
        bar.empty()
        holder.cleanup()
        st.error(str(e))
        return
    except Exception as e:  # the last guard: one calm line here, the traceback in the log
        log.exception("analysis of %s failed", original_name)
        bar.empty()
        holder.cleanup()
        st.error(f"Something went wrong while analysing this video ({type(e).__name__}). "
                 "Please try another recording; the details are in the server log.")
        return
    bar.empty()
    if report.frames == 0:
        holder.cleanup()
        st.error(f"No frames could be read from {original_name}. Check that it plays in a "
                 "video player, or export it again as mp4.")
        return
    report.media["file"] = original_name
    if sample:
        report.media[SAMPLE_KEY] = True
    else:
        report.media[SHA_KEY] = fingerprint(video)
        sample = is_bundled_sample(report.media)
    kept = None
    will_save = save and not sample and report.assessable_share >= LOW_ASSESSABLE
    if keep and will_save:
        kept = _keep(video)
        report.media["kept_video"] = str(kept)
        if annotated.is_file():
            report.media["kept_annotated"] = str(_keep(annotated, ".mp4"))
    new_id = None
    if will_save and service is None:   # personal mode: straight into My sessions
        try:
            new_id = get_store().save(report)
        except Exception as e:
            log.exception("could not save the session")
            st.warning(f"The report could not be saved to {SAVED_TO} ({type(e).__name__}).")
    st.session_state["analysis"] = Analysis(
        report=report, workdir=holder, annotated=annotated if annotated.is_file() else None,
        frame_csv=frame_csv if frame_csv.is_file() else None, kept_video=kept,
        saved_id=new_id, label=label, sample=sample,
        to_record=will_save and service is not None, screened=screened,
        video_path=report.media.get("kept_annotated") or (str(kept) if kept else None))


def _tidy(e: Exception, path: Path, name: str) -> str:
    """The one-line error with the temporary path replaced by the file's own name."""
    text = str(e).replace(str(path), name).replace(path.name, name)
    return text[0].lower() + text[1:] if text else text


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
    if st.button("Analyse", type="primary", disabled=not ready):
        assert uploaded is not None
        suffix = Path(uploaded.name).suffix.lower() or ".mp4"
        tmp = Path(tempfile.mkdtemp(prefix="stretch-coach-upload-"))
        try:
            path = tmp / f"upload{suffix}"
            with open(path, "wb") as fh:
                shutil.copyfileobj(uploaded, fh, length=1 << 20)
            _run(path, uploaded.name, definition.id, side, keep=keep, save=save,
                 original_name=uploaded.name, screened=screened)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # the upload never outlives the analysis

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
        if st.button("Analyse this sample", type="primary"):
            _run(clip.path, clip.path.name, clip.exercise, clip.side, keep=False,
                 save=False, original_name=clip.path.name, sample=True)

# --------------------------------------------------------------------------- result

analysis: Analysis | None = st.session_state.get("analysis")
if analysis is not None:
    st.divider()
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
