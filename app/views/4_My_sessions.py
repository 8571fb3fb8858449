"""My sessions: saved sessions, newest first; open one to see its report and chart."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app.auth_ui import clinic, clinic_mode, database_problem, require_principal
from app.ui import get_library, get_store, page_header, render_report, side_label
from sessions.store import StoredSession

page_header("My sessions", ":material/folder_open:",
            "Every session you saved, live or from a video. Open one to see its repetitions, "
            "chart and form notes.")

if clinic_mode():
    # clinic mode: the patient's own record (app/clinic_session.py, via app/clinic_pages.py)
    from app.clinic_pages import my_record

    principal = require_principal(["patient"], intro="Sign in to see your sessions.")
    my_record(clinic(principal))
    st.stop()

lib = get_library()
try:
    store = get_store()
    sessions = store.list(limit=500)
except Exception as e:  # a damaged, locked or unreachable database: say so calmly
    database_problem(e)

if not sessions:
    st.info("No sessions yet. Try the **Live coach** or **Analyse a video**; sessions are "
            "saved automatically.")
    st.page_link("views/1_Live_coach.py", label="Live coach", icon=":material/videocam:")
    st.page_link("views/2_Analyse_video.py", label="Analyse a video", icon=":material/movie:")
    st.stop()

names = {k: d.name for k, d in lib.items()}
exercises = sorted({s.exercise for s in sessions}, key=lambda e: names.get(e, e))
pick = st.selectbox("Stretch", ["all", *exercises], key="sessions-filter",
                    format_func=lambda e: "All stretches" if e == "all" else names.get(e, e))
shown = [s for s in sessions if pick == "all" or s.exercise == pick]


def _when(s: StoredSession) -> str:
    return s.created_at.astimezone().strftime("%Y-%m-%d %H:%M")


def _row(s: StoredSession) -> dict[str, object]:
    r = s.report
    presc = r.prescription
    target = presc["reps"] * presc.get("sets", 1) * max(1, len(r.sides))
    return {
        "id": s.id,
        "date": _when(s),
        "stretch": names.get(s.exercise, r.exercise_name),
        "sides": ", ".join(side_label(x) for x in s.sides),
        "from": {"live": "live camera", "video": "video", "camera": "camera"}.get(s.source,
                                                                                  s.source),
        "score": None if s.score is None else round(s.score),
        "reps": f"{s.reps} / {target}",
        "status": "complete" if s.complete else "interrupted",
    }


st.dataframe(pd.DataFrame([_row(s) for s in shown]), hide_index=True, width="stretch",
             column_config={"score": st.column_config.ProgressColumn(
                 "score", min_value=0, max_value=100, format="%d")})

scored = [s for s in reversed(shown) if s.score is not None]
if pick != "all" and len(scored) >= 2:
    st.caption("Score over time")
    st.line_chart(pd.DataFrame({"session": [_when(s) for s in scored],
                                "score": [s.score for s in scored]}).set_index("session"),
                  height=180)

by_id = {s.id: s for s in shown}
chosen = st.selectbox(
    "Open a session", list(by_id), key="sessions-open",
    format_func=lambda i: f"{_when(by_id[i])} · {names.get(by_id[i].exercise, '?')} · "
                          f"score {by_id[i].score or 0:.0f}"
                          + ("" if by_id[i].complete else " · interrupted"))
s = by_id[chosen]
st.divider()
st.header(f"{s.report.exercise_name}, {_when(s)}")
media = s.report.media
kept = Path(media["kept_video"]) if media.get("kept_video") else None
kept_annotated = Path(media["kept_annotated"]) if media.get("kept_annotated") else None
render_report(s.report, key=f"session-{s.id}", definition=lib.get(s.exercise),
              annotated_video=kept_annotated, extra_video=kept)
