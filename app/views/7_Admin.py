"""Accounts (administrator): create therapist and patient accounts, assign patients.

No clinical data here: administrators manage accounts only (``sessions.auth``).
With no accounts at all (personal mode) the page offers to create the first
administrator, which turns on clinic mode.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.auth_ui import (
    ROLE_TEXT,
    TOKEN_KEY,
    accounts,
    clinic_mode,
    md,
    require_principal,
)
from app.clinic_ui import when_text
from app.ui import page_header
from sessions.auth import PASSWORD_RULES, AccessDenied, AuthError

page_header("Accounts", ":material/manage_accounts:")

# --------------------------------------------------------------------------- first admin


def _served_locally() -> bool:
    """True when the server listens on loopback only (``stretch-coach serve`` default)."""
    address = st.get_option("server.address") or ""
    return address in ("localhost", "127.0.0.1", "::1")


if not clinic_mode():
    st.write("Stretch Coach works as a personal coach without any account. A clinic can "
             "turn on **accounts** so that physiotherapists prescribe programs and review "
             "their patients' sessions, and patients keep their sessions in their own record.")
    st.warning("Once the first account exists, the clinical pages need a sign-in. Sessions "
               "saved so far without an account stay on this computer but are not part of "
               "any patient's record.", icon=":material/info:")
    st.subheader("Create the administrator account")
    if not _served_locally():
        # Reachable from other machines: whoever got here first would own the clinic.
        st.info("This app is reachable from other computers, so the first administrator "
                "is created on the server itself: run `stretch-coach users create-admin "
                "--username ADMIN` there (or set STRETCH_COACH_ADMIN_PASSWORD for scripts), "
                "then sign in here.", icon=":material/terminal:")
        st.stop()
    with st.form("first-admin"):
        username = st.text_input("Username", key="first-admin-username",
                                 autocomplete="username")
        password = st.text_input("Password (at least 10 characters)", type="password",
                                 key="first-admin-password", autocomplete="new-password",
                                 help=PASSWORD_RULES)
        again = st.text_input("Password again", type="password", key="first-admin-again",
                              autocomplete="new-password")
        create = st.form_submit_button("Create administrator", type="primary")
    if create:
        if password != again:
            st.error("The two passwords are not the same.")
        else:
            try:
                accounts().create_admin(username.strip(), password)
                principal = accounts().login(username.strip(), password)
            except (ValueError, AccessDenied, AuthError) as e:
                st.error(f"{str(e)[:1].upper()}{str(e)[1:]}.")
            else:
                st.session_state[TOKEN_KEY] = principal.token
                st.rerun()
    st.stop()

admin = require_principal(["admin"], intro="Sign in with an administrator account.")
acc = accounts()
users = acc.list_users(admin)
therapists = {u.id: u for u in users if u.role == "therapist" and u.active}
patients = {u.id: u for u in users if u.role == "patient"}


def _name(u: object) -> str:
    return f"{u.display_name} ({u.username})"  # type: ignore[attr-defined]


def _done(message: str) -> None:
    st.session_state["admin-done"] = message
    st.rerun()


done = st.session_state.pop("admin-done", None)
if done:
    st.success(done, icon=":material/task_alt:")

# --------------------------------------------------------------------------- create

st.subheader("Create an account")
with st.form("create-user", clear_on_submit=False):
    c1, c2 = st.columns(2)
    role = c1.radio("Role", ["patient", "therapist", "admin"], horizontal=True,
                    key="new-role", format_func=lambda r: ROLE_TEXT[r].capitalize())
    therapist_id = c2.selectbox("Therapist (patients only)", [None, *therapists],
                                key="new-therapist",
                                format_func=lambda i: "No therapist yet" if i is None
                                else _name(therapists[i]))
    c1, c2 = st.columns(2)
    username = c1.text_input("Username", key="new-username", autocomplete="off")
    display = c2.text_input("Full name (shown to the therapist and the patient)",
                            key="new-display")
    password = st.text_input("First password (at least 10 characters; give it to the person "
                             "privately)", type="password", key="new-password",
                             autocomplete="new-password", help=PASSWORD_RULES)
    create = st.form_submit_button("Create account", type="primary")
if create:
    try:
        new_id = acc.create_user(admin, username.strip(), password, role, display.strip(),
                                 therapist_id=therapist_id if role == "patient" else None)
    except (ValueError, AccessDenied, AuthError) as e:
        st.error(f"The account was not created: {e}.")
    else:
        for k in ("new-username", "new-display", "new-password"):
            st.session_state.pop(k, None)
        _done(f"Created the {ROLE_TEXT[role]} account {md(username.strip())} "
              f"(id {new_id}).")

# --------------------------------------------------------------------------- assign

st.subheader("Assign a patient to a therapist")
if not patients:
    st.caption("No patient accounts yet.")
else:
    with st.form("assign"):
        c1, c2 = st.columns(2)
        pid = c1.selectbox("Patient", list(patients), key="assign-patient",
                           format_func=lambda i: _name(patients[i]) + (
                               f" · now: {patients[i].therapist_username}"
                               if patients[i].therapist_username else " · no therapist"))
        tid = c2.selectbox("Therapist", [None, *therapists], key="assign-therapist",
                           format_func=lambda i: "No therapist" if i is None
                           else _name(therapists[i]))
        assign = st.form_submit_button("Assign")
    if assign:
        try:
            acc.set_therapist(admin, pid, tid)
        except (ValueError, AccessDenied, AuthError) as e:
            st.error(f"Not assigned: {e}.")
        else:
            _done(f"{md(patients[pid].display_name)} is now "
                  + (f"a patient of {md(therapists[tid].display_name)}." if tid is not None
                     else "without a therapist."))

# --------------------------------------------------------------------------- list

st.subheader("Accounts")
st.dataframe(pd.DataFrame([{
    "id": u.id, "username": u.username, "name": u.display_name,
    "role": ROLE_TEXT.get(u.role, u.role), "therapist": u.therapist_username or "",
    "active": u.active, "created": when_text(u.created_at),
    "locked until": when_text(u.locked_until),
} for u in users]), hide_index=True, width="stretch")
st.caption("Administrators see accounts only, never sessions, scores or pain reports.")

with st.expander("Set a new password for an account"):
    st.caption("For someone who forgot theirs: it ends their sign-ins and any lock. Give "
               "them the new password privately.")
    with st.form("reset", clear_on_submit=True):
        rid = st.selectbox("Account", [u.id for u in users], key="reset-user",
                           format_func=lambda i: _name(next(u for u in users if u.id == i)))
        new_password = st.text_input("New password (at least 10 characters)",
                                     type="password", key="reset-password",
                                     autocomplete="new-password", help=PASSWORD_RULES)
        reset = st.form_submit_button("Set password")
    if reset:
        try:
            acc.reset_password(admin, rid, new_password)
        except (ValueError, AccessDenied, AuthError) as e:
            st.error(f"The password was not changed: {e}.")
        else:
            _done(f"New password set for "
                  f"{md(next(u.username for u in users if u.id == rid))}.")

with st.expander("Disable or enable an account"):
    others = {u.id: u for u in users if u.id != admin.user_id}
    if others:
        with st.form("active"):
            uid = st.selectbox("Account", list(others), key="active-user",
                               format_func=lambda i: _name(others[i]) + (
                                   "" if others[i].active else " · disabled"))
            c1, c2 = st.columns(2)
            disable = c1.form_submit_button("Disable (ends its sign-ins)")
            enable = c2.form_submit_button("Enable")
        if disable or enable:
            try:
                acc.set_active(admin, uid, bool(enable))
            except (ValueError, AccessDenied, AuthError) as e:
                st.error(f"{e}.")
            else:
                _done(f"{md(others[uid].username)} is now "
                      f"{'enabled' if enable else 'disabled'}.")
