"""Overlay drawing: skeleton, the measured value against its target band, cues, counters.

Drawing is separate from judging: ``annotate(image, frame, info) -> image`` only
draws what it is given. ``OverlayInfo`` is a plain description of what to show,
built by the coach layer from the engine's feedback, so this module knows
nothing about stretches.

``draw_hud(image, frame, hud)`` is the live coach's display, made to be read from
about 2 m: a state colour around the whole picture and in a label, a large rep
count, a hold countdown ring and one cue, all sized from the picture's height
(the same proportions at 640x480 and 1280x720).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

from pose.frame import PoseFrame
from pose.landmarks import SKELETON, Landmark

__all__ = [
    "STATE_COLORS",
    "HudInfo",
    "OverlayInfo",
    "annotate",
    "draw_hold_arc",
    "draw_hold_number",
    "draw_hud",
    "draw_hud_panel",
    "draw_hud_skeleton",
    "hold_seconds_left",
    "shade",
]

_GREEN = (60, 200, 90)
_AMBER = (250, 180, 40)
_RED = (235, 80, 60)
_WHITE = (255, 255, 255)
_GREY = (170, 170, 170)
_PANEL = (25, 30, 40)


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


def _wrap(text: str, max_chars: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for w in words:
        if len(line) + len(w) + 1 > max_chars and line:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    if line:
        lines.append(line)
    return lines


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
        bone = _GREEN if info.in_position else _WHITE
        for a, b in SKELETON:
            pa, pb = _pt(frame, a), _pt(frame, b)
            if pa and pb:
                cv2.line(out, pa, pb, bone, max(1, round(2 * s)), cv2.LINE_AA)
        for lm in Landmark:
            p = _pt(frame, lm)
            if p:
                cv2.circle(out, p, max(2, round(3 * s)), _GREY, -1, cv2.LINE_AA)
        for lm in info.highlight:
            p = _pt(frame, lm)
            if p:
                color = _RED if lm in info.fault_landmarks else (
                    _GREEN if info.in_position else _AMBER)
                cv2.circle(out, p, max(4, round(7 * s)), color, -1, cv2.LINE_AA)
                cv2.circle(out, p, max(4, round(7 * s)), (0, 0, 0), 1, cv2.LINE_AA)
    _panel(out, info, s)
    return out


def _shade(img: np.ndarray, y0: int, y1: int) -> None:
    """Darken rows y0..y1 toward the panel colour in place (only that band is touched).

    One pass: 0.35 x pixel + 0.65 x the panel's grey level (about 30).
    """
    y0, y1 = max(0, y0), min(img.shape[0], y1)
    if y1 <= y0:
        return
    shade(img[y0:y1])


def shade(img: np.ndarray) -> None:
    """Darken ``img`` toward the panel colour in place (the boxes behind text).

    One pass: 0.35 x pixel + 0.65 x the panel's grey level (about 30).
    """
    cv2.convertScaleAbs(img, dst=img, alpha=0.35, beta=0.65 * sum(_PANEL) / 3)


def _panel(out: np.ndarray, info: OverlayInfo, s: float) -> None:
    h, w = out.shape[:2]
    pad = round(8 * s)
    panel_h = round(74 * s)
    _shade(out, 0, panel_h)
    if info.title:
        _text(out, info.title, (pad, round(20 * s)), 0.55 * s, _WHITE, 1)
    # rep counter, top right
    if info.reps_target:
        reps = f"Reps {info.reps}/{info.reps_target}"
        _text(out, reps, (w - round(120 * s), round(22 * s)), 0.6 * s, _WHITE, max(1, round(s)))
    # hold bar
    if info.hold_target_s > 0:
        x0, y0, bw, bh = w - round(120 * s), round(32 * s), round(110 * s), round(12 * s)
        frac = max(0.0, min(1.0, info.hold_s / info.hold_target_s))
        cv2.rectangle(out, (x0, y0), (x0 + bw, y0 + bh), _GREY, 1)
        cv2.rectangle(out, (x0, y0), (x0 + round(bw * frac), y0 + bh),
                      _GREEN if frac >= 1 else _AMBER, -1)
        _text(out, f"Hold {info.hold_s:4.1f}/{info.hold_target_s:g}s",
              (x0, y0 + bh + round(14 * s)), 0.42 * s, _WHITE)
    # gauge: value against the target band
    if info.target is not None:
        lo_s, hi_s = info.scale
        x0, y0 = pad, round(32 * s)
        gw, gh = min(round(240 * s), w // 2), round(12 * s)

        def gx(v: float) -> int:
            f = (v - lo_s) / (hi_s - lo_s) if hi_s != lo_s else 0.0
            return x0 + round(gw * max(0.0, min(1.0, f)))

        cv2.rectangle(out, (x0, y0), (x0 + gw, y0 + gh), _GREY, 1)
        cv2.rectangle(out, (gx(info.target[0]), y0), (gx(info.target[1]), y0 + gh), _GREEN, -1)
        if info.value is not None and math.isfinite(info.value):
            x = gx(info.value)
            cv2.rectangle(out, (x - 2, y0 - 3), (x + 2, y0 + gh + 3), _WHITE, -1)
            unit = "°" if info.unit == "deg" else ""
            val = f"{info.value:.0f}{unit}" if info.unit == "deg" else f"{info.value:.2f}"
            _text(out, f"{info.label}: {val.replace('°', ' deg')}",
                  (x0, y0 + gh + round(16 * s)), 0.45 * s, _WHITE)
    # cues at the bottom
    messages = [info.setup_message] if info.setup_message else list(info.cues)[:2]
    color = _AMBER if info.setup_message else _WHITE
    lines: list[str] = []
    for m in messages:
        lines.extend(_wrap(m, max(20, int(w / (11 * s)))))
    if lines:
        line_h = round(24 * s)
        top = h - line_h * len(lines) - pad
        _shade(out, top - pad, h)
        for i, line in enumerate(lines):
            _text(out, line, (pad, top + line_h * i + round(16 * s)), 0.6 * s, color, 1)


# --------------------------------------------------------------------------- live display

#: Colour (RGB) of each display state: one colour per meaning, readable at a glance.
STATE_COLORS: dict[str, tuple[int, int, int]] = {
    "loading": (110, 120, 140),
    "countdown": (110, 120, 140),
    "ready": (110, 120, 140),      # getting ready: slate grey
    "rest": (40, 120, 230),        # rest: blue
    "moving": (240, 170, 20),      # into position: amber
    "position": (30, 180, 70),     # in position: green
    "ease": (230, 60, 40),         # ease off: red
    "done": (30, 180, 70),         # set complete: green
    "paused": (110, 120, 140),
}
_DARK_TEXT_ON = {"moving"}        # amber is too light for white text
_FONT = cv2.FONT_HERSHEY_DUPLEX


@dataclass(frozen=True)
class HudInfo:
    """What the live display shows (built from the live snapshot by the app).

    Attributes:
        state: a key of ``STATE_COLORS``.
        state_text: the words for the state, e.g. "In position".
        side_text: e.g. "Left side" ("" when not sided).
        reps / reps_target: counted and prescribed repetitions (all sides).
        hold_s / hold_target_s: seconds held now and asked for (0: no hold shown).
        cue: the one sentence to show now (None: none).
        countdown_s: seconds left of the "get ready" countdown (0: none).
        notice: a short line about the computer or the connection (None: none).
        done: the set is complete.
    """

    state: str = "ready"
    state_text: str = ""
    side_text: str = ""
    reps: int = 0
    reps_target: int = 0
    hold_s: float = 0.0
    hold_target_s: float = 0.0
    cue: str | None = None
    countdown_s: float = 0.0
    notice: str | None = None
    done: bool = False


@lru_cache(maxsize=512)
def _text_scale(text: str, height_px: float, thickness: int, max_width_px: float | None = None
                ) -> float:
    """Font scale giving capital letters ``height_px`` tall (smaller if wider than allowed)."""
    (tw, th), _ = cv2.getTextSize(text, _FONT, 1.0, thickness)
    scale = height_px / max(th, 1)
    if max_width_px is not None and tw * scale > max_width_px:
        scale = max_width_px / max(tw, 1)
    return scale


def _big_text(img: np.ndarray, text: str, org: tuple[int, int], scale: float,
              color: tuple[int, int, int], thickness: int, outline: bool = True) -> None:
    if outline:
        cv2.putText(img, text, org, _FONT, scale, (0, 0, 0), thickness + max(2, thickness),
                    cv2.LINE_AA)
    cv2.putText(img, text, org, _FONT, scale, color, thickness, cv2.LINE_AA)


@lru_cache(maxsize=512)
def _text_size(text: str, scale: float, thickness: int) -> tuple[int, int]:
    (tw, th), _ = cv2.getTextSize(text, _FONT, scale, thickness)
    return tw, th


def _shade_box(img: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> None:
    """Darken the box x0..x1, y0..y1 toward the panel colour in place."""
    x0, x1 = max(0, x0), min(img.shape[1], x1)
    if x1 > x0:
        _shade(img[:, x0:x1], y0, y1)


def draw_hud(image: np.ndarray, frame: PoseFrame | None, hud: HudInfo, *,
             inplace: bool = False) -> np.ndarray:
    """Draw the live coaching display, readable from about 2 m.

    Sizes are fractions of the picture's height ``u = h / 100``: rep count 13u tall,
    hold seconds 10u, state label and cue 5.5u, state border 1.4u.

    The same as :func:`draw_hud_skeleton`, then :func:`draw_hud_panel`, then
    :func:`draw_hold_arc` (the live coach draws the panel once per change and
    blends it, see ``app.live.hud.HudLayer``).

    Args:
        image: (H, W, 3) uint8 RGB image.
        frame: the pose to draw as a skeleton (pixels of ``image``), or None.
        hud: what to show.
        inplace: draw on ``image`` itself instead of a copy.

    Returns:
        The (H, W, 3) uint8 RGB image drawn on.
    """
    out = image if inplace else image.copy()
    draw_hud_skeleton(out, frame, hud.state)
    draw_hud_panel(out, hud)
    draw_hold_arc(out, hud)
    return out


def draw_hud_skeleton(out: np.ndarray, frame: PoseFrame | None, state: str) -> None:
    """The live display's skeleton, in place: thin, in the state colour when in position.

    Args:
        out: (H, W, 3) uint8 RGB image drawn on.
        frame: the pose (pixels of ``out``), or None (nothing drawn).
        state: the display state (a key of ``STATE_COLORS``).
    """
    if frame is None or frame.is_empty:
        return
    u = out.shape[0] / 100.0
    color = STATE_COLORS.get(state, STATE_COLORS["ready"])
    bone = color if state in ("position", "ease") else _WHITE
    lw = max(2, round(0.6 * u))
    xy = frame.xy
    ok = np.isfinite(xy).all(axis=1) & (frame.visibility >= 0.3)
    pts = np.where(ok[:, None], xy, 0).round().astype(int).tolist()
    for a, b in SKELETON:
        if ok[a] and ok[b]:
            cv2.line(out, pts[a], pts[b], bone, lw, cv2.LINE_AA)


def _hold_ring(h: int, w: int, hud: HudInfo) -> tuple[int, int, int] | None:
    """Centre x, y and radius (pixels) of the hold ring, None when no hold is shown."""
    if hud.hold_target_s <= 0 or hud.done:
        return None
    return _ring_at(h, w, hud.reps, hud.reps_target)


@lru_cache(maxsize=64)
def _ring_at(h: int, w: int, reps_done: int, reps_target: int) -> tuple[int, int, int]:
    u = h / 100.0
    pad = round(2.5 * u)
    right = w - pad
    ring_top = pad
    if reps_target:
        small_t = max(1, round(0.4 * u))
        reps = f"{reps_done}/{reps_target}"
        rt = max(2, round(1.3 * u))
        rs = _text_scale(reps, 13 * u, rt, max_width_px=w * 0.35)
        _, rh = _text_size(reps, rs, rt)
        cs = _text_scale("REPS", 3.6 * u, small_t)
        _, chh = _text_size("REPS", cs, small_t)
        ring_top = pad + chh + round(2 * u) + rh + round(3 * u)
    r = round(9.5 * u)
    return right - r, ring_top + r, r


def hold_seconds_left(hud: HudInfo) -> int:
    """The whole seconds of the hold left, as the display shows them."""
    return max(0, math.ceil(hud.hold_target_s - hud.hold_s - 1e-6))


def draw_hold_arc(out: np.ndarray, hud: HudInfo) -> None:
    """The hold ring's progress arc, in place (the part of the display that moves)."""
    ring = _hold_ring(out.shape[0], out.shape[1], hud)
    if ring is None:
        return
    frac = max(0.0, min(1.0, hud.hold_s / hud.hold_target_s))
    if frac <= 0:
        return
    cx, cy, r = ring
    u = out.shape[0] / 100.0
    color = STATE_COLORS.get(hud.state, STATE_COLORS["ready"])
    cv2.ellipse(out, (cx, cy), (r, r), -90, 0, 360 * frac, color,
                max(3, round(1.2 * u)), cv2.LINE_AA)


def draw_hold_number(out: np.ndarray, hud: HudInfo) -> None:
    """The seconds of the hold left, in the hold ring, in place (the part of the ring
    that changes every second; inside the ring, clear of the arc)."""
    ring = _hold_ring(out.shape[0], out.shape[1], hud)
    if ring is None:
        return
    cx, cy, _ = ring
    u = out.shape[0] / 100.0
    num = str(hold_seconds_left(hud))
    nt = max(2, round(1.0 * u))
    ns = _text_scale(num, 9 * u, nt)
    nw, nh = _text_size(num, ns, nt)
    _big_text(out, num, (cx - nw // 2, cy + nh // 2), ns, _WHITE, nt, outline=False)


def draw_hud_panel(out: np.ndarray, hud: HudInfo, *, hold_number: bool = True) -> None:
    """The live display without the skeleton and the hold arc, in place.

    Depends on ``hud.hold_s`` only through :func:`hold_seconds_left` (the number in the
    hold ring); ``hold_number=False`` leaves that number out (then drawn on each frame
    by :func:`draw_hold_number`), and the panel does not depend on ``hud.hold_s``.
    """
    h, w = out.shape[:2]
    u = h / 100.0
    color = STATE_COLORS.get(hud.state, STATE_COLORS["ready"])
    # state border around the whole picture
    bt = max(4, round(1.4 * u))
    cv2.rectangle(out, (bt // 2, bt // 2), (w - 1 - bt // 2, h - 1 - bt // 2), color, bt)
    pad = round(2.5 * u)
    # state label, top left, on a filled chip of the state colour
    label = (hud.state_text or hud.state).upper()
    th_px = 5.5 * u
    thick = max(1, round(0.55 * u))
    sc = _text_scale(label, th_px, thick, max_width_px=w * 0.55)
    tw, tht = _text_size(label, sc, thick)
    x0, y0 = pad, pad
    cv2.rectangle(out, (x0, y0), (x0 + tw + 2 * round(1.6 * u), y0 + tht + 2 * round(1.6 * u)),
                  color, -1)
    txt_col = (20, 20, 20) if hud.state in _DARK_TEXT_ON else _WHITE
    cv2.putText(out, label, (x0 + round(1.6 * u), y0 + tht + round(1.6 * u)), _FONT, sc,
                txt_col, thick, cv2.LINE_AA)
    below = y0 + tht + 2 * round(1.6 * u) + round(1.2 * u)
    small_px, small_t = 3.6 * u, max(1, round(0.4 * u))
    for line in (hud.side_text, hud.notice):
        if line:
            s2 = _text_scale(line, small_px, small_t, max_width_px=w * 0.6)
            lw2, lh2 = _text_size(line, s2, small_t)
            _shade(out[:, : x0 + lw2 + 2 * round(u)], below - round(u), below + lh2 + round(u))
            _big_text(out, line, (x0 + round(0.5 * u), below + lh2), s2,
                      _AMBER if line == hud.notice else _WHITE, small_t, outline=False)
            below += lh2 + round(2.2 * u)
    # rep count, top right: "2/3" large with "REPS" above
    right = w - pad
    if hud.reps_target:
        reps = f"{hud.reps}/{hud.reps_target}"
        rt = max(2, round(1.3 * u))
        rs = _text_scale(reps, 13 * u, rt, max_width_px=w * 0.35)
        rw, rh = _text_size(reps, rs, rt)
        cap = "REPS"
        cs = _text_scale(cap, 3.6 * u, small_t)
        cw, chh = _text_size(cap, cs, small_t)
        m = round(1.5 * u)  # a dark box behind the count: readable on any background
        _shade_box(out, right - max(rw, cw) - m, pad - m, right + m,
                   pad + chh + round(2 * u) + rh + m)
        _big_text(out, cap, (right - cw, pad + chh), cs, _WHITE, small_t)
        _big_text(out, reps, (right - rw, pad + chh + round(2 * u) + rh), rs, _WHITE, rt)
    # hold countdown ring, under the rep count: seconds left, large (the arc that
    # fills it is drawn by draw_hold_arc, over the ring, under nothing else)
    ring = _hold_ring(h, w, hud)
    if ring is not None:
        cx, cy, r = ring
        cv2.circle(out, (cx, cy), r, (25, 30, 40), -1, cv2.LINE_AA)
        cv2.circle(out, (cx, cy), r, _GREY, max(2, round(0.5 * u)), cv2.LINE_AA)
        if hold_number:
            draw_hold_number(out, hud)
        cap = "HOLD"
        cs = _text_scale(cap, 3.0 * u, small_t)
        cw, chh = _text_size(cap, cs, small_t)
        _big_text(out, cap, (cx - cw // 2, cy + r + round(1.5 * u) + chh), cs, _WHITE, small_t)
    # countdown before the first rep: a large number in the middle
    if hud.countdown_s > 0:
        num = str(max(1, math.ceil(hud.countdown_s)))
        nt = max(3, round(2.5 * u))
        ns = _text_scale(num, 30 * u, nt)
        nw, nh = _text_size(num, ns, nt)
        _big_text(out, num, ((w - nw) // 2, (h + nh) // 2), ns, _WHITE, nt)
        cap = "Starting in"
        cs = _text_scale(cap, 6 * u, thick)
        cw, chh = _text_size(cap, cs, thick)
        _big_text(out, cap, ((w - cw) // 2, (h - nh) // 2 - round(4 * u)), cs, _WHITE, thick)
    if hud.done:
        big = "Set complete"
        bt2 = max(2, round(1.2 * u))
        bs = _text_scale(big, 11 * u, bt2, max_width_px=w * 0.8)
        bw, bh = _text_size(big, bs, bt2)
        _shade(out, (h - bh) // 2 - round(4 * u), (h + bh) // 2 + round(4 * u))
        _big_text(out, big, ((w - bw) // 2, (h + bh) // 2), bs, _WHITE, bt2)
    # one cue at the bottom, up to two lines
    if hud.cue and not hud.done:
        ct = max(1, round(0.55 * u))
        cpx = 5.5 * u
        sc1 = _text_scale("Hg", cpx, ct)
        char_w = max(1, _text_size("abcdefghij", sc1, ct)[0] / 10)
        lines = _wrap(hud.cue, max(12, int((w - 2 * pad) / char_w)))[:2]
        line_h = round(8.5 * u)
        top = h - bt - round(1.5 * u) - line_h * len(lines)
        _shade(out, top - round(u), h - bt)
        for i, line in enumerate(lines):
            lw3, _ = _text_size(line, sc1, ct)
            _big_text(out, line, ((w - lw3) // 2, top + line_h * i + round(6.5 * u)), sc1,
                      _WHITE, ct, outline=False)
    return out
