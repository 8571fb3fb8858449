"""A pose model loaded and warmed up in the background, ready for the live coach's next run.

Loading the model and its first inference take a second or more (much more on a
busy computer); ``SpareEstimator`` does that in a thread of its own while the page
is shown, so that pressing Start does not wait for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from app.live.runtime import lower_priority

__all__ = ["EstimatorFactory", "SpareEstimator", "default_estimator"]

log = logging.getLogger(__name__)

EstimatorFactory = Callable[[], Any]


def default_estimator() -> Any:
    """The app's pose estimator."""
    from pose.estimator import PoseEstimator

    # the two-person check in a thread of its own: no judged frame waits for it
    return PoseEstimator(people_check_background=True)


class SpareEstimator:
    """One warmed-up pose estimator for the next run, made in a background thread.

    Args:
        factory: makes a pose estimator.
        needs_face: whether the stretch of the next run needs the face model (asked
            when the warm-up runs).
    """

    def __init__(self, factory: EstimatorFactory, needs_face: Callable[[], bool]) -> None:
        self.factory = factory
        self._needs_face = needs_face
        self.estimator: Any = None               # the warmed-up estimator, once ready
        self.thread: threading.Thread | None = None

    @property
    def loading(self) -> bool:
        """The warm-up thread is running."""
        th = self.thread
        return th is not None and th.is_alive()

    def start(self) -> None:
        """Start the warm-up unless an estimator is ready or on its way (the caller
        serialises calls: ``LiveCoach`` holds its run lock)."""
        if self.estimator is not None or (
                self.thread is not None and self.thread.is_alive()):
            return
        self.thread = threading.Thread(target=self._warm_up, daemon=True,
                                       name="stretch-coach-warmup")
        self.thread.start()

    def _warm_up(self) -> None:
        lower_priority()  # the model's worker threads, created here, inherit it
        try:
            est = self.factory()
            enable_face = getattr(est, "enable_face", None)
            if callable(enable_face) and self._needs_face():
                enable_face(True)  # load the face model now, not in the first frame
            estimate = getattr(est, "estimate", None)
            if estimate is not None:
                estimate(np.zeros((480, 640, 3), np.uint8), 0.0)
        except Exception:  # reported by the run itself when it starts
            log.warning("pose model warm-up failed", exc_info=True)
            return
        self.estimator = est

    def take(self) -> Any:
        """The warmed-up estimator (waiting for a warm-up under way), else a new one."""
        th = self.thread
        if th is not None and th.is_alive():
            th.join(timeout=60)
        estimator, self.estimator = self.estimator, None
        return estimator if estimator is not None else self.factory()

    def close(self) -> None:
        """Wait for a warm-up under way, then close the spare estimator, if any."""
        th = self.thread
        if th is not None:
            th.join(timeout=30)
        spare, self.estimator = self.estimator, None
        if spare is not None and hasattr(spare, "close"):
            spare.close()
