"""Process-level helpers of the live coach: thread priority, closing at exit, error text."""

from __future__ import annotations

import atexit
import importlib
import logging
import os
import threading
import weakref
from typing import Protocol

__all__ = ["JUDGE_NICENESS", "close_at_exit", "lower_priority", "one_line"]

log = logging.getLogger(__name__)

#: Niceness of the threads that run the pose model (Linux: per thread; 0 leaves it
#: as is). Raising it gives the video connection's threads the CPU first, but it
#: also hands CPU to every other program: in two single runs on the shared machine
#: niceness 4 judged fewer frames (0-2/s) than 0 (1.5-3.4/s) and the connection held
#: in both, since the callback no longer waits for the model. Default 0.
JUDGE_NICENESS = int(os.environ.get("STRETCH_COACH_JUDGE_NICENESS", "0"))


class _Closable(Protocol):
    def close(self) -> None: ...


#: Every LiveCoach, only to release their models before the interpreter shuts down
#: (MediaPipe's own finaliser fails noisily once its modules are torn down).
_instances: weakref.WeakSet[_Closable] = weakref.WeakSet()


def close_at_exit(coach: _Closable) -> None:
    """Close ``coach`` when the interpreter shuts down (if it is still alive then)."""
    _instances.add(coach)


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


def lower_priority() -> None:
    """Give the calling thread ``JUDGE_NICENESS`` (no-op where threads have no niceness)."""
    if JUDGE_NICENESS <= 0:
        return
    try:
        tid = threading.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, tid) < JUDGE_NICENESS:
            os.setpriority(os.PRIO_PROCESS, tid, JUDGE_NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed
        log.debug("could not lower the judge thread's priority", exc_info=True)


def one_line(e: BaseException) -> str:
    """An exception as one line of text (its first line, else its type's name)."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text
