"""Compact encodings of the replay data kept with a session.

- ``primary``: the report's primary-measure series ``{"t": [...], "<side>": [...]}``,
  JSON compressed with zlib.
- ``landmarks``: pixel landmarks per frame, quantised to 1/4 px in int16 (NaN =
  not seen), visibility in uint8 (1/255), timestamps in float32, in a compressed
  ``.npz`` read back without pickle.
"""

from __future__ import annotations

import io
import json
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["LandmarkSeries", "decode_landmarks", "decode_primary", "encode_landmarks",
           "encode_primary"]

PRIMARY_ENCODING = "json+zlib"
LANDMARKS_ENCODING = "npz-q4-v1"
_Q = 4.0                 # quantisation steps per pixel
_MISSING = -32768


@dataclass(frozen=True)
class LandmarkSeries:
    """Landmarks over time.

    Attributes:
        t: (N,) seconds from the session start.
        xy: (N, K, 2) pixel coordinates, NaN where not seen (|value| < 8191 px).
        visibility: (N, K) 0..1, or None.
    """

    t: np.ndarray
    xy: np.ndarray
    visibility: np.ndarray | None = None

    def __post_init__(self) -> None:
        t, xy = np.asarray(self.t, float), np.asarray(self.xy, float)
        if t.ndim != 1:
            raise ValueError(f"t: expected shape (N,), got {t.shape}")
        if xy.ndim != 3 or xy.shape[0] != t.shape[0] or xy.shape[2] != 2:
            raise ValueError(f"xy: expected shape ({t.shape[0]}, K, 2), got {xy.shape}")
        if self.visibility is not None and np.shape(self.visibility) != xy.shape[:2]:
            raise ValueError(f"visibility: expected shape {xy.shape[:2]}, "
                             f"got {np.shape(self.visibility)}")


def encode_primary(series: dict[str, Any]) -> bytes:
    """zlib-compressed JSON of a primary-measure series (no NaN: None instead)."""
    return zlib.compress(json.dumps(series, separators=(",", ":"), allow_nan=False)
                         .encode("utf-8"), 6)


def decode_primary(data: bytes) -> dict[str, list[float | None]]:
    """Inverse of ``encode_primary``."""
    return json.loads(zlib.decompress(data).decode("utf-8"))


def encode_landmarks(series: LandmarkSeries) -> bytes:
    """Compact bytes for ``series`` (about 1/4 px precision)."""
    xy = np.asarray(series.xy, float)
    if np.nanmax(np.abs(xy), initial=0.0) >= 8191:
        raise ValueError("landmark coordinates beyond +-8191 px cannot be stored")
    q = np.where(np.isfinite(xy), np.round(xy * _Q), _MISSING).astype(np.int16)
    arrays = {"t": np.asarray(series.t, np.float32), "xy": q}
    if series.visibility is not None:
        vis = np.clip(np.nan_to_num(np.asarray(series.visibility, float)), 0, 1)
        arrays["vis"] = np.round(vis * 255).astype(np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def decode_landmarks(data: bytes) -> LandmarkSeries:
    """Inverse of ``encode_landmarks``."""
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        q = z["xy"]
        xy = np.where(q == _MISSING, np.nan, q.astype(float) / _Q)
        vis = z["vis"].astype(float) / 255 if "vis" in z.files else None
        return LandmarkSeries(t=z["t"].astype(float), xy=xy, visibility=vis)
