"""Check rendered clips against the real pose model (MediaPipe via ``pose.estimator``).

For each clip: the share of frames with a detected person, the mean absolute
error of each checked measure between MediaPipe's landmarks and the truth
landmarks (same formula on both, see :mod:`avatar.measures`), and the mean
per-landmark offset MediaPipe - truth in pixels.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np

from . import measures
from .scenarios import Scenario

__all__ = ["KEY_LANDMARKS", "format_table", "landmark_offsets", "run_pose_model", "verify_clip"]

#: Landmarks whose offsets are reported (face, shoulders, arms, hips).
KEY_LANDMARKS = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24)
#: Target for the primary measure (degrees; cross-body ratio in shoulder widths).
TARGET_DEG, TARGET_RATIO = 4.0, 0.04


def run_pose_model(mp4: Path) -> np.ndarray:
    """(T, 33, 2) MediaPipe landmarks in pixels (NaN where nobody was found)."""
    from pose.estimator import PoseEstimator

    out = []
    with av.open(str(mp4)) as c, PoseEstimator(people_check_s=None) as est:
        stream = c.streams.video[0]
        for i, frame in enumerate(c.decode(stream)):
            img = frame.to_ndarray(format="rgb24")
            pf = est.estimate(img, i / float(stream.average_rate or 30))
            out.append(np.full((33, 2), np.nan) if pf.is_empty else np.asarray(pf.xy, float))
    return np.array(out)


def _truth_array(doc: dict) -> np.ndarray:
    return np.array([[[np.nan, np.nan] if p is None else p for p in f] for f in doc["landmarks"]],
                    dtype=float)


def landmark_offsets(mp_xy: np.ndarray, truth_xy: np.ndarray) -> dict[int, tuple[float, float]]:
    """Mean (dx, dy) MediaPipe - truth per key landmark, pixels."""
    d = mp_xy - truth_xy
    return {j: (float(np.nanmean(d[:, j, 0])), float(np.nanmean(d[:, j, 1])))
            for j in KEY_LANDMARKS}


def product_primary(exercise: str, side: str, xy: np.ndarray) -> tuple[str, np.ndarray] | None:
    """The product's primary measure of ``exercise`` over (T, 33, 2) landmarks.

    Same choice of measure and side as ``tests/test_samples.py``; None when the
    product's packages are not importable.
    """
    try:
        from exercises.definition import load_library
        from exercises.measures import compute
        from pose.frame import PoseFrame
    except ImportError:
        return None
    definition = load_library()[exercise]
    p = definition.primary
    if not definition.is_sided:
        msr_side = "left"
    elif p.side == "same":
        msr_side = side
    else:
        msr_side = "right" if side == "left" else "left"
    vals = []
    for i, f in enumerate(xy):
        pf = PoseFrame(xy=f, visibility=np.where(np.isfinite(f[:, 0]), 1.0, 0.0),
                       timestamp_s=i / 30.0, image_size=(640, 480))
        vals.append(compute(p.measure, pf, msr_side))
    return f"{p.measure}:{msr_side}", np.array(vals, dtype=float)


def verify_clip(sc: Scenario, mp4: Path, mp: np.ndarray | None = None) -> dict:
    """Run MediaPipe on a rendered clip and compare with its truth sidecar.

    Args:
        sc: the clip's scenario.
        mp4: the rendered clip (its ``.truth.json`` beside it).
        mp: MediaPipe landmarks from an earlier run (skips running the model).
    """
    doc = json.loads(mp4.with_name(mp4.name.replace(".mp4", ".truth.json")).read_text())
    tr = _truth_array(doc)
    if mp is None:
        mp = run_pose_model(mp4)
    n = min(len(tr), len(mp))
    tr, mp = tr[:n], mp[:n]
    detected = np.isfinite(mp[:, 11, 0])
    errs = {}
    for name, side in sc.checks:
        a = measures.measure(name, mp, side)
        b = measures.measure(name, tr, side)
        ok = np.isfinite(a) & np.isfinite(b)
        key = f"{name}:{side}" if side else name
        errs[key] = float(np.mean(np.abs(a[ok] - b[ok]))) if ok.any() else float("nan")
    primary = next(iter(errs))
    prod = product_primary(sc.exercise, sc.side, mp)
    if prod is not None:
        name, a = prod
        b = product_primary(sc.exercise, sc.side, tr)[1]
        ok = np.isfinite(a) & np.isfinite(b)
        primary = f"product {name}"
        errs = {primary: float(np.mean(np.abs(a[ok] - b[ok]))), **errs}
    ratio = any(k in primary for k in ("cross_body", "cross_midline"))
    limit = TARGET_RATIO if ratio else TARGET_DEG
    size = mp4.stat().st_size + mp4.with_name(mp4.name.replace(".mp4", ".truth.json")).stat(
    ).st_size
    return {
        "clip": sc.name,
        "frames": n,
        "detection": float(detected.mean()),
        "mae": errs,
        "primary": primary,
        "ok": bool(errs[primary] <= limit and detected.mean() > 0.95),
        "offsets": landmark_offsets(mp, tr),
        "bytes": size,
        "mp": mp,
    }


def format_table(rows: list[dict]) -> str:
    """Markdown table of :func:`verify_clip` results."""
    lines = ["| clip | detected | primary | MAE | other checks (MAE) | size |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        others = ", ".join(f"{k} {v:.2f}" for k, v in list(r["mae"].items())[1:])
        lines.append(
            f"| {r['clip']} | {100 * r['detection']:.0f}% | {r['primary']} | "
            f"{r['mae'][r['primary']]:.2f} | {others} | {r['bytes'] / 1e6:.2f} MB |"
        )
    if rows:
        lines.append("")
        lines.append("Mean landmark offset MediaPipe - truth (px, dx/dy), all clips:")
        for j in KEY_LANDMARKS:
            dx = np.nanmean([r["offsets"][j][0] for r in rows])
            dy = np.nanmean([r["offsets"][j][1] for r in rows])
            lines.append(f"  {j:2d}: {dx:+5.1f} {dy:+5.1f}")
    return "\n".join(lines)
