"""The clinic views behind the therapist and patient pages.

Each function lays out what ``sessions.service.Clinic`` returns for the signed-in
user; the service decides what that user may see (a therapist: only their own
patients; a patient: only themselves). A record that is missing or not yours is
one calm line, never a traceback. No SQL, no angle math, no thresholds here.

Navigation inside the therapist page uses query parameters (``?patient=ID``,
``?patient=ID&session=ID``) so a view can be bookmarked or linked; the service
checks every id it is given.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app.auth_ui import md
from app.clinic_ui import (
    adherence_calendar,
    as_date,
    pain_chart,
    rom_chart,
    stretch_score_chart,
    target_text,
    trend_text,
    when_text,
)
from app.patient_ui import dose_line
from app.ui import get_library, measure_chart, side_label
from sessions.auth import PASSWORD_RULES
from sessions.programs import (
    DEFAULT_REST_BETWEEN_SETS_S,
    MAX_REST_BETWEEN_SETS_S,
    MAX_TIMES_PER_DAY,
    check_items,
)
from sessions.service import (
    AccessDenied,
    Clinic,
    DuplicateItemError,
    FlagInfo,
    ProgramInfo,
    ProgramItem,
    ProgramItemIn,
    SessionDetail,
    SessionSummary,
    adherence_text,
)

__all__ = [
    "NOT_YOURS_PATIENT",
    "NOT_YOURS_SESSION",
    "flags_panel",
    "go",
    "my_record",
    "patient_list",
    "patient_view",
    "query_id",
    "session_view",
]

log = logging.getLogger(__name__)

NOT_YOURS_PATIENT = "Patient not found or not yours."
NOT_YOURS_SESSION = "Session not found or not yours."

COMPLETION_TEXT = {"completed": "completed", "interrupted": "stopped before the end",
                   "abandoned": "abandoned"}
SOURCE_TEXT = {"live": "live camera", "video": "video", "camera": "camera"}
FLAG_TEXT = {"red_flag": "Red flag at the safety check", "pain_rise": "Pain went up"}


def query_id(name: str) -> int | str | None:
    """An id from the query string: int, None when absent, the raw text when not a number."""
    raw = st.query_params.get(name)
    if raw is None or raw == "":
        return None
    return int(raw) if str(raw).isdigit() else str(raw)


def go(**params: Any) -> None:
    """Switch the therapist view (query parameters) and rerun.

    Buttons, not ``st.page_link``: a page link to the page already open changes the
    address bar, but later reruns of the page can still see the old query parameters.
    """
    st.query_params.clear()
    for k, v in params.items():
        if v is not None:
            st.query_params[k] = str(v)
    st.rerun()


def _date_range(key: str, *, days: int = 30, label: str = "Dates") -> tuple[date | None,
                                                                         date | None]:
    """A from-to date picker (local dates, both included); defaults to the last ``days``."""
    today = date.today()
    value = st.date_input(label, value=(today - timedelta(days=days - 1), today), key=key,
                          max_value=today + timedelta(days=1), format="YYYY-MM-DD")
    if isinstance(value, (tuple, list)):
        since = value[0] if len(value) > 0 else None
        until = value[1] if len(value) > 1 else since
        return since, until
    return value, value


# --------------------------------------------------------------------------- flags


def flags_panel(svc: Clinic, flags: list[FlagInfo], *, key: str,
                show_patient: bool = True) -> None:
    """Open flags, newest first; each is closed with a note and a confirmation.

    The service records who closed the flag and when, with the note; the flag
    stays in the record.
    """
    for f in flags:
        with st.container(border=True, key=f"{key}-card-{f.id}"):
            who = f"**{md(f.patient_display_name)}** · " if show_patient else ""
            icon = (":red[:material/emergency:]" if f.kind == "red_flag"
                    else ":orange[:material/trending_up:]")
            st.markdown(f"{icon} {who}{FLAG_TEXT.get(f.kind, md(f.kind))} · "
                        f"{when_text(f.created_at)}  \n{md(f.detail)}")
            with st.expander("Close this flag"), st.form(f"{key}-close-{f.id}", border=False):
                note = st.text_area("What did you do? (required; kept with the flag)",
                                    key=f"{key}-note-{f.id}", max_chars=2000,
                                    placeholder="e.g. Phoned the patient: symptoms settled, "
                                                "advised to rest two days")
                sure = st.checkbox("I have dealt with this flag", key=f"{key}-sure-{f.id}")
                close = st.form_submit_button("Close flag")
            if close:
                if not sure:
                    st.warning("Tick \"I have dealt with this flag\" to close it.")
                elif not note.strip():
                    st.warning("Write what you did: the note is kept with the flag.")
                else:
                    try:
                        svc.resolve_flag(f.id, note)
                    except ValueError as e:
                        st.error(str(e))
                    else:
                        st.rerun()


def closed_flags(flags: list[FlagInfo]) -> None:
    """Closed flags with who closed them, when, and their note."""
    for f in flags:
        st.markdown(f"{FLAG_TEXT.get(f.kind, md(f.kind))} · {when_text(f.created_at)} · "
                    f"closed by {md(f.resolved_by_name or 'unknown')} "
                    f"{when_text(f.resolved_at) if f.resolved_at else ''}  \n"
                    f"{md(f.detail)}  \n*Note:* {md(f.resolution_note or '')}")


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


def _session_rows(sessions: list[SessionSummary]) -> pd.DataFrame:
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


def _session_label(s: SessionSummary) -> str:
    """"2026-11-21 14:05 · Neck side tilt · score 82 · abandoned" (plain text)."""
    status = "" if s.completion == "completed" else \
        f" · {COMPLETION_TEXT.get(s.completion, s.completion)}"
    score = "no score" if s.score is None else f"score {s.score:.0f}"
    return f"{when_text(s.created_at)} · {s.exercise_name} · {score}{status}"


def _sessions(svc: Clinic, patient_id: int) -> None:
    names = _stretch_names(svc, patient_id)
    c1, c2 = st.columns(2)
    with c1:
        since, until = _date_range(f"sessions-dates-{patient_id}", days=30)
    with c2:
        pick = st.selectbox("Stretch", ["all", *names], key=f"sessions-stretch-{patient_id}",
                            format_func=lambda e: "All stretches" if e == "all" else names[e])
    sessions = svc.sessions(patient_id, since=since, until=until,
                            exercise=None if pick == "all" else pick)
    if not sessions:
        st.info("No sessions in this period.", icon=":material/event_busy:")
        return
    st.dataframe(_session_rows(sessions), hide_index=True, width="stretch",
                 column_config={"score": st.column_config.ProgressColumn(
                     "score", min_value=0, max_value=100, format="%d")})
    by_id = {s.id: s for s in sessions}
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    chosen = c1.selectbox("Open a session", list(by_id), key=f"open-session-{patient_id}",
                          format_func=lambda i: _session_label(by_id[i]))
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
    since, until = _date_range(f"export-dates-{patient_id}", days=30, label="Period")
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


# --------------------------------------------------------------------------- program editor


def _draft_key(patient_id: int) -> str:
    return f"clinic-program-draft-{patient_id}"


def _as_input(i: ProgramItem) -> ProgramItemIn:
    return ProgramItemIn(exercise=i.exercise, sides=tuple(i.sides), sets=i.sets, reps=i.reps,
                         hold_s=i.hold_s, times_per_week=i.times_per_week,
                         target_low=i.target_low, target_high=i.target_high, notes=i.notes,
                         times_per_day=i.times_per_day,
                         rest_between_sets_s=i.rest_between_sets_s)


def _draft_line(item: ProgramItemIn) -> str:
    d = get_library().get(item.exercise)
    p = d.prescription if d is not None else None
    sets = item.sets if item.sets is not None else (p.sets if p else 1)
    reps = item.reps if item.reps is not None else (p.reps if p else 1)
    hold = item.hold_s if item.hold_s is not None else (p.hold_s if p else 0)
    sides = tuple(item.sides) if not isinstance(item.sides, str) else tuple(
        s for s in item.sides.split(",") if s)
    view = ProgramItem(id=0, position=0, exercise=item.exercise,
                       exercise_name=d.name if d else item.exercise,
                       sides=sides or (d.run_sides if d else ()), sets=sets, reps=reps,
                       hold_s=hold, times_per_week=item.times_per_week,
                       target_low=item.target_low, target_high=item.target_high,
                       notes=item.notes, times_per_day=item.times_per_day,
                       rest_between_sets_s=item.rest_between_sets_s)
    line = dose_line(view)
    if item.target_low is not None and item.target_high is not None:
        line += (f" · target {target_text(d, item.target_low, item.target_high)}"
                 if d is not None else f" · target {item.target_low:g} to {item.target_high:g}")
    return line


def _unit(measure: str) -> str:
    from exercises.measures import get_measure

    return get_measure(measure).unit


def _program_dates(patient_id: int, program: ProgramInfo | None
                   ) -> tuple[date, date | None, bool]:
    """The start and end date pickers: (starts_on, ends_on, differ from the saved program's).

    An ended program offers today and no end date, so saving it again restarts it.
    """
    today = date.today()
    # editing a program that runs or is to come keeps its dates; a new one starts today
    keep = program is not None and program.status != "ended"
    start0 = program.starts_on if keep and program is not None else today
    end0 = program.ends_on if keep and program is not None else None
    c1, c2 = st.columns(2)
    starts_on = c1.date_input("Starts on", value=start0, key=f"program-starts-{patient_id}",
                              format="YYYY-MM-DD",
                              help="The first day of the program; adherence counts from "
                                   "here.")
    ends_on = c2.date_input("Ends on (optional)", value=end0, min_value=starts_on,
                            key=f"program-ends-{patient_id}", format="YYYY-MM-DD",
                            help="The last day of the program. Leave empty for no end date.")
    if program is not None:
        state = {"upcoming": "starts later", "ended": "has ended", "running": "is running"}
        st.caption(f"The current program {state[program.status]}: {program.period}.")
    saved = (program.starts_on, program.ends_on) if program is not None else (start0, end0)
    return starts_on, ends_on, (starts_on, ends_on) != saved


def program_editor(svc: Clinic, patient_id: int, notes: str) -> None:
    """Prescribe the program: dates, stretches and their dose; save it."""
    lib = get_library()
    program = svc.program_info(patient_id)
    current = list(program.items) if program is not None else []
    key = _draft_key(patient_id)
    if key not in st.session_state:
        st.session_state[key] = [_as_input(i) for i in current]
    draft: list[ProgramItemIn] = st.session_state[key]
    changed = draft != [_as_input(i) for i in current]

    st.subheader("Program")
    starts_on, ends_on, dates_changed = _program_dates(patient_id, program)
    changed = changed or dates_changed
    if not draft:
        st.info("No stretches in the program yet. Add them below, then **Save program**.",
                icon=":material/playlist_add:")
    for n, item in enumerate(draft):
        with st.container(border=True, key=f"program-item-{patient_id}-{n}"):
            c1, c2 = st.columns([6, 1], vertical_alignment="center")
            name = lib[item.exercise].name if item.exercise in lib else item.exercise
            c1.markdown(f"**{n + 1}. {md(name)}**  \n{md(_draft_line(item))}"
                        + (f"  \n*Note:* {md(item.notes)}" if item.notes else ""))
            if c2.button("Remove", key=f"program-remove-{patient_id}-{n}",
                         icon=":material/delete:"):
                draft.pop(n)
                st.rerun()

    with st.expander("Add a stretch", expanded=not draft, icon=":material/add:"):
        with st.form(f"program-add-{patient_id}", clear_on_submit=True, border=False):
            # the first stretch not yet prescribed (not simply the alphabetical first)
            ids = ([i for i in lib if i not in {x.exercise for x in draft}]
                   + [i for i in lib if i in {x.exercise for x in draft}])
            exercise = st.selectbox("Stretch", ids, key=f"add-stretch-{patient_id}",
                                    format_func=lambda i: f"{lib[i].name} ({lib[i].targets_area})")
            sides = st.radio("Sides (one-sided stretches only)",
                             ["both", "left", "right"], horizontal=True,
                             key=f"add-sides-{patient_id}",
                             format_func=lambda s: {"both": "Left and right", "left": "Left only",
                                                    "right": "Right only"}[s])
            c1, c2, c3, c4 = st.columns(4)
            sets = c1.number_input("Sets", 1, 10, value=None, step=1,
                                   placeholder="stretch's default", key=f"add-sets-{patient_id}")
            reps = c2.number_input("Reps per set", 1, 50, value=None, step=1,
                                   placeholder="stretch's default", key=f"add-reps-{patient_id}")
            hold = c3.number_input("Hold (s)", 0.0, 300.0, value=None, step=1.0,
                                   placeholder="stretch's default", key=f"add-hold-{patient_id}")
            rest = c4.number_input("Rest between sets (s)", 0, MAX_REST_BETWEEN_SETS_S,
                                   value=DEFAULT_REST_BETWEEN_SETS_S, step=5,
                                   key=f"add-rest-{patient_id}")
            f1, f2 = st.columns(2)
            per_week = f1.number_input("Days a week", 1, 7, value=7, step=1,
                                       key=f"add-week-{patient_id}")
            per_day = f2.number_input("Times a day", 1, MAX_TIMES_PER_DAY, value=1, step=1,
                                      key=f"add-day-{patient_id}")
            t1, t2 = st.columns(2)
            lo = t1.number_input("Target from (optional)", value=None, step=1.0,
                                 key=f"add-lo-{patient_id}",
                                 help="Override the stretch's target band for this patient, "
                                      "in the stretch's unit: degrees, or shoulder widths "
                                      "(see the table below). Leave both empty to keep the "
                                      "stretch's own target.")
            hi = t2.number_input("Target to (optional)", value=None, step=1.0,
                                 key=f"add-hi-{patient_id}")
            item_notes = st.text_input("Note for the patient (optional)", max_chars=500,
                                       key=f"add-notes-{patient_id}")
            added = st.form_submit_button("Add to program", icon=":material/add:")
        if added:
            d = lib[exercise]
            item = ProgramItemIn(
                exercise=exercise,
                sides=() if not d.is_sided or sides == "both" else (sides,),
                sets=None if sets is None else int(sets),
                reps=None if reps is None else int(reps),
                hold_s=None if hold is None else float(hold), times_per_week=int(per_week),
                target_low=lo, target_high=hi, notes=item_notes.strip(),
                times_per_day=int(per_day), rest_between_sets_s=int(rest))
            try:   # the service's own rules, before the item joins the draft
                check_items([*draft, item], lib)
            except DuplicateItemError:
                st.warning(f"{md(d.name)} is already in the program for these sides: change "
                           "or remove that item instead of adding it twice.",
                           icon=":material/content_copy:")
            except ValueError as e:
                st.warning(f"This stretch was not added: {md(str(e))}")
            else:
                draft.append(item)
                st.rerun()
        st.caption("Each stretch's own dose and target band (targets are in the stretch's "
                   "unit; rest-relative ones from the patient's resting position):")
        st.dataframe(_defaults_table(lib), hide_index=True, width="stretch")

    program_notes = st.text_area("Program notes for the patient (optional)", value=notes,
                                 key=f"program-notes-{patient_id}", max_chars=5000)
    changed = changed or program_notes.strip() != (notes or "").strip()
    c1, c2, _ = st.columns([1, 1, 3])
    if c1.button("Save program", type="primary", key=f"program-save-{patient_id}",
                 disabled=not changed, icon=":material/save:"):
        try:
            svc.set_program(patient_id, list(draft), notes=program_notes,
                            starts_on=starts_on, ends_on=ends_on)
        except DuplicateItemError as e:
            st.warning(f"The program was not saved: {md(str(e))}",
                       icon=":material/content_copy:")
        except ValueError as e:
            st.error(f"The program was not saved: {md(str(e))}")
        else:
            st.session_state.pop(key, None)
            st.session_state["clinic-program-saved"] = patient_id
            st.rerun()
    if c2.button("Discard changes", key=f"program-discard-{patient_id}", disabled=not changed):
        for k in (key, f"program-notes-{patient_id}", f"program-starts-{patient_id}",
                  f"program-ends-{patient_id}"):
            st.session_state.pop(k, None)
        st.rerun()
    if st.session_state.pop("clinic-program-saved", None) == patient_id:
        st.success("Program saved. The patient sees it in **My program**.",
                   icon=":material/task_alt:")
    elif changed:
        st.caption("Unsaved changes: press **Save program** to prescribe them.")


def _defaults_table(lib: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for d in lib.values():
        p = d.prescription
        rows.append({"stretch": d.name, "measured": d.primary.label,
                     "target": target_text(d),
                     "default dose": f"{p.sets} × {p.reps}" + (f", hold {p.hold_s:g} s"
                                                              if p.hold_s else ""),
                     "sides": "one side at a time" if d.is_sided else "both together"})
    return pd.DataFrame(rows)


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
    st.dataframe(_session_rows(sessions).drop(columns=["id"]), hide_index=True,
                 width="stretch", column_config={"score": st.column_config.ProgressColumn(
                     "score", min_value=0, max_value=100, format="%d")})
    by_id = {s.id: s for s in sessions}
    wanted = query_id("session")
    index = list(by_id).index(wanted) if wanted in by_id else 0
    chosen = st.selectbox("Open a session", list(by_id), index=index, key="my-session",
                          format_func=lambda i: _session_label(by_id[i]))
    st.divider()
    session_view(svc, chosen, therapist=False)
