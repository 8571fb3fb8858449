"""Check rendered clips: the product's measures against the geometric truth.

For each clip (an mp4 with its ``.truth.json`` beside it) the real analysis path
(``coach.analyze.analyze_video``: decoder, MediaPipe, smoothing, engine) is run
once; a recording estimator keeps MediaPipe's raw landmarks as well. Reported:

- the share of frames with a detected person;
- the primary measure (the engine's own series) against the sidecar's
  ``truth_measures``: MAE over all frames, the signed mean error during the
  holds (in position to hold end, per rep, then averaged) and the signed error
  of each rep's peak (its extreme in the stretch's direction);
- every check measure, computed with the product's formula on MediaPipe's raw
  landmarks, against its truth series (MAE);
- counts (reps, correct reps, completed holds) against ``expected``;
- the mean per-landmark offset MediaPipe - truth, pixels.

No truth is derived from MediaPipe here or anywhere in the avatar lab.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["KEY_LANDMARKS", "TARGETS", "format_table", "hold_and_peak_errors", "load_truth",
           "run_product", "target_for", "true_hold_times", "truth_array", "verify_clip"]

#: Landmarks whose offsets are reported (face, shoulders, arms, hips).
KEY_LANDMARKS = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24)

#: Accuracy target per measure against geometric truth, from issue 7 (degrees, or
#: shoulder widths for ratios): arm elevation 5, neck tilt and rotation 4, trunk
#: and elbow measures like the arm's, ratios 0.05.
TARGETS: dict[str, float] = {
    "shoulder_abduction": 5.0,
    "arms_elevation": 5.0,
    "arm_line_elevation": 5.0,
    "arms_line_elevation": 5.0,
    "shoulder_flexion": 5.0,
    "elbow_extension": 5.0,
    "elbows_extension": 5.0,
    "elbows_flexion_difference": 5.0,
    "neck_lateral_tilt": 4.0,
    "neck_rotation": 4.0,
    "head_forward_angle": 4.0,
    "head_lift": 4.0,
    "trunk_lateral_flexion": 5.0,
    "trunk_rotation": 5.0,
    "arms_forward_rotation": 5.0,
    "shoulder_level_difference": 5.0,
}
RATIO_TARGET = 0.05


def target_for(measure: str) -> float:
    """The MAE target for a measure name (``"name"`` or ``"name@side"``)."""
    from exercises.measures import get_measure

    name = measure.split("@")[0]
    if name in TARGETS:
        return TARGETS[name]
    return RATIO_TARGET if get_measure(name).unit == "ratio" else 5.0


def load_truth(mp4_or_sidecar: Path) -> dict:
    """The sidecar of a clip (``X.mp4`` or ``X.truth.json``)."""
    p = Path(mp4_or_sidecar)
    if p.suffix == ".mp4":
        p = p.with_name(p.name[:-4] + ".truth.json")
    return json.loads(p.read_text())


def truth_array(doc: dict) -> np.ndarray:
    """(T, 33, 2) truth landmarks, pixels (NaN where undefined)."""
    return np.array([[[np.nan, np.nan] if p is None else p for p in f]
                     for f in doc["landmarks"]], dtype=float)


def _series(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


class _Recorder:
    """A pose estimator that keeps every frame's raw pixel landmarks."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.xy: list[np.ndarray] = []

    def estimate(self, image_rgb: np.ndarray, timestamp_s: float) -> object:
        pf = self.inner.estimate(image_rgb, timestamp_s)  # type: ignore[attr-defined]
        self.xy.append(np.full((33, 2), np.nan) if pf.is_empty else np.asarray(pf.xy, float))
        return pf

    def close(self) -> None:
        self.inner.close()  # type: ignore[attr-defined]


def run_product(mp4: Path, doc: dict) -> tuple[object, np.ndarray]:
    """Run ``analyze_video`` on a clip; returns (report, (T, 33, 2) raw MediaPipe pixels)."""
    from coach.analyze import AnalysisOptions, analyze_video
    from exercises.definition import load_library
    from pose.estimator import PoseEstimator

    definition = load_library()[doc["exercise"]]
    side = doc["side"] if definition.is_sided and doc["side"] in ("left", "right") else None
    rec = _Recorder(PoseEstimator(people_check_s=4.0))
    try:
        report = analyze_video(mp4, definition, AnalysisOptions(side=side, max_skip_s=0.0),
                               estimator=rec)  # every frame judged: a measurement
    finally:
        rec.close()
    return report, np.array(rec.xy)


def from_rest(values: np.ndarray, reps: list[dict], fps: float) -> np.ndarray:
    """A rest-relative measure's truth as a change from the resting value: the median of
    the frames before the first acted rep (unchanged when there is no rep or no finite
    value there)."""
    if not reps:
        return values
    lead = values[: max(1, round(reps[0]["start_s"] * fps))]
    return values - (float(np.nanmedian(lead)) if np.isfinite(lead).any() else 0.0)


def true_hold_times(doc: dict, definition: object, side: str | None = None) -> list[float]:
    """Each acted rep's hold as the rig really did it: seconds its true primary measure
    (the sidecar's geometric ``truth_measures``) spent inside the definition's target
    band during the rep, with the engine's own hold rules (``HoldTimer``: a break of
    ``max_break_s`` ends the hold) and no hysteresis. What a perfect pose reading would
    report; the acted plateau (in position to hold end) misses the time in the band on
    the way in and out.

    Args:
        doc: the clip's sidecar.
        definition: the ``StretchDefinition`` the clip is judged with.
        side: the working side judged (default: the sidecar's side, or the
            definition's first for a two-sided clip).

    Returns:
        One value per ``doc["reps"]`` entry (seconds); nan where the sidecar has no
        truth series for the primary measure.
    """
    from exercises.tracker_parts import HoldTimer

    p = definition.primary  # type: ignore[attr-defined]
    if not definition.is_sided:  # type: ignore[attr-defined]
        msr_side = "left"
    else:
        s = side or (doc.get("side") if doc.get("side") in ("left", "right")
                     else definition.sides[0])  # type: ignore[attr-defined]
        msr_side = s if p.side == "same" else ("right" if s == "left" else "left")
    given = (doc.get("truth_measures") or {}).get(f"{p.measure}@{msr_side}")
    reps = doc.get("reps", [])
    if given is None:
        return [float("nan")] * len(reps)
    v = _series(given)
    fps = float(doc["fps"])
    if p.baseline != "none":
        v = from_rest(v, reps, fps)
    lo, hi = sorted(p.target)
    tuning = definition.tuning  # type: ignore[attr-defined]
    out = []
    for r in reps:
        timer = HoldTimer(float("inf"), tuning.max_break_s)
        a, b = round(r["start_s"] * fps), min(v.size, round(r["end_s"] * fps) + 1)
        for i in range(a, b):
            timer.update(bool(np.isfinite(v[i]) and lo <= v[i] <= hi), i / fps, 1.0 / fps,
                         blocked=False)
        out.append(round(timer.held_s, 3))
    return out


def hold_and_peak_errors(got: np.ndarray, truth: np.ndarray, reps: list[dict], fps: float,
                         direction: str = "increase") -> tuple[float, float, float]:
    """Errors of the product where it matters: during the holds and at each rep's peak.

    Args:
        got, truth: (T,) product and truth values of the primary measure.
        reps: the sidecar's ``reps`` (seconds).
        fps: frames per second.
        direction: the stretch's primary direction ("increase" or "decrease").

    Returns:
        (signed mean error during the holds, signed mean peak error, largest absolute
        peak error), NaN where no rep has usable frames.
    """
    hold, peak = [], []
    for r in reps:
        a, b = round(r["in_position_s"] * fps), round(r["hold_end_s"] * fps) + 1
        ok = np.isfinite(got[a:b]) & np.isfinite(truth[a:b])
        if ok.any():
            hold.append(float(np.mean(got[a:b][ok] - truth[a:b][ok])))
        a, b = round(r["start_s"] * fps), round(r["end_s"] * fps) + 1
        g, t = got[a:b], truth[a:b]
        if np.isfinite(g).any() and np.isfinite(t).any():
            pick = np.nanmax if direction == "increase" else np.nanmin
            peak.append(float(pick(g) - pick(t)))
    nan = float("nan")
    return (float(np.mean(hold)) if hold else nan, float(np.mean(peak)) if peak else nan,
            float(np.max(np.abs(peak))) if peak else nan)


def verify_clip(mp4: Path, run: tuple[object, np.ndarray] | None = None) -> dict:
    """Compare the product with the geometric truth on one clip.

    Args:
        mp4: the clip (its ``.truth.json`` beside it).
        run: the output of :func:`run_product` from an earlier call (skips the model).
    """
    from exercises.definition import load_library
    from exercises.measures import compute
    from pose.frame import PoseFrame

    doc = load_truth(mp4)
    report, raw = run if run is not None else run_product(mp4, doc)
    definition = load_library()[doc["exercise"]]
    fps, size = doc["fps"], (doc["width"], doc["height"])
    tm = {k: _series(v) for k, v in doc["truth_measures"].items()}
    primary = next(iter(tm))
    key = doc["side"] if definition.is_sided and doc["side"] in ("left", "right") else "both"
    n = min(len(raw), doc["n_frames"])
    got = _series(report.frame_series(key, n))  # type: ignore[attr-defined]
    truth = tm[primary][:n]
    ok = np.isfinite(got) & np.isfinite(truth)
    mae = float(np.mean(np.abs(got[ok] - truth[ok]))) if ok.any() else float("nan")
    hold, peak, peak_max = hold_and_peak_errors(got, truth, doc["reps"], fps,
                                                definition.primary.direction)
    checks = {}
    frames = [PoseFrame(xy=f, visibility=np.where(np.isfinite(f[:, 0]), 1.0, 0.0),
                        timestamp_s=i / fps, image_size=size) for i, f in enumerate(raw[:n])]
    for k, series in list(tm.items())[1:]:
        name, side = k.split("@")
        a = np.array([compute(name, f, side) for f in frames])
        b = series[:n]
        m = np.isfinite(a) & np.isfinite(b)
        checks[k] = float(np.mean(np.abs(a[m] - b[m]))) if m.any() else float("nan")
    exp = doc["expected"]
    counts = {"reps": report.reps_done, "correct_reps": report.correct_reps,  # type: ignore
              "holds_completed": report.holds_completed}  # type: ignore[attr-defined]
    tr = truth_array(doc)[:n]
    d = raw[:n] - tr
    offsets = {j: (float(np.nanmean(d[:, j, 0])), float(np.nanmean(d[:, j, 1])))
               for j in KEY_LANDMARKS}
    target = target_for(primary)
    return {
        "clip": doc["clip"],
        "frames": n,
        "detection": float(np.isfinite(raw[:n, 11, 0]).mean()) if n else 0.0,
        "primary": primary,
        "mae": mae,
        "hold_error": hold,
        "peak_error": peak,
        "peak_error_max": peak_max,
        "target": target,
        "checks": checks,
        "counts": counts,
        "expected": {k: exp.get(k) for k in counts},
        "ok": bool(mae <= target),
        "offsets": offsets,
    }


def format_table(rows: list[dict]) -> str:
    """Markdown table of :func:`verify_clip` results."""
    lines = ["| clip | detected | primary | MAE | target | hold err | peak err (max) "
             "| counts got/expected | checks (MAE) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        checks = ", ".join(f"{k} {v:.2f}" for k, v in r["checks"].items())
        got = "/".join(str(r["counts"][k]) for k in ("reps", "correct_reps", "holds_completed"))
        want = "/".join(str(r["expected"][k]) for k in ("reps", "correct_reps",
                                                        "holds_completed"))
        lines.append(
            f"| {r['clip']} | {100 * r['detection']:.0f}% | {r['primary']} | {r['mae']:.2f}"
            f"{'' if r['ok'] else ' FAIL'} | {r['target']:g} | {r['hold_error']:+.2f} | "
            f"{r['peak_error']:+.2f} ({r['peak_error_max']:.2f}) | {got} vs {want} | {checks} |"
        )
    if rows:
        lines.append("")
        lines.append("Mean landmark offset MediaPipe - truth (px, dx/dy), all clips:")
        for j in KEY_LANDMARKS:
            dx = np.nanmean([r["offsets"][j][0] for r in rows])
            dy = np.nanmean([r["offsets"][j][1] for r in rows])
            lines.append(f"  {j:2d}: {dx:+5.1f} {dy:+5.1f}")
    return "\n".join(lines)
