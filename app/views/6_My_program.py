"""My program (patient): the stretches my physiotherapist prescribed, and what is left."""

from __future__ import annotations

import streamlit as st

from app.auth_ui import clinic, clinic_mode, md, require_principal
from app.patient_ui import dose_line
from app.ui import page_header, show_demo

page_header("My program", ":material/checklist:",
            "The stretches your physiotherapist prescribed for you, with what is done "
            "today and this week.")

if not clinic_mode():
    st.info("Programs come from a physiotherapist through clinic accounts, and none are set "
            "up on this computer. You can still practise any stretch with the Live coach.",
            icon=":material/checklist:")
    st.page_link("views/1_Live_coach.py", label="Live coach", icon=":material/videocam:")
    st.stop()

principal = require_principal(["patient"], intro="Sign in to see your program.")
svc = clinic(principal)
me = svc.patient(None)
program = svc.program_info()
items = svc.todays_program()     # [] unless the program runs today

if me.therapist_display_name:
    st.caption(f"Prescribed by {md(me.therapist_display_name)}.")
if program is None or not program.items:
    st.info("Your therapist hasn't prescribed a program yet. Meanwhile you can practise any "
            "stretch with the Live coach.", icon=":material/hourglass_empty:")
    st.page_link("views/1_Live_coach.py", label="Live coach", icon=":material/videocam:")
    st.stop()

with st.container(key="program-period"):
    if program.status == "upcoming":
        st.info(f"Your program has not started yet: it runs {program.period}. Until then "
                "you can practise any stretch with the Live coach.",
                icon=":material/event_upcoming:")
    elif program.status == "ended":
        st.info(f"Your program has ended: it ran {program.period}. Ask your therapist "
                "whether to go on; meanwhile you can practise any stretch with the Live "
                "coach.", icon=":material/event_available:")
    else:
        st.caption(f"Your program runs {program.period}.")

if items:
    c1, c2 = st.columns(2)
    c1.metric("This week", f"{me.adherence_done} / {me.adherence_prescribed}",
              help="Sessions done of those prescribed this week so far (Monday to today, "
                   "from the program's start)")
    left_today = sum(1 for t in items if not t.done_for_today)
    c2.metric("Left today", f"{left_today} of {len(items)}")
if program.notes:
    st.info(f"**From your therapist:** {md(program.notes)}", icon=":material/chat:")
st.download_button("Print my program (PDF)", lambda: svc.export_handout(),
                   file_name="my_stretching_program.pdf", mime="application/pdf",
                   key="program-handout", on_click="ignore", icon=":material/print:",
                   help="Every stretch with its steps, your dose, your therapist's notes, "
                        "the safety note and pictures of how it is done, to print.")

if items:
    st.subheader("Today's program")
    for n, t in enumerate(items, 1):
        with st.container(border=True, key=f"program-item-{t.item.id}"):
            a, v, b = st.columns([4, 3, 2], vertical_alignment="center")
            status = ("✓ Done today" if t.done_for_today else
                      f"{t.done_today} of {t.item.per_day} done today" if t.done_today else
                      f"{t.remaining_this_week} more this week" if t.remaining_this_week
                      else "Done for this week")
            a.markdown(f"**{n}. {md(t.item.exercise_name)}**  \n{md(dose_line(t.item))}"
                       + (f"  \n*{md(t.item.notes)}*" if t.item.notes else ""))
            a.caption(f"{status} · {t.done_this_week} of {t.item.per_week} this week")
            with v:
                show_demo(t.item.exercise, label=f"How to do it: {t.item.exercise_name} "
                                                 f"(item {n})")
            b.page_link("views/1_Live_coach.py", label="Start with the live coach",
                        icon=":material/play_circle:", query_params={"item": str(t.item.id)})
else:
    st.subheader("Your program")
    for n, item in enumerate(program.items, 1):
        with st.container(border=True, key=f"program-item-{item.id}"):
            a, v = st.columns([6, 3], vertical_alignment="center")
            a.markdown(f"**{n}. {md(item.exercise_name)}**  \n{md(dose_line(item))}"
                       + (f"  \n*{md(item.notes)}*" if item.notes else ""))
            with v:
                show_demo(item.exercise, label=f"How to do it: {item.exercise_name} "
                                               f"(item {n})")

st.subheader("Privacy")
opt = st.toggle("Keep the videos of my sessions so my therapist can watch them",
                value=me.video_opt_in, key="video-opt-in",
                help="Off: videos are analysed and deleted; only the numbers are kept.")
if opt != me.video_opt_in:
    svc.set_video_opt_in(opt)
    st.rerun()
