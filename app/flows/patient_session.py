"""A patient's session in clinic mode, in one browser tab, as a small state machine.

Safety screening, then a coached set, then the after-session questions, then the
set saved into the clinical record::

    NOT_SCREENED --pass_screening--> SCREENED --finish_set--> PENDING_SAVE
    PENDING_SAVE --saved--> SAVED --finish_set--> PENDING_SAVE        (the next set)
    SAVED --ask_screening_again(notice)--> NOT_SCREENED               (e.g. pain rose)
    any --stop(reason)--> STOPPED --lift_stop--> (the stage underneath)
    SCREENED / SAVED --(the screening grows older than valid_s)--> NOT_SCREENED

and, beside the stage:

- the pain last reported in this tab (``last_pain``): the repeated safety check
  starts at the value just reported, not at 0;
- which reports were saved, and under which record id (``saved_id``): a report is
  saved once, however often the page reruns;
- a notice for the patient (``notice``), kept until the page shows it once
  (``take_notice``).

The flow decides no clinical rule: whether a screening passed, whether pain rose,
and what the patient is told come from the caller (``app.patient_ui``, which asks
``sessions``). It imports neither Streamlit nor the database: the state lives in
the mutable mapping it is given (``st.session_state`` in the app, a dict in tests),
under the same keys and with the same values as before it existed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coach.report import SessionReport

__all__ = ["FlowError", "PatientSessionFlow", "Screened", "Stage", "Stop"]

# the keys in the state mapping (st.session_state)
SCREENED_KEY = "clinic-screened"        # Screened: the last passed screening in this tab
STOP_KEY = "clinic-screening-stop"      # {"advice": str, "why": [str, ...]}: a red flag
SAVED_KEY = "clinic-saved-reports"      # {id(report): (report, record id)}: reports saved
                                        # from this tab (the report is kept so that its
                                        # id cannot be reused by a later report)
PENDING_KEY = "clinic-pending-report"   # (report, Screened | None): a set not saved yet
NOTICE_KEY = "clinic-saved-notice"      # str: said once, when the page asks questions next
LAST_PAIN_KEY = "clinic-last-pain"      # int: the pain last reported in this tab (0-10)
LAST_SAVED_KEY = "clinic-last-saved"    # int: the record id of the last save, until the
                                        # next set or screening


class FlowError(RuntimeError):
    """A transition that the patient's session does not allow from where it is."""


class Stage(Enum):
    """Where the patient's session is (``PatientSessionFlow.stage``)."""

    NOT_SCREENED = "not screened"   # the safety questions are due
    SCREENED = "screened"           # a screening passed recently: a set may start
    PENDING_SAVE = "pending save"   # a set is done; its after-session questions wait
    SAVED = "saved"                 # the last set is in the record; the next may start
    STOPPED = "stopped"             # a red flag: no stretching today (``stop_reason``)


@dataclass(frozen=True)
class Screened:
    """A passed screening in this browser tab."""

    screening_id: int
    pain_before: int
    advice: str
    at: float


@dataclass(frozen=True)
class Stop:
    """Why the session was stopped: the advice, and what the patient told us."""

    advice: str
    why: tuple[str, ...] = ()


class PatientSessionFlow:
    """The patient's session over ``state`` (``st.session_state``, or a dict in tests).

    Args:
        state: where the session lives between page runs; the flow owns its keys.
        valid_s: how long a passed screening covers new sets (seconds).
        clock: the time now, in seconds (``time.time``; a fake one in tests).
    """

    def __init__(self, state: MutableMapping[Any, Any], *, valid_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self._state = state
        self._valid_s = float(valid_s)
        self._clock = clock

    # ------------------------------------------------------------------ what is known

    @property
    def stage(self) -> Stage:
        """The stage now (a stop first, then a set waiting to be saved)."""
        if self.stop_reason is not None:
            return Stage.STOPPED
        if self.pending is not None:
            return Stage.PENDING_SAVE
        if self.screening is None:
            return Stage.NOT_SCREENED
        if self.last_saved is not None:
            return Stage.SAVED
        return Stage.SCREENED

    @property
    def screening(self) -> Screened | None:
        """The screening passed in this tab, while it is recent enough to start a set."""
        done: Screened | None = self._state.get(SCREENED_KEY)
        if done is None or self._clock() - done.at >= self._valid_s:
            return None
        return done

    @property
    def stop_reason(self) -> Stop | None:
        """Why the session is stopped, or None."""
        stop = self._state.get(STOP_KEY)
        if not stop:
            return None
        return Stop(stop["advice"], tuple(stop.get("why") or ()))

    @property
    def last_pain(self) -> int:
        """The pain last reported in this tab (before or after a set), 0 at first."""
        return int(self._state.get(LAST_PAIN_KEY, 0))

    @property
    def pending(self) -> tuple[SessionReport, Screened | None] | None:
        """The finished set whose after-session questions are not answered yet, and the
        screening it was done under."""
        pending: tuple[SessionReport, Screened | None] | None = self._state.get(PENDING_KEY)
        return pending

    @property
    def saved_count(self) -> int:
        """How many reports were saved from this tab."""
        return len(self._state.get(SAVED_KEY, {}))

    @property
    def last_saved(self) -> int | None:
        """The record id of the last save, until the next set or screening."""
        last: int | None = self._state.get(LAST_SAVED_KEY)
        return last

    @property
    def notice(self) -> str | None:
        """The notice waiting to be shown (without taking it)."""
        text: str | None = self._state.get(NOTICE_KEY)
        return text

    def saved_id(self, report: SessionReport) -> int | None:
        """The record id ``report`` was saved under from this tab, if it was."""
        saved: dict[int, tuple[SessionReport, int]] = self._state.get(SAVED_KEY, {})
        entry = saved.get(id(report))
        # the same object, not only the same id: CPython gives a freed object's id to
        # a new one, and a later set must never pass for one saved already
        return entry[1] if entry is not None and entry[0] is report else None

    # ------------------------------------------------------------------ transitions

    def stop(self, reason: Stop) -> None:
        """A red flag: no set today (any stage -> STOPPED). A passed screening is kept
        underneath; the stop hides it until ``lift_stop``."""
        self._state[STOP_KEY] = {"advice": reason.advice, "why": list(reason.why)}

    def lift_stop(self) -> None:
        """No red flag stands any more (STOPPED -> the stage underneath; else nothing)."""
        self._state.pop(STOP_KEY, None)

    def pass_screening(self, screening_id: int, pain_before: int, advice: str) -> Screened:
        """A screening passed (NOT_SCREENED, SCREENED or SAVED -> SCREENED; a set
        already waiting stays PENDING_SAVE). Its pain becomes the last reported one.

        Raises:
            FlowError: the session is stopped (lift the stop first).
        """
        if self.stop_reason is not None:
            raise FlowError("the session is stopped by a red flag: no screening can pass")
        done = Screened(int(screening_id), int(pain_before), advice, self._clock())
        self._state[SCREENED_KEY] = done
        self._state[LAST_PAIN_KEY] = int(pain_before)
        self._state.pop(LAST_SAVED_KEY, None)
        return done

    def forget_screening(self) -> None:
        """Ask the safety questions again before the next set (-> NOT_SCREENED unless
        stopped or a set is waiting)."""
        self._state.pop(SCREENED_KEY, None)

    def finish_set(self, report: SessionReport, screened: Screened | None) -> None:
        """A set is done and its after-session questions are shown (-> PENDING_SAVE).
        Calling it again on a rerun with the same report changes nothing.

        Raises:
            FlowError: ``report`` was saved already.
        """
        if self.saved_id(report) is not None:
            raise FlowError(f"this report was saved already (record {self.saved_id(report)})")
        self._state[PENDING_KEY] = (report, screened)
        self._state.pop(LAST_SAVED_KEY, None)

    def take_pending(self) -> tuple[SessionReport, Screened | None] | None:
        """Take the set waiting for its questions (to save it without them)."""
        pending: tuple[SessionReport, Screened | None] | None = \
            self._state.pop(PENDING_KEY, None)
        return pending

    def saved(self, report: SessionReport, record_id: int, *,
              pain_after: int | None = None) -> None:
        """``report`` is in the record as ``record_id`` (-> SAVED). ``pain_after``, when
        asked, becomes the last reported pain.

        Raises:
            FlowError: ``report`` was saved already (a report is saved once).
        """
        already = self.saved_id(report)
        if already is not None:
            raise FlowError(f"this report was saved already (record {already})")
        saved: dict[int, tuple[SessionReport, int]] = self._state.get(SAVED_KEY) or {}
        saved[id(report)] = (report, int(record_id))
        self._state[SAVED_KEY] = saved
        pending = self.pending
        if pending is not None and pending[0] is report:
            self._state.pop(PENDING_KEY, None)
        if pain_after is not None:
            self._state[LAST_PAIN_KEY] = int(pain_after)
        self._state[LAST_SAVED_KEY] = int(record_id)

    def ask_screening_again(self, notice: str) -> None:
        """After a save: the safety questions again before the next set, with ``notice``
        to show once (SAVED -> NOT_SCREENED).

        Raises:
            FlowError: no set was saved since the last set or screening.
        """
        if self.last_saved is None:
            raise FlowError("the safety questions are asked again only after a saved set")
        self.forget_screening()
        self._state[NOTICE_KEY] = notice

    def take_notice(self) -> str | None:
        """The notice to show now, once (the next call returns None)."""
        text: str | None = self._state.pop(NOTICE_KEY, None)
        return text
