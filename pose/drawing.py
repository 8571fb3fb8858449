"""Drawing primitives shared by the video overlay (``pose.overlay``) and the live
display (``pose.hud``): the palette, darkening the boxes behind text, wrapping text."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["AMBER", "GREEN", "GREY", "PANEL", "RED", "WHITE", "shade", "shade_rows", "wrap"]

GREEN = (60, 200, 90)
AMBER = (250, 180, 40)
RED = (235, 80, 60)
WHITE = (255, 255, 255)
GREY = (170, 170, 170)
PANEL = (25, 30, 40)


def wrap(text: str, max_chars: int) -> list[str]:
    """``text`` cut into lines of at most ``max_chars`` characters, at spaces."""
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


def shade_rows(img: np.ndarray, y0: int, y1: int) -> None:
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
    cv2.convertScaleAbs(img, dst=img, alpha=0.35, beta=0.65 * sum(PANEL) / 3)
