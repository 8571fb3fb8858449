"""Exports of a patient's sessions: CSV (stdlib ``csv``) and a one-page PDF report.

Only ``sessions.service.Clinic`` calls these, after authorizing the request.

Free text (names, comments, notes) is written as text: in CSV, a cell starting
with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'`` so a
spreadsheet never runs it as a formula (OWASP "CSV injection"); in the PDF every
string is drawn with math-text parsing off, so ``$...$`` or markup shows as typed.
"""

from __future__ import annotations

import csv
import io
import math
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

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


@dataclass
class ProgressData:
    """What the progress report shows (gathered by ``Clinic.export_pdf``)."""

    display_name: str
    username: str
    since: date | None
    until: date
    sessions: int
    completed: int
    prescribed_per_week: int
    program: list[tuple[str, int]]          # (stretch name, times per week)
    trends: Any                             # sessions.service.Trends
    flags: list[tuple[datetime, str, str, bool]]   # (local time, kind, detail, resolved)
    generated: datetime
    local: Callable[[datetime], datetime]
    program_start: date | None = None       # local date the active program was set


def _clip(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def progress_pdf(data: ProgressData) -> bytes:
    """A one-page A4 PDF: header, adherence, score trend, ROM trend per stretch, flags."""
    import matplotlib as mpl
    from matplotlib.backends.backend_pdf import FigureCanvasPdf
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    rc = {"pdf.fonttype": 42, "text.usetex": False, "font.size": 8,
          "axes.titlesize": 9, "axes.labelsize": 8, "legend.fontsize": 7}
    with mpl.rc_context(rc):
        fig = Figure(figsize=(8.27, 11.69))
        FigureCanvasPdf(fig)

        def text(x: float, y: float, s: str, **kw: Any) -> None:
            fig.text(x, y, s, parse_math=False, usetex=False, **kw)

        # ---- header
        text(0.06, 0.965, "Stretch Coach progress report", fontsize=15, weight="bold")
        text(0.06, 0.94, _clip(f"Patient: {data.display_name}", 110), fontsize=11)
        text(0.06, 0.922, _clip(f"Username: {data.username}", 110), fontsize=8, color="0.3")
        since = data.since.isoformat() if data.since else "first session"
        text(0.06, 0.904, f"Period: {since} to {data.until.isoformat()}    "
                          f"Generated {data.generated:%Y-%m-%d %H:%M}", fontsize=8,
             color="0.3")
        # adherence counts from the program's start: nothing was prescribed before it
        start = data.since
        if data.program_start is not None and (start is None or data.program_start > start):
            start = data.program_start
        days = (data.until - start).days + 1 if start else 7
        weeks = max(1, math.ceil(days / 7))
        expected = data.prescribed_per_week * weeks if days > 0 else 0
        since_prog = (" from the program's start"
                      if start is not None and start == data.program_start else "")
        if expected:
            share = f" ({100 * min(data.completed, expected) / expected:.0f}%)"
            adherence = (f"Adherence: {data.completed} completed sessions of {expected} "
                         f"prescribed ({data.prescribed_per_week} per week over {weeks} "
                         f"week{'s' if weeks > 1 else ''}{since_prog}){share}.")
        elif data.prescribed_per_week:
            adherence = (f"Adherence: {data.completed} completed sessions; the program started "
                         "after this period.")
        else:
            adherence = f"Adherence: {data.completed} completed sessions; no program prescribed."
        text(0.06, 0.88, adherence, fontsize=9)
        text(0.06, 0.864, f"Sessions recorded: {data.sessions} (completed {data.completed}, "
                          f"interrupted or abandoned {data.sessions - data.completed}).",
             fontsize=9)
        prog = "; ".join(f"{name} x{n}/week" for name, n in data.program) or "none"
        began = f" (from {data.program_start.isoformat()})" if data.program_start else ""
        for i, line in enumerate(textwrap.wrap(f"Program{began}: {prog}", 120)[:2]):
            text(0.06, 0.848 - 0.014 * i, line, fontsize=8)

        trends = data.trends
        # x range: the period (or the sessions' span), at least one day wide
        all_dates = [data.local(d).replace(tzinfo=None) for d in trends.dates]
        x0 = datetime.combine(data.since, datetime.min.time()) if data.since else (
            min(all_dates) if all_dates else datetime.combine(data.until, datetime.min.time()))
        x1 = max([datetime.combine(data.until, datetime.min.time()) + timedelta(days=1),
                  *all_dates])
        if x1 - x0 < timedelta(days=2):
            x0, x1 = x0 - timedelta(days=1), x1 + timedelta(days=1)

        def date_axis(ax: Any, maxticks: int = 8) -> None:
            ax.set_xlim(x0, x1)
            loc = AutoDateLocator(minticks=2, maxticks=maxticks)
            ax.xaxis.set_major_locator(loc)
            ax.xaxis.set_major_formatter(ConciseDateFormatter(loc))
        # ---- score trend
        ax = fig.add_axes((0.09, 0.6, 0.86, 0.2))
        ax.set_title("Session score (0-100) by stretch", loc="left")
        plotted = False
        for t in trends.stretches.values():
            pts = [(data.local(d).replace(tzinfo=None), s)
                   for d, s in zip(t.dates, t.scores, strict=True) if s is not None]
            if pts:
                xs, ys = zip(*pts, strict=True)
                ax.plot(xs, ys, marker="o", ms=3, lw=1.2, label=_clip(t.name, 40))
                plotted = True
        ax.set_ylim(0, 105)
        ax.set_ylabel("score")
        ax.grid(alpha=0.3)
        date_axis(ax)
        if plotted:
            leg = ax.legend(loc="lower left", ncol=3, frameon=False)
            for lt in leg.get_texts():
                lt.set_parse_math(False)
        else:
            ax.text(0.5, 0.5, "No scored sessions in this period", ha="center",
                    transform=ax.transAxes, parse_math=False)

        # ---- ROM trend, one small chart per stretch (up to 3)
        rom = [t for t in trends.stretches.values() if any(v is not None for v in t.rom_peak)]
        shown = rom[:3]
        text(0.06, 0.555, "Range of motion reached (best repetition per session) vs target",
             fontsize=9, weight="bold")
        if not shown:
            text(0.06, 0.5, "No repetitions measured in this period.", fontsize=8)
        width = 0.86 / max(1, len(shown))
        for k, t in enumerate(shown):
            ax = fig.add_axes((0.09 + k * width, 0.34, width - 0.07, 0.19))
            pts = [(data.local(d).replace(tzinfo=None), v)
                   for d, v in zip(t.dates, t.rom_peak, strict=True) if v is not None]
            xs, ys = zip(*pts, strict=True)
            if t.target:
                ax.axhspan(t.target[0], t.target[1], color="tab:green", alpha=0.15, lw=0)
            ax.plot(xs, ys, marker="o", ms=3, lw=1.2, color="tab:blue")
            ax.set_title(_clip(t.name, 34), loc="left", parse_math=False)
            unit = "deg" if t.unit == "deg" else t.unit
            ax.set_ylabel(_clip(f"{t.label} ({unit})", 40), parse_math=False)
            date_axis(ax, 5)
            ax.grid(alpha=0.3)
        if len(rom) > 3:
            text(0.06, 0.305, f"(+{len(rom) - 3} more stretches in the CSV export)", fontsize=7,
                 color="0.3")

        # ---- flags
        y = 0.27
        text(0.06, y, "Flags", fontsize=9, weight="bold")
        y -= 0.018
        if not data.flags:
            text(0.06, y, "None in this period.", fontsize=8)
        names = {"red_flag": "RED FLAG", "pain_rise": "Pain rise"}
        for when, kind, detail, resolved in data.flags[:10]:
            state = "resolved" if resolved else "open"
            line = f"{when:%Y-%m-%d} {names.get(kind, kind)} ({state}): {detail}"
            for part in textwrap.wrap(_clip(line, 300), 125)[:2]:
                text(0.06, y, part, fontsize=7.5,
                     color="tab:red" if kind == "red_flag" and not resolved else "black")
                y -= 0.014
        if len(data.flags) > 10:
            text(0.06, y, f"... and {len(data.flags) - 10} more", fontsize=7.5)

        text(0.06, 0.03, "Not a diagnosis. Scores come from 2D camera estimates of body "
                         "position and are a guide for the therapist, not a measurement "
                         "of clinical range of motion.", fontsize=6.5, color="0.4")
        buf = io.BytesIO()
        fig.savefig(buf, format="pdf", metadata={"Creator": "Stretch Coach", "Producer": None,
                                                 "CreationDate": None})
        return buf.getvalue()
