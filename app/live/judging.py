"""Starting a live run and judging its frames: the judge thread of ``LiveCoach``.

``Judging`` is a mixin of ``app.live.coach.LiveCoach`` and holds no state of its
own: the coach's locks, governor, spare estimator, current run and published
snapshot are the coach's (set up in ``LiveCoach.__init__``), and the order of
operations is the one the coach had. ``_start_run`` begins a run (or resumes a
suspended one) under the coach's lock; ``_judge_loop`` is a run's judge thread
(model loading, then the newest frame each time); ``_judge`` judges one frame
and publishes its snapshot (also called inline when ``synchronous``). The end of
a finished set goes to ``LiveCoach._complete`` (``app.live.stopping``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from app.live.run import Run
from app.live.runtime import lower_priority, one_line
from app.live.snapshots import frame_snapshot, progress_only
from app.live.state import LiveSnapshot, SideProgress
from coach.pipeline import CoachSession

if TYPE_CHECKING:
    from app.live.governor import LoadGovernor
    from app.live.warmup import SpareEstimator
    from coach.report import SessionReport
    from exercises.definition import Prescription, StretchDefinition

__all__ = ["Judging"]

# the same logger as the rest of the live coach (``app.live.coach``)
log = logging.getLogger("app.live.coach")


class Judging:
    """Starting runs and judging frames, for ``LiveCoach`` (a mixin: the state is the coach's)."""

    # set up by LiveCoach.__init__ / configure
    _lock: threading.Lock
    _gov_lock: threading.Lock
    governor: LoadGovernor
    _spare: SpareEstimator
    _run: Run | None
    _suspended: Run | None
    _stopped_at: float
    _snapshot: LiveSnapshot
    _timing_path: str | None
    synchronous: bool
    countdown_s: float
    definition: StretchDefinition
    sides: tuple[str, ...]
    prescription: Prescription
    report: SessionReport | None
    saved_id: int | None
    save_error: str | None
    last_end: str

    def _start_run(self) -> Run:
        """A new run, or the suspended one resumed (called under ``self._lock``)."""
        with self._gov_lock:
            self.governor.restart()
        run = self._suspended
        if run is not None:
            self._suspended = None
            run.resume()
            log.info("live coach: resuming after a dropped connection (%d reps so far)",
                     run.counted_reps())
        else:
            # live: both sides one after the other (the coach judges only the current side)
            session = CoachSession(self.definition, self.sides, None, self.prescription,
                                   sequence=True)
            self.report = None
            self.saved_id = None
            self.save_error = None
            run = Run(session=session, t0_wall=time.monotonic(),
                      series={"t": [], **{s: [] for s in self.sides}})
            target = self.reps_per_side()
            self._publish(LiveSnapshot(  # a new set: nothing of the last one carries over
                sides=tuple(SideProgress(s, 0, 0, target) for s in self.sides),
                reps_target=target * len(self.sides), seq=self._snapshot.seq + 1))
        self.last_end = ""
        run.last_arrival = run.started_wall = time.monotonic()
        if self.synchronous:
            run.estimator = run.session.estimator = self._spare.take()
        else:
            run.judge = threading.Thread(target=self._judge_loop, args=(run,), daemon=True,
                                         name="stretch-coach-judge")
            run.judge.start()
        self._publish(replace(progress_only(self._snapshot), running=True, state="loading",
                              seq=self._snapshot.seq + 1))
        return run

    def _judge_loop(self, run: Run) -> None:
        """The judge thread of one run: load the model, then judge the newest frames."""
        lower_priority()
        try:
            estimator = self._spare.take()
        except Exception as e:  # e.g. no pose model: shown in the panel
            log.exception("live coach could not load the pose model")
            run.failure = one_line(e)
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

    def _judge(self, run: Run, image_rgb: np.ndarray, t: float) -> bool:
        """Judge one frame; publish the snapshot. Returns True when the set just finished."""
        t_start = time.perf_counter()
        with run.lock:
            if run.closing or run.session.estimator is None:
                return False
            if run.ready_t is None:
                run.ready_t = t
            left = self.countdown_s - (t - run.ready_t)
            if left > 0:  # "get ready": nothing is judged yet
                self._publish(replace(progress_only(self._snapshot), running=True,
                                      state="countdown", countdown_s=left, stream_t=t,
                                      seq=self._snapshot.seq + 1))
                return False
            try:
                result = run.session.process(image_rgb, t)
            except Exception as e:  # keep the stream alive; say so in the panel and the log
                run.errors += 1
                if run.errors <= 3 or run.errors % 100 == 0:
                    log.exception("live coach failed on a frame (%d so far)", run.errors)
                self._publish(replace(self._snapshot, error=one_line(e),
                                      seq=self._snapshot.seq + 1))
                return False
            run.record(result, t)
            target = self.reps_per_side()
            done = all(tr.counted_reps >= target for tr in run.session.trackers.values())
            now = time.monotonic()
            with self._gov_lock:
                self.governor.judged(t, time.perf_counter() - t_start, now)
                fps = self.governor.judged_fps(now)
            run.log_fps(fps, now)
            self._publish(frame_snapshot(run, result, done, t, target, self._snapshot))
        if self._timing_path:
            self._log_timing(t_start, t, image_rgb.shape, "")
        return done
