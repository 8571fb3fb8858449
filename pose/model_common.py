"""What every pose-model module shares: the error, the environment variables, the
pinned mediapipe requirement, the bundle member names and the cache directory.

:mod:`pose.model` re-exports all of it; :mod:`pose.model_wheel` and
:mod:`pose.model_bundle` import it from here, so no module imports upward.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "CACHE_ENV_VAR",
    "DETECTOR_MEMBER",
    "LANDMARKS_MEMBER",
    "MEDIAPIPE_WHEEL_REQUIREMENT",
    "MODEL_ENV_VAR",
    "ModelUnavailableError",
    "cache_dir",
]

MODEL_ENV_VAR = "STRETCH_COACH_MODEL"
"""Environment variable naming a user-supplied ``.task`` bundle."""

CACHE_ENV_VAR = "STRETCH_COACH_CACHE"
"""Environment variable overriding the cache directory."""

MEDIAPIPE_WHEEL_REQUIREMENT = "mediapipe==0.10.21"
"""The PyPI release whose wheel carries the BlazePose ``.tflite`` files."""

DETECTOR_MEMBER = "pose_detector.tflite"
"""Bundle member holding the person detector (name fixed by MediaPipe)."""

LANDMARKS_MEMBER = "pose_landmarks_detector.tflite"
"""Bundle member holding the landmark model (name fixed by MediaPipe)."""


class ModelUnavailableError(RuntimeError):
    """No usable pose model: the message is one line saying why and what to do."""


# --------------------------------------------------------------------------- paths


def cache_dir() -> Path:
    """Return the directory that holds the downloaded wheel and the built bundle.

    Returns:
        ``$STRETCH_COACH_CACHE`` if set, else ``$XDG_CACHE_HOME/stretch-coach``
        (when that variable is an absolute path, as the XDG spec requires), else
        ``~/.cache/stretch-coach``. The directory is not created here.
    """
    override = os.environ.get(CACHE_ENV_VAR, "").strip()
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "stretch-coach"
    return Path.home() / ".cache" / "stretch-coach"
