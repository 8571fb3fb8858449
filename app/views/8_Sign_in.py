"""Sign in (clinic mode): patients, therapists and administrators."""

from __future__ import annotations

import streamlit as st

from app.auth_ui import ROLE_TEXT, clinic_mode, current_principal, login_form, md
from app.ui import page_header

page_header("Sign in", ":material/login:")

if not clinic_mode():
    st.info("No accounts are set up on this computer, so there is nothing to sign in to: "
            "the coach works without an account.", icon=":material/person:")
    st.page_link("views/1_Live_coach.py", label="Live coach", icon=":material/videocam:")
    st.stop()

principal = current_principal()
if principal is None:
    login_form(intro="Use the username and password your clinic gave you.")
    st.caption("Forgot your password? Ask your clinic's administrator to set a new one.")
    st.stop()

st.success(f"You are signed in as **{md(principal.display_name or principal.username)}** "
           f"({ROLE_TEXT.get(principal.role, principal.role)}).", icon=":material/how_to_reg:")
target = {"patient": ("views/6_My_program.py", "My program", ":material/checklist:"),
          "therapist": ("views/5_Therapist.py", "My patients", ":material/groups:"),
          "admin": ("views/7_Admin.py", "Accounts", ":material/manage_accounts:")}.get(
              principal.role)
if target:
    st.page_link(target[0], label=f"Go to {target[1]}", icon=target[2])
