"""What a validation clip should show, from its geometric truth rather than the acted intent.

A rep acted in full can fall short of the range in the image for one body and camera,
and an acted hold can spend more or less time in the target band than its plateau:
:func:`annotate_truth_peaks` adds what the rig's true primary measure shows per rep, and
:func:`apply_geometric_truth` makes the clip's ``expected`` counts and holds follow it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["annotate_truth_peaks", "apply_geometric_truth"]


def annotate_truth_peaks(doc: dict) -> None:
    """Add to each ``expected.rep_detail`` entry what the geometric truth shows.

    ``truth_peak``: the rep's extreme of the primary measure's truth (in the
    stretch's direction); ``truth_in_band_share``: share of the hold's frames whose
    truth lies in the definition's target band. A full rep filmed from an angle
    can show less than the band in 2D; the benchmark can tell that apart from a
    product error with these.
    """
    from exercises.definition import load_library

    primary = load_library()[doc["exercise"]].primary
    series = next(iter(doc["truth_measures"].values()))
    vals = np.array([np.nan if x is None else x for x in series], dtype=float)
    lo, hi = primary.target
    fps = doc["fps"]
    for rep, detail in zip(doc["reps"], doc["expected"].get("rep_detail", []), strict=False):
        w = vals[round(rep["start_s"] * fps): round(rep["end_s"] * fps) + 1]
        h = vals[round(rep["in_position_s"] * fps): round(rep["hold_end_s"] * fps) + 1]
        if np.isfinite(w).any():
            pick = np.nanmax if primary.direction == "increase" else np.nanmin
            detail["truth_peak"] = round(float(pick(w)), 3)
        if np.isfinite(h).any():
            detail["truth_in_band_share"] = round(float(np.mean((h >= lo) & (h <= hi))), 2)


def apply_geometric_truth(doc: dict) -> None:
    """Make ``expected`` follow the geometric truth rather than the acted intent.

    A rep acted as full can fall short of the range in the image for this body and
    camera (a short arm that never takes the hand past the midline, a yawed camera),
    and an acted hold can spend more or less time in the band than its plateau. Per
    rep, from the primary measure's truth series (relative to the resting value for
    rest-relative stretches): ``full`` = its peak reached ``full_rep_fraction`` of the
    way from ``rest`` to the target band (the engine's rule), ``reached_target``,
    ``true_hold_s`` (:func:`avatar.verify.true_hold_times`). The acted values are kept
    as ``acted_full`` / ``hold_s``. ``reps``, ``full_reps``, ``correct_reps`` and
    ``holds_completed`` are recomputed from these; a rep acted full that is not full
    in the image gets a ``partial_rep`` fault.
    """
    from exercises.definition import load_library

    from .verify import from_rest, true_hold_times

    definition = load_library()[doc["exercise"]]
    p, tu = definition.primary, definition.tuning
    exp = doc["expected"]
    details = exp.get("rep_detail", [])
    key = next(iter(doc["truth_measures"]))  # the primary measure's series comes first
    vals = np.array([np.nan if x is None else x for x in doc["truth_measures"][key]], float)
    fps = float(doc["fps"])
    reps = doc["reps"]
    if p.baseline != "none":
        vals = from_rest(vals, reps, fps)
    sign = 1.0 if p.direction == "increase" else -1.0
    edge = p.target[0] if p.direction == "increase" else p.target[1]
    full_level = p.rest + tu.full_rep_fraction * (edge - p.rest)
    holds = true_hold_times(doc, definition)
    req = float(definition.prescription.hold_s)
    full = completed = 0
    faults = list(exp.get("faults", []))
    for k, (rep, detail, hold) in enumerate(zip(reps, details, holds, strict=False), 1):
        w = vals[round(rep["start_s"] * fps): round(rep["end_s"] * fps) + 1]
        peak = float(np.nanmax(sign * w)) if np.isfinite(w).any() else -np.inf
        is_full = peak >= sign * full_level - 1e-9
        reached = peak >= sign * edge - 1e-9
        detail.setdefault("acted_full", detail.get("full"))
        detail["full"], detail["reached_target"] = bool(is_full), bool(reached)
        detail["true_hold_s"] = hold
        full += is_full
        completed += is_full and reached and hold + 1e-6 >= req
        if detail["acted_full"] and not is_full and not any(
                f["id"] == "partial_rep" and f["rep"] == k for f in faults):
            faults.append({"id": "partial_rep", "rep": k, "start_s": rep["start_s"],
                           "end_s": rep["end_s"]})
    exp.update(reps=full, full_reps=full, correct_reps=completed, holds_completed=completed,
               faults=faults)
