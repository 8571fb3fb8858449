"""Therapist dashboard: patients, their progress, sessions, programs and exports.

Views by query parameter: none = the patient list; ``?patient=ID`` = one patient;
``?patient=ID&session=ID`` = one session. ``sessions.service.Clinic`` checks every
id: a patient who is not yours looks exactly like one that does not exist.
"""

from __future__ import annotations

import streamlit as st

from app.auth_ui import clinic, clinic_mode, require_principal
from app.clinic_pages import patient_list, patient_view, query_id, session_view
from app.ui import page_header

page_header("My patients", ":material/groups:")

if not clinic_mode():
    st.info("This page is for physiotherapists reviewing their patients' sessions. No "
            "accounts are set up on this computer yet: an administrator creates them on the "
            "**Clinic accounts** page.", icon=":material/groups:")
    st.page_link("views/7_Admin.py", label="Clinic accounts", icon=":material/manage_accounts:")
    st.stop()

principal = require_principal(["therapist"], intro="Sign in with your therapist account.")
svc = clinic(principal)

patient_id = query_id("patient")
session_id = query_id("session")

if session_id is not None:
    session_view(svc, session_id, therapist=True)
elif patient_id is not None:
    patient_view(svc, patient_id)
else:
    patient_list(svc)
