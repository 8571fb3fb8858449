"""``LiveCoach``: one browser session's live coaching, its judge thread, runs and their ends.

``LiveCoach`` is one per browser session (kept in ``st.session_state``). Its
``callback`` is given to ``streamlit-webrtc`` as ``video_frame_callback``. Nothing
here calls ``st.*``; the page polls ``snapshot()``.

How it holds up on a busy computer:

- The frame callback never waits for the pose model. It hands the newest frame
  to a *judge* thread (one per run) and returns the current camera image at
  once, with the coaching display (state colour, reps, hold countdown, one cue)
  drawn from the same snapshot the page's panel shows. The video therefore never
  freezes on an old annotated frame, and streamlit-webrtc's 10-second limit on a
  callback (which ends the stream) is never reached, even while the model loads.
- ``LoadGovernor`` measures how long judging a frame takes and how many frames
  are judged per second, and judges fewer frames (a stride in stream time) so the
  judge uses at most ``duty`` of a core, leaving the rest to the video
  connection. Holds are timed from the frames' capture timestamps, so judging
  fewer frames does not change how long a hold lasted.
- The person is told plainly when the computer is busy ("coaching at 6 frames
  per second"), when the video stopped arriving, and when the connection
  dropped; none of these is presented as a problem with their position or camera.
- A run that ends because frames stopped arriving (a dropped connection) is
  *suspended*, not finished: pressing Start again resumes it with everything
  counted so far. ``end_suspended()`` records it with ``problem`` starting with
  ``TECHNICAL`` (never as the person's own incomplete set).
- A set has an end: when every prescribed rep is counted the run finishes by
  itself (report saved, ``snapshot().done``) and the rest of the stream only
  shows "Set complete".

The parts with a concern of their own live beside this module: ``app.live.run``
(one run's state and run time), ``app.live.ending`` (how a run ends and its report),
``app.live.snapshots`` (what the snapshots say), ``app.live.warmup`` (the model
warmed up for the next run) and ``app.live.runtime`` (process-level helpers).
``LiveCoach`` keeps the locks and the order of operations; they are called from it.
Two of its own jobs are written as mixins beside it, sharing its state:
``app.live.judging`` (starting a run, the judge thread, judging one frame) and
``app.live.stopping`` (stopping, suspending, completing and saving a run). This
module keeps the settings, the frame callback, the snapshots and the drawing.

``synchronous=True`` judges inside ``process`` (same governor, same code path,
no thread): used by the tests and the benchmark.

Timing log: with ``STRETCH_COACH_TIMING_LOG=/path/file.csv`` every judged frame
appends ``wall_time,stream_t,judge_ms,width,height`` and every callback
``wall_time,stream_t,callback_ms,width,height,cb`` (used by
``benchmarks/bench_live.py``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from app.live.governor import LoadGovernor
from app.live.hud import HudLayer, hud_info
from app.live.judging import Judging
from app.live.run import STALL_S, Run
from app.live.runtime import close_at_exit, one_line
from app.live.snapshots import live_notice
from app.live.state import LiveSnapshot, SideProgress
from app.live.stopping import SUSPEND_KEEP_S, Stopping
from app.live.warmup import EstimatorFactory, SpareEstimator, default_estimator
from coach.report import SessionReport
from exercises.definition import Prescription, StretchDefinition
from exercises.measures import definition_needs_face

__all__ = [
    "COUNTDOWN_S",
    "STALL_S",
    "SUSPEND_KEEP_S",
    "LiveCoach",
]

log = logging.getLogger(__name__)


#: Seconds of "get ready" countdown before judging starts (and again on resuming).
COUNTDOWN_S = 3.0
#: Frames arriving this soon after a stop belong to the stream that just ended.
_AFTER_STOP_GRACE_S = 1.5
#: A skeleton from a judged frame is drawn on later frames for at most this long (s).
_POSE_FRESH_S = 0.5


ReportSink = Callable[[SessionReport], int | None]


class LiveCoach(Judging, Stopping):
    """Live coaching for one browser session.

    Starting runs and judging frames come from ``Judging`` (``app.live.judging``),
    the ends of runs (``stop``, ``end_suspended``) from ``Stopping``
    (``app.live.stopping``); both share this object's state and locks.

    Args:
        definition: the stretch.
        sides: sides tracked (from ``coach.pipeline.resolve_sides``).
        prescription: the dose (default: the definition's).
        save: called with the finished report; returns the saved id (or None).
        estimator_factory: makes a pose estimator for each run (default: ``PoseEstimator()``).
        synchronous: judge inside ``process`` instead of a judge thread (tests, benchmark).
        countdown_s: seconds of "get ready" countdown before judging starts.
        governor: decides which frames to judge (default: ``LoadGovernor()``).
    """

    def __init__(self, definition: StretchDefinition, sides: tuple[str, ...],
                 prescription: Prescription | None = None, *,
                 save: ReportSink | None = None,
                 estimator_factory: EstimatorFactory | None = None,
                 synchronous: bool = False, countdown_s: float = COUNTDOWN_S,
                 governor: LoadGovernor | None = None) -> None:
        self._lock = threading.Lock()        # guards run transitions (start, stop, suspend)
        self._snap_lock = threading.Lock()   # guards the published snapshot
        self._gov_lock = threading.Lock()    # guards the governor (callback and judge threads)
        self._save = save
        self.synchronous = synchronous
        self.countdown_s = countdown_s
        self.governor = governor or LoadGovernor()
        self._run: Run | None = None
        self._suspended: Run | None = None   # cut by a dropped connection, resumable
        self._finished_stream = False         # set complete: the rest of this stream only shows it
        # a warmed-up estimator for the next run
        self._spare = SpareEstimator(estimator_factory or default_estimator,
                                     lambda: definition_needs_face(self.definition))
        self._snapshot = LiveSnapshot()
        self._hud = HudLayer()                # the on-video display (callback thread)
        self._stopped_at = -1e9
        self._stopping = 0                    # stop() calls finishing a run right now
        self._timing_path = os.environ.get("STRETCH_COACH_TIMING_LOG") or None
        self.report: SessionReport | None = None
        self.saved_id: int | None = None
        self.save_error: str | None = None
        #: how the last run ended: "", "complete", "stopped", "dropped", "too_busy"
        self.last_end = ""
        self.configure(definition, sides, prescription)
        close_at_exit(self)

    # ------------------------------------------------------------ settings

    def configure(self, definition: StretchDefinition, sides: tuple[str, ...],
                  prescription: Prescription | None = None) -> None:
        """Change the stretch/sides for the next run (ignored while a run is going).

        A run suspended by a dropped connection is recorded (as a technical end) when
        the stretch or the sides change, since it can no longer be resumed.
        """
        prescription = prescription or definition.prescription
        with self._lock:
            if self._run is not None:
                return
            changed = getattr(self, "definition", None) is not None and (
                self.definition.id != definition.id or self.sides != tuple(sides)
                or self.prescription != prescription)
        if changed and self._suspended is not None:
            self.end_suspended()
        with self._lock:
            self.definition = definition
            self.sides = tuple(sides)
            self.prescription = prescription

    @property
    def running(self) -> bool:
        """A run is in progress."""
        return self._run is not None

    @property
    def finishing(self) -> bool:
        """A run is in progress or being finished after its stream stopped (its report is
        not ready yet): a page that has stopped streaming waits for this to turn False."""
        return self._run is not None or self._stopping > 0

    @property
    def resumable(self) -> bool:
        """A run cut by a dropped connection waits to be resumed (press Start)."""
        return self._suspended is not None

    def prepare(self) -> None:
        """Load and warm up the pose model for the next run in the background.

        Loading the model and the first inference take a second or more (much more on
        a busy computer); cheap to call on every page run.
        """
        with self._lock:
            if self._run is not None:
                return
            self._spare.start()

    @property
    def warming_up(self) -> bool:
        """The pose model is being loaded in the background."""
        return self._spare.loading

    def close(self) -> None:
        """The page's session is going away: end the run, record a suspended one, release."""
        self.stop()
        try:
            self.end_suspended()
        except Exception as e:  # e.g. the store is already gone at interpreter exit
            from sessions.errors import log_failure

            log_failure(log, "could not record the suspended live session", e)
        self._spare.close()

    def next_set(self, definition: StretchDefinition, sides: tuple[str, ...],
                 prescription: Prescription | None = None) -> bool:
        """Go on to another stretch after a set (e.g. the next one of a program).

        The last set's report is let go (it was saved when the set ended) and the
        display starts afresh. A stream that still shows "Set complete" goes on with
        the new stretch at its next frame (after the "get ready" countdown); otherwise
        the next Start begins it. Refused (False) while a run is going.
        """
        with self._lock:
            if self._run is not None:
                return False
        self.configure(definition, sides, prescription)
        with self._lock:
            if self._run is not None:
                return False
            self._finished_stream = False
            self.report, self.saved_id, self.save_error = None, None, None
            self.last_end = ""
            target = self.reps_per_side()
            self._publish(LiveSnapshot(
                sides=tuple(SideProgress(s, 0, 0, target) for s in self.sides),
                reps_target=target * len(self.sides), seq=self._snapshot.seq + 1))
        return True

    def reps_per_side(self) -> int:
        """Prescribed reps per side (reps x sets)."""
        return self.prescription.reps * self.prescription.sets

    # ------------------------------------------------------------ frames in, frames out

    def callback(self, frame: Any) -> Any:
        """``video_frame_callback`` for streamlit-webrtc: ``av.VideoFrame`` in and out.

        Returns quickly in every case (the pose model runs in the judge thread).
        """
        from pose.video import av_frame_to_rgb, rgb_to_av_frame

        t_start = time.perf_counter()
        image = av_frame_to_rgb(frame)
        out = self.process(image, frame.time)
        new = rgb_to_av_frame(out)
        new.pts, new.time_base = frame.pts, frame.time_base
        if self._timing_path:
            self._log_timing(t_start, -1.0 if frame.time is None else frame.time,
                             image.shape, "cb")
        return new

    def process(self, image_rgb: np.ndarray, stream_t: float | None = None) -> np.ndarray:
        """Coach one camera frame and return what to show ((H, W, 3) uint8 RGB).

        The returned image is this frame with the coaching display of the latest
        snapshot drawn on it (drawn in place when the frame is not judged).

        Args:
            image_rgb: the camera frame (the caller gives up ownership).
            stream_t: the frame's capture/presentation time in seconds (None: arrival time).
        """
        now = time.monotonic()
        with self._lock:
            run = self._run
            if run is None:
                if self._finished_stream:
                    return self._draw(image_rgb, None, -1.0)
                if now - self._stopped_at < _AFTER_STOP_GRACE_S:
                    return image_rgb  # a late frame of the stream that just ended
                try:
                    run = self._run = self._start_run()
                except Exception as e:  # e.g. ModelUnavailableError: shown, not raised
                    log.exception("live coach could not start")
                    self._publish(LiveSnapshot(error=one_line(e)))
                    self._stopped_at = time.monotonic()
                    return image_rgb
            run.last_arrival = now
            t = run.timestamp(stream_t)
        with self._gov_lock:
            self.governor.arrived(now)
            judge = self.governor.should_judge(t)
        if self.synchronous:  # judged here, so the frame can be drawn on afterwards
            if judge and self._judge(run, image_rgb, t):
                self._complete(run)
            return self._draw(image_rgb, run, t)
        if judge:
            with run.wake:
                run.slot = (image_rgb, t, now)
                run.wake.notify()
            return self._draw(image_rgb.copy(), run, t)
        return self._draw(image_rgb, run, t)

    # starting a run and judging frames: app.live.judging (Judging)

    # ------------------------------------------------------------ snapshots and drawing

    def _publish(self, snap: LiveSnapshot) -> None:
        with self._snap_lock:
            self._snapshot = snap

    def snapshot(self) -> LiveSnapshot:
        """The latest snapshot (a frozen copy), with the frame rates and notices of now."""
        with self._snap_lock:
            snap = self._snapshot
        run = self._run
        now = time.monotonic()
        if run is None:
            if self._suspended is not None and not snap.resumable:
                snap = replace(snap, resumable=True)
            return snap
        with self._gov_lock:
            fps = self.governor.judged_fps(now)
            incoming = self.governor.incoming_fps(now)
            too_busy = self.governor.too_busy(now)
        kind, notice = live_notice(snap, run, now, fps, incoming, too_busy)
        return replace(snap, fps=fps, incoming_fps=incoming, notice=notice, notice_kind=kind)

    def _draw(self, image: np.ndarray, run: Run | None, t: float) -> np.ndarray:
        """Draw the current coaching display on ``image`` (in place) and return it."""
        snap = self.snapshot()
        pose = run.pose if run is not None else None
        h, w = image.shape[:2]
        if pose is not None and not (0.0 <= t - pose.timestamp_s <= _POSE_FRESH_S
                                     and tuple(pose.image_size) == (w, h)):
            pose = None  # never show an old skeleton as if it were now
        # on a busy computer no new blends are made in the background (that work, much
        # of it in Python, would compete with the video connection's own threads)
        return self._hud.draw(image, pose, hud_info(snap), build=not snap.notice_kind)

    def _log_timing(self, t_start: float, t: float, shape: tuple[int, ...], kind: str) -> None:
        ms = (time.perf_counter() - t_start) * 1000
        try:
            with open(self._timing_path, "a", encoding="utf-8") as fh:  # type: ignore[arg-type]
                fh.write(f"{time.time():.4f},{t:.4f},{ms:.3f},{shape[1]},{shape[0]}"
                         f"{',' + kind if kind else ''}\n")
        except OSError:
            self._timing_path = None
