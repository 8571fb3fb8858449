"""The live coach's on-video display, drawn from the same snapshot as the page's panel."""

from __future__ import annotations

from app.live.state import STATE_TEXT, LiveSnapshot
from exercises.engine import Phase
from pose.overlay import HudInfo

__all__ = ["hud_info"]


def hud_info(snap: LiveSnapshot) -> HudInfo:
    """What the video shows for a snapshot (the same facts as the page's panel)."""
    state = snap.state
    if not snap.running and not snap.done and snap.frames == 0 and state != "loading":
        state = "ready"
    side = "" if not snap.side or snap.side == "both" else f"{snap.side.capitalize()} side"
    short = {"busy": f"Computer busy: {snap.fps:.0f} frames/s",
             "too_busy": f"Computer too busy: {snap.fps:.0f} frames/s",
             "slow": f"Computer too busy: video at {snap.incoming_fps:.0f} frames/s",
             "stalled": "Video stopped arriving",
             "loading": "Loading the coach..."}.get(snap.notice_kind)
    return HudInfo(
        state=state, state_text=STATE_TEXT.get(state, state), side_text=side,
        reps=snap.reps, reps_target=snap.reps_target, hold_s=snap.hold_s,
        hold_target_s=snap.hold_required_s if snap.phase == Phase.POSITION.value else 0.0,
        cue=snap.cue, countdown_s=snap.countdown_s, notice=short, done=snap.done)
