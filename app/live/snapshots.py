"""Making the live snapshots: from a judged frame, the counts alone, and the notices of now.

Plain functions of what they are given; ``LiveCoach`` publishes what they return
(under its own lock) and the page and the video both draw from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.live.governor import BUSY_FPS, SLOW_INCOMING_FPS
from app.live.run import STALL_S
from app.live.state import LiveSnapshot, SideProgress, hud_state
from exercises.records import Phase

if TYPE_CHECKING:
    from app.live.run import Run
    from coach.pipeline import FrameResult

__all__ = ["frame_snapshot", "live_notice", "progress_only"]

#: Display states kept through frames the model could not read (until the engine says
#: the body is lost): a person mid-stretch stays "in position", not a grey flash.
_KEPT_THROUGH_A_GAP = frozenset({"rest", "moving", "position", "ease"})


def progress_only(s: LiveSnapshot) -> LiveSnapshot:
    """The snapshot's counts, without the per-frame details."""
    return LiveSnapshot(frames=s.frames, sides=s.sides, reps=s.reps,
                        reps_target=s.reps_target, counting=s.counting,
                        focus_side=s.focus_side, side=s.side,
                        hold_required_s=s.hold_required_s, seq=s.seq)


def frame_snapshot(run: Run, result: FrameResult, done: bool, t: float, target: int,
                   last: LiveSnapshot) -> LiveSnapshot:
    """The snapshot after a judged frame.

    Args:
        run: the run the frame belongs to.
        result: the judged frame.
        done: the set has just been completed.
        t: the frame's run time.
        target: prescribed reps per side.
        last: the snapshot published before this one.
    """
    fb = result.primary
    sides = tuple(SideProgress(f.side, f.reps, f.correct_reps, target)
                  for f in result.feedback)
    focus = run.session.active_side
    cues = tuple(dict.fromkeys(c.text for c in fb.cues))
    sources = tuple(c.source for c in fb.cues)
    state = "done" if done else hud_state(fb.phase.value, sources, fb.active_faults)
    if (fb.phase is Phase.CANT_ASSESS and not fb.setup_message and not done
            and last.state in _KEPT_THROUGH_A_GAP):
        # a frame or two the model could not read: the engine keeps the phase and shows
        # nothing until the body has been lost for its ``lost_s``; so does the display
        # (a grey flash on every dropped frame is noise for a person 2 m away)
        state = last.state
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
        done=done, seq=last.seq + 1, stream_t=t,
    )


def live_notice(snap: LiveSnapshot, run: Run, now: float, fps: float, incoming: float,
                too_busy: bool) -> tuple[str, str | None]:
    """What to tell the person about the computer and the connection now: (kind, text).

    ``kind`` is "" (nothing to say), "loading", "stalled", "slow", "too_busy" or "busy".
    """
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
    return kind, notice


def _frames(n: int) -> str:
    return f"{n} frame" if n == 1 else f"{n} frames"
