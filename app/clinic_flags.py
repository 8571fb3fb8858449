"""Flags on the therapist page: open ones closed with a note, closed ones with who and when.

Flags are raised and closed in ``sessions/``: ``Clinic.resolve_flag`` checks the
note and that the flag is one of the therapist's patients', and keeps the closed
flag in the record. This module only lays them out.
"""

from __future__ import annotations

import streamlit as st

from app.auth_ui import md
from app.clinic_ui import when_text
from sessions.service import Clinic, FlagInfo

FLAG_TEXT = {"red_flag": "Red flag at the safety check", "pain_rise": "Pain went up"}


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
