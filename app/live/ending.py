"""The end of a live run: was it a dropped connection, what is recorded, what is shown.

Plain functions of a ``Run`` and what they are given; ``LiveCoach`` decides when a
run ends (under its own lock), calls these, and keeps the report and its saved id.
A run's own ``lock`` is taken here exactly where the coach took it before.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from app.live.governor import SLOW_INCOMING_FPS, TOO_BUSY_FPS
from app.live.run import STALL_S
from app.live.snapshots import progress_only
from app.live.state import TOO_BUSY, LiveSnapshot, is_technical
from coach.report import SessionReport, build_report

if TYPE_CHECKING:
    from app.live.run import Run
    from exercises.definition import Prescription, StretchDefinition

__all__ = [
    "build_live_report",
    "close_run",
    "dropped_snapshot",
    "end_problem",
    "ended_by_drop",
    "ended_snapshot",
    "suspend_run",
]


def ended_by_drop(run: Run, now: float, incoming: float) -> bool:
    """Whether a stream that just ended was a dropped connection, not the person's Stop.

    So it is when the run failed, when frames had already stopped arriving for
    ``STALL_S``, or when, after the first seconds, they only trickled in.
    """
    slow = now - run.started_wall > 4.0 and incoming < SLOW_INCOMING_FPS
    return run.failure is not None or now - run.last_arrival > STALL_S or slow


def end_problem(run: Run, problem: str) -> str:
    """``problem``, or the technical "too busy" end when the run was judged too slowly."""
    fps = run.median_fps()
    if fps is not None and fps < TOO_BUSY_FPS:
        return TOO_BUSY.format(fps=fps)
    return problem


def suspend_run(run: Run) -> bool:
    """Release the model of a run cut by a dropped connection; whether it counted anything."""
    with run.lock:
        run.release_estimator()
        return run.counted()


def dropped_snapshot(last: LiveSnapshot, counted: bool) -> LiveSnapshot:
    """What the page shows after a dropped connection (``last``: the snapshot before)."""
    return replace(progress_only(last), running=False, resumable=counted,
                   notice_kind="dropped", seq=last.seq + 1,
                   notice="The video connection dropped: press Start to continue."
                   + (" What you did so far is kept." if counted else ""))


def close_run(run: Run, definition: StretchDefinition, prescription: Prescription,
              target: int, problem: str | None) -> SessionReport | None:
    """Finish the run's session, release its model and build its report (None: nothing
    counted). ``target``: prescribed reps per side."""
    with run.lock:
        run.closing = True
        try:
            if run.session.last is not None:
                run.session.finish()
        finally:
            run.release_estimator()
        return build_live_report(run, definition, prescription, target, problem)


def ended_snapshot(last: LiveSnapshot, complete: bool) -> LiveSnapshot:
    """What the page shows once a run has ended (``last``: the snapshot before)."""
    return replace(progress_only(last), running=False, done=complete,
                   state="done" if complete else "paused",
                   cue="Set complete. Well done!" if complete else None,
                   seq=last.seq + 1)


def build_live_report(run: Run, definition: StretchDefinition, prescription: Prescription,
                      target: int, problem: str | None) -> SessionReport | None:
    """The report of a run (None when it has nothing to record: ``Run.counted``)."""
    if not run.counted():
        return None
    trackers = list(run.session.trackers.values())
    done = all(t.counted_reps >= target for t in trackers)
    duration = run.session.last.frame.timestamp_s if run.session.last else 0.0
    fps = run.median_fps()
    return build_report(
        definition, trackers, source="live", prescription=prescription,
        duration_s=duration, frames=run.frames, complete=done,
        problem=None if done else problem, series=run.series,
        media={"frames_per_s": round(run.frames / duration, 2) if duration > 0 else None,
               "judged_frames_per_s": round(fps, 1) if fps is not None else None,
               "ended": "complete" if done else (
                   "technical" if is_technical(problem) else "stopped")},
    )
