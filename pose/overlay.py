"""Overlay drawing: skeleton, the measured value against its target band, cues, counters.

Drawing is separate from judging: ``annotate(image, frame, info) -> image`` only
draws what it is given. ``OverlayInfo`` is a plain description of what to show,
built by the coach layer from the engine's feedback, so this module knows
nothing about stretches.

The live coach's display, made to be read from about 2 m, is ``pose.hud``; the
drawing primitives both share are in ``pose.drawing``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from pose.drawing import AMBER, GREEN, GREY, RED, WHITE, shade_rows, wrap
from pose.frame import PoseFrame
from pose.landmarks import SKELETON, Landmark

__all__ = ["OverlayInfo", "annotate"]


@dataclass
class OverlayInfo:
    """What to draw on one frame (all optional).

    Attributes:
        title: stretch name and side, e.g. "Neck side tilt (left)".
        label: name of the measured quantity, e.g. "Neck tilt".
        value: measured value (degrees or ratio), None if not measurable.
        unit: "deg" or "ratio".
        target: target band (low, high) in the value's unit.
        scale: (min, max) of the gauge.
        highlight: landmarks of the measured joints, drawn larger.
        cues: at most two short sentences.
        setup_message: shown instead of cues when the body can't be assessed.
        reps: repetitions done.
        reps_target: repetitions prescribed.
        hold_s: seconds held in the current repetition.
        hold_target_s: seconds required (0 = no hold).
        in_position: whether the value is in the target band now.
        faults: landmarks to mark red (a form fault involves them).
    """

    title: str = ""
    label: str = ""
    value: float | None = None
    unit: str = "deg"
    target: tuple[float, float] | None = None
    scale: tuple[float, float] = (0.0, 180.0)
    highlight: Sequence[Landmark] = ()
    cues: Sequence[str] = ()
    setup_message: str | None = None
    reps: int = 0
    reps_target: int = 0
    hold_s: float = 0.0
    hold_target_s: float = 0.0
    in_position: bool = False
    fault_landmarks: Sequence[Landmark] = field(default_factory=tuple)


def _pt(frame: PoseFrame, lm: Landmark) -> tuple[int, int] | None:
    p = frame.point(lm)
    if not (math.isfinite(p[0]) and math.isfinite(p[1])) or not frame.visible(lm, 0.3):
        return None
    return round(p[0]), round(p[1])


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float,
          color: tuple[int, int, int], thickness: int = 1) -> None:
    # A thicker black outline would change the glyph spacing and look doubled; a 1 px
    # drop shadow with the same thickness keeps the text crisp on any background.
    shadow = (org[0] + 1, org[1] + 1)
    cv2.putText(img, text, shadow, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness,
                cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, thickness, cv2.LINE_AA)


def annotate(image: np.ndarray, frame: PoseFrame | None, info: OverlayInfo | None = None
             ) -> np.ndarray:
    """Draw the skeleton and the coaching panel on a copy of ``image``.

    Args:
        image: (H, W, 3) uint8 RGB image.
        frame: the pose in this image (pixels), or None.
        info: what to show; None draws the skeleton only.

    Returns:
        A new (H, W, 3) uint8 RGB image.
    """
    out = image.copy()
    h, w = out.shape[:2]
    s = max(0.5, min(w, h) / 480.0)
    info = info or OverlayInfo()
    if frame is not None and not frame.is_empty:
        bone = GREEN if info.in_position else WHITE
        for a, b in SKELETON:
            pa, pb = _pt(frame, a), _pt(frame, b)
            if pa and pb:
                cv2.line(out, pa, pb, bone, max(1, round(2 * s)), cv2.LINE_AA)
        for lm in Landmark:
            p = _pt(frame, lm)
            if p:
                cv2.circle(out, p, max(2, round(3 * s)), GREY, -1, cv2.LINE_AA)
        for lm in info.highlight:
            p = _pt(frame, lm)
            if p:
                color = RED if lm in info.fault_landmarks else (
                    GREEN if info.in_position else AMBER)
                cv2.circle(out, p, max(4, round(7 * s)), color, -1, cv2.LINE_AA)
                cv2.circle(out, p, max(4, round(7 * s)), (0, 0, 0), 1, cv2.LINE_AA)
    _panel(out, info, s)
    return out


def _panel(out: np.ndarray, info: OverlayInfo, s: float) -> None:
    h, w = out.shape[:2]
    pad = round(8 * s)
    panel_h = round(74 * s)
    shade_rows(out, 0, panel_h)
    if info.title:
        _text(out, info.title, (pad, round(20 * s)), 0.55 * s, WHITE, 1)
    # rep counter, top right
    if info.reps_target:
        reps = f"Reps {info.reps}/{info.reps_target}"
        _text(out, reps, (w - round(120 * s), round(22 * s)), 0.6 * s, WHITE, max(1, round(s)))
    # hold bar
    if info.hold_target_s > 0:
        x0, y0, bw, bh = w - round(120 * s), round(32 * s), round(110 * s), round(12 * s)
        frac = max(0.0, min(1.0, info.hold_s / info.hold_target_s))
        cv2.rectangle(out, (x0, y0), (x0 + bw, y0 + bh), GREY, 1)
        cv2.rectangle(out, (x0, y0), (x0 + round(bw * frac), y0 + bh),
                      GREEN if frac >= 1 else AMBER, -1)
        _text(out, f"Hold {info.hold_s:4.1f}/{info.hold_target_s:g}s",
              (x0, y0 + bh + round(14 * s)), 0.42 * s, WHITE)
    # gauge: value against the target band
    if info.target is not None:
        lo_s, hi_s = info.scale
        x0, y0 = pad, round(32 * s)
        gw, gh = min(round(240 * s), w // 2), round(12 * s)

        def gx(v: float) -> int:
            f = (v - lo_s) / (hi_s - lo_s) if hi_s != lo_s else 0.0
            return x0 + round(gw * max(0.0, min(1.0, f)))

        cv2.rectangle(out, (x0, y0), (x0 + gw, y0 + gh), GREY, 1)
        cv2.rectangle(out, (gx(info.target[0]), y0), (gx(info.target[1]), y0 + gh), GREEN, -1)
        if info.value is not None and math.isfinite(info.value):
            x = gx(info.value)
            cv2.rectangle(out, (x - 2, y0 - 3), (x + 2, y0 + gh + 3), WHITE, -1)
            unit = "°" if info.unit == "deg" else ""
            val = f"{info.value:.0f}{unit}" if info.unit == "deg" else f"{info.value:.2f}"
            _text(out, f"{info.label}: {val.replace('°', ' deg')}",
                  (x0, y0 + gh + round(16 * s)), 0.45 * s, WHITE)
    # cues at the bottom
    messages = [info.setup_message] if info.setup_message else list(info.cues)[:2]
    color = AMBER if info.setup_message else WHITE
    lines: list[str] = []
    for m in messages:
        lines.extend(wrap(m, max(20, int(w / (11 * s)))))
    if lines:
        line_h = round(24 * s)
        top = h - line_h * len(lines) - pad
        shade_rows(out, top - pad, h)
        for i, line in enumerate(lines):
            _text(out, line, (pad, top + line_h * i + round(16 * s)), 0.6 * s, color, 1)
