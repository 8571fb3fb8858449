"""Streamlit helpers shared by the pages: pickers, report rendering, chart, paths.

Thin on purpose: everything here formats what the core (``coach``, ``exercises``,
``sessions``) computed. No angle math, no thresholds, no SQL.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app.cli import SAFETY
from coach.report import SessionReport, is_technical, rep_rows
from exercises.definition import StretchDefinition, load_library
from exercises.engine import Phase
from sessions.sources import demos_dir, samples_dir
from sessions.store import SessionStore, default_data_dir

__all__ = [
    "PHASE_TEXT",
    "REPO_ROOT",
    "SAFETY",
    "SampleClip",
    "demo_caption",
    "demo_clip",
    "demos_dir",
    "fill_text",
    "get_library",
    "get_store",
    "good_sample",
    "measure_chart",
    "page_header",
    "render_report",
    "safety_note",
    "sample_clips",
    "show_demo",
    "side_label",
    "side_picker",
    "stretch_picker",
]

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Friendly words for the tracker's phases (shown in the live panel).
PHASE_TEXT: dict[str, str] = {
    Phase.SETUP.value: "Getting ready: stand in the starting position and keep still",
    Phase.CANT_ASSESS.value: "I can't see you well enough",
    Phase.REST.value: "Ready: start the stretch when you are",
    Phase.MOVING.value: "Moving into the stretch",
    Phase.POSITION.value: "In position: hold and breathe",
    Phase.RETURNING.value: "Coming back to the start",
}


# --------------------------------------------------------------------------- page chrome


def page_header(title: str, icon: str, intro: str | None = None) -> None:
    """Page config, title, an optional intro line and the safety note in the sidebar."""
    st.set_page_config(page_title=f"{title} · Stretch Coach", page_icon=icon, layout="wide")
    st.title(title)
    if intro:
        st.write(intro)
    with st.sidebar:
        st.caption(SAFETY)


def safety_note() -> None:
    """The safety note, prominent (home page, before live coaching)."""
    st.warning(
        "**Before you start.** Stretch Coach is a practice aid, **not a diagnosis** or a "
        "treatment plan.\n\n"
        "- If upper-back pain comes with **numbness, tingling or weakness in your arms** "
        "(or your legs), see a doctor before stretching.\n"
        "- If pain **lasts for days**, or gets worse with stretching, see a physiotherapist "
        "or doctor.\n"
        "- Stretch gently. A stretch should feel like mild tension, never sharp pain.",
        icon=":material/health_and_safety:",
    )


# --------------------------------------------------------------------------- core objects


@st.cache_resource(show_spinner=False)
def get_library() -> dict[str, StretchDefinition]:
    """Every stretch definition, by id (loaded once per server)."""
    return load_library()


@st.cache_resource(show_spinner=False)
def _store_for(data_dir: str) -> SessionStore:
    return SessionStore()


def get_store() -> SessionStore:
    """The session store for the current data dir (``$STRETCH_COACH_DATA``)."""
    return _store_for(str(default_data_dir()))


# --------------------------------------------------------------------------- text


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


# --------------------------------------------------------------------------- pickers


def stretch_picker(key: str, *, default: str | None = None, disabled: bool = False,
                   label: str = "Stretch") -> StretchDefinition:
    """A select box of the stretches; returns the chosen definition."""
    lib = get_library()
    ids = list(lib)
    index = ids.index(default) if default in ids else 0
    chosen = st.selectbox(label, ids, index=index, key=key, disabled=disabled,
                          format_func=lambda i: f"{lib[i].name}  ({lib[i].targets_area})")
    return lib[chosen]


def side_picker(definition: StretchDefinition, key: str, *, disabled: bool = False,
                default: str | None = None, both_label: str = "Both sides, one after the other"
                ) -> str | None:
    """Radio of the sides of a sided stretch; None for a symmetric one."""
    if not definition.is_sided:
        st.caption("Done with both sides together.")
        return None
    options = [*definition.sides, "both"]
    labels = {"left": "Left", "right": "Right", "both": both_label}
    index = options.index(default) if default in options else 0
    return st.radio("Side", options, index=index, key=f"{key}-{definition.id}",
                    horizontal=True, disabled=disabled, format_func=lambda s: labels[s])


# --------------------------------------------------------------------------- samples / demos


@dataclass(frozen=True)
class SampleClip:
    """A sample video with its ground-truth sidecar."""

    path: Path
    exercise: str
    side: str | None
    truth: dict[str, Any]

    @property
    def title(self) -> str:
        """Human name of the clip."""
        return self.path.stem.replace("_", " ")


def sample_clips() -> list[SampleClip]:
    """Sample clips that have a readable ``.truth.json`` naming a known stretch."""
    lib = get_library()
    out: list[SampleClip] = []
    folder = samples_dir()
    if not folder.is_dir():
        return out
    for mp4 in sorted(folder.glob("*.mp4")):
        truth_path = mp4.with_name(mp4.stem + ".truth.json")
        if not truth_path.is_file():
            continue
        try:
            truth = json.loads(truth_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            log.warning("unreadable sample truth file %s", truth_path)
            continue
        if truth.get("exercise") not in lib:
            continue
        side = truth.get("side")
        out.append(SampleClip(mp4, truth["exercise"], side if side else None, truth))
    return out


def good_sample(exercise_id: str) -> Path | None:
    """A sample clip of this stretch done right (no acted fault, every rep correct, every
    hold completed), or None. Faulty samples are for the analysis, never shown as how to
    do it."""
    folder = samples_dir()
    try:
        stamp = max((p.stat().st_mtime for p in folder.glob("*.truth.json")), default=0.0)
    except OSError:
        return None
    found = _good_samples(str(folder), stamp).get(exercise_id)
    return Path(found) if found else None


@functools.lru_cache(maxsize=4)
def _good_samples(folder: str, stamp: float) -> dict[str, str]:
    """Stretch id -> first good sample clip in ``folder`` (the sidecars are read once per
    change of the folder: ``stamp`` is their latest modification time)."""
    out: dict[str, str] = {}
    for clip in sample_clips():
        exp = clip.truth.get("expected") or {}
        if clip.exercise in out or "state" in exp or exp.get("faults"):
            continue
        reps = exp.get("reps")
        if reps and exp.get("correct_reps") == reps and exp.get("holds_completed") == reps:
            out[clip.exercise] = str(clip.path)
    return out


def demo_clip(exercise_id: str) -> Path | None:
    """The video that shows how a stretch is done, or None.

    The avatar's demonstration made from the definition (``demos/<id>.mp4``) first;
    else a good sample clip of it (:func:`good_sample`), never a faulty one.
    """
    demo = demos_dir() / f"{exercise_id}.mp4"
    if demo.is_file():
        return demo
    return good_sample(exercise_id)


def demo_caption(exercise_id: str) -> str | None:
    """One line under a demonstration: what it shows and how it differs from the dose
    (a shortened hold, a seated stretch shown standing); None without a demo sidecar."""
    path = demos_dir() / f"{exercise_id}.demo.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    sides = doc.get("sides") or []
    parts = ["Animated demonstration"
             + (", one repetition per side" if len(sides) > 1 else ", one repetition")]
    shown, prescribed = doc.get("hold_shown_s"), doc.get("hold_prescribed_s")
    if shown is not None and prescribed and shown < prescribed:
        parts.append(f"the hold is shortened to {shown:g} s here: hold yours for "
                     f"{prescribed:g} s")
    if any("standing" in str(n) for n in doc.get("notes", ())):
        parts.append("shown standing: do it seated")
    return "; ".join(parts) + "."


def show_demo(exercise_id: str, *, caption: bool = True, label: str | None = None
              ) -> Path | None:
    """Show the stretch's demonstration (looping, muted, autoplaying) if there is one.

    ``label`` is the video's alternative text (default: from the id); it also tells apart
    two identical clips on one page (Streamlit names an element by its parameters).
    """
    clip = demo_clip(exercise_id)
    if clip is None:
        return None
    alt = label or f"How to do it: {exercise_id.replace('_', ' ')}"
    st.video(str(clip), loop=True, autoplay=True, muted=True, alt=alt)
    text = demo_caption(exercise_id) if caption else None
    if text:
        st.caption(text)
    return clip


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
    relative = definition is not None and definition.primary.baseline == "rest"
    step = max(1, len(times) // max_points)
    rows = []
    for side in sides:
        values = report.series[side]
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
    y_title = f"{label} ({'from rest, ' if relative else ''}{'degrees' if unit else 'ratio'})"
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
