# ruff: noqa: N999  (Streamlit names the app after this file)
"""Stretch Coach entry point: the menu for whoever uses this tab, then the chosen page.

Every page is always registered (so a link or a bookmark to any page works and,
where needed, shows the sign-in form in place, keeping its query parameters); the
sidebar menu lists only the pages that make sense for the current user:

- personal mode (no accounts): the coach as a personal tool, no sign-in;
- clinic mode, signed out: home, sign in, the stretch library;
- a patient: their program, the coach, their sessions, the library;
- a therapist: their patients, the library, the coach (sessions not saved);
- an administrator: accounts, the library.
"""

from __future__ import annotations

import streamlit as st

from app.auth_ui import (
    ROLE_TEXT,
    change_password_form,
    clinic_mode,
    current_principal,
    md,
    run_page,
    sign_out,
    sync_login_cookie,
)

PAGES = {
    "home": st.Page("views/0_Home.py", title="Home", icon=":material/home:", default=True),
    "program": st.Page("views/6_My_program.py", title="My program",
                       icon=":material/checklist:"),
    "live": st.Page("views/1_Live_coach.py", title="Live coach", icon=":material/videocam:"),
    "analyse": st.Page("views/2_Analyse_video.py", title="Analyse video",
                       icon=":material/movie:"),
    "sessions": st.Page("views/4_My_sessions.py", title="My sessions",
                        icon=":material/folder_open:"),
    "patients": st.Page("views/5_Therapist.py", title="My patients",
                        icon=":material/groups:"),
    "library": st.Page("views/3_Stretch_library.py", title="Stretch library",
                       icon=":material/menu_book:"),
    "admin": st.Page("views/7_Admin.py", title="Accounts",
                     icon=":material/manage_accounts:"),
    "signin": st.Page("views/8_Sign_in.py", title="Sign in", icon=":material/login:"),
}

MENUS: dict[str, tuple[str, ...]] = {
    "personal": ("home", "live", "analyse", "library", "sessions"),
    "signed_out": ("home", "signin", "library"),
    "patient": ("home", "program", "live", "analyse", "sessions", "library"),
    "therapist": ("patients", "library", "live", "analyse"),
    "admin": ("admin", "library"),
}

page = st.navigation(list(PAGES.values()), position="hidden")

clinic = clinic_mode()
principal = current_principal() if clinic else None
if not clinic:
    menu = "personal"
elif principal is None:
    menu = "signed_out"
else:
    menu = principal.role if principal.role in MENUS else "signed_out"

with st.sidebar:
    with st.container(key="app-menu"):
        for name in MENUS[menu]:
            st.page_link(PAGES[name])
    if principal is not None:
        st.divider()
        with st.container(key="account-box"):
            st.caption(f"Signed in as **{md(principal.display_name or principal.username)}** "
                       f"({ROLE_TEXT.get(principal.role, principal.role)})")
            st.button("Sign out", key="sign-out", on_click=sign_out,
                      icon=":material/logout:")
            with st.popover("Change password", icon=":material/key:"):
                change_password_form(principal)
    elif not clinic:
        st.divider()
        st.page_link(PAGES["admin"], label="Clinic accounts",
                     icon=":material/manage_accounts:")
        st.caption("For physiotherapists: set up accounts so patients' sessions reach "
                   "their therapist.")

with st.sidebar:
    sync_login_cookie()   # keep (or forget) the sign-in in this browser across reloads

run_page(page)   # a database failure in the page: one plain sentence, never a traceback
