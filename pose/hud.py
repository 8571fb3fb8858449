"""The live coach's display, made to be read from about 2 m.

``draw_hud(image, frame, hud)`` draws a state colour around the whole picture and
in a label, a large rep count, a hold countdown ring and one cue, all sized from
the picture's height (the same proportions at 640x480 and 1280x720). ``HudInfo``
is a plain description of what to show, built by the app from the live snapshot;
``app.live.hud.HudLayer`` draws the still part once per change and blends it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from pose.drawing import AMBER, GREY, WHITE, shade_rows, wrap
from pose.frame import PoseFrame
from pose.landmarks import SKELETON

__all__ = [
    "STATE_COLORS",
    "HudInfo",
    "draw_hold_arc",
    "draw_hold_number",
    "draw_hud",
    "draw_hud_panel",
    "draw_hud_skeleton",
    "hold_seconds_left",
]


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
        shade_rows(img[:, x0:x1], y0, y1)


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
    bone = color if state in ("position", "ease") else WHITE
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
    _big_text(out, num, (cx - nw // 2, cy + nh // 2), ns, WHITE, nt, outline=False)


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
    txt_col = (20, 20, 20) if hud.state in _DARK_TEXT_ON else WHITE
    cv2.putText(out, label, (x0 + round(1.6 * u), y0 + tht + round(1.6 * u)), _FONT, sc,
                txt_col, thick, cv2.LINE_AA)
    below = y0 + tht + 2 * round(1.6 * u) + round(1.2 * u)
    small_px, small_t = 3.6 * u, max(1, round(0.4 * u))
    for line in (hud.side_text, hud.notice):
        if line:
            s2 = _text_scale(line, small_px, small_t, max_width_px=w * 0.6)
            lw2, lh2 = _text_size(line, s2, small_t)
            shade_rows(out[:, : x0 + lw2 + 2 * round(u)], below - round(u), below + lh2 + round(u))
            _big_text(out, line, (x0 + round(0.5 * u), below + lh2), s2,
                      AMBER if line == hud.notice else WHITE, small_t, outline=False)
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
        _big_text(out, cap, (right - cw, pad + chh), cs, WHITE, small_t)
        _big_text(out, reps, (right - rw, pad + chh + round(2 * u) + rh), rs, WHITE, rt)
    # hold countdown ring, under the rep count: seconds left, large (the arc that
    # fills it is drawn by draw_hold_arc, over the ring, under nothing else)
    ring = _hold_ring(h, w, hud)
    if ring is not None:
        cx, cy, r = ring
        cv2.circle(out, (cx, cy), r, (25, 30, 40), -1, cv2.LINE_AA)
        cv2.circle(out, (cx, cy), r, GREY, max(2, round(0.5 * u)), cv2.LINE_AA)
        if hold_number:
            draw_hold_number(out, hud)
        cap = "HOLD"
        cs = _text_scale(cap, 3.0 * u, small_t)
        cw, chh = _text_size(cap, cs, small_t)
        _big_text(out, cap, (cx - cw // 2, cy + r + round(1.5 * u) + chh), cs, WHITE, small_t)
    # countdown before the first rep: a large number in the middle
    if hud.countdown_s > 0:
        num = str(max(1, math.ceil(hud.countdown_s)))
        nt = max(3, round(2.5 * u))
        ns = _text_scale(num, 30 * u, nt)
        nw, nh = _text_size(num, ns, nt)
        _big_text(out, num, ((w - nw) // 2, (h + nh) // 2), ns, WHITE, nt)
        cap = "Starting in"
        cs = _text_scale(cap, 6 * u, thick)
        cw, chh = _text_size(cap, cs, thick)
        _big_text(out, cap, ((w - cw) // 2, (h - nh) // 2 - round(4 * u)), cs, WHITE, thick)
    if hud.done:
        big = "Set complete"
        bt2 = max(2, round(1.2 * u))
        bs = _text_scale(big, 11 * u, bt2, max_width_px=w * 0.8)
        bw, bh = _text_size(big, bs, bt2)
        shade_rows(out, (h - bh) // 2 - round(4 * u), (h + bh) // 2 + round(4 * u))
        _big_text(out, big, ((w - bw) // 2, (h + bh) // 2), bs, WHITE, bt2)
    # one cue at the bottom, up to two lines
    if hud.cue and not hud.done:
        ct = max(1, round(0.55 * u))
        cpx = 5.5 * u
        sc1 = _text_scale("Hg", cpx, ct)
        char_w = max(1, _text_size("abcdefghij", sc1, ct)[0] / 10)
        lines = wrap(hud.cue, max(12, int((w - 2 * pad) / char_w)))[:2]
        line_h = round(8.5 * u)
        top = h - bt - round(1.5 * u) - line_h * len(lines)
        shade_rows(out, top - round(u), h - bt)
        for i, line in enumerate(lines):
            lw3, _ = _text_size(line, sc1, ct)
            _big_text(out, line, ((w - lw3) // 2, top + line_h * i + round(6.5 * u)), sc1,
                      WHITE, ct, outline=False)
    return out
