"""The therapist's patients: the list, adding a patient, and one patient's tabs.

One patient's view shows the open and closed flags, then the Progress, Sessions,
Program and Export tabs. Each lays out what ``sessions.service.Clinic`` returns
for the signed-in therapist (only their own patients); a patient who is missing
or not theirs is one calm line. No SQL, no angle math, no thresholds here.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from app.auth_ui import md
from app.clinic_common import NOT_YOURS_PATIENT, date_range, go
from app.clinic_flags import closed_flags, flags_panel
from app.clinic_session import session_label, session_rows
from app.clinic_ui import (
    adherence_calendar,
    as_date,
    pain_chart,
    rom_chart,
    stretch_score_chart,
    trend_text,
    when_text,
)
from app.program_editor import program_editor
from app.ui import get_library
from sessions.auth import PASSWORD_RULES
from sessions.service import AccessDenied, Clinic, adherence_text

# --------------------------------------------------------------------------- patient list


def patient_list(svc: Clinic) -> None:
    """The therapist's patients: adherence this week, latest score, trend and flags."""
    patients = svc.patients()
    flags = svc.flags()
    if flags:
        st.subheader("Needs your attention")
        flags_panel(svc, flags, key="all-flags")

    st.subheader("Patients")
    _add_patient(svc)
    if not patients:
        st.info("No patients are assigned to you yet. Add one above, or ask your clinic's "
                "administrator to assign patients to you.", icon=":material/groups:")
        return
    rows = []
    for p in patients:
        rows.append({
            "patient": p.display_name,
            "username": p.username,
            "this week": f"{p.adherence_done} / {p.adherence_prescribed}",
            "adherence": (p.adherence_done / p.adherence_prescribed
                          if p.adherence_prescribed else None),
            "latest score": None if p.latest_score is None else round(p.latest_score),
            "trend": trend_text(p.trend),
            "open flags": p.open_flags,
            "last session": when_text(p.last_session_at) or "never",
        })
    event = st.dataframe(
        pd.DataFrame(rows), hide_index=True, width="stretch", key="patients-table",
        on_select="rerun", selection_mode="single-row", placeholder="–",
        column_config={
            "adherence": st.column_config.ProgressColumn(
                "adherence", min_value=0, max_value=1, format="percent",
                help="Prescribed sessions done this week so far (Monday to today, from "
                     "the program's start)"),
            "latest score": st.column_config.NumberColumn("latest score", format="%d"),
            "this week": st.column_config.TextColumn(
                "this week", help="Sessions done / prescribed this week"),
        })
    picked = getattr(getattr(event, "selection", None), "rows", None)
    if picked:
        go(patient=patients[picked[0]].id)
    ids = [p.id for p in patients]
    names = {p.id: f"{p.display_name} ({p.username})" for p in patients}
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    chosen = c1.selectbox("Open a patient", ids, format_func=lambda i: names[i],
                          key="open-patient")
    if c2.button("Open patient", type="primary", key="open-patient-go"):
        go(patient=chosen)
    st.caption("Or click a row of the table.")


def _add_patient(svc: Clinic) -> None:
    """A therapist creates a patient account (assigned to them by ``Accounts``)."""
    from app.auth_ui import accounts

    with st.expander("Add a patient", icon=":material/person_add:"):
        with st.form("add-patient", clear_on_submit=True, border=False):
            c1, c2 = st.columns(2)
            username = c1.text_input("Username", key="add-patient-username")
            display = c2.text_input("Full name", key="add-patient-name")
            password = st.text_input("First password (at least 10 characters; give it to "
                                     "the patient privately)", type="password",
                                     key="add-patient-password", autocomplete="new-password",
                                     help=PASSWORD_RULES)
            create = st.form_submit_button("Create patient account")
        if create:
            try:
                accounts().create_user(svc.principal, username.strip(), password, "patient",
                                       display.strip())
            except (ValueError, AccessDenied) as e:
                st.error(f"The account was not created: {md(e)}.")
            else:
                st.session_state["clinic-added-patient"] = username.strip()
                st.rerun()
    added = st.session_state.pop("clinic-added-patient", None)
    if added:
        st.success(f"Created the patient account {md(added)}: it is in your list below.",
                   icon=":material/task_alt:")


# --------------------------------------------------------------------------- one patient


def patient_view(svc: Clinic, patient_id: int | str) -> None:
    """One patient: progress charts, sessions, program editor and exports (therapist)."""
    if st.button("All patients", icon=":material/arrow_back:", type="tertiary",
                 key="back-to-list"):
        go()
    try:
        info = svc.patient(patient_id)  # type: ignore[arg-type]
    except (AccessDenied, ValueError):
        st.warning(NOT_YOURS_PATIENT, icon=":material/person_off:")
        return
    summary = next((p for p in svc.patients() if p.id == info.id), None)
    st.header(md(info.display_name))
    st.caption(f"Username {md(info.username)} · patient since "
               f"{as_date(info.created_at)}"
               + (" · videos kept (the patient allowed it)" if info.video_opt_in else ""))
    m = st.columns(4)
    m[0].metric("This week", f"{info.adherence_done} / {info.adherence_prescribed}",
                help="Prescribed sessions done this week so far (Monday to today, from "
                     "the program's start)")
    latest = summary.latest_score if summary else None
    m[1].metric("Latest score", "–" if latest is None else f"{latest:.0f} / 100")
    m[2].metric("Trend", trend_text(summary.trend if summary else None),
                help="Mean of the last 3 scores against the 3 before")
    m[3].metric("Open flags", str(info.open_flags))
    flags = svc.flags(info.id)
    if flags:
        flags_panel(svc, flags, key=f"flags-{info.id}", show_patient=False)
    closed = [f for f in svc.flags(info.id, open_only=False) if f.resolved_at is not None]
    if closed:
        with st.expander(f"Closed flags ({len(closed)})"):
            closed_flags(closed)

    tabs = st.tabs(["Progress", "Sessions", "Program", "Export"], key="patient-tab",
                   on_change="rerun")
    with tabs[0]:
        if tabs[0].open:
            _progress(svc, info.id)
    with tabs[1]:
        if tabs[1].open:
            _sessions(svc, info.id)
    with tabs[2]:
        if tabs[2].open:
            program_editor(svc, info.id, info.program_notes)
    with tabs[3]:
        if tabs[3].open:
            _exports(svc, info.id, info.username)


def _progress(svc: Clinic, patient_id: int) -> None:
    every = st.toggle("Include sessions stopped early or cut short by a technical problem",
                      value=False, key=f"progress-all-{patient_id}",
                      help="Off: scores, pain and range of motion of completed sessions only "
                           "(a set stopped early is not the patient's result).")
    tr = svc.trends(patient_id, include_incomplete=every)
    today = date.today()
    start = today - timedelta(days=today.weekday() + 7 * 7)   # 8 weeks, from a Monday
    st.subheader("Adherence")
    with st.container(key=f"adherence-text-{patient_id}"):
        # the same sentence as the progress report (PDF) for the same period
        st.markdown(md(adherence_text(svc.adherence(patient_id, start, today))))
    st.caption("Completed sessions per day over the last 8 weeks"
               + (f"; {tr.prescribed_per_week} prescribed per week." if tr.prescribed_per_week
                  else "; no program prescribed."))
    st.altair_chart(adherence_calendar(tr.calendar.items(), start=start, end=today,
                                       prescribed_per_day=(tr.prescribed_per_week / 7
                                                           if tr.prescribed_per_week else None)),
                    width="stretch")
    if not tr.dates:
        st.info("No sessions yet: charts appear after the first session.",
                icon=":material/monitoring:")
        return
    overall = pd.DataFrame({"when": pd.to_datetime(tr.dates, utc=True),
                            "score": tr.scores, "pain_before": tr.pain_before,
                            "pain_after": tr.pain_after})
    overall["when"] = overall["when"].dt.tz_convert(None)
    c1, c2 = st.columns(2)
    with c1:
        st.subheader("Score")
        scores = pd.DataFrame(
            [(when, score, t.name) for t in tr.stretches.values()
             for when, score in zip(t.dates, t.scores, strict=True) if score is not None],
            columns=["when", "score", "stretch"])
        scores["when"] = pd.to_datetime(scores["when"], utc=True).dt.tz_convert(None)
        st.altair_chart(stretch_score_chart(scores), width="stretch")
    with c2:
        st.subheader("Pain")
        if overall[["pain_before", "pain_after"]].notna().any().any():
            st.altair_chart(pain_chart(overall), width="stretch")
        else:
            st.caption("No pain scores recorded yet.")
    st.subheader("Range of motion per stretch")
    st.caption("The best position reached in each session; the green band is the target "
               "(the program's override when set, else the stretch's).")
    for t in tr.stretches.values():
        pts = pd.DataFrame({"when": pd.to_datetime(t.dates, utc=True).tz_convert(None),
                            "value": t.rom_peak}).dropna(subset=["value"])
        st.markdown(f"**{md(t.name)}** · {md(t.label)}")
        if pts.empty:
            st.caption("No repetition was measured yet.")
            continue
        unit = {"deg": "degrees", "ratio": "shoulder widths"}.get(t.unit, t.unit or "value")
        y_title = f"{t.label} ({unit})"
        st.altair_chart(rom_chart(pts, t.target, y_title=y_title), width="stretch")


def _stretch_names(svc: Clinic, patient_id: int) -> dict[str, str]:
    names = {i.exercise: i.exercise_name for i in svc.program(patient_id)}
    for k, d in get_library().items():
        names.setdefault(k, d.name)
    return names

def _sessions(svc: Clinic, patient_id: int) -> None:
    names = _stretch_names(svc, patient_id)
    c1, c2 = st.columns(2)
    with c1:
        since, until = date_range(f"sessions-dates-{patient_id}", days=30)
    with c2:
        pick = st.selectbox("Stretch", ["all", *names], key=f"sessions-stretch-{patient_id}",
                            format_func=lambda e: "All stretches" if e == "all" else names[e])
    sessions = svc.sessions(patient_id, since=since, until=until,
                            exercise=None if pick == "all" else pick)
    if not sessions:
        st.info("No sessions in this period.", icon=":material/event_busy:")
        return
    st.dataframe(session_rows(sessions), hide_index=True, width="stretch",
                 column_config={"score": st.column_config.ProgressColumn(
                     "score", min_value=0, max_value=100, format="%d")})
    by_id = {s.id: s for s in sessions}
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    chosen = c1.selectbox("Open a session", list(by_id), key=f"open-session-{patient_id}",
                          format_func=lambda i: session_label(by_id[i]))
    if c2.button("Open session", type="primary", key=f"open-session-go-{patient_id}"):
        go(patient=patient_id, session=chosen)


def _exports(svc: Clinic, patient_id: int, username: str) -> None:
    st.write("Download this patient's sessions for a period: every session and every "
             "repetition as CSV (for a spreadsheet), or a progress report as PDF. The "
             "program handout is the patient's printable program: each stretch with its "
             "steps, dose, your note, the safety note and pictures of the demonstration.")
    st.download_button("Program handout (PDF)", lambda: svc.export_handout(patient_id),
                       file_name=f"{_safe_name(username)}_program.pdf",
                       mime="application/pdf", key="export-handout", on_click="ignore",
                       icon=":material/print:")
    since, until = date_range(f"export-dates-{patient_id}", days=30, label="Period")
    if since is None or until is None:
        st.caption("Pick the first and the last day of the period.")
        return
    sessions_csv, reps_csv = svc.export_csv(patient_id, since, until)
    stem = f"{_safe_name(username)}_{since}_{until}"
    c1, c2, c3 = st.columns(3)
    c1.download_button("Sessions (CSV)", sessions_csv, file_name=f"{stem}_sessions.csv",
                       mime="text/csv", key="export-sessions", on_click="ignore",
                       icon=":material/table:")
    c2.download_button("Repetitions (CSV)", reps_csv, file_name=f"{stem}_reps.csv",
                       mime="text/csv", key="export-reps", on_click="ignore",
                       icon=":material/table_rows:")
    c3.download_button("Progress report (PDF)",
                       lambda: svc.export_pdf(patient_id, since, until),
                       file_name=f"{stem}_report.pdf", mime="application/pdf",
                       key="export-pdf", on_click="ignore", icon=":material/picture_as_pdf:")
    n = len(svc.sessions(patient_id, since=since, until=until))
    st.caption(f"{n} session{'s' if n != 1 else ''} in this period.")


def _safe_name(text: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_" else "_" for c in text)
    return keep.strip("_") or "patient"
