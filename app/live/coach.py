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

``synchronous=True`` judges inside ``process`` (same governor, same code path,
no thread): used by the tests and the benchmark.

Timing log: with ``STRETCH_COACH_TIMING_LOG=/path/file.csv`` every judged frame
appends ``wall_time,stream_t,judge_ms,width,height`` and every callback
``wall_time,stream_t,callback_ms,width,height,cb`` (used by
``benchmarks/bench_live.py``).
"""

from __future__ import annotations

import atexit
import importlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from app.live.governor import BUSY_FPS, SLOW_INCOMING_FPS, TOO_BUSY_FPS, LoadGovernor
from app.live.hud import HudLayer, hud_info
from app.live.state import (
    DROPPED,
    INTERRUPTED,
    TOO_BUSY,
    LiveSnapshot,
    SideProgress,
    hud_state,
    is_technical,
)
from coach.pipeline import CoachSession, FrameResult
from coach.report import SessionReport, build_report
from exercises.definition import Prescription, StretchDefinition
from exercises.measures import definition_needs_face
from exercises.records import Phase
from pose.frame import PoseFrame
from pose.smoothing import PoseSmoother

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
#: A gap between two frames' presentation times longer than this is a clock jump.
_MAX_GAP_S = 10.0
#: No frame for this long while a run is open: the video stopped arriving.
STALL_S = 2.5
#: A run cut by a dropped connection and not resumed within this many seconds is
#: recorded as it stands (a technical end), so what was counted is not lost.
SUSPEND_KEEP_S = 600.0
#: Stream time inserted between the last frame before a drop and the first after it.
_RESUME_GAP_S = 1.0
#: A skeleton from a judged frame is drawn on later frames for at most this long (s).
_POSE_FRESH_S = 0.5
#: Niceness of the threads that run the pose model (Linux: per thread; 0 leaves it
#: as is). Raising it gives the video connection's threads the CPU first, but it
#: also hands CPU to every other program: in two single runs on the shared machine
#: niceness 4 judged fewer frames (0-2/s) than 0 (1.5-3.4/s) and the connection held
#: in both, since the callback no longer waits for the model. Default 0.
JUDGE_NICENESS = int(os.environ.get("STRETCH_COACH_JUDGE_NICENESS", "0"))
#: Keep the live series small: at most this many points (older ones are thinned).
_SERIES_MAX = 20_000
#: Display states kept through frames the model could not read (until the engine says
#: the body is lost): a person mid-stretch stays "in position", not a grey flash.
_KEPT_THROUGH_A_GAP = frozenset({"rest", "moving", "position", "ease"})


@dataclass
class _Run:
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
    busy_s: float = 0.0                   # seconds spent "too busy"
    failure: str | None = None            # a technical failure that ends the run


#: Every LiveCoach, only to release their models before the interpreter shuts down
#: (MediaPipe's own finaliser fails noisily once its modules are torn down).
_instances: weakref.WeakSet[LiveCoach] = weakref.WeakSet()


def _close_all() -> None:
    for coach in list(_instances):
        try:
            coach.close()
        except Exception:  # shutting down: nothing more useful to do
            log.debug("closing a live coach at exit failed", exc_info=True)


# MediaPipe's dispatcher thread pool is shut down by concurrent.futures' hook in
# threading's shutdown, which runs before plain atexit handlers: register there
# (after it, so this runs first) when the interpreter offers it.
importlib.import_module("concurrent.futures.thread")  # make sure its hook is registered first
getattr(threading, "_register_atexit", atexit.register)(_close_all)


EstimatorFactory = Callable[[], Any]
ReportSink = Callable[[SessionReport], int | None]


def _default_estimator() -> Any:
    from pose.estimator import PoseEstimator

    # the two-person check in a thread of its own: no judged frame waits for it
    return PoseEstimator(people_check_background=True)


class LiveCoach:
    """Live coaching for one browser session.

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
        self._estimator_factory = estimator_factory or _default_estimator
        self._save = save
        self.synchronous = synchronous
        self.countdown_s = countdown_s
        self.governor = governor or LoadGovernor()
        self._run: _Run | None = None
        self._suspended: _Run | None = None   # cut by a dropped connection, resumable
        self._finished_stream = False         # set complete: the rest of this stream only shows it
        self._spare: Any = None               # a warmed-up estimator for the next run
        self._spare_thread: threading.Thread | None = None
        self._snapshot = LiveSnapshot()
        self._hud = HudLayer()                # the on-video display (callback thread)
        self._stopped_at = -1e9
        self._timing_path = os.environ.get("STRETCH_COACH_TIMING_LOG") or None
        self.report: SessionReport | None = None
        self.saved_id: int | None = None
        self.save_error: str | None = None
        #: how the last run ended: "", "complete", "stopped", "dropped", "too_busy"
        self.last_end = ""
        self.configure(definition, sides, prescription)
        _instances.add(self)

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
    def resumable(self) -> bool:
        """A run cut by a dropped connection waits to be resumed (press Start)."""
        return self._suspended is not None

    def prepare(self) -> None:
        """Load and warm up the pose model for the next run in the background.

        Loading the model and the first inference take a second or more (much more on
        a busy computer); cheap to call on every page run.
        """
        with self._lock:
            if self._spare is not None or self._run is not None or (
                    self._spare_thread is not None and self._spare_thread.is_alive()):
                return
            self._spare_thread = threading.Thread(target=self._warm_up, daemon=True,
                                                  name="stretch-coach-warmup")
            self._spare_thread.start()

    @property
    def warming_up(self) -> bool:
        """The pose model is being loaded in the background."""
        th = self._spare_thread
        return th is not None and th.is_alive()

    def _warm_up(self) -> None:
        _lower_priority()  # the model's worker threads, created here, inherit it
        try:
            est = self._estimator_factory()
            enable_face = getattr(est, "enable_face", None)
            if callable(enable_face) and definition_needs_face(self.definition):
                enable_face(True)  # load the face model now, not in the first frame
            estimate = getattr(est, "estimate", None)
            if estimate is not None:
                estimate(np.zeros((480, 640, 3), np.uint8), 0.0)
        except Exception:  # reported by the run itself when it starts
            log.warning("pose model warm-up failed", exc_info=True)
            return
        self._spare = est

    def _take_estimator(self) -> Any:
        th = self._spare_thread
        if th is not None and th.is_alive():
            th.join(timeout=60)
        estimator, self._spare = self._spare, None
        return estimator if estimator is not None else self._estimator_factory()

    def close(self) -> None:
        """The page's session is going away: end the run, record a suspended one, release."""
        self.stop()
        try:
            self.end_suspended()
        except Exception:  # e.g. the store is already gone at interpreter exit
            log.warning("could not record the suspended live session", exc_info=True)
        th = self._spare_thread
        if th is not None:
            th.join(timeout=30)
        spare, self._spare = self._spare, None
        if spare is not None and hasattr(spare, "close"):
            spare.close()

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
                    self._publish(LiveSnapshot(error=_one_line(e)))
                    self._stopped_at = time.monotonic()
                    return image_rgb
            run.last_arrival = now
            t = self._timestamp(run, stream_t)
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

    def _start_run(self) -> _Run:
        """A new run, or the suspended one resumed (called under ``self._lock``)."""
        with self._gov_lock:
            self.governor.restart()
        run = self._suspended
        if run is not None:
            self._suspended = None
            run.closing, run.t0_stream, run.ready_t = False, None, None
            run.offset = run.last_t + _RESUME_GAP_S
            run.failure = None
            if run.session.smoother is not None:
                run.session.smoother = PoseSmoother()  # the person moved while disconnected
            log.info("live coach: resuming after a dropped connection (%d reps so far)",
                     sum(t.counted_reps for t in run.session.trackers.values()))
        else:
            # live: both sides one after the other (the coach judges only the current side)
            session = CoachSession(self.definition, self.sides, None, self.prescription,
                                   sequence=True)
            self.report = None
            self.saved_id = None
            self.save_error = None
            run = _Run(session=session, t0_wall=time.monotonic(),
                       series={"t": [], **{s: [] for s in self.sides}})
            target = self.reps_per_side()
            self._publish(LiveSnapshot(  # a new set: nothing of the last one carries over
                sides=tuple(SideProgress(s, 0, 0, target) for s in self.sides),
                reps_target=target * len(self.sides), seq=self._snapshot.seq + 1))
        self.last_end = ""
        run.last_arrival = run.started_wall = time.monotonic()
        if self.synchronous:
            run.estimator = run.session.estimator = self._take_estimator()
        else:
            run.judge = threading.Thread(target=self._judge_loop, args=(run,), daemon=True,
                                         name="stretch-coach-judge")
            run.judge.start()
        self._publish(replace(self._progress_only(), running=True, state="loading",
                              seq=self._snapshot.seq + 1))
        return run

    def _judge_loop(self, run: _Run) -> None:
        """The judge thread of one run: load the model, then judge the newest frames."""
        _lower_priority()
        try:
            estimator = self._take_estimator()
        except Exception as e:  # e.g. no pose model: shown in the panel
            log.exception("live coach could not load the pose model")
            run.failure = _one_line(e)
            self._publish(replace(self.snapshot(), error=run.failure, running=False,
                                  seq=self._snapshot.seq + 1))
            with self._lock:
                if self._run is run:
                    self._run = None
                    self._stopped_at = time.monotonic()
            return
        with run.lock:
            if run.closing:
                close = getattr(estimator, "close", None)
                if close is not None:
                    close()
                return
            run.estimator = run.session.estimator = estimator
        while True:
            with run.wake:
                while run.slot is None and not run.closing:
                    run.wake.wait(0.5)
                if run.closing:
                    return
                image, t, _ = run.slot  # type: ignore[misc]
                run.slot = None
            with self._gov_lock:
                judge = self.governor.should_judge(t)
            if judge and self._judge(run, image, t):
                self._complete(run)
                return

    def _judge(self, run: _Run, image_rgb: np.ndarray, t: float) -> bool:
        """Judge one frame; publish the snapshot. Returns True when the set just finished."""
        t_start = time.perf_counter()
        with run.lock:
            if run.closing or run.session.estimator is None:
                return False
            if run.ready_t is None:
                run.ready_t = t
            left = self.countdown_s - (t - run.ready_t)
            if left > 0:  # "get ready": nothing is judged yet
                self._publish(replace(self._progress_only(), running=True, state="countdown",
                                      countdown_s=left, stream_t=t,
                                      seq=self._snapshot.seq + 1))
                return False
            try:
                result = run.session.process(image_rgb, t)
            except Exception as e:  # keep the stream alive; say so in the panel and the log
                run.errors += 1
                if run.errors <= 3 or run.errors % 100 == 0:
                    log.exception("live coach failed on a frame (%d so far)", run.errors)
                self._publish(replace(self._snapshot, error=_one_line(e),
                                      seq=self._snapshot.seq + 1))
                return False
            run.frames += 1
            run.pose = result.frame
            run.series["t"].append(round(t, 3))
            for fb in result.feedback:
                run.series[fb.side].append(None if fb.value is None else round(fb.value, 3))
            if len(run.series["t"]) > _SERIES_MAX:
                run.series = {k: v[::2] for k, v in run.series.items()}
            target = self.reps_per_side()
            done = all(tr.counted_reps >= target for tr in run.session.trackers.values())
            now = time.monotonic()
            with self._gov_lock:
                self.governor.judged(t, time.perf_counter() - t_start, now)
                fps = self.governor.judged_fps(now)
            if now - run.fps_logged_at >= 1.0 and run.frames > 1:
                run.fps_logged_at = now
                run.fps_log.append(fps)
            self._publish(self._make_snapshot(run, result, done, t))
        if self._timing_path:
            self._log_timing(t_start, t, image_rgb.shape, "")
        return done

    def _timestamp(self, run: _Run, stream_t: float | None) -> float:
        """Seconds of run time: the sender's presentation time when known (capture time,
        so frames that are dropped or not judged don't distort holds), else arrival time.
        After a resume, run time continues from before the drop."""
        if stream_t is None:
            t = time.monotonic() - run.t0_wall
        else:
            if run.t0_stream is None:
                run.t0_stream = stream_t
            t = stream_t - run.t0_stream + run.offset
            if run.last_t >= 0 and not (0.0 <= t - run.last_t <= _MAX_GAP_S):
                # the sender's clock jumped (or went back): continue from the last frame
                run.t0_stream = stream_t + run.offset - run.last_t - 1.0 / 30
                t = stream_t - run.t0_stream + run.offset
        if t <= run.last_t:
            t = run.last_t + 1e-3
        run.last_t = t
        return t

    # ------------------------------------------------------------ snapshots and drawing

    def _progress_only(self) -> LiveSnapshot:
        """The last snapshot's counts, without the per-frame details."""
        s = self._snapshot
        return LiveSnapshot(frames=s.frames, sides=s.sides, reps=s.reps,
                            reps_target=s.reps_target, counting=s.counting,
                            focus_side=s.focus_side, side=s.side,
                            hold_required_s=s.hold_required_s, seq=s.seq)

    def _make_snapshot(self, run: _Run, result: FrameResult, done: bool,
                       t: float) -> LiveSnapshot:
        fb = result.primary
        target = self.reps_per_side()
        sides = tuple(SideProgress(f.side, f.reps, f.correct_reps, target)
                      for f in result.feedback)
        focus = run.session.active_side
        cues = tuple(dict.fromkeys(c.text for c in fb.cues))
        sources = tuple(c.source for c in fb.cues)
        state = "done" if done else hud_state(fb.phase.value, sources, fb.active_faults)
        if (fb.phase is Phase.CANT_ASSESS and not fb.setup_message and not done
                and self._snapshot.state in _KEPT_THROUGH_A_GAP):
            # a frame or two the model could not read: the engine keeps the phase and shows
            # nothing until the body has been lost for its ``lost_s``; so does the display
            # (a grey flash on every dropped frame is noise for a person 2 m away)
            state = self._snapshot.state
        cue = fb.setup_message or next((c for c in cues if c != fb.setup_message), None)
        if done:
            cue = "Set complete. Well done!"
        return LiveSnapshot(
            running=not done, frames=run.frames,
            phase=fb.phase.value, state=state, side=fb.side, sides=sides,
            focus_side=focus if len(sides) > 1 else None,
            reps=sum(s.reps for s in sides), reps_target=target * len(sides),
            hold_s=fb.hold_s, hold_required_s=fb.hold_required_s, value=fb.value,
            cues=cues, cue=cue, setup_message=fb.setup_message,
            counting=any(tr.counting for tr in run.session.trackers.values()),
            done=done, seq=self._snapshot.seq + 1, stream_t=t,
        )

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
        kind, notice = "", None
        if run.session.estimator is None:
            kind, notice = "loading", "Starting the coach: loading the pose model..."
        elif now - run.last_arrival > STALL_S:
            kind, notice = "stalled", (
                "The video has stopped arriving. If it doesn't come back, press Stop, then "
                "Start: what you did so far is kept.")
        elif now - run.started_wall > 4.0 and 0 < incoming < SLOW_INCOMING_FPS:
            n = round(incoming)
            kind, notice = "slow", (
                f"Your computer is too busy for the video to keep up: {_frames(n)} per second "
                f"{'is' if n == 1 else 'are'} arriving. Counting carries on; closing other "
                "programs helps.")
        elif snap.state == "countdown":
            pass
        elif too_busy:
            kind, notice = "too_busy", (
                f"Your computer is too busy to coach well right now: coaching at "
                f"{_frames(round(fps))} per second. Counting carries on; closing other "
                "programs helps.")
        elif snap.frames > 5 and fps < BUSY_FPS and fps < 0.8 * incoming:
            kind, notice = "busy", (f"Your computer is busy: coaching at "
                                    f"{_frames(round(fps))} per second")
        return replace(snap, fps=fps, incoming_fps=incoming, notice=notice, notice_kind=kind)

    def _draw(self, image: np.ndarray, run: _Run | None, t: float) -> np.ndarray:
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

    # ------------------------------------------------------------ ending

    def stop(self) -> SessionReport | None:
        """The stream ended (Stop pressed, page left, or the connection dropped). Any thread.

        A run whose frames had already stopped arriving for ``STALL_S`` (a dropped
        connection) is suspended, keeping what was counted, so that Start resumes it;
        otherwise the run is finished: report built and saved. Idempotent.

        Returns:
            The report of the run that just ended, or None (no run, suspended, or nothing
            counted).
        """
        now = time.monotonic()
        with self._lock:
            self._finished_stream = False
            run = self._run
            if run is None:
                return None
            self._run = None
            self._stopped_at = now
            run.closing = True
        with run.wake:
            run.wake.notify_all()
        with self._gov_lock:
            incoming = self.governor.incoming_fps(now)
        slow = now - run.started_wall > 4.0 and incoming < SLOW_INCOMING_FPS
        if run.failure is not None or now - run.last_arrival > STALL_S or slow:
            return self._suspend(run)
        problem = INTERRUPTED
        if run.fps_log and float(np.median(run.fps_log)) < TOO_BUSY_FPS:
            problem = TOO_BUSY.format(fps=float(np.median(run.fps_log)))
        return self._finish(run, problem, "stopped" if problem == INTERRUPTED else "too_busy")

    def _suspend(self, run: _Run) -> None:
        with run.lock:
            self._release_estimator(run)
            counted = self._counted(run)
        if counted:
            self._suspended = run
            timer = threading.Timer(SUSPEND_KEEP_S, self._expire_suspended, args=(run,))
            timer.daemon = True
            timer.start()
        self.last_end = "dropped"
        self._publish(replace(self._progress_only(), running=False, resumable=counted,
                              notice_kind="dropped", seq=self._snapshot.seq + 1,
                              notice="The video connection dropped: press Start to continue."
                              + (" What you did so far is kept." if counted else "")))
        log.info("live coach: the video stopped arriving; run %s", "suspended" if counted
                 else "discarded (nothing counted yet)")
        return None

    def _expire_suspended(self, run: _Run) -> None:
        if self._suspended is run:
            log.info("live coach: a dropped run was not resumed; recording it as it stands")
            self.end_suspended()

    def end_suspended(self) -> SessionReport | None:
        """Record a run cut by a dropped connection as it stands (a technical end)."""
        with self._lock:
            run, self._suspended = self._suspended, None
        if run is None:
            return None
        problem = DROPPED
        if run.fps_log and float(np.median(run.fps_log)) < TOO_BUSY_FPS:
            problem = TOO_BUSY.format(fps=float(np.median(run.fps_log)))
        return self._finish(run, problem, "dropped")

    def _complete(self, run: _Run) -> None:
        """The prescribed set is done: stop counting, finish and save (judge thread)."""
        with self._lock:
            if self._run is run:
                self._run = None
                self._finished_stream = True  # the rest of this stream shows "Set complete"
            run.closing = True
        self._finish(run, None, "complete")

    def _finish(self, run: _Run, problem: str | None, how: str) -> SessionReport | None:
        with run.lock:
            run.closing = True
            try:
                if run.session.last is not None:
                    run.session.finish()
            finally:
                self._release_estimator(run)
            report = self._build(run, problem)
        last = self._snapshot
        complete = report is not None and report.complete
        self.last_end = "complete" if complete else how
        self._publish(replace(self._progress_only(), running=False, done=complete,
                              state="done" if complete else "paused",
                              cue="Set complete. Well done!" if complete else None,
                              seq=last.seq + 1))
        if report is None:
            return None
        self.report = report
        if self._save is not None:
            try:
                self.saved_id = self._save(report)
            except Exception as e:
                log.exception("could not save the live session")
                self.save_error = _one_line(e)
        return report

    @staticmethod
    def _release_estimator(run: _Run) -> None:
        est, run.estimator, run.session.estimator = run.estimator, None, None
        close = getattr(est, "close", None)
        if close is not None:
            close()

    @staticmethod
    def _counted(run: _Run) -> bool:
        """Whether the run has anything to record: a repetition begun. Being seen at rest
        alone is not a session (e.g. two people in view after the first frames, or a
        person who stood still and pressed Stop): nothing is saved, the page says so."""
        return run.frames > 0 and any(t.started_a_rep for t in run.session.trackers.values())

    def _build(self, run: _Run, problem: str | None) -> SessionReport | None:
        if not self._counted(run):
            return None
        trackers = list(run.session.trackers.values())
        target = self.reps_per_side()
        done = all(t.counted_reps >= target for t in trackers)
        duration = run.session.last.frame.timestamp_s if run.session.last else 0.0
        fps = float(np.median(run.fps_log)) if run.fps_log else None
        return build_report(
            self.definition, trackers, source="live", prescription=self.prescription,
            duration_s=duration, frames=run.frames, complete=done,
            problem=None if done else problem, series=run.series,
            media={"frames_per_s": round(run.frames / duration, 2) if duration > 0 else None,
                   "judged_frames_per_s": round(fps, 1) if fps is not None else None,
                   "ended": "complete" if done else (
                       "technical" if is_technical(problem) else "stopped")},
        )




def _frames(n: int) -> str:
    return f"{n} frame" if n == 1 else f"{n} frames"


def _lower_priority() -> None:
    """Give the calling thread ``JUDGE_NICENESS`` (no-op where threads have no niceness)."""
    if JUDGE_NICENESS <= 0:
        return
    try:
        tid = threading.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, tid) < JUDGE_NICENESS:
            os.setpriority(os.PRIO_PROCESS, tid, JUDGE_NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed
        log.debug("could not lower the judge thread's priority", exc_info=True)


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text
