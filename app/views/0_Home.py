"""Stretch Coach: the home page (what it does, safety, where to start)."""

from __future__ import annotations

import streamlit as st

from app.auth_ui import clinic_mode, current_principal, md
from app.ui import get_library, page_header, safety_note

page_header("Stretch Coach", ":material/self_improvement:",
            "A calm coach for neck, shoulder and upper-back stretches. It watches you "
            "through your webcam, or looks at a video you recorded, and tells you whether "
            "you are in the right position, counts your repetitions and holds, and keeps "
            "a record of your sessions. Everything runs on this computer: no video leaves it.")

safety_note()

clinic = clinic_mode()
principal = current_principal() if clinic else None
if clinic and principal is None:
    st.subheader("Where to start")
    st.write("Your clinic has set up accounts: sign in to see the program your "
             "physiotherapist prescribed and to keep your sessions in your record.")
    st.page_link("views/8_Sign_in.py", label="Sign in", icon=":material/login:")
    st.page_link("views/3_Stretch_library.py", label="Stretch library",
                 icon=":material/menu_book:")
    st.caption("What each stretch is, how to do it, and where to put your camera.")
elif principal is not None and principal.role != "patient":
    st.subheader(f"Welcome, {md(principal.display_name or principal.username)}")
    if principal.role == "therapist":
        st.page_link("views/5_Therapist.py", label="My patients", icon=":material/groups:")
        st.caption("Adherence, scores, pain and form notes of your patients' sessions; "
                   "prescribe and adjust their programs.")
    else:
        st.page_link("views/7_Admin.py", label="Accounts", icon=":material/manage_accounts:")
        st.caption("Create therapist and patient accounts and assign patients.")
    st.page_link("views/3_Stretch_library.py", label="Stretch library",
                 icon=":material/menu_book:")
else:
    st.subheader("Where to start")
    if principal is not None:
        st.page_link("views/6_My_program.py", label="My program", icon=":material/checklist:")
        st.caption("The stretches your physiotherapist prescribed, and what is left today. "
                   "Start them from the Live coach with **Today's program**.")
    c1, c2 = st.columns(2)
    with c1:
        st.page_link("views/3_Stretch_library.py", label="Stretch library",
                     icon=":material/menu_book:")
        st.caption("What each stretch is, how to do it, and where to put your camera.")
        st.page_link("views/1_Live_coach.py", label="Live coach", icon=":material/videocam:")
        st.caption("Stretch in front of your webcam and get cues, counts and hold timers "
                   "as you go.")
    with c2:
        st.page_link("views/2_Analyse_video.py", label="Analyse a video",
                     icon=":material/movie:")
        st.caption("Upload a recording (or try a sample) and get a report with a chart and "
                   "an annotated video.")
        st.page_link("views/4_My_sessions.py", label="My sessions",
                     icon=":material/folder_open:")
        st.caption("Your saved sessions and scores, to track progress or show your "
                   "physiotherapist.")

st.subheader("How it judges a stretch")
st.markdown(
    "- It finds 33 points of your body in each frame and measures one main angle per "
    "stretch (for example how far your head tilts), compared with a **target band**.\n"
    "- Nothing is counted until it has seen you **still in the starting position** for a "
    "moment, so getting into place never counts as a repetition.\n"
    "- A **hold** is timed only while you are inside the target band; short wobbles "
    "pause it rather than reset it.\n"
    "- Each repetition gets a score from how far you went, how long you held and how "
    "clean your form was. The session score also counts how many of the prescribed "
    "repetitions you did.\n"
    "- If it cannot see the parts of your body it needs, it says so and asks you to "
    "adjust the camera instead of guessing.")
st.caption(f"{len(get_library())} stretches in the library.")
