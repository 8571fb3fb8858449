"""A session report on a page: the measure over time, the metrics, reps, faults, downloads.

Thin on purpose, like ``app.ui`` (which re-exports ``measure_chart`` and
``render_report``; the pages import them from there): everything here formats
what the core (``coach.report``) computed. No thresholds, no SQL.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app.ui_text import side_label, unit_text
from coach.report import SessionReport, is_technical, rep_rows
from exercises.definition import StretchDefinition
from exercises.origin import from_low_points

__all__ = [
    "measure_chart",
    "render_report",
]


# --------------------------------------------------------------------------- the chart


def _baseline(report: SessionReport, side: str, values: Sequence[float | None],
              times: Sequence[float]) -> float | None:
    """Resting value of a rest-relative measure.

    Uses the report's ``baselines`` when present; else the median of the values
    measured before the side's first rep (an estimate, as the tracker does).
    """
    known = getattr(report, "baselines", None) or report.media.get("baselines")
    if isinstance(known, dict) and known.get(side) is not None:
        return float(known[side])
    starts = [r["start_s"] for r in report.reps if r["side"] == side and r["start_s"] is not None]
    first = min(starts) if starts else math.inf
    before = [v for t, v in zip(times, values, strict=False) if v is not None and t < first]
    if not before:
        return None
    before = sorted(before[-30:])
    return before[len(before) // 2]


def measure_chart(report: SessionReport, definition: StretchDefinition | None = None,
                  max_points: int = 2500) -> alt.Chart | None:
    """Primary measure over time, the target band shaded, rep starts and ends marked.

    Returns None when the report has no series.
    """
    times = report.series.get("t") or []
    sides = [s for s in report.series if s != "t"]
    if not times or not sides:
        return None
    baseline = "none" if definition is None else definition.primary.baseline
    relative = baseline != "none"
    step = max(1, len(times) // max_points)
    rows = []
    for side in sides:
        values = report.series[side]
        if definition is not None and baseline == "low_point":  # each rep from its low point
            sign = 1.0 if definition.primary.direction == "increase" else -1.0
            full = definition.tuning.full_rep_fraction - 5e-4  # range_fraction is rounded
            spans = [(r["start_s"], r["end_s"], (r.get("range_fraction") or 0.0) >= full)
                     for r in report.reps if r["side"] == side and r["start_s"] is not None]
            values, base = from_low_points(values, times, spans, sign), 0.0
        else:
            base = _baseline(report, side, values, times) if relative else 0.0
        if base is None:
            continue
        for t, v in zip(times[::step], values[::step], strict=False):
            rows.append({"time (s)": t, "value": None if v is None else round(v - base, 3),
                         "side": side_label(side)})
    if not rows:
        return None
    unit = unit_text(report.primary_unit)
    label = report.primary_label or "measure"
    origin = {"rest": "from rest, ", "low_point": "from each rep's start, "}.get(baseline, "")
    y_title = f"{label} ({origin}{'degrees' if unit else 'ratio'})"
    data = pd.DataFrame(rows)
    x = alt.X("time (s):Q", title="time (s)")
    line = alt.Chart(data).mark_line(strokeWidth=2).encode(
        x=x, y=alt.Y("value:Q", title=y_title),
        color=alt.Color("side:N", title="side", legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("time (s):Q", format=".1f"), alt.Tooltip("value:Q", format=".1f"),
                 "side:N"],
    )
    lo, hi = report.target
    band = alt.Chart(pd.DataFrame({"lo": [lo], "hi": [hi], "what": ["target band"]})).mark_rect(
        color="#3cb371", opacity=0.18).encode(y="lo:Q", y2="hi:Q", tooltip=["what:N", "lo:Q",
                                                                            "hi:Q"])
    layers: list[alt.Chart] = [band, line]
    reps = [r for r in report.reps if r["start_s"] is not None]
    if reps:
        marks = pd.DataFrame(
            [{"time (s)": r["start_s"], "mark": f"rep {r['index']} start ({r['side']})",
              "kind": "start", "label": f"{r['index']}"} for r in reps]
            + [{"time (s)": r["end_s"], "mark": f"rep {r['index']} end ({r['side']})",
                "kind": "end", "label": ""} for r in reps if r["end_s"] is not None])
        rules = alt.Chart(marks).mark_rule(color="#777", strokeDash=[4, 3]).encode(
            x="time (s):Q", tooltip=["mark:N"],
            opacity=alt.condition(alt.datum.kind == "start", alt.value(0.8), alt.value(0.35)))
        text = alt.Chart(marks[marks["kind"] == "start"]).mark_text(
            align="left", dx=3, dy=-4, color="#555", fontSize=11).encode(
            x="time (s):Q", y=alt.value(10), text="label:N")
        layers += [rules, text]
    return alt.layer(*layers).properties(height=280).interactive(bind_y=False)


# --------------------------------------------------------------------------- the report


def _score_breakdown(score: dict[str, Any]) -> str:
    parts = [f"mean rep score {score.get('rep_mean', 0):.0f}",
             f"× completion {score.get('completion', 0):.0%}"]
    comp = [f"range {score.get('rom', 0):.0%}", f"hold {score.get('hold', 0):.0%}",
            f"form {score.get('form', 0):.0%}"]
    if score.get("symmetry") is not None:
        comp.append(f"left/right symmetry {score['symmetry']:.0%}")
    return " ".join(parts) + " (per rep: " + ", ".join(comp) + ")"


def _rep_table(report: SessionReport) -> pd.DataFrame:
    rows = []
    for r in rep_rows(report):
        rows.append({
            "side": r["side"],
            "rep": r["index"],
            "from (s)": r["start_s"],
            "to (s)": r["end_s"],
            "peak": r["peak"],
            "reached target": "yes" if r["reached_target"] else "no",
            "held (s)": r["hold_s"],
            "correct": "✓" if r["correct"] else (
                "unfinished" if not r["complete"] else
                "partial (not counted)" if not r.get("counted", True) and not r.get("duplicate_of")
                else "same movement as " + r["duplicate_of"] if r.get("duplicate_of") else "✗"),
            "score": r["score"],
            "faults": (r["faults"] or "").replace("_", " ").replace(";", ", "),
        })
    return pd.DataFrame(rows)


def render_report(report: SessionReport, *, key: str,
                  definition: StretchDefinition | None = None,
                  annotated_video: Path | None = None, frame_csv: Path | None = None,
                  extra_video: Path | None = None) -> None:
    """Show a session report: metrics, notes, chart, reps, faults, video and downloads.

    Args:
        report: the report.
        key: unique widget key prefix (several reports can be on one page).
        definition: the stretch (for relative measures and camera advice).
        annotated_video: an annotated mp4 to play and offer for download.
        frame_csv: the per-frame CSV to offer for download (else a per-rep CSV).
        extra_video: another video to show (e.g. the kept original).
    """
    presc = report.prescription
    reps_target = presc["reps"] * presc.get("sets", 1) * max(1, len(report.sides))
    cols = st.columns(4 if presc.get("hold_s") else 3)
    cols[0].metric("Reps", f"{report.reps_done} / {reps_target}")
    cols[1].metric("Correct reps", f"{report.correct_reps}")
    if presc.get("hold_s"):
        cols[2].metric(f"Holds of {presc['hold_s']:g} s", f"{report.holds_completed}")
    cols[-1].metric("Score", f"{report.score.get('score', 0):.0f} / 100")
    st.caption("Score = " + _score_breakdown(report.score))

    if not report.complete:
        st.warning(f"This session is marked **incomplete**: {report.problem}.",
                   icon=":material/pause_circle:")
    if report.frames and report.assessable_share < 0.5:
        advice = f" {definition.camera.setup}" if definition is not None else ""
        issues = ", ".join(f"{k.replace('_', ' ')}: {v} frames"
                           for k, v in report.setup_issues.items() if v)
        st.warning(f"Your body could be judged in only {report.assessable_share:.0%} of the "
                   f"frames ({issues}). The numbers below may miss repetitions.{advice}",
                   icon=":material/photo_camera:")
    if report.diagnosis and not is_technical(report.problem):
        # (a set cut short by the computer or the connection says so above: its diagnosis
        # would point at the person's movement or camera instead)
        st.warning(f"**No repetition was counted.** {report.diagnosis['message']}.",
                   icon=":material/help:")
    for warning in report.warnings:
        if not warning.startswith("Your position could be judged"):  # said above
            st.warning(warning + ".", icon=":material/group:")

    chart = measure_chart(report, definition)
    if chart is not None:
        st.subheader("Your movement over time")
        st.caption(f"{report.primary_label}: the green band is the target "
                   f"({report.target[0]:g} to {report.target[1]:g}"
                   f"{unit_text(report.primary_unit)}); dashed lines mark where each "
                   "repetition starts and ends.")
        st.altair_chart(chart, width="stretch")

    st.subheader("Repetitions")
    if report.reps:
        st.dataframe(_rep_table(report), hide_index=True, width="stretch")
    else:
        st.info("No repetition was counted. Counting starts once you are in the starting "
                "position.")

    st.subheader("Form notes")
    if report.faults:
        st.dataframe(pd.DataFrame([{
            "time": f"{f['start_s']:.1f}-{f['end_s']:.1f} s",
            "side": f["side"], "rep": f["rep"], "what to change": f["cue"],
        } for f in report.faults]), hide_index=True, width="stretch")
    else:
        st.success("No form faults were seen.", icon=":material/check_circle:")

    if annotated_video is not None and annotated_video.is_file():
        st.subheader("Annotated video")
        st.video(str(annotated_video))
    if extra_video is not None and extra_video.is_file():
        st.caption("The original video kept with this session:")
        st.video(str(extra_video))

    st.subheader("Download")
    c1, c2, c3 = st.columns(3)
    name = f"{report.exercise}-{report.source}"
    c1.download_button("Report (JSON)", json.dumps(report.to_dict(), indent=2, allow_nan=False),
                       file_name=f"{name}.json", mime="application/json", key=f"{key}-json",
                       on_click="ignore")
    if frame_csv is not None and frame_csv.is_file():
        c2.download_button("Every frame (CSV)", lambda p=frame_csv: p.read_bytes(),
                           file_name=f"{name}.csv", mime="text/csv", key=f"{key}-csv",
                           on_click="ignore")
    else:
        buf = io.StringIO()
        _rep_table(report).to_csv(buf, index=False)
        c2.download_button("Repetitions (CSV)", buf.getvalue(), file_name=f"{name}-reps.csv",
                           mime="text/csv", key=f"{key}-csv", on_click="ignore")
    if annotated_video is not None and annotated_video.is_file():
        c3.download_button("Annotated video (mp4)", lambda p=annotated_video: p.read_bytes(),
                           file_name=f"{name}-annotated.mp4", mime="video/mp4",
                           key=f"{key}-mp4", on_click="ignore")
