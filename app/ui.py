"""Streamlit helpers shared by the pages: page chrome, the library and store, pickers,
sample clips and demonstrations, paths.

Thin on purpose: everything here formats what the core (``coach``, ``exercises``,
``sessions``) computed. No angle math, no thresholds, no SQL.

The pages import every helper from here. Two concerns live beside it and are
re-exported: ``app.ui_text`` (what the pages say in words: phases, sides, the
dose, units) and ``app.report_ui`` (a session report on a page and its chart).
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from app.cli import SAFETY
from app.report_ui import measure_chart, render_report
from app.ui_text import PHASE_TEXT, dose_text, fill_text, side_label, unit_text
from exercises.definition import StretchDefinition, load_library
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
    "dose_text",
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
    "unit_text",
]

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent


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
