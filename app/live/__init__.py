"""The live coach behind the browser page, without Streamlit.

One module per concern:

- ``app.live.coach``: ``LiveCoach`` (one per browser session): its state and locks,
  settings, the frame callback, snapshots and drawing; it composes the two below.
- ``app.live.judging``: starting a run, the judge thread, judging one frame.
- ``app.live.stopping``: stopping, suspending, completing and saving a run.
- ``app.live.run``: ``Run``, one run's counts, series, frame rates and run time.
- ``app.live.ending``: the end of a run: dropped or stopped, its report, what is shown.
- ``app.live.snapshots``: snapshots from a judged frame, and the notices of now.
- ``app.live.warmup``: ``SpareEstimator``, the pose model warmed up for the next run.
- ``app.live.runtime``: thread priority, closing every coach at exit, one-line errors.
- ``app.live.governor``: ``LoadGovernor``, how many frames are judged on a busy computer.
- ``app.live.state``: ``LiveSnapshot`` (what the page and the video show), display
  states, and how a technical end is recorded.
- ``app.live.hud``: the on-video display drawn from a snapshot (``HudLayer``: drawn
  once per change, blended onto each frame).
- ``app.live.ice``: ICE (STUN/TURN) servers for the video connection.

The names used elsewhere are re-exported here (``from app.live import LiveCoach``).
"""

from __future__ import annotations

from app.live.coach import COUNTDOWN_S, STALL_S, SUSPEND_KEEP_S, LiveCoach
from app.live.governor import (
    BUSY_FPS,
    SLOW_INCOMING_FPS,
    TOO_BUSY_AFTER_S,
    TOO_BUSY_FPS,
    LoadGovernor,
)
from app.live.hud import HudLayer, hud_info
from app.live.ice import ice_servers
from app.live.state import (
    DROPPED,
    INTERRUPTED,
    STATE_TEXT,
    TECHNICAL,
    TOO_BUSY,
    LiveSnapshot,
    SideProgress,
    hud_state,
    is_technical,
)

__all__ = [
    "BUSY_FPS",
    "COUNTDOWN_S",
    "DROPPED",
    "INTERRUPTED",
    "SLOW_INCOMING_FPS",
    "STALL_S",
    "STATE_TEXT",
    "SUSPEND_KEEP_S",
    "TECHNICAL",
    "TOO_BUSY",
    "TOO_BUSY_AFTER_S",
    "TOO_BUSY_FPS",
    "HudLayer",
    "LiveCoach",
    "LiveSnapshot",
    "LoadGovernor",
    "SideProgress",
    "hud_info",
    "hud_state",
    "ice_servers",
    "is_technical",
]
