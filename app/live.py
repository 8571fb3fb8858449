"""The live coach behind the browser page, without Streamlit.

``LiveCoach`` is one per browser session (kept in ``st.session_state``). Its
``callback`` is given to ``streamlit-webrtc`` as ``video_frame_callback`` and runs
in a WebRTC worker thread: it runs ``CoachSession.process`` + ``draw`` and
publishes a small ``LiveSnapshot`` under a lock. The page polls ``snapshot()``
from the script thread. Nothing here calls ``st.*``.

A *run* is one START..STOP of the camera. ``stop()`` (called from the page when
it sees the stream stopped, or from the worker when the video track ends; it is
idempotent) finishes the session, builds the report (``source="live"``), marks
it interrupted when the prescribed reps were not all done, and saves it.

Timing log: with ``STRETCH_COACH_TIMING_LOG=/path/file.csv`` every processed
frame appends ``wall_time,stream_t,process_ms,width,height`` (used by
``benchmarks/bench_live.py``).
"""

from __future__ import annotations

import atexit
import importlib
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from coach.pipeline import CoachSession, FrameResult
from coach.report import SessionReport, build_report
from exercises.definition import Prescription, StretchDefinition
from exercises.engine import Phase
from exercises.measures import definition_needs_face

__all__ = [
    "INTERRUPTED",
    "LiveCoach",
    "LiveSnapshot",
    "SideProgress",
    "ice_servers",
]

log = logging.getLogger(__name__)

INTERRUPTED = "camera stopped before the set was finished"

#: Frames arriving this soon after a stop belong to the stream that just ended.
_AFTER_STOP_GRACE_S = 1.5
#: A gap between two frames' presentation times longer than this is a clock jump.
_MAX_GAP_S = 10.0
#: Keep the live series small: at most this many points (older ones are thinned).
_SERIES_MAX = 20_000


def ice_servers(env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """ICE servers for WebRTC: ``$STRETCH_COACH_ICE_SERVERS`` or a config file, else none.

    The value is a JSON list as in the browser's ``RTCConfiguration.iceServers``, e.g.
    ``[{"urls": ["stun:stun.example.org:3478"]},
    {"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "p"}]``.
    The file is ``$STRETCH_COACH_ICE_FILE`` or ``<data dir>/ice_servers.json``.
    The default is an explicit empty list: loopback and LAN connections need no
    STUN/TURN server, and an empty *dict* would make streamlit-webrtc fall back
    to a public STUN server.

    Raises:
        ValueError: one line naming the setting when the JSON is not a list of objects.
    """
    env = dict(os.environ if env is None else env)
    raw = env.get("STRETCH_COACH_ICE_SERVERS")
    origin = "STRETCH_COACH_ICE_SERVERS"
    if not raw:
        from sessions.store import default_data_dir

        data = Path(env["STRETCH_COACH_DATA"]) if env.get("STRETCH_COACH_DATA") else \
            default_data_dir()
        path = Path(env.get("STRETCH_COACH_ICE_FILE") or data / "ice_servers.json")
        if not path.is_file():
            return []
        raw = path.read_text(encoding="utf-8")
        origin = str(path)
    try:
        servers = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"{origin}: not valid JSON ({e.msg}); expected a list like "
                         f'[{{"urls": ["stun:host:3478"]}}]') from None
    if not isinstance(servers, list) or not all(
            isinstance(s, dict) and "urls" in s for s in servers):
        raise ValueError(f"{origin}: expected a JSON list of objects with \"urls\", e.g. "
                         f'[{{"urls": ["stun:host:3478"]}}]')
    return servers


@dataclass(frozen=True)
class SideProgress:
    """Progress on one side: reps done of the prescribed reps."""

    side: str
    reps: int
    correct_reps: int
    target: int


@dataclass(frozen=True)
class LiveSnapshot:
    """What the page shows while streaming (a copy, safe to read from any thread).

    Attributes:
        running: a run is in progress (frames are arriving).
        frames: frames processed in this run.
        fps: processed frames per second over the last ~2 s.
        phase: phase of the most relevant side (``Phase`` value).
        side: that side.
        sides: progress per tracked side.
        focus_side: the side to work on now ("both in sequence": the first unfinished one).
        reps: completed reps over all sides; reps_target: prescribed over all sides.
        hold_s / hold_required_s: current hold (seconds) and the hold asked for.
        value: the primary measure now (None when not measurable).
        cues: up to two short sentences; setup_message when the body can't be seen.
        counting: counting has started (the person was seen at rest).
        error: a one-line problem in the processing (e.g. no pose model).
        seq: increases with every processed frame.
    """

    running: bool = False
    frames: int = 0
    fps: float = 0.0
    phase: str = Phase.SETUP.value
    side: str = ""
    sides: tuple[SideProgress, ...] = ()
    focus_side: str | None = None
    reps: int = 0
    reps_target: int = 0
    hold_s: float = 0.0
    hold_required_s: float = 0.0
    value: float | None = None
    cues: tuple[str, ...] = ()
    setup_message: str | None = None
    counting: bool = False
    error: str | None = None
    seq: int = 0


@dataclass
class _Run:
    session: CoachSession
    estimator: Any
    t0_wall: float
    t0_stream: float | None = None
    last_t: float = -1.0
    frames: int = 0
    series: dict[str, list[float | None]] = field(default_factory=dict)
    recent: list[float] = field(default_factory=list)
    errors: int = 0


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

    return PoseEstimator()


class LiveCoach:
    """Live coaching for one browser session.

    Args:
        definition: the stretch.
        sides: sides tracked (from ``coach.pipeline.resolve_sides``).
        prescription: the dose (default: the definition's).
        save: called with the finished report; returns the saved id (or None).
        estimator_factory: makes a pose estimator for each run (default: ``PoseEstimator()``).
    """

    def __init__(self, definition: StretchDefinition, sides: tuple[str, ...],
                 prescription: Prescription | None = None, *,
                 save: ReportSink | None = None,
                 estimator_factory: EstimatorFactory | None = None) -> None:
        self._lock = threading.Lock()        # guards the run (process / stop)
        self._snap_lock = threading.Lock()   # guards the published snapshot and results
        self._estimator_factory = estimator_factory or _default_estimator
        self._save = save
        self._run: _Run | None = None
        self._spare: Any = None                       # a warmed-up estimator for the next run
        self._spare_thread: threading.Thread | None = None
        self._snapshot = LiveSnapshot()
        self._stopped_at = -1e9
        self._timing_path = os.environ.get("STRETCH_COACH_TIMING_LOG") or None
        self.report: SessionReport | None = None
        self.saved_id: int | None = None
        self.save_error: str | None = None
        self.configure(definition, sides, prescription)
        _instances.add(self)

    # ------------------------------------------------------------ settings

    def configure(self, definition: StretchDefinition, sides: tuple[str, ...],
                  prescription: Prescription | None = None) -> None:
        """Change the stretch/sides for the next run (ignored while a run is going)."""
        with self._lock:
            if self._run is not None:
                return
            self.definition = definition
            self.sides = tuple(sides)
            self.prescription = prescription or definition.prescription

    @property
    def running(self) -> bool:
        """A run is in progress."""
        return self._run is not None

    def prepare(self) -> None:
        """Load and warm up the pose model for the next run in the background.

        Loading the model and the first inference take a second or more; done in the
        first frame callback they would drop the first frames, exactly when the person
        is standing still to start. Cheap to call on every page run.
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

    def close(self) -> None:
        """Release a prepared estimator (the page's session is going away)."""
        self.stop()
        th = self._spare_thread
        if th is not None:
            th.join(timeout=30)
        spare, self._spare = self._spare, None
        if spare is not None and hasattr(spare, "close"):
            spare.close()

    def reps_per_side(self) -> int:
        """Prescribed reps per side (reps x sets)."""
        return self.prescription.reps * self.prescription.sets

    # ------------------------------------------------------------ worker thread

    def callback(self, frame: Any) -> Any:
        """``video_frame_callback`` for streamlit-webrtc: ``av.VideoFrame`` in and out."""
        import av

        image = frame.to_ndarray(format="rgb24")
        t = frame.time
        out = self.process(image, t)
        new = av.VideoFrame.from_ndarray(out, format="rgb24")
        new.pts, new.time_base = frame.pts, frame.time_base
        return new

    def process(self, image_rgb: np.ndarray, stream_t: float | None = None) -> np.ndarray:
        """Coach one frame and return it annotated ((H, W, 3) uint8 RGB).

        Args:
            image_rgb: the camera frame.
            stream_t: the frame's presentation time in seconds (None: arrival time).
        """
        t_start = time.perf_counter()
        with self._lock:
            if self._run is None:
                if time.monotonic() - self._stopped_at < _AFTER_STOP_GRACE_S:
                    return image_rgb  # a late frame of the stream that just ended
                try:
                    self._run = self._new_run()
                except Exception as e:  # e.g. ModelUnavailableError: shown, not raised
                    log.exception("live coach could not start")
                    self._publish(LiveSnapshot(error=_one_line(e)))
                    self._stopped_at = time.monotonic()
                    return image_rgb
            run = self._run
            t = self._timestamp(run, stream_t)
            try:
                result = run.session.process(image_rgb, t)
                out = run.session.draw(image_rgb, result)
            except Exception as e:  # keep the stream alive; say so in the panel and the log
                run.errors += 1
                if run.errors <= 3 or run.errors % 100 == 0:
                    log.exception("live coach failed on a frame (%d so far)", run.errors)
                self._publish(replace(self.snapshot(), error=_one_line(e),
                                      seq=self._snapshot.seq + 1))
                return image_rgb
            run.frames += 1
            run.series["t"].append(round(t, 3))
            for fb in result.feedback:
                run.series[fb.side].append(None if fb.value is None else round(fb.value, 3))
            if len(run.series["t"]) > _SERIES_MAX:
                run.series = {k: v[::2] for k, v in run.series.items()}
            now = time.monotonic()
            run.recent.append(now)
            run.recent = [x for x in run.recent if now - x <= 2.0]
            self._publish(self._make_snapshot(run, result))
        if self._timing_path:
            self._log_timing(t_start, t, image_rgb.shape)
        return out

    def _new_run(self) -> _Run:
        th = self._spare_thread
        if th is not None and th.is_alive():
            th.join(timeout=30)
        estimator, self._spare = self._spare, None
        if estimator is None:
            estimator = self._estimator_factory()
        # live: both sides one after the other (the coach judges only the current side)
        session = CoachSession(self.definition, self.sides, estimator, self.prescription,
                               sequence=True)
        self.report = None
        self.saved_id = None
        self.save_error = None
        return _Run(session=session, estimator=estimator, t0_wall=time.monotonic(),
                    series={"t": [], **{s: [] for s in self.sides}})

    @staticmethod
    def _timestamp(run: _Run, stream_t: float | None) -> float:
        """Seconds since the run's first frame: the sender's presentation time when
        known (capture time, so dropped frames don't distort holds), else arrival time."""
        if stream_t is None:
            t = time.monotonic() - run.t0_wall
        else:
            if run.t0_stream is None:
                run.t0_stream = stream_t
            t = stream_t - run.t0_stream
            if run.last_t >= 0 and not (0.0 <= t - run.last_t <= _MAX_GAP_S):
                # the sender's clock jumped (or went back): continue from the last frame
                run.t0_stream = stream_t - run.last_t - 1.0 / 30
                t = stream_t - run.t0_stream
        if t <= run.last_t:
            t = run.last_t + 1e-3
        run.last_t = t
        return t

    def _make_snapshot(self, run: _Run, result: FrameResult) -> LiveSnapshot:
        fb = result.primary
        target = self.reps_per_side()
        sides = tuple(SideProgress(f.side, f.reps, f.correct_reps, target)
                      for f in result.feedback)
        focus = run.session.active_side
        cues = tuple(dict.fromkeys(c.text for c in fb.cues))
        span = run.recent[-1] - run.recent[0] if len(run.recent) > 1 else 0.0
        return LiveSnapshot(
            running=True, frames=run.frames,
            fps=(len(run.recent) - 1) / span if span > 0 else 0.0,
            phase=fb.phase.value, side=fb.side, sides=sides,
            focus_side=focus if len(sides) > 1 else None,
            reps=sum(s.reps for s in sides), reps_target=target * len(sides),
            hold_s=fb.hold_s, hold_required_s=fb.hold_required_s, value=fb.value,
            cues=cues, setup_message=fb.setup_message,
            counting=any(t.counting for t in run.session.trackers.values()),
            seq=self._snapshot.seq + 1,
        )

    def _publish(self, snap: LiveSnapshot) -> None:
        with self._snap_lock:
            self._snapshot = snap

    def _log_timing(self, t_start: float, t: float, shape: tuple[int, ...]) -> None:
        ms = (time.perf_counter() - t_start) * 1000
        try:
            with open(self._timing_path, "a", encoding="utf-8") as fh:  # type: ignore[arg-type]
                fh.write(f"{time.time():.4f},{t:.4f},{ms:.3f},{shape[1]},{shape[0]}\n")
        except OSError:
            self._timing_path = None

    # ------------------------------------------------------------ any thread

    def snapshot(self) -> LiveSnapshot:
        """The latest snapshot (a frozen copy)."""
        with self._snap_lock:
            return self._snapshot

    def stop(self) -> SessionReport | None:
        """End the run: finish, build the report, save it. Idempotent; any thread.

        Returns:
            The report of the run that just ended, or None when there was no run or
            nothing was counted (the person was never seen at rest).
        """
        with self._lock:
            run = self._run
            if run is None:
                return None
            self._run = None
            self._stopped_at = time.monotonic()
            try:
                run.session.finish()
            finally:
                close = getattr(run.estimator, "close", None)
                if close is not None:
                    close()
            report = self._build(run)
            last = self.snapshot()
            self._publish(LiveSnapshot(
                running=False, frames=run.frames, sides=last.sides, reps=last.reps,
                reps_target=last.reps_target, counting=last.counting, seq=last.seq + 1))
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

    def _build(self, run: _Run) -> SessionReport | None:
        trackers = list(run.session.trackers.values())
        counted = any(t.counting for t in trackers) or any(t.reps for t in trackers)
        if run.frames == 0 or not counted:
            return None
        target = self.reps_per_side()
        done = all(t.counted_reps >= target for t in trackers)
        duration = run.session.last.frame.timestamp_s if run.session.last else 0.0
        return build_report(
            self.definition, trackers, source="live", prescription=self.prescription,
            duration_s=duration, frames=run.frames, complete=done,
            problem=None if done else INTERRUPTED, series=run.series,
            media={"frames_per_s": round(run.frames / duration, 2) if duration > 0 else None},
        )


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text
