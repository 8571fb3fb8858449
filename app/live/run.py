"""One live run: what it has counted and measured, and its own timekeeping.

A ``Run`` is one set being coached, from Start until it ends or is suspended by a
dropped connection (a suspended run is resumed by the next Start). It holds the
coaching session and the pose estimator, the run time of its frames, the series
for the report and the judged frame rates. ``LiveCoach`` (``app.live.coach``)
opens, judges, suspends and ends runs; the locks here are the run's own.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from coach.pipeline import CoachSession, FrameResult
from pose.frame import PoseFrame
from pose.smoothing import PoseSmoother

__all__ = ["STALL_S", "Run"]

#: No frame for this long while a run is open: the video stopped arriving.
STALL_S = 2.5
#: A gap between two frames' presentation times longer than this is a clock jump.
_MAX_GAP_S = 10.0
#: Stream time inserted between the last frame before a drop and the first after it.
_RESUME_GAP_S = 1.0
#: Keep the live series small: at most this many points (older ones are thinned).
_SERIES_MAX = 20_000


@dataclass
class Run:
    session: CoachSession
    estimator: Any = None
    t0_wall: float = 0.0
    started_wall: float = 0.0            # monotonic time this run (or its resumption) started
    t0_stream: float | None = None
    offset: float = 0.0                  # stream time added after a resume
    last_t: float = -1.0
    ready_t: float | None = None         # run time of the first frame with the model ready
    frames: int = 0
    series: dict[str, list[float | None]] = field(default_factory=dict)
    errors: int = 0
    last_arrival: float = 0.0            # monotonic time of the last frame from the camera
    closing: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)   # the session and estimator
    slot: tuple[np.ndarray, float, float] | None = None            # newest frame for the judge
    wake: threading.Condition = field(default_factory=threading.Condition)
    judge: threading.Thread | None = None
    pose: PoseFrame | None = None         # last judged pose (pixels of its own frame)
    fps_log: list[float] = field(default_factory=list)  # judged frames/s, sampled once a second
    fps_logged_at: float = 0.0
    failure: str | None = None            # a technical failure that ends the run

    def resume(self) -> None:
        """Make a suspended run ready to go on: run time continues from before the drop."""
        self.closing, self.t0_stream, self.ready_t = False, None, None
        self.offset = self.last_t + _RESUME_GAP_S
        self.failure = None
        if self.session.smoother is not None:
            self.session.smoother = PoseSmoother()  # the person moved while disconnected
        for tracker in self.session.trackers.values():
            tracker.rest_interrupted()  # likewise: a swing's low point is learned afresh

    def counted_reps(self) -> int:
        """Repetitions counted so far, all sides."""
        return sum(t.counted_reps for t in self.session.trackers.values())

    def timestamp(self, stream_t: float | None) -> float:
        """Seconds of run time: the sender's presentation time when known (capture time,
        so frames that are dropped or not judged don't distort holds), else arrival time.
        After a resume, run time continues from before the drop."""
        if stream_t is None:
            t = time.monotonic() - self.t0_wall
        else:
            if self.t0_stream is None:
                self.t0_stream = stream_t
            t = stream_t - self.t0_stream + self.offset
            if self.last_t >= 0 and not (0.0 <= t - self.last_t <= _MAX_GAP_S):
                # the sender's clock jumped (or went back): continue from the last frame
                self.t0_stream = stream_t + self.offset - self.last_t - 1.0 / 30
                t = stream_t - self.t0_stream + self.offset
        if t <= self.last_t:
            t = self.last_t + 1e-3
        self.last_t = t
        return t

    def record(self, result: FrameResult, t: float) -> None:
        """Count a judged frame: its pose (for drawing) and its values (for the report)."""
        self.frames += 1
        self.pose = result.frame
        self.series["t"].append(round(t, 3))
        for fb in result.feedback:
            self.series[fb.side].append(None if fb.value is None else round(fb.value, 3))
        if len(self.series["t"]) > _SERIES_MAX:
            self.series = {k: v[::2] for k, v in self.series.items()}

    def log_fps(self, fps: float, now: float) -> None:
        """Sample the judged frame rate, at most once a second."""
        if now - self.fps_logged_at >= 1.0 and self.frames > 1:
            self.fps_logged_at = now
            self.fps_log.append(fps)

    def median_fps(self) -> float | None:
        """The median judged frame rate over the run (None: not sampled yet)."""
        return float(np.median(self.fps_log)) if self.fps_log else None

    def release_estimator(self) -> None:
        """Close the run's pose estimator (the caller holds ``lock``)."""
        est, self.estimator, self.session.estimator = self.estimator, None, None
        close = getattr(est, "close", None)
        if close is not None:
            close()

    def counted(self) -> bool:
        """Whether the run has anything to record: a repetition begun. Being seen at rest
        alone is not a session (e.g. two people in view after the first frames, or a
        person who stood still and pressed Stop): nothing is saved, the page says so."""
        return self.frames > 0 and any(t.started_a_rep for t in self.session.trackers.values())
