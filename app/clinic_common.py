"""What the clinic pages share: query-parameter navigation, a date picker, not-yours lines.

Navigation inside the therapist page uses query parameters (``?patient=ID``,
``?patient=ID&session=ID``) so a view can be bookmarked or linked; the service
checks every id it is given. A record that is missing or not yours is one calm
line, never a traceback.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import streamlit as st

NOT_YOURS_PATIENT = "Patient not found or not yours."
NOT_YOURS_SESSION = "Session not found or not yours."


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


def date_range(key: str, *, days: int = 30, label: str = "Dates") -> tuple[date | None,
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
