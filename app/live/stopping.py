"""Ending live runs: stopped, suspended after a dropped connection, complete; saved.

``Stopping`` is a mixin of ``app.live.coach.LiveCoach`` and holds no state of its
own: the coach's locks, governor, runs, snapshot, report and save callback are
the coach's (set up in ``LiveCoach.__init__``), and the order of operations is the
one the coach had. What a run's end means (dropped or stopped, its report, what
is shown) is decided by the plain functions of ``app.live.ending``; this module
decides when, under the coach's lock, and keeps the report and its saved id.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.live.ending import (
    close_run,
    dropped_snapshot,
    end_problem,
    ended_by_drop,
    ended_snapshot,
    suspend_run,
)
from app.live.governor import SLOW_INCOMING_FPS
from app.live.run import STALL_S, Run
from app.live.runtime import one_line
from app.live.state import DROPPED, INTERRUPTED, LiveSnapshot
from coach.report import SessionReport

if TYPE_CHECKING:
    from app.live.governor import LoadGovernor
    from exercises.definition import Prescription, StretchDefinition

__all__ = ["SUSPEND_KEEP_S", "Stopping"]

# the same logger as the rest of the live coach (``app.live.coach``)
log = logging.getLogger("app.live.coach")

#: A run cut by a dropped connection and not resumed within this many seconds is
#: recorded as it stands (a technical end), so what was counted is not lost.
SUSPEND_KEEP_S = 600.0


class Stopping:
    """The ends of runs, for ``LiveCoach`` (a mixin: the state is the coach's)."""

    # set up by LiveCoach.__init__ / configure
    _lock: threading.Lock
    _gov_lock: threading.Lock
    governor: LoadGovernor
    _run: Run | None
    _suspended: Run | None
    _finished_stream: bool
    _stopped_at: float
    _stopping: int
    _snapshot: LiveSnapshot
    _save: Callable[[SessionReport], int | None] | None
    definition: StretchDefinition
    prescription: Prescription
    report: SessionReport | None
    saved_id: int | None
    save_error: str | None
    last_end: str

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
            self._stopping += 1
            run.closing = True
        try:
            with run.wake:
                run.wake.notify_all()
            with self._gov_lock:
                incoming = self.governor.incoming_fps(now)
            if ended_by_drop(run, now, incoming):
                # frames trickling in until the end (not stopped: a dropped connection)
                trickle = incoming < SLOW_INCOMING_FPS and now - run.last_arrival <= STALL_S
                return self._suspend(run, slow=trickle)
            problem = end_problem(run, INTERRUPTED)
            return self._finish(run, problem,
                                "stopped" if problem == INTERRUPTED else "too_busy")
        finally:
            with self._lock:
                self._stopping -= 1

    def _suspend(self, run: Run, *, slow: bool = False) -> None:
        """Keep a dropped run to be resumed (if it counted anything); ``slow``: the video
        was only trickling in (the computer's problem, said as such on the page)."""
        counted = suspend_run(run)
        if counted:
            self._suspended = run
            timer = threading.Timer(SUSPEND_KEEP_S, self._expire_suspended, args=(run,))
            timer.daemon = True
            timer.start()
        self.last_end = "too_busy" if slow or end_problem(run, DROPPED) != DROPPED \
            else "dropped"
        self._publish(dropped_snapshot(self._snapshot, counted))
        log.info("live coach: the video stopped arriving; run %s", "suspended" if counted
                 else "discarded (nothing counted yet)")
        return None

    def _expire_suspended(self, run: Run) -> None:
        if self._suspended is run:
            log.info("live coach: a dropped run was not resumed; recording it as it stands")
            self.end_suspended()

    def end_suspended(self) -> SessionReport | None:
        """Record a run cut by a dropped connection as it stands (a technical end)."""
        with self._lock:
            run, self._suspended = self._suspended, None
        if run is None:
            return None
        return self._finish(run, end_problem(run, DROPPED), "dropped")

    def _complete(self, run: Run) -> None:
        """The prescribed set is done: stop counting, finish and save (judge thread)."""
        with self._lock:
            if self._run is run:
                self._run = None
                self._finished_stream = True  # the rest of this stream shows "Set complete"
            run.closing = True
        self._finish(run, None, "complete")

    def _finish(self, run: Run, problem: str | None, how: str) -> SessionReport | None:
        report = close_run(run, self.definition, self.prescription, self.reps_per_side(),
                           problem)
        complete = report is not None and report.complete
        self.last_end = "complete" if complete else how
        self._publish(ended_snapshot(self._snapshot, complete))
        if report is None:
            return None
        self.report = report
        if self._save is not None:
            try:
                self.saved_id = self._save(report)
            except Exception as e:
                from sessions.errors import log_failure

                log_failure(log, "could not save the live session", e)
                self.save_error = one_line(e)
        return report
