"""Sessions: the rows of a session list, one session's view, and the patient's own record.

One session shows what was done, the per-rep table, the faults timeline, the
replay and the notes; a therapist can add a note. ``sessions.service.Clinic``
decides what the signed-in user may see (a therapist: their own patients'
sessions; a patient: only their own); a session that is missing or not yours is
one calm line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app.auth_ui import md
from app.clinic_common import NOT_YOURS_SESSION, go, query_id
from app.clinic_ui import target_text, when_text
from app.ui import get_library, measure_chart, side_label
from sessions.service import AccessDenied, Clinic, SessionDetail, SessionSummary

COMPLETION_TEXT = {"completed": "completed", "interrupted": "stopped before the end",
                   "abandoned": "abandoned"}
SOURCE_TEXT = {"live": "live camera", "video": "video", "camera": "camera"}

# --------------------------------------------------------------------------- session list


def session_rows(sessions: list[SessionSummary]) -> pd.DataFrame:
    """A list of sessions as a table, one row each (with its id), in the order given."""
    def pain(s: SessionSummary) -> str:
        if s.pain_before is None and s.pain_after is None:
            return ""
        a = "–" if s.pain_before is None else str(s.pain_before)
        b = "–" if s.pain_after is None else str(s.pain_after)
        return f"{a} → {b}"

    return pd.DataFrame([{
        "id": s.id, "date": when_text(s.created_at), "stretch": s.exercise_name,
        "sides": ", ".join(side_label(x) for x in s.sides),
        "from": SOURCE_TEXT.get(s.source, s.source),
        "score": None if s.score is None else round(s.score), "reps": s.reps,
        "status": COMPLETION_TEXT.get(s.completion, s.completion),
        "pain before → after": pain(s),
        "why stopped": s.abandon_reason or "", "comment": s.comment or "",
    } for s in sessions])


def session_label(s: SessionSummary) -> str:
    """"2026-11-21 14:05 · Neck side tilt · score 82 · abandoned" (plain text)."""
    status = "" if s.completion == "completed" else \
        f" · {COMPLETION_TEXT.get(s.completion, s.completion)}"
    score = "no score" if s.score is None else f"score {s.score:.0f}"
    return f"{when_text(s.created_at)} · {s.exercise_name} · {score}{status}"


# --------------------------------------------------------------------------- one session


def _rep_rows(d: SessionDetail) -> pd.DataFrame:
    definition = get_library().get(d.exercise)

    def band(r: Any) -> str:
        if r.target_low is None or r.target_high is None:
            return ""
        if definition is None:
            return f"{r.target_low:g} to {r.target_high:g}"
        return target_text(definition, r.target_low, r.target_high)

    return pd.DataFrame([{
        "side": r.side, "rep": r.index,
        "from (s)": r.start_s, "to (s)": r.end_s,
        "peak": None if r.peak is None else round(r.peak, 1),
        "target": band(r),
        "reached": "yes" if r.reached_target else "no",
        "held (s)": None if r.hold_s is None else round(r.hold_s, 1),
        "hold asked (s)": r.hold_required_s,
        "result": "✓ correct" if r.correct else ("unfinished" if not r.complete
                                                 else "✗ incorrect"),
        "score": None if r.score is None else round(r.score),
        "faults": ", ".join(f.replace("_", " ") for f in r.faults),
    } for r in d.reps_rows])


def faults_timeline(d: SessionDetail, duration_s: float | None = None) -> alt.Chart | None:
    """Each form fault as a bar over the session's time (seconds, 0 to ``duration_s``)."""
    rows = [{"from": f.start_s, "to": f.end_s if f.end_s is not None else f.start_s,
             "what": f.cue or f.fault.replace("_", " "), "side": f.side,
             "rep": "" if f.rep is None else str(f.rep),
             "duration": f.duration_s} for f in d.faults if f.start_s is not None]
    if not rows:
        return None
    data = pd.DataFrame(rows)
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("from:Q", title="time (s)",
                scale=alt.Scale(domain=[0, duration_s]) if duration_s else alt.Undefined),
        x2="to:Q",
        y=alt.Y("what:N", title=None, axis=alt.Axis(labelLimit=320)),
        color=alt.Color("side:N", title="side", legend=alt.Legend(orient="top"),
                        scale=alt.Scale(range=["#0072B2", "#E69F00", "#009E73"])),
        tooltip=["what:N", "side:N", "rep:N", alt.Tooltip("from:Q", format=".1f"),
                 alt.Tooltip("to:Q", format=".1f"),
                 alt.Tooltip("duration:Q", title="seconds", format=".1f")],
    ).properties(height=alt.Step(28))  # a fixed height collapses ordinal bands here


def session_view(svc: Clinic, session_id: int | str, *, therapist: bool) -> None:
    """One session: what was done, per-rep table, faults timeline, replay and notes.

    For a therapist it starts with a button back to the session's patient.
    """
    try:
        d = svc.session(session_id)  # type: ignore[arg-type]
    except (AccessDenied, ValueError):
        if therapist and st.button("All patients", icon=":material/arrow_back:",
                                   type="tertiary", key="back-to-list"):
            go()
        st.warning(NOT_YOURS_SESSION, icon=":material/search_off:")
        return
    if therapist and st.button("Back to the patient", icon=":material/arrow_back:",
                               type="tertiary", key="back-to-patient"):
        go(patient=d.patient_id)
    lib = get_library()
    definition = lib.get(d.exercise)
    report = d.to_report()
    st.header(f"{d.exercise_name}, {when_text(d.created_at)}")
    st.caption(f"{', '.join(side_label(s) for s in d.sides)} · from the "
               f"{SOURCE_TEXT.get(d.source, d.source)} · "
               f"{COMPLETION_TEXT.get(d.completion, d.completion)}")
    presc = report.prescription
    reps_target = presc["reps"] * presc.get("sets", 1) * max(1, len(report.sides))
    m = st.columns(4)
    m[0].metric("Score", "–" if d.score is None else f"{d.score:.0f} / 100")
    m[1].metric("Reps", f"{d.reps} / {reps_target}")
    m[2].metric("Correct reps", str(sum(1 for r in d.reps_rows if r.correct)))
    pain = ("–" if d.pain_before is None else str(d.pain_before)) + " → " + (
        "–" if d.pain_after is None else str(d.pain_after))
    m[3].metric("Pain before → after", pain)
    if d.abandon_reason:
        st.warning(f"**Stopped early.** {md(d.abandon_reason)}", icon=":material/pause_circle:")
    elif d.problem:
        st.caption(f"Note: {md(d.problem)}.")
    if d.comment:
        st.info(f"**{'Patient' if therapist else 'Your'} comment:** {md(d.comment)}",
                icon=":material/chat:")

    st.subheader("Replay")
    video = Path(d.video_path) if d.video_path else None
    if video is not None and video.is_file():
        st.video(str(video), width=640, alt=f"Video of this {d.exercise_name} session, with "
                 "the skeleton and the measured angle drawn on it")
    chart = measure_chart(report, definition)
    if chart is not None:
        st.caption(f"{report.primary_label} over the session: the green band is the target; "
                   "dashed lines mark where each repetition starts and ends.")
        st.altair_chart(chart, width="stretch")
    elif video is None:
        st.caption("No replay data was kept for this session.")

    st.subheader("Repetitions")
    if d.reps_rows:
        st.dataframe(_rep_rows(d), hide_index=True, width="stretch")
    else:
        st.info("No repetition was counted in this session.")

    st.subheader("Form faults")
    timeline = faults_timeline(d, report.duration_s)
    if timeline is None:
        st.success("No form faults were seen.", icon=":material/check_circle:")
    else:
        st.altair_chart(timeline, width="stretch")

    if d.screening:
        with st.expander("Safety check before the session"):
            from sessions.service import SCREENING_QUESTIONS

            st.markdown("\n".join(
                f"- {SCREENING_QUESTIONS.get(k, md(k))} **{'yes' if v else 'no'}**"
                for k, v in d.screening.items()))

    st.subheader("Notes")
    for n in d.notes:
        with st.container(border=True):
            st.caption(f"{md(n.author_display_name)} · {when_text(n.created_at)}")
            st.markdown(md(n.text))
    if not d.notes and not therapist:
        st.caption("Your therapist hasn't added notes to this session.")
    if therapist:
        with st.form(f"note-{d.id}", clear_on_submit=True):
            text = st.text_area("Add a note (the patient can read it)", max_chars=5000,
                                key=f"note-text-{d.id}")
            if st.form_submit_button("Add note", icon=":material/note_add:"):
                try:
                    svc.add_note(d.id, text)
                except ValueError as e:
                    st.warning(str(e).capitalize() + ".")
                else:
                    st.rerun()


# --------------------------------------------------------------------------- patient's record


def my_record(svc: Clinic) -> None:
    """The patient's own sessions (My sessions in clinic mode)."""
    sessions = svc.sessions()
    if not sessions:
        st.info("No sessions yet. Start one from the **Live coach** (with **Today's "
                "program**) or **Analyse a video**; sessions are saved into your record.")
        st.page_link("views/1_Live_coach.py", label="Live coach", icon=":material/videocam:")
        return
    st.dataframe(session_rows(sessions).drop(columns=["id"]), hide_index=True,
                 width="stretch", column_config={"score": st.column_config.ProgressColumn(
                     "score", min_value=0, max_value=100, format="%d")})
    by_id = {s.id: s for s in sessions}
    wanted = query_id("session")
    index = list(by_id).index(wanted) if wanted in by_id else 0
    chosen = st.selectbox("Open a session", list(by_id), index=index, key="my-session",
                          format_func=lambda i: session_label(by_id[i]))
    st.divider()
    session_view(svc, chosen, therapist=False)
