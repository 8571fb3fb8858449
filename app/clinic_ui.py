"""Streamlit/Altair helpers for the clinic pages (therapist dashboard, patient program).

Formatting only: every number shown here was computed by ``sessions.service``
(adherence, trends, flags, per-rep rows). No SQL, no angle math, no thresholds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import altair as alt
import pandas as pd

from exercises.origin import origin_words

__all__ = [
    "adherence_calendar",
    "as_date",
    "baseline_words",
    "line_chart",
    "pain_chart",
    "rom_chart",
    "stretch_score_chart",
    "target_text",
    "trend_text",
    "unit_words",
    "when_text",
]


def unit_words(unit: str, baseline: str = "none") -> str:
    """The unit of a measure in words for people, placed after a number.

    ``"deg"`` -> ``"°"``; ``"ratio"`` (a length over the shoulder width) ->
    ``" shoulder widths"``; measured from the person's own rest position
    (``baseline = "rest"``) adds ``" from your resting position"``, from the low point
    before each repetition (``baseline = "low_point"``, e.g. cat-cow's cat)
    ``" from where each repetition starts"``.
    """
    text = "°" if unit == "deg" else " shoulder widths" if unit == "ratio" else (
        f" {unit}" if unit else "")
    return text + baseline_words(baseline)


def baseline_words(baseline: str) -> str:
    """Where a rest-relative measure counts from, in words ("" for an absolute one)."""
    return origin_words(baseline)


def target_text(definition: Any, low: float | None = None, high: float | None = None
                ) -> str:
    """A target band in words: "20 to 45°", "6 to 30° from your resting position".

    Bands below zero (a movement measured as a decrease from rest, e.g. the head
    gliding back) are shown as their size: "-30 to -6" reads "6 to 30".

    Args:
        definition: the stretch (its primary measure gives the unit and baseline).
        low, high: the band; default the stretch's own target.
    """
    from exercises.measures import get_measure

    lo, hi = (low, high) if low is not None and high is not None else definition.primary.target
    if hi <= 0:
        lo, hi = -hi, -lo
    unit = get_measure(definition.primary.measure).unit
    return f"{lo:g} to {hi:g}{unit_words(unit, definition.primary.baseline)}"


#: Calm, colour-blind-safe colours (Okabe-Ito).
BLUE, ORANGE, GREEN, GREY = "#0072B2", "#E69F00", "#009E73", "#999999"


def as_date(value: Any) -> date | None:
    """A ``date`` from a date, datetime or ISO string (None when empty)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone().date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    return as_date(datetime.fromisoformat(str(value)))


def when_text(value: Any) -> str:
    """"2026-11-21 14:05" in local time for a datetime (or ISO string); "" when empty."""
    if value is None or value == "":
        return ""
    if not isinstance(value, datetime):
        try:
            value = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    if value.tzinfo is not None:
        value = value.astimezone()
    return value.strftime("%Y-%m-%d %H:%M")


def trend_text(trend: Any) -> str:
    """An arrow and a word for a trend: "↗ improving", "↘ declining", "→ steady".

    Accepts the service's words ("up", "down", "flat", "improving", ...), or a
    signed number (its sign is the direction); None or unknown: "–".
    """
    if trend is None:
        return "–"
    if isinstance(trend, (int, float)):
        key = "up" if trend > 0 else "down" if trend < 0 else "flat"
    else:
        key = str(trend).lower()
    return {
        "up": "↗ improving", "improving": "↗ improving", "better": "↗ improving",
        "down": "↘ declining", "declining": "↘ declining", "worse": "↘ declining",
        "flat": "→ steady", "steady": "→ steady", "stable": "→ steady",
        "none": "–", "": "–", "unknown": "–", "insufficient": "– (too few sessions)",
    }.get(key, str(trend))


# --------------------------------------------------------------------------- charts


def _x_time(field: str = "when") -> alt.X:
    # at most one tick a day (sessions are days apart; hours would repeat the date)
    return alt.X(f"{field}:T", title=None,
                 axis=alt.Axis(format="%d %b", labelAngle=0, tickMinStep=24 * 3600 * 1000))


def rom_chart(points: pd.DataFrame, target: tuple[float, float] | None, *,
              y_title: str, height: int = 220) -> alt.Chart:
    """Range of motion per session against the target band.

    Args:
        points: columns ``when`` (datetime), ``value`` (float), optional ``side``.
        target: (low, high) of the target band, or None.
        y_title: axis title, e.g. "Head tilt (degrees)".
    """
    has_side = "side" in points.columns and points["side"].nunique() > 1
    # show the band as a band: some room above and below the values and the target
    values = [float(v) for v in points["value"].dropna()] + (list(target) if target else [])
    lo_v, hi_v = (min(values), max(values)) if values else (0.0, 1.0)
    pad = max((hi_v - lo_v) * 0.15, 2.0)
    enc: dict[str, Any] = {
        "x": _x_time(),
        "y": alt.Y("value:Q", title=y_title,
                   scale=alt.Scale(domain=[lo_v - pad, hi_v + pad], nice=True)),
        "tooltip": [alt.Tooltip("when:T", title="session", format="%Y-%m-%d %H:%M"),
                    alt.Tooltip("value:Q", title="value", format=".1f")],
    }
    if has_side:
        enc["color"] = alt.Color("side:N", title="side", legend=alt.Legend(orient="top"),
                                 scale=alt.Scale(range=[BLUE, ORANGE]))
        enc["tooltip"].append("side:N")
    line = alt.Chart(points).mark_line(point=True, strokeWidth=2,
                                       color=None if has_side else BLUE).encode(**enc)
    layers: list[alt.Chart] = []
    if target is not None:
        lo, hi = target
        layers.append(alt.Chart(pd.DataFrame({"lo": [lo], "hi": [hi], "what": ["target"]}))
                      .mark_rect(color=GREEN, opacity=0.15)
                      .encode(y="lo:Q", y2="hi:Q",
                              tooltip=[alt.Tooltip("what:N", title=""), "lo:Q", "hi:Q"]))
    layers.append(line)
    return alt.layer(*layers).properties(height=height)


def line_chart(points: pd.DataFrame, *, y: str, y_title: str, domain: Sequence[float],
               color: str = BLUE, height: int = 200) -> alt.Chart:
    """A simple per-session line (e.g. the session score 0..100)."""
    return alt.Chart(points).mark_line(point=True, strokeWidth=2, color=color).encode(
        x=_x_time(), y=alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(domain=list(domain))),
        tooltip=[alt.Tooltip("when:T", title="session", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip(f"{y}:Q", title=y_title, format=".0f")],
    ).properties(height=height)


def stretch_score_chart(points: pd.DataFrame, height: int = 200) -> alt.Chart:
    """The session score (0-100) over time, one line per stretch (never a line joining
    one stretch's session to another's).

    Args:
        points: columns ``when`` (datetime), ``score`` (float), ``stretch`` (name).
    """
    return alt.Chart(points).mark_line(point=True, strokeWidth=2).encode(
        x=_x_time(), y=alt.Y("score:Q", title="session score",
                             scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("stretch:N", title="stretch", legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("when:T", title="session", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("stretch:N", title="stretch"),
                 alt.Tooltip("score:Q", title="score", format=".0f")],
    ).properties(height=height)


def pain_chart(points: pd.DataFrame, height: int = 200) -> alt.Chart:
    """Pain before and after each session (0-10).

    Args:
        points: columns ``when``, ``pain_before``, ``pain_after`` (None allowed).
    """
    long = points.melt(id_vars=["when"], value_vars=["pain_before", "pain_after"],
                       var_name="when_asked", value_name="pain").dropna(subset=["pain"])
    long["when_asked"] = long["when_asked"].map({"pain_before": "before",
                                                 "pain_after": "after"})
    return alt.Chart(long).mark_line(point=True, strokeWidth=2).encode(
        x=_x_time(),
        y=alt.Y("pain:Q", title="pain (0-10)", scale=alt.Scale(domain=[0, 10])),
        color=alt.Color("when_asked:N", title="pain", legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=["before", "after"], range=[ORANGE, BLUE])),
        strokeDash=alt.StrokeDash("when_asked:N", legend=None,
                                  scale=alt.Scale(domain=["before", "after"],
                                                  range=[[1, 0], [5, 3]])),
        tooltip=[alt.Tooltip("when:T", title="session", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("when_asked:N", title="asked"), "pain:Q"],
    ).properties(height=height)


def adherence_calendar(days: Iterable[tuple[date, int]], *, start: date, end: date,
                       prescribed_per_day: float | None = None) -> alt.Chart:
    """A calendar heatmap: one square per day (weeks across, weekdays down).

    Args:
        days: (day, sessions that day) pairs; days not given count 0.
        start, end: the period shown (inclusive).
        prescribed_per_day: shown in the tooltip when known.
    """
    counts: dict[date, int] = {}
    for d, n in days:
        counts[d] = counts.get(d, 0) + int(n)
    rows = []
    monday0 = start - timedelta(days=start.weekday())
    d = start
    while d <= end:
        n = counts.get(d, 0)
        rows.append({"day": d.isoformat(), "weekday": d.strftime("%a"),
                     "week": (monday0 + timedelta(days=7 * ((d - monday0).days // 7)))
                     .isoformat(),
                     "sessions": n, "done": "yes" if n else "no"})
        d += timedelta(days=1)
    data = pd.DataFrame(rows)
    top = max(1, max(counts.values(), default=1))
    tooltip = [alt.Tooltip("day:N", title="day"), alt.Tooltip("sessions:Q", title="sessions")]
    if prescribed_per_day is not None:
        data["prescribed"] = round(prescribed_per_day, 1)
        tooltip.append(alt.Tooltip("prescribed:Q", title="prescribed per day"))
    # (no stroke or corner radius: with them Streamlit's renderer collapses the y bands)
    return alt.Chart(data).mark_rect().encode(
        x=alt.X("week:O", title="week of", axis=alt.Axis(labelAngle=0,
                                                          labelExpr="slice(datum.value, 5)")),
        y=alt.Y("weekday:O", title=None,
                sort=["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]),
        color=alt.Color("sessions:Q", title="sessions",
                        scale=alt.Scale(domain=[0, top], range=["#eeeeee", GREEN]),
                        legend=alt.Legend(orient="top", tickMinStep=1)),
        tooltip=tooltip,
    ).properties(height=alt.Step(20))
