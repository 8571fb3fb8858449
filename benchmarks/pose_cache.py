"""Record and replay the pose model's output for a video, so a benchmark can re-judge
the same clips (new definitions, a reworked engine) without re-running the model.

``RecordingEstimator`` wraps a real ``pose.estimator.PoseEstimator`` and keeps every
``PoseFrame`` it returns (a recording run judges every frame, so the cache is complete);
``ReplayEstimator`` hands the frame recorded at each asked timestamp back, passing over
the frames a skipping analysis does not ask for. Stretches read from the face model are
not cached (the cache holds pose landmarks only). Everything else in the
analysis (decoding, smoothing, trackers, report) runs for real either way.

A cache file is keyed by the video's bytes (SHA-256), the model file's name and size,
and the analysis options that change what the model sees (``max_side``,
``num_poses``, ``people_check_s``); a changed clip or model is a cache miss.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pose.frame import PoseFrame
from pose.landmarks import NUM_LANDMARKS

__all__ = ["CacheKey", "RecordingEstimator", "ReplayEstimator", "load_frames", "save_frames"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CacheKey:
    """What a recording depends on."""

    video_sha256: str
    model: str
    max_side: int | None
    num_poses: int
    people_check_s: float | None

    @classmethod
    def for_video(cls, video: str | os.PathLike[str], model_path: str | os.PathLike[str],
                  max_side: int | None, num_poses: int,
                  people_check_s: float | None) -> CacheKey:
        """Build the key for ``video`` analysed with ``model_path`` and these options."""
        h = hashlib.sha256()
        with open(video, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        mp = Path(model_path)
        model = f"{mp.name}:{mp.stat().st_size if mp.exists() else 0}"
        return cls(h.hexdigest(), model, max_side, num_poses, people_check_s)

    def file_name(self) -> str:
        """A file name unique to this key (``.npz``)."""
        blob = json.dumps(self.__dict__, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:24] + ".npz"


def save_frames(path: str | os.PathLike[str], frames: list[PoseFrame], key: CacheKey) -> None:
    """Write ``frames`` (in stream order) to ``path`` (numpy ``.npz``)."""
    n = len(frames)
    xy = np.full((n, NUM_LANDMARKS, 2), np.nan)
    vis = np.zeros((n, NUM_LANDMARKS))
    world = np.full((n, NUM_LANDMARKS, 3), np.nan)
    has_world = np.zeros(n, bool)
    t = np.zeros(n)
    people = np.zeros(n, np.int32)
    empty = np.zeros(n, bool)
    size = np.zeros((n, 2), np.int32)
    for i, f in enumerate(frames):
        t[i] = f.timestamp_s
        people[i] = f.num_people
        empty[i] = f.is_empty
        size[i] = f.image_size
        xy[i] = f.xy
        vis[i] = f.visibility
        if f.world is not None:
            world[i] = f.world
            has_world[i] = True
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, xy=xy, vis=vis, world=world, has_world=has_world, t=t,
                        people=people, empty=empty, size=size,
                        key=np.array(json.dumps(key.__dict__)))
    os.replace(tmp, path)


def load_frames(path: str | os.PathLike[str]) -> list[PoseFrame]:
    """Read frames written by ``save_frames``."""
    z = np.load(path)
    out: list[PoseFrame] = []
    for i in range(len(z["t"])):
        size = (int(z["size"][i][0]), int(z["size"][i][1]))
        t = float(z["t"][i])
        if z["empty"][i]:
            out.append(PoseFrame.empty(t, size, num_people=int(z["people"][i])))
            continue
        out.append(PoseFrame(xy=z["xy"][i].copy(), visibility=z["vis"][i].copy(), timestamp_s=t,
                             image_size=size,
                             world=z["world"][i].copy() if z["has_world"][i] else None,
                             num_people=int(z["people"][i])))
    return out


class RecordingEstimator:
    """Passes frames to a real estimator and keeps what it returns (``frames``)."""

    def __init__(self, estimator: object) -> None:
        self.estimator = estimator
        self.frames: list[PoseFrame] = []

    def estimate(self, image_rgb: np.ndarray, timestamp_s: float) -> PoseFrame:
        """Estimate with the wrapped estimator and record the result."""
        frame = self.estimator.estimate(image_rgb, timestamp_s)  # type: ignore[attr-defined]
        self.frames.append(frame)
        return frame

    def close(self) -> None:
        """Close the wrapped estimator."""
        self.estimator.close()  # type: ignore[attr-defined]


class ReplayEstimator:
    """Returns recorded frames in order; a timestamp mismatch is an error, not a guess."""

    def __init__(self, frames: list[PoseFrame]) -> None:
        self.frames = frames
        self._i = 0

    def estimate(self, image_rgb: np.ndarray, timestamp_s: float) -> PoseFrame:
        """The recorded frame at ``timestamp_s``: frames the analysis skips (it judges
        fewer frames while settled) are passed over, never guessed."""
        while self._i < len(self.frames) and \
                self.frames[self._i].timestamp_s < timestamp_s - 1e-6:
            self._i += 1
        if self._i >= len(self.frames):
            raise RuntimeError(f"pose cache has {len(self.frames)} frames, video has more")
        f = self.frames[self._i]
        if abs(f.timestamp_s - timestamp_s) > 1e-6 or f.image_size != (image_rgb.shape[1],
                                                                     image_rgb.shape[0]):
            raise RuntimeError(f"pose cache frame {self._i} is t={f.timestamp_s:.4f} "
                               f"{f.image_size}, video gives t={timestamp_s:.4f} "
                               f"{image_rgb.shape[1]}x{image_rgb.shape[0]}")
        self._i += 1
        return f

    def close(self) -> None:
        """Nothing to release."""
