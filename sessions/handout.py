"""The printable program handout for a patient (PDF, A4): each prescribed stretch with
its steps, dose, the therapist's note, the safety note and still frames of its
demonstration (``sessions.demo_stills``, taken from the clip when the PDF is made).

``handout_items`` turns program items into what the handout shows (no database);
``Clinic.export_handout`` authorizes the request and gathers the items. Every
string is drawn with math-text parsing off, so names and notes show as typed.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sessions.demo_stills import Still, demo_stills
from sessions.wording import dose_text

__all__ = ["HandoutData", "HandoutItem", "fill_step", "handout_items", "handout_pdf"]

_A4 = (8.27, 11.69)
_RC = {"pdf.fonttype": 42, "text.usetex": False, "font.size": 8.5}
_LINE = 0.0155          # one line of body text, in page heights
_WRAP = 112             # characters per line of body text
_STILL_W = 0.27         # a still's width, in page widths (4:3 frames)
GENERAL_SAFETY = (
    "Stop any stretch that hurts. Stretch gently, to a comfortable pull, never to pain. "
    "If you feel numbness, tingling or weakness in your arms or hands, or dizziness, stop "
    "and contact your therapist or a doctor before stretching again.")


@dataclass(frozen=True)
class HandoutItem:
    """One stretch as the handout shows it."""

    name: str
    dose: str                               # e.g. "2 sets of 5 repetitions, hold each ..."
    steps: list[str]
    safety: str
    note: str = ""                          # the therapist's note for this stretch
    side_note: str = ""                     # e.g. "The steps are for the left side; ..."
    stills: list[Still] = field(default_factory=list)


@dataclass(frozen=True)
class HandoutData:
    """The handout of one patient (gathered by ``Clinic.export_handout``)."""

    display_name: str
    therapist: str | None
    program_start: date | None
    generated: date
    program_notes: str
    items: list[HandoutItem]
    program_end: date | None = None          # the program's last day (None: no end date)


def fill_step(text: str, side: str, target: tuple[float, float], hold_s: float) -> str:
    """A step with its placeholders filled (``{side}``, ``{other_side}``, ``{target}``,
    ``{hold_s}``) by plain replacement: format specs in a definition never run here."""
    other = {"left": "right", "right": "left"}.get(side, "other")
    out = (text.replace("{side}", side).replace("{other_side}", other)
           .replace("{target}", f"{target[0]:g}-{target[1]:g}")
           .replace("{hold_s}", f"{hold_s:g}"))
    return " ".join(out.split())


def handout_items(items: Sequence[Any], library: dict[str, Any], *,
                  stills: Callable[[str], list[Still]] = demo_stills) -> list[HandoutItem]:
    """What the handout shows for each program item.

    Args:
        items: ``sessions.service.ProgramItem`` objects, in program order.
        library: stretch definitions by id.
        stills: stretch id -> its demonstration stills (default: from the demo clips).
    """
    out = []
    for item in items:
        d = library.get(item.exercise)
        sides = [s for s in item.sides if s in ("left", "right")]
        side = sides[0] if sides else ""
        if d is None:
            out.append(HandoutItem(item.exercise_name, dose_text(item), [],
                                   "Stop if it hurts.", item.notes))
            continue
        target = item.target or tuple(d.primary.target)
        steps = [fill_step(s, side, target, item.hold_s) for s in d.steps]
        side_note = ""
        if len(sides) == 2:
            side_note = (f"The steps are written for the {sides[0]} side; then do the same "
                         f"on the {sides[1]} side.")
        out.append(HandoutItem(name=d.name, dose=dose_text(item), steps=steps,
                               safety=d.safety, note=item.notes, side_note=side_note,
                               stills=stills(d.id)))
    return out


def _wrap(text: str, width: int = _WRAP, indent: str = "") -> list[str]:
    return textwrap.wrap(" ".join(str(text).split()), width, initial_indent=indent,
                         subsequent_indent=" " * len(indent)) or [""]


def _block_lines(item: HandoutItem) -> list[tuple[str, dict[str, Any]]]:
    bold = {"weight": "bold"}
    lines: list[tuple[str, dict[str, Any]]] = [
        (line, bold) for line in _wrap(f"Dose: {item.dose}")]
    if item.note:
        lines += [(line, {"style": "italic"}) for line in
                  _wrap(f"From your therapist: {item.note}")[:4]]
    lines.append(("How to do it", bold))
    for i, step in enumerate(item.steps, 1):
        lines += [(line, {}) for line in _wrap(step, _WRAP - 4, f"{i}. ")]
    if item.side_note:
        lines += [(line, {}) for line in _wrap(item.side_note)]
    lines += [(line, {"color": "tab:red"}) for line in _wrap(f"Safety: {item.safety}")]
    if not item.stills:
        lines.append(("(No demonstration pictures for this stretch yet: follow the steps.)",
                      {"color": "0.4"}))
    return lines


def handout_figures(data: HandoutData) -> list[Any]:
    """The handout's pages as matplotlib ``Figure`` objects (A4 portrait)."""
    import matplotlib as mpl
    from matplotlib.backends.backend_pdf import FigureCanvasPdf
    from matplotlib.figure import Figure

    pages: list[Any] = []

    def new_page() -> tuple[Any, Callable[..., None]]:
        fig = Figure(figsize=_A4)
        FigureCanvasPdf(fig)
        pages.append(fig)

        def text(x: float, y: float, s: str, **kw: Any) -> None:
            fig.text(x, y, s, parse_math=False, usetex=False, va="top", **kw)
        return fig, text

    still_h = _STILL_W * _A4[0] / _A4[1] * 0.75     # 4:3 frames, in page heights
    with mpl.rc_context(_RC):
        fig, text = new_page()
        text(0.06, 0.975, "My stretching program", fontsize=16, weight="bold")
        text(0.06, 0.945, _clip(f"For: {data.display_name}", 100), fontsize=11)
        who = (f"Prescribed by {data.therapist}" if data.therapist
               else "Prescribed by your therapist")
        since = f", from {data.program_start:%d %B %Y}" if data.program_start else ""
        if since and data.program_end:
            since += f" to {data.program_end:%d %B %Y}"
        text(0.06, 0.925, _clip(f"{who}{since}. Printed {data.generated:%d %B %Y}.", 120),
             fontsize=8.5, color="0.3")
        y = 0.9
        if data.program_notes:
            for line in _wrap(f"From your therapist: {data.program_notes}")[:5]:
                text(0.06, y, line, style="italic")
                y -= _LINE
        for line in _wrap(GENERAL_SAFETY, 105):
            text(0.06, y, line, color="tab:red", weight="bold", fontsize=8)
            y -= _LINE
        y -= 0.01
        if not data.items:
            text(0.06, y, "No program has been prescribed yet: ask your therapist.",
                 fontsize=10)
        for n, item in enumerate(data.items, 1):
            lines = _block_lines(item)
            height = 0.03 + len(lines) * _LINE + (still_h + 0.03 if item.stills else 0)
            if y - height < 0.04:
                fig, text = new_page()
                y = 0.965
            text(0.06, y, _clip(f"{n}. {item.name}", 70), fontsize=13, weight="bold")
            y -= 0.028
            for line, style in lines:
                text(0.06, y, line, **style)
                y -= _LINE
            if item.stills:
                y -= 0.005
                for k, still in enumerate(item.stills[:3]):
                    ax = fig.add_axes((0.06 + k * (_STILL_W + 0.03), y - still_h,
                                       _STILL_W, still_h))
                    ax.imshow(still.image, interpolation="antialiased")
                    ax.set_xticks([])
                    ax.set_yticks([])
                    for spine in ax.spines.values():
                        spine.set_color("0.7")
                    fig.text(0.06 + k * (_STILL_W + 0.03), y - still_h - 0.004,
                             still.caption, parse_math=False, va="top", fontsize=7.5,
                             color="0.3")
                y -= still_h + 0.025
            y -= 0.015
        for k, page in enumerate(pages, 1):
            page.text(0.94, 0.012, f"page {k} of {len(pages)}", ha="right", fontsize=7,
                      color="0.4")
            page.text(0.06, 0.012, "Stretch Coach. Not a diagnosis: follow your "
                                   "therapist's advice.", fontsize=7, color="0.4",
                      parse_math=False)
    return pages


def handout_pdf(data: HandoutData) -> bytes:
    """The handout as PDF bytes (A4, one or more pages)."""
    import matplotlib as mpl
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    with mpl.rc_context(_RC), PdfPages(buf, metadata={
            "Creator": "Stretch Coach", "Producer": None, "CreationDate": None,
            "Title": "My stretching program"}) as pdf:
        for fig in handout_figures(data):
            pdf.savefig(fig, dpi=150)
    return buf.getvalue()


def _clip(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"
