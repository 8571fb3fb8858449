"""Exports of a patient's sessions as CSV (stdlib ``csv``).

The PDFs have their own modules: the progress report (``sessions.progress_pdf``,
re-exported here) and the program handout (``sessions.handout``). Only
``sessions.service.Clinic`` calls these, after authorizing the request.

Free text (names, comments, notes) is written as text: in CSV, a cell starting
with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'`` so a
spreadsheet never runs it as a formula (OWASP "CSV injection"); in the PDF every
string is drawn with math-text parsing off, so ``$...$`` or markup shows as typed.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sessions.progress_pdf import ProgressData, progress_pdf

__all__ = [
    "REP_COLUMNS",
    "SESSION_COLUMNS",
    "ProgressData",
    "progress_pdf",
    "reps_csv",
    "safe_cell",
    "sessions_csv",
]

SESSION_COLUMNS = ["session_id", "patient", "date", "started_at", "ended_at", "exercise",
                   "stretch", "sides", "source", "completion", "abandon_reason", "problem",
                   "score", "reps", "pain_before", "pain_after", "comment"]
REP_COLUMNS = ["session_id", "date", "exercise", "side", "rep", "start_s", "end_s", "complete",
               "peak", "target_low", "target_high", "reached_target", "hold_s",
               "hold_required_s", "hold_ok", "correct", "score", "rom", "hold", "form",
               "faults"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A CSV cell: text starting like a formula is prefixed with ``'``; None is empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return value


def _csv(columns: list[str], rows: Iterable[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([safe_cell(v) for v in r])
    return buf.getvalue()


def _iso(t: datetime | None, local: Callable[[datetime], datetime]) -> str:
    return "" if t is None else local(t).isoformat(timespec="seconds")


def sessions_csv(summaries: list[Any], username: str,
                 local: Callable[[datetime], datetime]) -> str:
    """One row per session (``SessionSummary`` objects), oldest first."""
    return _csv(SESSION_COLUMNS, (
        [x.id, username, local(x.created_at).date().isoformat(), _iso(x.started_at, local),
         _iso(x.ended_at, local), x.exercise, x.exercise_name, ";".join(x.sides), x.source,
         x.completion, x.abandon_reason, x.problem, x.score, x.reps, x.pain_before,
         x.pain_after, x.comment] for x in summaries))


def reps_csv(reps: list[Any], sessions: dict[int, Any],
             local: Callable[[datetime], datetime]) -> str:
    """One row per repetition (``models.SessionRep`` rows) of the given sessions."""
    return _csv(REP_COLUMNS, (
        [r.session_id, local(sessions[r.session_id].created_at).date().isoformat(),
         sessions[r.session_id].exercise, r.side, r.rep_index, r.start_s, r.end_s, r.complete,
         r.peak, r.target_low, r.target_high, r.reached_target, r.hold_s, r.hold_required_s,
         r.hold_ok, r.correct, r.score, r.rom, r.hold, r.form, r.faults] for r in reps))
