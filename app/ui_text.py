"""What the pages say in words: phases, sides, a step's placeholders filled, the dose, units.

Plain functions of the core's values (no Streamlit, no angle math); ``app.ui``
re-exports them, which is where the pages import them from.
"""

from __future__ import annotations

from exercises.definition import StretchDefinition
from exercises.engine import Phase

__all__ = [
    "PHASE_TEXT",
    "dose_text",
    "fill_text",
    "side_label",
    "unit_text",
]

#: Friendly words for the tracker's phases (shown in the live panel).
PHASE_TEXT: dict[str, str] = {
    Phase.SETUP.value: "Getting ready: stand in the starting position and keep still",
    Phase.CANT_ASSESS.value: "I can't see you well enough",
    Phase.REST.value: "Ready: start the stretch when you are",
    Phase.MOVING.value: "Moving into the stretch",
    Phase.POSITION.value: "In position: hold and breathe",
    Phase.RETURNING.value: "Coming back to the start",
}


def side_label(side: str) -> str:
    """"left" -> "Left side", "both" -> "Both sides together"."""
    return {"left": "Left side", "right": "Right side", "both": "Both sides"}.get(side, side)


def fill_text(text: str, definition: StretchDefinition, side: str | None = None) -> str:
    """Fill a step/cue's placeholders ({side}, {other_side}, {target}, {hold_s})."""
    if side not in ("left", "right"):
        side = definition.sides[0] if definition.sides else ""
    other = {"left": "right", "right": "left"}.get(side, "other")
    lo, hi = definition.primary.target
    try:
        out = text.format(side=side, other_side=other, target=f"{lo:g}-{hi:g}",
                          hold_s=f"{definition.prescription.hold_s:g}")
    except (KeyError, IndexError, ValueError):
        return text
    return out.replace("  ", " ")


def dose_text(definition: StretchDefinition) -> str:
    """"3 reps, hold each 5 s, each side"."""
    p = definition.prescription
    out = f"{p.reps} repetition{'s' if p.reps != 1 else ''}"
    if p.hold_s:
        out += f", hold each {p.hold_s:g} s"
    if p.sets > 1:
        out += f", {p.sets} sets"
    if definition.is_sided:
        out += ", on each side"
    return out


def unit_text(unit: str) -> str:
    """Unit suffix for a measure ("°" for degrees, "" for ratios)."""
    return "°" if unit == "deg" else ""
