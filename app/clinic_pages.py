"""The clinic views behind the therapist and patient pages (one import for the pages).

Each view lays out what ``sessions.service.Clinic`` returns for the signed-in
user; the service decides what that user may see (a therapist: only their own
patients; a patient: only themselves). A record that is missing or not yours is
one calm line, never a traceback. No SQL, no angle math, no thresholds here.

The views live by concern; this module re-exports their public names:

- ``app.clinic_common``: navigation by query parameter (``query_id``, ``go``),
  the date-range picker and the not-yours lines;
- ``app.clinic_flags``: open flags (closed with a note) and closed ones;
- ``app.clinic_patients``: the patient list, adding a patient, one patient's tabs;
- ``app.program_editor``: the program editor (the Program tab);
- ``app.clinic_session``: session-list rows, one session's view, the patient's own record.
"""

from __future__ import annotations

from app.clinic_common import NOT_YOURS_PATIENT, NOT_YOURS_SESSION, date_range, go, query_id
from app.clinic_flags import FLAG_TEXT, closed_flags, flags_panel
from app.clinic_patients import patient_list, patient_view
from app.clinic_session import (
    COMPLETION_TEXT,
    SOURCE_TEXT,
    faults_timeline,
    my_record,
    session_label,
    session_rows,
    session_view,
)
from app.program_editor import program_editor

__all__ = [
    "COMPLETION_TEXT",
    "FLAG_TEXT",
    "NOT_YOURS_PATIENT",
    "NOT_YOURS_SESSION",
    "SOURCE_TEXT",
    "closed_flags",
    "date_range",
    "faults_timeline",
    "flags_panel",
    "go",
    "my_record",
    "patient_list",
    "patient_view",
    "program_editor",
    "query_id",
    "session_label",
    "session_rows",
    "session_view",
]
