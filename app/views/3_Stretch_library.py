"""Stretch library: every stretch, how to do it, camera setup, dose, target and safety."""

from __future__ import annotations

import streamlit as st

from app.clinic_ui import baseline_words
from app.ui import (
    dose_text,
    fill_text,
    get_library,
    good_sample,
    page_header,
    show_demo,
    unit_text,
)
from exercises.measures import get_measure

VIEW_WORDS = {"front": "facing the camera", "side": "side on", "any": "any angle"}

page_header("Stretch library", ":material/menu_book:",
            "Every stretch the coach knows. Open one to see how to do it and where to put "
            "your camera. Sided stretches are written for the left side; the right side is "
            "the mirror image.")

lib = get_library()
query = st.text_input("Search", placeholder="neck, shoulder, chest...",
                      label_visibility="collapsed")
shown = [d for d in lib.values()
         if not query or query.lower() in f"{d.name} {d.summary} {d.targets_area}".lower()]
if not shown:
    st.info("No stretch matches that search.")

for d in shown:
    with st.expander(f"**{d.name}** · {d.targets_area}", expanded=False):
        st.write(d.summary)
        main, side = st.columns([3, 2])
        with main:
            side_name = d.sides[0] if d.sides else None
            st.markdown("**How to do it**" + (f" (shown for the {side_name} side)"
                                                if side_name else ""))
            st.markdown("\n".join(f"{i}. {fill_text(s, d, side_name)}"
                                  for i, s in enumerate(d.steps, 1)))
            if d.checks:
                st.markdown("**Form cues the coach watches for**")
                st.markdown("\n".join(f"- {fill_text(c.cue, d, side_name)}" for c in d.checks))
            if d.limitations:
                st.markdown(f"**What the camera can't judge.** {d.limitations}")
            st.markdown(f"**Safety.** {d.safety}")
        with side:
            st.markdown(f"**Camera.** {d.camera.setup}")
            st.markdown(f"**View:** {VIEW_WORDS[d.view]}"
                        f"  \n**Dose:** {dose_text(d)}")
            lo, hi = d.primary.target
            u = unit_text(get_measure(d.primary.measure).unit)
            rel = baseline_words(d.primary.baseline)
            st.markdown(f"**Measured:** {d.primary.label}, target {lo:g}{u} to {hi:g}{u}{rel}")
            show_demo(d.id)  # the avatar's demonstration, else a good sample clip
            sample = good_sample(d.id)
            if sample is not None:
                st.page_link("views/2_Analyse_video.py", label="See how the coach judges it",
                             icon=":material/movie:", query_params={"sample": sample.stem})
        st.page_link("views/1_Live_coach.py", label=f"Practise {d.name} with the live coach",
                     icon=":material/videocam:", query_params={"stretch": d.id})
