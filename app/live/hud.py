"""The live coach's on-video display, drawn from the same snapshot as the page's panel.

``hud_info(snapshot)`` says what the video shows; ``HudLayer`` draws it on every
frame cheaply. The display changes a few times a second at most (a rep, a state, a
second of the hold), while frames arrive 15-30 times a second, so the display is
drawn once per change and then *blended* onto each frame:

- drawing the display on a black and on a white picture gives, for every pixel, the
  affine map the drawing applies to it (``out = a * pixel + b``; text edges blend,
  the dark boxes behind text scale, everything else covers or leaves the pixel);
- pixels the display leaves alone are skipped; boxes that are only darkened are
  darkened in one pass as before; what it covers (boxes, and text a line at a
  time through a mask) is copied; the few remaining pixels (anti-aliased edges)
  get ``a * pixel + b`` by index.

The result equals ``pose.hud.draw_hud`` to within a few levels of 255 (the
rounding of the blends). The skeleton (new with every judged pose), the hold
ring's arc (it moves continuously) and its seconds (they change every second) are
drawn directly on each frame, so one blend serves a whole hold. Turning a new
display into a blend takes some milliseconds, so it is done in a background thread
while that display is drawn directly: no frame waits for it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from app.live.state import STATE_TEXT, LiveSnapshot
from exercises.engine import Phase
from pose.drawing import shade
from pose.frame import PoseFrame
from pose.hud import (
    HudInfo,
    draw_hold_arc,
    draw_hold_number,
    draw_hud,
    draw_hud_panel,
    draw_hud_skeleton,
)

__all__ = ["HudLayer", "hud_info"]

log = logging.getLogger(__name__)


def hud_info(snap: LiveSnapshot) -> HudInfo:
    """What the video shows for a snapshot (the same facts as the page's panel)."""
    state = snap.state
    if not snap.running and not snap.done and snap.frames == 0 and state != "loading":
        state = "ready"
    side = "" if not snap.side or snap.side == "both" else f"{snap.side.capitalize()} side"
    short = {"busy": f"Computer busy: {snap.fps:.0f} frames/s",
             "too_busy": f"Computer too busy: {snap.fps:.0f} frames/s",
             "slow": f"Computer too busy: video at {snap.incoming_fps:.0f} frames/s",
             "stalled": "Video stopped arriving",
             "loading": "Loading the coach..."}.get(snap.notice_kind)
    return HudInfo(
        state=state, state_text=STATE_TEXT.get(state, state), side_text=side,
        reps=snap.reps, reps_target=snap.reps_target, hold_s=snap.hold_s,
        hold_target_s=snap.hold_required_s if snap.phase == Phase.POSITION.value else 0.0,
        cue=snap.cue, countdown_s=snap.countdown_s, notice=short, done=snap.done)


Box = tuple[int, int, int, int]  # y0, y1, x0, x1 (end exclusive)


@dataclass(frozen=True)
class _Blend:
    """One drawn display as the per-pixel affine map it applies to a frame."""

    shade_boxes: tuple[Box, ...]                     # darkened whole
    cover_boxes: tuple[tuple[Box, np.ndarray], ...]  # copied whole
    masked: tuple[tuple[Box, np.ndarray, np.ndarray], ...]  # (box, patch, mask): copied
    index: np.ndarray    # (n,) indices into the flat (H * W * 3) bytes of the other pixels
    a: np.ndarray        # (n,) float32: out = a * byte + b
    b: np.ndarray        # (n,) float32 (with 0.5 added: the cast to uint8 rounds)

    def apply(self, image: np.ndarray) -> None:
        """Blend onto ``image`` ((H, W, 3) uint8, C-contiguous) in place."""
        flat = image.reshape(-1)
        values = flat[self.index] * self.a  # from the pixels as they were
        values += self.b
        for y0, y1, x0, x1 in self.shade_boxes:
            shade(image[y0:y1, x0:x1])
        for (y0, y1, x0, x1), patch in self.cover_boxes:
            image[y0:y1, x0:x1] = patch
        for (y0, y1, x0, x1), patch, mask in self.masked:
            cv2.copyTo(patch, mask, image[y0:y1, x0:x1])
        flat[self.index] = values.astype(np.uint8)  # (faster than np.take / np.put)


def _components(mask: np.ndarray) -> list[Box]:
    """Bounding boxes of the 8-connected parts of a boolean (H, W) mask, largest first."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    boxes = [(int(y), int(y + h), int(x), int(x + w)) for x, y, w, h, _ in stats[1:n]]
    return sorted(boxes, key=lambda b: (b[1] - b[0]) * (b[3] - b[2]), reverse=True)


def _rectangles(mask: np.ndarray) -> list[Box]:
    """Cover a boolean (H, W) mask exactly with rectangles: runs of each row, merged
    down while the next row has the same run (a frame's border becomes four boxes)."""
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), np.int8)
    padded[:, 1:-1] = mask
    d = np.diff(padded, axis=1)
    ys, x0s = np.nonzero(d == 1)
    x1s = np.nonzero(d == -1)[1]  # row by row, in step with the starts
    if ys.size == 0:
        return []
    # the runs in order of (x0, x1, row): a run continues the box of the one before it
    # when it is the same run on the next row
    order = np.lexsort((ys, x1s, x0s))
    y, x0, x1 = ys[order], x0s[order], x1s[order]
    new = np.ones(y.size, bool)
    new[1:] = (x0[1:] != x0[:-1]) | (x1[1:] != x1[:-1]) | (y[1:] != y[:-1] + 1)
    first = np.flatnonzero(new)
    last = np.append(first[1:], y.size) - 1
    return list(zip(y[first].tolist(), (y[last] + 1).tolist(), x0[first].tolist(),
                    x1[first].tolist(), strict=True))


def _build(h: int, w: int, hud: HudInfo) -> _Blend:
    black = np.zeros((h, w, 3), np.uint8)
    white = np.full((h, w, 3), 255, np.uint8)
    draw_hud_panel(black, hud, hold_number=False)
    draw_hud_panel(white, hud, hold_number=False)
    ref = np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8)
    shade(ref)
    bc, wc = cv2.split(black), cv2.split(white)

    def every(test: Callable[[np.ndarray, np.ndarray, int], np.ndarray]) -> np.ndarray:
        return test(bc[0], wc[0], 0) & test(bc[1], wc[1], 1) & test(bc[2], wc[2], 2)

    untouched = every(lambda b, w, _: (b == 0) & (w == 255))
    covered = every(lambda b, w, _: b == w)
    shaded = every(lambda b, w, c: (b == ref[0, 0, c]) & (w == ref[0, 1, c]))
    rest = ~untouched
    taken = np.zeros((h, w), bool)
    shade_boxes = []
    for y0, y1, x0, x1 in _components(shaded):
        if untouched[y0:y1, x0:x1].any() or taken[y0:y1, x0:x1].any():
            continue  # not a box of its own: its pixels are blended one by one
        taken[y0:y1, x0:x1] = True
        shade_boxes.append((y0, y1, x0, x1))
        rest[y0:y1, x0:x1] &= ~shaded[y0:y1, x0:x1]
    cover_boxes = []
    for y0, y1, x0, x1 in _rectangles(covered):
        if (y1 - y0) * (x1 - x0) >= 64:  # small ones: with their neighbours below
            cover_boxes.append(((y0, y1, x0, x1), black[y0:y1, x0:x1].copy()))
            rest[y0:y1, x0:x1] = False
            covered[y0:y1, x0:x1] = False
    # the other covered pixels (text, filled shapes) by area, a line of text at a time
    covered &= rest
    near = cv2.dilate(covered.view(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    masked = []
    for y0, y1, x0, x1 in _components(near):
        mask = covered[y0:y1, x0:x1]
        if mask.any():
            masked.append(((y0, y1, x0, x1), black[y0:y1, x0:x1].copy(),
                           mask.astype(np.uint8)))
    rest &= ~covered
    index = (np.flatnonzero(rest)[:, None] * 3 + np.arange(3)).ravel()
    bf = np.take(black.reshape(-1), index).astype(np.float32)
    wf = np.take(white.reshape(-1), index).astype(np.float32)
    return _Blend(tuple(shade_boxes), tuple(cover_boxes), tuple(masked), index.astype(np.intp),
                  (wf - bf) / 255.0, bf + 0.5)


class HudLayer:
    """Draws the live display on frames; its still part is drawn once per change.

    A display not seen before is drawn directly on the frame (``draw_hud``, what it
    cost before) while a background thread turns it into a blend for the next
    frames, so no frame waits for that work. ``background=False`` builds the blend
    at once (tests).

    ``draw`` may be called from one thread at a time (the video callback).

    Args:
        keep: how many displays to keep (a few: states come back, e.g. rest).
        background: build blends in a background thread.
        settle_frames: a display is made into a blend once it has been drawn on this
            many frames in a row (one that flickers past is not worth the work, which
            matters most on a busy computer).
    """

    def __init__(self, keep: int = 8, background: bool = True, settle_frames: int = 3
                 ) -> None:
        self.keep = keep
        self.background = background
        self.settle_frames = settle_frames
        self._last_key: tuple[int, int, HudInfo] | None = None
        self._streak = 0
        self._cache: OrderedDict[tuple[int, int, HudInfo], _Blend] = OrderedDict()
        self._lock = threading.Lock()
        self._wanted: tuple[int, int, HudInfo] | None = None
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self.builds = 0

    def draw(self, image: np.ndarray, pose: PoseFrame | None, hud: HudInfo, *,
             build: bool = True) -> np.ndarray:
        """Draw ``hud`` (and ``pose``'s skeleton) on ``image`` in place and return it.

        Args:
            image: (H, W, 3) uint8 RGB frame.
            pose: the pose to draw as a skeleton (pixels of ``image``), or None.
            hud: what to show.
            build: make new displays into blends (False: blends already made are
                used, new displays are only drawn directly; for a busy computer, where
                the background work would compete with the video connection).
        """
        h, w = image.shape[:2]
        # the still part does not depend on the hold: its seconds and arc are drawn on
        # each frame (so a hold counting down is blended from one display)
        still = replace(hud, hold_s=0.0)
        key = (h, w, still)
        self._streak = self._streak + 1 if key == self._last_key else 1
        self._last_key = key
        with self._lock:
            blend = self._cache.get(key)
            if blend is not None:
                self._cache.move_to_end(key)
            elif build and self.background and self._streak >= self.settle_frames:
                self._wanted = key
                self._wake.notify()
                self._start()
        if blend is None and build and not self.background:
            blend = self._store(key, _build(h, w, still))
        if blend is None or not image.flags.c_contiguous:
            return draw_hud(image, pose, hud, inplace=True)
        draw_hud_skeleton(image, pose, hud.state)
        blend.apply(image)
        draw_hold_number(image, hud)
        draw_hold_arc(image, hud)
        return image

    def _store(self, key: tuple[int, int, HudInfo], blend: _Blend) -> _Blend:
        with self._lock:
            self._cache[key] = blend
            self.builds += 1
            while len(self._cache) > self.keep:
                self._cache.popitem(last=False)
        return blend

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._work, daemon=True,
                                            name="stretch-coach-hud")
            self._thread.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                if self._wanted is None and not self._wake.wait(timeout=30.0):
                    self._thread = None  # idle: end; the next change starts another
                    return
                key, self._wanted = self._wanted, None
            if key is None or key in self._cache:
                continue
            try:
                self._store(key, _build(key[0], key[1], key[2]))
            except Exception:  # drawing directly goes on working
                log.exception("could not prepare the on-video display")
