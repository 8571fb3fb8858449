"""How many frames the live coach judges: a stride from the measured cost of judging."""

from __future__ import annotations

import statistics
from collections import deque

__all__ = ["BUSY_FPS", "SLOW_INCOMING_FPS", "TOO_BUSY_AFTER_S", "TOO_BUSY_FPS", "LoadGovernor"]

#: Judged frames per second below which the person is told the computer is busy...
BUSY_FPS = 12.0
#: ...and below which, for ``TOO_BUSY_AFTER_S``, that it is too busy to coach well.
TOO_BUSY_FPS = 4.0
TOO_BUSY_AFTER_S = 5.0
#: Frames per second arriving from the browser below which the video is "arriving
#: slowly" (the computer cannot keep up with the video itself), and a stop that
#: follows such a trickle is taken as a dropped connection, not the person's Stop.
SLOW_INCOMING_FPS = 6.0


class LoadGovernor:
    """Decides which frames to judge, from how long judging takes (stride in stream time).

    Judging a frame costs ``p`` seconds (``proc_ema_s``: the median of the last 9
    judged frames, so that a rare slow frame, e.g. the periodic two-person check, does
    not set the pace). The next
    frame is judged no sooner than ``max(1 / max_fps, p / duty)`` seconds of stream time
    after the last judged one, so judging uses at most ``duty`` of one core and the
    rest stays free for receiving and sending the video. Frames in between are shown
    (with the current coaching display) but not judged.

    Args:
        duty: largest share of one core the judging may take, 0..1.
        max_fps: never judge more often than this (frames per second).
        window_s: seconds over which frame rates are measured.
    """

    def __init__(self, duty: float = 0.75, max_fps: float = 30.0, window_s: float = 3.0) -> None:
        if not 0 < duty <= 1:
            raise ValueError(f"duty must be in (0, 1], got {duty}")
        self.duty = duty
        self.max_fps = max_fps
        self.window_s = window_s
        self.proc_ema_s = 0.0
        self.proc_last_s = 0.0
        self._costs: deque[float] = deque(maxlen=9)
        self._last_judged_t: float | None = None
        self._judged: deque[float] = deque()
        self._arrived: deque[float] = deque()
        self._busy_since: float | None = None

    def min_interval_s(self) -> float:
        """Stream seconds between two judged frames at the current cost."""
        return max(1.0 / self.max_fps, self.proc_ema_s / self.duty) - 1e-4

    def arrived(self, now: float) -> None:
        """A frame arrived from the camera at monotonic time ``now`` (seconds)."""
        self._arrived.append(now)
        self._trim(self._arrived, now)

    def should_judge(self, stream_t: float) -> bool:
        """Whether the frame captured at ``stream_t`` (seconds) should be judged."""
        last = self._last_judged_t
        return last is None or stream_t < last or stream_t - last >= self.min_interval_s()

    def judged(self, stream_t: float, cost_s: float, now: float) -> None:
        """Record a judged frame: its capture time, what judging cost (s), when it ended."""
        self._last_judged_t = stream_t
        self.proc_last_s = cost_s
        self._costs.append(cost_s)
        self.proc_ema_s = statistics.median(self._costs)  # numpy's costs 0.1 ms here
        self._judged.append(now)
        self._trim(self._judged, now)
        fps = self.judged_fps(now)
        if fps < TOO_BUSY_FPS and len(self._judged) >= 2:
            self._busy_since = now if self._busy_since is None else self._busy_since
        else:
            self._busy_since = None

    def restart(self) -> None:
        """Forget the stride (a new stream starts) but keep the measured cost."""
        self._last_judged_t = None
        self._judged.clear()
        self._arrived.clear()
        self._busy_since = None

    def _trim(self, q: deque[float], now: float) -> None:
        while q and now - q[0] > self.window_s:
            q.popleft()

    @staticmethod
    def _rate(q: deque[float], now: float) -> float:
        if len(q) < 2:
            return 0.0
        span = max(now, q[-1]) - q[0]
        return (len(q) - 1) / span if span > 0 else 0.0

    def judged_fps(self, now: float) -> float:
        """Frames judged per second over the last ``window_s``."""
        self._trim(self._judged, now)
        return self._rate(self._judged, now)

    def incoming_fps(self, now: float) -> float:
        """Frames arriving from the camera per second over the last ``window_s``."""
        self._trim(self._arrived, now)
        return self._rate(self._arrived, now)

    def too_busy(self, now: float) -> bool:
        """Judging has stayed under ``TOO_BUSY_FPS`` for ``TOO_BUSY_AFTER_S`` or more."""
        return self._busy_since is not None and now - self._busy_since >= TOO_BUSY_AFTER_S
