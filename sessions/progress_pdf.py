"""The progress report PDF (two A4 pages, matplotlib), from a ``ProgressData``.

Page 1: patient, therapist, period; adherence; the prescription (each stretch with
its dose and note); the session score per stretch; pain before and after. Page 2:
range of motion per stretch against its target; flags. Charts: ``sessions.pdf_charts``.

Only ``sessions.progress_report`` builds the data, after ``Clinic`` authorized the
request. Every string is drawn with math-text parsing off.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sessions import pdf_charts
from sessions.programs import Adherence, adherence_text
from sessions.wording import dose_text

__all__ = ["PAIN_AXES", "ROM_MAX", "SCORE_AXES", "ProgressData", "progress_figures",
           "progress_pdf"]

#: where the charts sit on page 1, in figure fractions (left, bottom, width, height)
SCORE_AXES = (0.09, 0.39, 0.86, 0.23)
PAIN_AXES = (0.09, 0.08, 0.86, 0.22)
#: range-of-motion charts on page 2 (two columns)
ROM_MAX = 6
_PRESCRIPTION_LINES = 11
_A4 = (8.27, 11.69)
_RC = {"pdf.fonttype": 42, "text.usetex": False, "font.size": 8,
       "axes.titlesize": 9, "axes.labelsize": 8, "legend.fontsize": 7}


@dataclass
class ProgressData:
    """What the progress report shows (gathered by ``sessions.progress_report``)."""

    display_name: str
    username: str
    since: date | None
    until: date
    sessions: int
    completed: int
    prescribed_per_week: int
    program: list[Any]                      # sessions.service.ProgramItem, in order
    trends: Any                             # sessions.service.Trends (completed sessions)
    flags: list[tuple[datetime, str, str, bool]]   # (local time, kind, detail, resolved)
    generated: datetime
    local: Callable[[datetime], datetime]
    program_start: date | None = None       # the active program's first day (local)
    program_end: date | None = None         # its last day (None: no end date)
    adherence: Adherence | None = None      # sessions.programs.adherence over the period
    therapist: str | None = None            # the patient's therapist (display name)
    program_notes: str = ""
    pain_before: list[tuple[datetime, int]] = field(default_factory=list)  # local, 0-10
    pain_after: list[tuple[datetime, int]] = field(default_factory=list)


def _clip(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _naive(data: ProgressData, t: datetime) -> datetime:
    return data.local(t).replace(tzinfo=None)


def _adherence(data: ProgressData) -> str:
    # the same sentence the dashboard shows (sessions.programs.adherence_text)
    if data.adherence is not None:
        return adherence_text(data.adherence)
    return f"Adherence: {data.completed} completed sessions."


def progress_figures(data: ProgressData) -> list[Any]:
    """The report's pages as matplotlib ``Figure`` objects (A4 portrait)."""
    import matplotlib as mpl
    from matplotlib.backends.backend_pdf import FigureCanvasPdf
    from matplotlib.figure import Figure

    with mpl.rc_context(_RC):
        page1, page2 = Figure(figsize=_A4), Figure(figsize=_A4)
        for fig in (page1, page2):
            FigureCanvasPdf(fig)
        _page_one(page1, data)
        _page_two(page2, data)
    return [page1, page2]


def _writer(fig: Any) -> Callable[..., None]:
    def text(x: float, y: float, s: str, **kw: Any) -> None:
        fig.text(x, y, s, parse_math=False, usetex=False, **kw)
    return text


def _page_one(fig: Any, data: ProgressData) -> None:
    text = _writer(fig)
    text(0.06, 0.965, "Stretch Coach progress report", fontsize=15, weight="bold")
    text(0.06, 0.94, _clip(f"Patient: {data.display_name}", 110), fontsize=11)
    who = f"Therapist: {data.therapist}" if data.therapist else "Therapist: none assigned"
    text(0.06, 0.922, _clip(f"{who}    Username: {data.username}", 130), fontsize=8,
         color="0.3")
    since = data.since.isoformat() if data.since else "first session"
    text(0.06, 0.904, f"Period: {since} to {data.until.isoformat()}    "
                      f"Generated {data.generated:%Y-%m-%d %H:%M}", fontsize=8, color="0.3")
    text(0.06, 0.88, _adherence(data), fontsize=9)
    text(0.06, 0.864, f"Sessions recorded: {data.sessions} (completed {data.completed}, "
                      f"interrupted or abandoned {data.sessions - data.completed}).",
         fontsize=9)

    # ---- the prescription
    began = f" (from {data.program_start.isoformat()}" if data.program_start else ""
    if began:
        began += (f" to {data.program_end.isoformat()})" if data.program_end
                  else ")")
    text(0.06, 0.838, f"Program{began}", fontsize=9, weight="bold")
    lines: list[tuple[str, bool]] = []
    if not data.program:
        lines.append(("No program prescribed.", False))
    for i, item in enumerate(data.program, 1):
        lines += [(part, k == 0) for k, part in enumerate(textwrap.wrap(
            f"{i}. {item.exercise_name}: {dose_text(item)}", 125))]
        if item.notes:
            lines += [(part, False) for part in textwrap.wrap(
                _clip(f"Note: {item.notes}", 300), 120, initial_indent="     ",
                subsequent_indent="     ")[:2]]
    if data.program_notes:
        lines += [(part, False) for part in textwrap.wrap(
            _clip(f"Program note: {data.program_notes}", 300), 125)[:2]]
    y = 0.822
    for line, _first in lines[:_PRESCRIPTION_LINES]:
        text(0.06, y, line, fontsize=7.5)
        y -= 0.0135
    if len(lines) > _PRESCRIPTION_LINES:
        text(0.06, y, "... the full program is in the patient's program handout", fontsize=7,
             color="0.3")

    # ---- charts; one line per stretch, over the span of the points
    series = []
    for t in data.trends.stretches.values():
        pts = [(_naive(data, d), s) for d, s in zip(t.dates, t.scores, strict=True)
               if s is not None]
        if pts:
            xs, ys = zip(*pts, strict=True)
            series.append((t.name, list(xs), list(ys)))
    ax = fig.add_axes(SCORE_AXES)
    ax.set_title("Session score (0-100), one line per stretch (completed sessions)",
                 loc="left")
    pdf_charts.score_chart(ax, series)

    ax = fig.add_axes(PAIN_AXES)
    ax.set_title("Pain (0 = no pain, 10 = worst imaginable): before stretching and after "
                 "each session", loc="left")
    pdf_charts.pain_chart(ax, [(_naive(data, t), v) for t, v in data.pain_before],
                          [(_naive(data, t), v) for t, v in data.pain_after])
    text(0.06, 0.015, "Not a diagnosis. Scores come from 2D camera estimates of body "
                     "position and are a guide for the therapist, not a measurement "
                     "of clinical range of motion.", fontsize=6.5, color="0.4")
    text(0.86, 0.975, "page 1 of 2", fontsize=6.5, color="0.4")


def _page_two(fig: Any, data: ProgressData) -> None:
    text = _writer(fig)
    text(0.06, 0.965, _clip(f"Progress report: {data.display_name} (continued)", 90),
         fontsize=11, weight="bold")
    text(0.06, 0.94, "Range of motion reached (best repetition per session) against the "
                     "target (green band)", fontsize=9, weight="bold")
    rom = [t for t in data.trends.stretches.values() if any(v is not None for v in t.rom_peak)]
    if not rom:
        text(0.06, 0.91, "No repetitions measured in this period.", fontsize=8)
    for k, t in enumerate(rom[:ROM_MAX]):
        col, row = k % 2, k // 2
        ax = fig.add_axes((0.1 + 0.46 * col, 0.75 - 0.2 * row, 0.37, 0.14))
        pts = [(_naive(data, d), v) for d, v in zip(t.dates, t.rom_peak, strict=True)
               if v is not None]
        xs, ys = zip(*pts, strict=True)
        pdf_charts.rom_chart(ax, t.name, t.label, t.unit, list(xs), list(ys), t.target)
    if len(rom) > ROM_MAX:
        text(0.06, 0.3, f"(+{len(rom) - ROM_MAX} more stretches in the CSV export)",
             fontsize=7, color="0.3")

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
    text(0.86, 0.975, "page 2 of 2", fontsize=6.5, color="0.4")


def progress_pdf(data: ProgressData) -> bytes:
    """The progress report as PDF bytes (two A4 pages)."""
    import matplotlib as mpl
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    with mpl.rc_context(_RC), PdfPages(buf, metadata={"Creator": "Stretch Coach", "Producer": None,
                                 "CreationDate": None}) as pdf:
        for fig in progress_figures(data):
            pdf.savefig(fig)
    return buf.getvalue()
