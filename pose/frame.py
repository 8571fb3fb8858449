"""The one checked frame type that flows from the pose estimator to the judging engine.

``PoseFrame`` holds pixel coordinates (never normalised ones: x and y of a
non-square image are scaled differently), per-landmark visibility, optional
world coordinates, a timestamp and the image size. It validates shapes on
creation with "expected X, got Y" messages. "Nobody in view" is
``PoseFrame.empty(...)``: a normal value, not an exception.

This module imports only numpy so that ``exercises`` can use it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from pose.head import HeadPose
from pose.landmarks import NUM_LANDMARKS, Landmark

__all__ = ["VISIBILITY_THRESHOLD", "PoseFrame"]

#: A landmark whose visibility is below this is treated as not seen.
VISIBILITY_THRESHOLD = 0.5
#: How far outside the image (share of its width / height) a landmark still counts as
#: seen: a little for any visible one (rounding at the edge), more when the model is
#: confident (a wrist or foot just past the bottom edge, as in a push-up filmed from
#: the floor, is placed well by the rest of the body; measured on real clips: hands
#: 4-8 % below the frame at visibility 0.97-0.99).
EDGE_MARGIN = 0.02
CONFIDENT_EDGE_MARGIN = 0.10
CONFIDENT_VISIBILITY = 0.9


def _as_array(name: str, value: object, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"PoseFrame.{name}: expected shape {shape}, got {arr.shape}")
    return arr


@dataclass(frozen=True, eq=False)
class PoseFrame:
    """One person's pose in one image.

    Attributes:
        xy: (33, 2) float array, pixel coordinates (x right, y down) in the image.
            NaN where a landmark is unknown.
        visibility: (33,) float array in [0, 1].
        timestamp_s: seconds since the start of the stream (monotonic in a stream).
        image_size: (width, height) in pixels.
        world: optional (33, 3) float array, metres, hip-centred (MediaPipe world landmarks).
        num_people: how many people the estimator saw in the image (0 for an empty frame).
        head: the head seen by the face model (``pose.head.HeadPose``: face-mesh points
            in pixels, roll/yaw/pitch in degrees), or None when the face model was not
            run for this frame or found no face.
    """

    xy: np.ndarray
    visibility: np.ndarray
    timestamp_s: float
    image_size: tuple[int, int]
    world: np.ndarray | None = None
    num_people: int = 1
    head: HeadPose | None = None
    _empty: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "xy", _as_array("xy", self.xy, (NUM_LANDMARKS, 2)))
        vis = _as_array("visibility", self.visibility, (NUM_LANDMARKS,))
        object.__setattr__(self, "visibility", np.clip(np.nan_to_num(vis, nan=0.0), 0.0, 1.0))
        if self.world is not None:
            object.__setattr__(self, "world", _as_array("world", self.world, (NUM_LANDMARKS, 3)))
        if len(self.image_size) != 2 or min(self.image_size) <= 0:
            raise ValueError(
                f"PoseFrame.image_size: expected (width, height) > 0, got {self.image_size!r}"
            )
        object.__setattr__(self, "image_size", (int(self.image_size[0]), int(self.image_size[1])))
        if not np.isfinite(self.timestamp_s):
            raise ValueError(f"PoseFrame.timestamp_s: expected a finite number, "
                             f"got {self.timestamp_s!r}")
        if self.num_people < 0:
            raise ValueError(f"PoseFrame.num_people: expected >= 0, got {self.num_people}")
        if self.head is not None and not isinstance(self.head, HeadPose):
            raise ValueError(f"PoseFrame.head: expected a HeadPose or None, "
                             f"got {type(self.head).__name__}")

    @classmethod
    def empty(cls, timestamp_s: float, image_size: tuple[int, int],
              num_people: int = 0) -> PoseFrame:
        """A frame in which nobody (or nobody usable) is in view."""
        return cls(
            xy=np.full((NUM_LANDMARKS, 2), np.nan),
            visibility=np.zeros(NUM_LANDMARKS),
            timestamp_s=timestamp_s,
            image_size=image_size,
            num_people=num_people,
            _empty=True,
        )

    @classmethod
    def from_points(
        cls,
        points: dict[Landmark, tuple[float, float]],
        timestamp_s: float = 0.0,
        image_size: tuple[int, int] = (640, 480),
        visibility: float = 1.0,
    ) -> PoseFrame:
        """Build a frame from a few named points; every other landmark is unknown.

        Handy in tests and for synthetic sequences.
        """
        xy = np.full((NUM_LANDMARKS, 2), np.nan)
        vis = np.zeros(NUM_LANDMARKS)
        for lm, (x, y) in points.items():
            xy[int(lm)] = (x, y)
            vis[int(lm)] = visibility
        return cls(xy=xy, visibility=vis, timestamp_s=timestamp_s, image_size=image_size)

    @property
    def is_empty(self) -> bool:
        """True when nobody is in view."""
        return self._empty

    def point(self, landmark: Landmark) -> np.ndarray:
        """Pixel coordinates (2,) of one landmark (may contain NaN)."""
        return self.xy[int(landmark)]

    def visible(self, landmark: Landmark, threshold: float = VISIBILITY_THRESHOLD) -> bool:
        """Whether a landmark was seen with at least ``threshold`` visibility inside the image
        (or just outside it: ``EDGE_MARGIN``, ``CONFIDENT_EDGE_MARGIN``)."""
        if self._empty:
            return False
        i = int(landmark)
        vis = float(self.visibility[i])
        if vis < threshold:
            return False
        x, y = float(self.xy[i, 0]), float(self.xy[i, 1])  # plain floats: called often
        if not (math.isfinite(x) and math.isfinite(y)):
            return False
        w, h = self.image_size
        m = CONFIDENT_EDGE_MARGIN if vis >= CONFIDENT_VISIBILITY else EDGE_MARGIN
        return bool(-m * w <= x <= (1 + m) * w and -m * h <= y <= (1 + m) * h)

    def missing(self, landmarks: Iterable[Landmark],
                threshold: float = VISIBILITY_THRESHOLD) -> list[Landmark]:
        """The landmarks among ``landmarks`` that are not visible."""
        return [lm for lm in landmarks if not self.visible(lm, threshold)]

    def with_xy(self, xy: np.ndarray) -> PoseFrame:
        """A copy with new pixel coordinates (used by smoothing, on every judged frame:
        only ``xy`` is checked again, the other fields are this valid frame's)."""
        xy = _as_array("xy", xy, (NUM_LANDMARKS, 2))
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        object.__setattr__(new, "xy", xy)
        return new

    def with_head(self, head: HeadPose | None) -> PoseFrame:
        """A copy carrying the face model's result for this frame."""
        return replace(self, head=head)

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form (rounded to 0.1 px)."""
        return {
            "t": round(self.timestamp_s, 4),
            "xy": None if self._empty else [
                [round(float(v), 1) if np.isfinite(v) else None for v in pt] for pt in self.xy
            ],
            "visibility": None if self._empty else np.round(self.visibility, 3).tolist(),
            "num_people": self.num_people,
        }
