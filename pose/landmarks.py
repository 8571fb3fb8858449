"""Landmark names for the 33-point BlazePose topology, left/right mirroring and the skeleton.

Names, not indices: code refers to ``Landmark.LEFT_SHOULDER``, never to ``11``.
"Left" is always the *person's* left, which is on the image's right for a person
facing the camera.
"""

from __future__ import annotations

from enum import IntEnum
from functools import lru_cache

__all__ = [
    "LANDMARK_GROUPS",
    "NUM_LANDMARKS",
    "SKELETON",
    "Landmark",
    "group_landmarks",
    "mirror",
    "side_landmark",
]

NUM_LANDMARKS = 33


class Landmark(IntEnum):
    """The 33 BlazePose landmarks, in MediaPipe's order."""

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32

    @property
    def pretty(self) -> str:
        """Human name, e.g. ``"left shoulder"``."""
        return self.name.lower().replace("_", " ")


def mirror(landmark: Landmark) -> Landmark:
    """Return the landmark on the other side of the body (``NOSE`` maps to itself).

    Args:
        landmark: any landmark.

    Returns:
        The left/right counterpart.
    """
    name = landmark.name
    if name.startswith("LEFT_"):
        return Landmark["RIGHT_" + name[5:]]
    if name.startswith("RIGHT_"):
        return Landmark["LEFT_" + name[6:]]
    if name == "MOUTH_LEFT":
        return Landmark.MOUTH_RIGHT
    if name == "MOUTH_RIGHT":
        return Landmark.MOUTH_LEFT
    return landmark


@lru_cache(maxsize=256)  # called for every measure of every judged frame
def side_landmark(side: str, part: str) -> Landmark:
    """Look up a sided landmark by body part, e.g. ``side_landmark("left", "shoulder")``.

    Args:
        side: ``"left"`` or ``"right"`` (the person's side).
        part: a part name such as ``"shoulder"``, ``"elbow"``, ``"wrist"``, ``"hip"``, ``"ear"``.

    Raises:
        ValueError: for an unknown side or part, listing the valid choices.
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    key = f"{side}_{part}".upper()
    try:
        return Landmark[key]
    except KeyError:
        parts = sorted({m.name.split("_", 1)[1].lower() for m in Landmark if "_" in m.name
                        and m.name.split("_", 1)[0] in ("LEFT", "RIGHT")})
        raise ValueError(f"unknown body part {part!r}; valid parts: {', '.join(parts)}") from None


# Groups used by stretch definitions to say what must be visible.
LANDMARK_GROUPS: dict[str, tuple[Landmark, ...]] = {
    "head": (Landmark.NOSE, Landmark.LEFT_EAR, Landmark.RIGHT_EAR),
    "face": (Landmark.NOSE, Landmark.LEFT_EYE, Landmark.RIGHT_EYE),
    "ears": (Landmark.LEFT_EAR, Landmark.RIGHT_EAR),
    "shoulders": (Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER),
    "elbows": (Landmark.LEFT_ELBOW, Landmark.RIGHT_ELBOW),
    "wrists": (Landmark.LEFT_WRIST, Landmark.RIGHT_WRIST),
    "arms": (Landmark.LEFT_ELBOW, Landmark.RIGHT_ELBOW, Landmark.LEFT_WRIST,
             Landmark.RIGHT_WRIST),
    "hips": (Landmark.LEFT_HIP, Landmark.RIGHT_HIP),
    "knees": (Landmark.LEFT_KNEE, Landmark.RIGHT_KNEE),
}


def group_landmarks(name: str) -> tuple[Landmark, ...]:
    """Resolve a group name (``"shoulders"``) or a single landmark name (``"left_ear"``).

    Raises:
        ValueError: listing the valid group and landmark names.
    """
    key = name.strip().lower()
    if key in LANDMARK_GROUPS:
        return LANDMARK_GROUPS[key]
    try:
        return (Landmark[key.upper()],)
    except KeyError:
        valid = [*LANDMARK_GROUPS, *(m.name.lower() for m in Landmark)]
        raise ValueError(
            f"unknown landmark or group {name!r}; valid: {', '.join(valid)}"
        ) from None


# Bones drawn by the overlay: (from, to) pairs.
SKELETON: tuple[tuple[Landmark, Landmark], ...] = (
    (Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER),
    (Landmark.LEFT_SHOULDER, Landmark.LEFT_ELBOW),
    (Landmark.LEFT_ELBOW, Landmark.LEFT_WRIST),
    (Landmark.RIGHT_SHOULDER, Landmark.RIGHT_ELBOW),
    (Landmark.RIGHT_ELBOW, Landmark.RIGHT_WRIST),
    (Landmark.LEFT_SHOULDER, Landmark.LEFT_HIP),
    (Landmark.RIGHT_SHOULDER, Landmark.RIGHT_HIP),
    (Landmark.LEFT_HIP, Landmark.RIGHT_HIP),
    (Landmark.LEFT_HIP, Landmark.LEFT_KNEE),
    (Landmark.RIGHT_HIP, Landmark.RIGHT_KNEE),
    (Landmark.LEFT_KNEE, Landmark.LEFT_ANKLE),
    (Landmark.RIGHT_KNEE, Landmark.RIGHT_ANKLE),
    (Landmark.LEFT_EAR, Landmark.LEFT_EYE),
    (Landmark.RIGHT_EAR, Landmark.RIGHT_EYE),
    (Landmark.LEFT_EYE, Landmark.NOSE),
    (Landmark.RIGHT_EYE, Landmark.NOSE),
)
