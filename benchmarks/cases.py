"""Cases for the accuracy benchmark (``benchmarks/accuracy.py``): the clips of each suite
and the truth each is judged by, and the result record of one analysed clip.

Suites: avatar-sidecar clips (samples, validation: ``*.truth.json`` beside ``*.mp4``),
real-person clips with hand-made truth ``<clip>.json`` (``REAL_MOVEMENTS`` maps a clip's
``movement`` to a definition) and the labelled workout set (``WORKOUT``)."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exercises.definition import load_library

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "benchmarks" / "definitions"

#: Real-clips ``movement`` -> (definition id, side policy). ``side`` None: every side of a
#: sided definition is tracked and the counts are summed (alternating clips); "clip": use
#: the clip's own ``side`` when it is left or right.
REAL_MOVEMENTS: dict[str, dict[str, Any]] = {
    "shoulder_abduction": {"definition": "lateral_raise", "one_arm": "lateral_raise_one_arm"},
    "shoulder_flexion": {"definition": "front_raise"},
    "trunk_side_bend": {"definition": "standing_side_bend"},
    "overhead_side_bend": {"definition": "overhead_side_bend"},
    "thoracic_rotation": {"definition": "standing_trunk_rotation"},
    "trunk_rotation": {"definition": "standing_trunk_rotation"},
    "lateral_raise": {"definition": "lateral_raise", "one_arm": "lateral_raise_one_arm"},
    "front_raise": {"definition": "front_raise"},
    "side_bend": {"definition": "standing_side_bend"},
    "shoulder_shrug": {"definition": "shoulder_shrug"},
    "shrug": {"definition": "shoulder_shrug"},
    "shoulder_elevation": {"definition": "shoulder_shrug"},
    "scapular_elevation": {"definition": "shoulder_shrug"},
    "shoulder_elevation_y": {"definition": "overhead_reach"},
    "neck_lateral_flexion": {"definition": "neck_side_tilt"},
    "neck_side_bend": {"definition": "neck_side_tilt"},
    "cervical_lateral_flexion": {"definition": "neck_side_tilt"},
    "cervical_rotation": {"definition": "neck_rotation"},
    "neck_retraction": {"definition": "chin_tuck"},
    "cervical_retraction": {"definition": "chin_tuck"},
    "scapular_retraction": {"definition": "scapular_squeeze"},
    "horizontal_adduction": {"definition": "cross_body_shoulder"},
    "cross_body": {"definition": "cross_body_shoulder"},
    "overhead_reach": {"definition": "overhead_reach"},
    "shoulder_flexion_overhead": {"definition": "overhead_reach"},
    "seated_rotation": {"definition": "seated_thoracic_rotation"},
    # everyday and exercise-library names for the same movements
    "neck_tilt": {"definition": "neck_side_tilt"},
    "neck_side_flexion": {"definition": "neck_side_tilt"},
    "lateral_neck_flexion": {"definition": "neck_side_tilt"},
    "neck_turn": {"definition": "neck_rotation"},
    "head_turn": {"definition": "neck_rotation"},
    "head_rotation": {"definition": "neck_rotation"},
    "chin_retraction": {"definition": "chin_tuck"},
    "head_retraction": {"definition": "chin_tuck"},
    "trap_shrug": {"definition": "shoulder_shrug"},
    "shoulder_blade_squeeze": {"definition": "scapular_squeeze"},
    "cross_body_stretch": {"definition": "cross_body_shoulder"},
    "cross_body_shoulder_stretch": {"definition": "cross_body_shoulder"},
    "posterior_shoulder_stretch": {"definition": "cross_body_shoulder"},
    "wall_slide": {"definition": "wall_angel"},
    # a press from the shoulders to overhead is the wall angel's W-to-Y without the wall
    "shoulder_press": {"definition": "wall_angel"},
    "overhead_press": {"definition": "wall_angel"},
    "arnold_press": {"definition": "wall_angel"},
    "standing_twist": {"definition": "standing_trunk_rotation"},
    "torso_twist": {"definition": "standing_trunk_rotation"},
    "torso_rotation": {"definition": "standing_trunk_rotation"},
    "trunk_twist": {"definition": "standing_trunk_rotation"},
    "seated_twist": {"definition": "seated_thoracic_rotation"},
    "seated_trunk_rotation": {"definition": "seated_thoracic_rotation"},
    "trunk_lateral_flexion": {"definition": "standing_side_bend"},
    "lateral_flexion": {"definition": "standing_side_bend"},
    "torso_side_bend": {"definition": "standing_side_bend"},
    "cat_camel": {"definition": "cat_cow"},
}
#: Every library stretch id is also a movement name for itself (see ``_movement_entry``).

#: Workout exercise folder -> (definition id, plain-counter joint, up threshold, down
#: threshold). The plain counter is the textbook hobby rule: the joint angle (degrees,
#: 180 = straight) of the better-seen side must go below ``down`` and come back above
#: ``up``; one rep per return. No smoothing, no visibility gate, no settle time.
WORKOUT: dict[str, tuple[str, str, float, float]] = {
    "push-ups": ("push_up", "elbow", 160.0, 90.0),
    "pull-ups": ("pull_up", "elbow", 160.0, 90.0),
    "squats": ("squat", "knee", 160.0, 90.0),
}
LFS_POINTER_MAX_BYTES = 1024


# ------------------------------------------------------------------ cases and results

@dataclass
class Case:
    """One clip to analyse and the truth to judge it by."""

    suite: str
    name: str
    video: str
    definition: str
    side: str | None = None
    group: str = ""
    count: int | None = None
    full: int | None = None                 # reps that reach the prescribed range (validation)
    holds: list[dict[str, Any]] = field(default_factory=list)   # start_s, end_s, (rep)
    faults: list[dict[str, Any]] = field(default_factory=list)  # id, rep, start_s
    truth_path: str | None = None           # sidecar with per-frame landmarks
    truth_side: str | None = None
    non_exercise: list[tuple[float, float]] = field(default_factory=list)
    plain: tuple[str, float, float] | None = None
    skip: str | None = None                 # reason the clip cannot be run


@dataclass
class Result:
    """What the project (and the plain counter) said about one case."""

    case: Case
    count: int | None = None
    full_reps: int | None = None            # reps that reached the target band
    plain_count: int | None = None
    hold_errors: list[float] = field(default_factory=list)
    holds_missed: int = 0
    measure_mae: float | None = None
    fault_errors: list[float] = field(default_factory=list)
    faults_missed: int = 0
    reps_in_non_exercise: int = 0
    assessable_share: float | None = None
    setup_issues: dict[str, int] = field(default_factory=dict)
    diagnosis: str | None = None           # why nothing counted (the report's own words)
    reps: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    @property
    def count_error(self) -> int | None:
        if self.count is None or self.case.count is None:
            return None
        return self.count - self.case.count


# ------------------------------------------------------------------ suites

def _clip_for(truth: Path, suffix: str) -> Path:
    return truth.with_name(truth.name[: -len(suffix)] + ".mp4")


def sample_cases(directory: Path, suite: str) -> list[Case]:
    """Cases from avatar-sidecar clips (``*.truth.json`` beside ``*.mp4``)."""
    cases = []
    for truth_path in sorted(directory.glob("*.truth.json")):
        t = json.loads(truth_path.read_text())
        exp = t.get("expected", {})
        holds = []
        detail = {d.get("rep"): d for d in exp.get("rep_detail", [])}
        for i, r in enumerate(t.get("reps", []), 1):
            if r.get("in_position_s") is not None and r.get("hold_end_s") is not None:
                h = {"start_s": r["in_position_s"], "end_s": r["hold_end_s"], "rep": i}
                if detail.get(i, {}).get("hold_s") is not None:  # geometric hold time
                    h["hold_s"] = detail[i]["hold_s"]
                holds.append(h)
        faults = [f for f in exp.get("faults", []) if f.get("start_s") is not None]
        side = t.get("side")
        cases.append(Case(
            suite=suite, name=truth_path.name[: -len(".truth.json")],
            video=str(_clip_for(truth_path, ".truth.json")), definition=t["exercise"],
            side=side if side in ("left", "right") else None, group=t["exercise"],
            count=exp.get("reps"), full=exp.get("full_reps"), holds=holds, faults=faults,
            truth_path=str(truth_path),
            truth_side=side))
    return cases


def _movement_entry(mapping: dict[str, Any], stem: str, movement: str) -> dict[str, Any]:
    """The definition entry for a real clip: the ``--real-map`` file, the movement table,
    else a library stretch or benchmark definition of that id (``movement`` normalised:
    lower case, '-' and ' ' as '_', a plural "s" dropped when only the singular is known)."""
    key = movement.strip().lower().replace("-", "_").replace(" ", "_")
    entry = mapping.get(stem) or mapping.get(movement) or None
    for k in (key, key[:-1] if key.endswith("s") else None):
        if entry is None and k:
            entry = REAL_MOVEMENTS.get(k)
            if entry is None and (k in load_library() or (DEFINITIONS / f"{k}.toml").exists()):
                entry = {"definition": k}
    return dict(entry or {})


def real_cases(directory: Path, mapping: dict[str, Any]) -> list[Case]:
    """Cases from real clips with hand-made truth ``<clip>.json``."""
    cases = []
    for truth_path in sorted(directory.glob("*.json")):
        t = json.loads(truth_path.read_text())
        if "rep_count" not in t:
            continue
        video = truth_path.with_suffix(".mp4")
        if t.get("clip"):
            video = truth_path.with_name(t["clip"])
        stem = truth_path.stem
        movement = t.get("movement", "")
        entry = _movement_entry(mapping, stem, movement)
        if t.get("definition"):
            entry["definition"] = t["definition"]
        side = str(t.get("side", "")).split()[0].lower() if t.get("side") else ""
        one_side = side in ("left", "right")
        definition = entry.get("one_arm") if one_side and entry.get("one_arm") else \
            entry.get("definition")
        want_side = entry.get("side", side if one_side else None)
        nonex = [(float(s.get("start_s") or 0.0), float(s.get("end_s") or math.inf))
                 for s in t.get("non_exercise_segments") or []]
        cases.append(Case(
            suite="real", name=stem, video=str(video), definition=definition or "?",
            side=want_side, group=definition or movement, count=int(t["rep_count"]),
            holds=[{"start_s": h["start_s"], "end_s": h["end_s"]} for h in t.get("holds") or []],
            non_exercise=nonex,
            skip=None if definition else f"no definition for movement {movement!r}"))
    return cases


def workout_cases(directory: Path) -> tuple[list[Case], dict[str, dict[str, int]]]:
    """Cases from the labelled workout set, and per exercise how many label files were
    excluded or missing (and why)."""
    cases: list[Case] = []
    tally: dict[str, dict[str, int]] = {}
    for exercise, (definition, joint, up, down) in WORKOUT.items():
        labels_dir = directory / "labels" / exercise
        t = tally.setdefault(exercise, {"label_files": 0, "all_zero": 0, "missing_video": 0,
                                        "lfs_pointer": 0, "used": 0})
        for label_path in sorted(labels_dir.glob("*.csv")):
            t["label_files"] += 1
            times, labels = [], []
            with open(label_path, newline="") as fh:
                for row in csv.DictReader(fh):
                    times.append(float(row["time"]))
                    labels.append(float(row["label"]))
            done = [tm for tm, lab in zip(times, labels, strict=True) if lab >= 0.5]
            if not done:
                t["all_zero"] += 1
                continue
            video = directory / "raw" / exercise / (label_path.stem + ".mp4")
            skip = None
            if not video.exists():
                t["missing_video"] += 1
                skip = "video missing"
            elif video.stat().st_size <= LFS_POINTER_MAX_BYTES:
                t["lfs_pointer"] += 1
                skip = "video is a git-LFS pointer"
            cases.append(Case(suite="workout", name=f"{exercise}/{label_path.stem}",
                              video=str(video), definition=definition, group=definition,
                              count=len(done), plain=(joint, up, down),
                              skip=skip))
    return cases, tally
