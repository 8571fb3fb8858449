"""What the live page and the on-video display show: the snapshot and its states.

A ``LiveSnapshot`` is a frozen copy, safe to read from any thread; the page's panel
and the video's display are both drawn from it, so they never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from coach.report import TECHNICAL, is_technical
from exercises.engine import Phase

__all__ = [
    "DROPPED",
    "INTERRUPTED",
    "STATE_TEXT",
    "TECHNICAL",
    "TOO_BUSY",
    "LiveSnapshot",
    "SideProgress",
    "hud_state",
    "is_technical",
]

INTERRUPTED = "camera stopped before the set was finished"
# TECHNICAL and is_technical live with the report (the clinic side reads them too)
DROPPED = TECHNICAL + "the video connection dropped before the set was finished"
TOO_BUSY = TECHNICAL + "the computer was too busy to coach ({fps:.0f} frames per second)"


#: Display states: key -> (words shown on the video and in the panel).
STATE_TEXT = {
    "loading": "Starting",
    "countdown": "Get ready",
    "ready": "Getting ready",
    "rest": "Rest",
    "moving": "Into position",
    "position": "In position",
    "ease": "Ease off",
    "done": "Set complete",
    "paused": "Paused",
}


def hud_state(phase: str, cue_sources: tuple[str, ...] = (),
              active_faults: tuple[str, ...] = ()) -> str:
    """The display state for a tracker phase (a key of ``STATE_TEXT``).

    "Ease off" when the engine says the stretch goes too far (its ``too_far`` cue) or a
    form fault is happening; otherwise one state per phase.
    """
    if phase in (Phase.SETUP.value, Phase.CANT_ASSESS.value):
        return "ready"
    if "too_far" in cue_sources or (active_faults and phase != Phase.REST.value):
        return "ease"
    if phase == Phase.POSITION.value:
        return "position"
    if phase == Phase.MOVING.value:
        return "moving"
    return "rest"  # REST, RETURNING


@dataclass(frozen=True)
class SideProgress:
    """Progress on one side: reps done of the prescribed reps."""

    side: str
    reps: int
    correct_reps: int
    target: int


@dataclass(frozen=True)
class LiveSnapshot:
    """What the page and the video overlay show (a copy, safe to read from any thread).

    Attributes:
        running: a run is in progress (frames are arriving or expected).
        frames: frames judged in this run.
        fps: frames judged per second over the last few seconds.
        incoming_fps: frames arriving from the camera per second.
        phase: phase of the side being judged (``Phase`` value).
        state: display state, a key of ``STATE_TEXT`` (colour and words).
        side: that side.
        sides: progress per tracked side.
        focus_side: the side to work on now ("both in sequence": the first unfinished one).
        reps: counted reps over all sides; reps_target: prescribed over all sides.
        hold_s / hold_required_s: current hold (seconds) and the hold asked for.
        value: the primary measure now (None when not measurable).
        cues: up to two short sentences; ``cue`` is the one shown on the video.
        setup_message: what to change when the body can't be seen (from the engine).
        counting: counting has started (the person was seen at rest).
        countdown_s: seconds left of the "get ready" countdown (0: none).
        done: the prescribed set is complete (counting stopped, report made).
        notice: a plain sentence about the computer or the connection (never about the
            person), e.g. "Your computer is busy: coaching at 6 frames per second".
        notice_kind: "", "loading", "busy", "too_busy", "slow" (few frames arrive),
            "stalled" or "dropped".
        resumable: a run was cut by a dropped connection; Start resumes it.
        error: a one-line problem in the processing (e.g. no pose model).
        seq: increases with every published snapshot.
    """

    running: bool = False
    frames: int = 0
    fps: float = 0.0
    incoming_fps: float = 0.0
    phase: str = Phase.SETUP.value
    state: str = "ready"
    side: str = ""
    sides: tuple[SideProgress, ...] = ()
    focus_side: str | None = None
    reps: int = 0
    reps_target: int = 0
    hold_s: float = 0.0
    hold_required_s: float = 0.0
    value: float | None = None
    cues: tuple[str, ...] = ()
    cue: str | None = None
    setup_message: str | None = None
    counting: bool = False
    countdown_s: float = 0.0
    done: bool = False
    notice: str | None = None
    notice_kind: str = ""
    resumable: bool = False
    error: str | None = None
    seq: int = 0
    #: stream time of the judged frame this snapshot describes (internal, for drawing)
    stream_t: float = -1.0
