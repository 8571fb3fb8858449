"""Still frames of a stretch's demonstration, taken from its clip when a handout is made.

The clip is the one the app shows (``app.ui.demo_clip``): the avatar's demonstration
``$STRETCH_COACH_DEMOS/<id>.mp4`` (default ``demos/``), else a sample clip of the
stretch done right (``$STRETCH_COACH_SAMPLES``, default ``sample_videos/``: no acted
fault, every rep correct and held), never a faulty one. The moments come from the
clip's sidecar (``<id>.demo.json`` or ``<clip>.truth.json``): the starting position,
the middle of the first hold and, for a stretch done on both sides, the middle of
the other side's hold (else the way into the first hold). Nothing is written to disk.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sessions.sources import demos_dir, samples_dir

__all__ = ["Still", "demo_clip", "demo_stills"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Still:
    """One frame of a demonstration.

    Attributes:
        image: (H, W, 3) uint8 RGB.
        caption: what it shows, e.g. "Hold (left side)".
        time_s: seconds from the clip's start.
    """

    image: np.ndarray
    caption: str
    time_s: float


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def demo_clip(exercise_id: str) -> tuple[Path, dict[str, Any] | None] | None:
    """(clip, its sidecar or None) that shows how ``exercise_id`` is done, or None."""
    demo = demos_dir() / f"{exercise_id}.mp4"
    if demo.is_file():
        return demo, _read_json(demo.with_suffix(".demo.json"))
    folder = samples_dir()
    for truth_path in sorted(folder.glob("*.truth.json")):
        truth = _read_json(truth_path)
        if not truth or truth.get("exercise") != exercise_id:
            continue
        exp = truth.get("expected") or {}
        reps = exp.get("reps")
        if "state" in exp or exp.get("faults") or not reps or \
                exp.get("correct_reps") != reps or exp.get("holds_completed") != reps:
            continue
        clip = folder / (truth_path.name.removesuffix(".truth.json") + ".mp4")
        if clip.is_file():
            return clip, truth
    return None


def _moments(sidecar: dict[str, Any] | None, duration: float) -> list[tuple[float, str]]:
    reps = [r for r in (sidecar or {}).get("reps") or [] if isinstance(r, dict)]
    try:
        first = reps[0]
        start = max(0.0, min(float(first["start_s"]) - 0.3, 0.5))
        into = (float(first["start_s"]) + float(first["in_position_s"])) / 2
        hold = (float(first["in_position_s"]) + float(first["hold_end_s"])) / 2
    except (IndexError, KeyError, TypeError, ValueError):
        return [(0.0, "Starting position"), (duration * 0.3, "Moving into the stretch"),
                (duration * 0.45, "The stretch")]
    side = first.get("side") or (sidecar or {}).get("side")
    out = [(start, "Starting position"),
           (hold, f"Hold ({side} side)" if side in ("left", "right") else "Hold")]
    other = next((r for r in reps[1:] if r.get("side") not in (None, side)), None)
    if other is not None:
        try:
            t = (float(other["in_position_s"]) + float(other["hold_end_s"])) / 2
            out.append((t, f"Hold ({other['side']} side)"))
        except (KeyError, TypeError, ValueError):
            other = None
    if other is None:
        out.insert(1, (into, "Moving into the stretch"))
    return out


def demo_stills(exercise_id: str, *, max_width: int = 480) -> list[Still]:
    """Two or three stills of the stretch's demonstration; [] without a usable clip.

    Args:
        exercise_id: stretch id.
        max_width: frames wider than this are scaled down (pixels).
    """
    import cv2

    found = demo_clip(exercise_id)
    if found is None:
        return []
    clip, sidecar = found
    cap = cv2.VideoCapture(str(clip))
    try:
        if not cap.isOpened():
            log.warning("demo clip %s cannot be opened", clip)
            return []
        fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        duration = n / fps if n else 10.0
        out = []
        for t, caption in _moments(sidecar, duration):
            index = max(0, min(round(t * fps), n - 1 if n else 0))
            cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = cap.read()
            if not ok or frame is None:
                continue
            h, w = frame.shape[:2]
            if w > max_width:
                frame = cv2.resize(frame, (max_width, round(h * max_width / w)),
                                   interpolation=cv2.INTER_AREA)
            out.append(Still(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), caption, index / fps))
        return out
    finally:
        cap.release()
