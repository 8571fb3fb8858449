"""The patient's session state machine (``app.flows.patient_session``) on a plain dict,
and the pages' pieces that use it (``app.patient_ui``) run by Streamlit's own test runner
with a stand-in clinic."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from app.flows.patient_session import (
    FlowError,
    PatientSessionFlow,
    Screened,
    Stage,
    Stop,
)

VALID_S = 3 * 3600.0


class _Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class _Report:
    """A stand-in for a session report: the flow only tells reports apart by identity."""

    complete = True


def _flow(state: dict[str, Any] | None = None, clock: _Clock | None = None
          ) -> PatientSessionFlow:
    return PatientSessionFlow({} if state is None else state, valid_s=VALID_S,
                              clock=clock or _Clock())


def _saved_flow() -> tuple[PatientSessionFlow, _Report, Screened]:
    """Screened at pain 2, one set done and saved as record 7 with pain after 3."""
    flow = _flow()
    screened = flow.pass_screening(11, 2, "Go gently.")
    report = _Report()
    flow.finish_set(report, screened)
    flow.saved(report, 7, pain_after=3)
    return flow, report, screened


# --------------------------------------------------------------------------- stages


def test_a_new_tab_needs_screening() -> None:
    flow = _flow()
    assert flow.stage is Stage.NOT_SCREENED
    assert flow.screening is None
    assert flow.stop_reason is None
    assert flow.pending is None
    assert (flow.last_pain, flow.saved_count, flow.last_saved, flow.notice) == (0, 0, None, None)


def test_a_passed_screening_allows_a_set_and_sets_the_last_pain() -> None:
    clock = _Clock(5000.0)
    state: dict[str, Any] = {}
    flow = _flow(state, clock)
    done = flow.pass_screening(11, 3, "Go gently.")
    assert done == Screened(11, 3, "Go gently.", 5000.0)
    assert flow.stage is Stage.SCREENED
    assert flow.screening == done
    assert flow.last_pain == 3
    # the same keys and values as before the flow existed
    assert state == {"clinic-screened": done, "clinic-last-pain": 3}


def test_a_screening_covers_sets_for_valid_s_only() -> None:
    clock = _Clock(0.0)
    flow = _flow(clock=clock)
    done = flow.pass_screening(11, 3, "Go gently.")
    clock.now = VALID_S - 0.001
    assert flow.screening == done and flow.stage is Stage.SCREENED
    clock.now = VALID_S
    assert flow.screening is None
    assert flow.stage is Stage.NOT_SCREENED
    assert flow.last_pain == 3   # the pain is still the last reported one


def test_a_stop_keeps_its_reason_and_blocks_a_screening() -> None:
    state: dict[str, Any] = {}
    flow = _flow(state)
    reason = Stop("Please don't stretch today.", ("Do you have new numbness?",
                                                 "Pain right now: 9 out of 10"))
    flow.stop(reason)
    assert flow.stage is Stage.STOPPED
    assert flow.stop_reason == reason
    assert state["clinic-screening-stop"] == {
        "advice": "Please don't stretch today.",
        "why": ["Do you have new numbness?", "Pain right now: 9 out of 10"]}
    with pytest.raises(FlowError, match="red flag"):
        flow.pass_screening(12, 1, "Go gently.")
    assert flow.screening is None and flow.stage is Stage.STOPPED
    assert flow.last_pain == 0


def test_a_stop_hides_a_passed_screening_until_lifted() -> None:
    flow = _flow()
    done = flow.pass_screening(11, 2, "Go gently.")
    flow.stop(Stop("Please don't stretch today: a red flag earlier today."))
    assert flow.stage is Stage.STOPPED
    assert flow.stop_reason == Stop("Please don't stretch today: a red flag earlier today.")
    flow.lift_stop()
    assert flow.stop_reason is None
    assert flow.stage is Stage.SCREENED and flow.screening == done
    flow.lift_stop()   # nothing to lift: nothing changes
    assert flow.stage is Stage.SCREENED


def test_a_stop_written_before_the_flow_existed_is_read() -> None:
    flow = _flow({"clinic-screening-stop": {"advice": "Stop.", "why": ["Severe pain"]}})
    assert flow.stop_reason == Stop("Stop.", ("Severe pain",))
    assert flow.stage is Stage.STOPPED


def test_a_finished_set_waits_for_its_questions() -> None:
    state: dict[str, Any] = {}
    flow = _flow(state)
    screened = flow.pass_screening(11, 2, "Go gently.")
    report = _Report()
    flow.finish_set(report, screened)
    assert flow.stage is Stage.PENDING_SAVE
    assert flow.pending == (report, screened)
    assert state["clinic-pending-report"] == (report, screened)
    flow.finish_set(report, screened)    # the page reruns: still the one set waiting
    assert flow.pending == (report, screened) and flow.stage is Stage.PENDING_SAVE


def test_a_set_waiting_outlasts_its_screening() -> None:
    clock = _Clock(0.0)
    flow = _flow(clock=clock)
    report = _Report()
    flow.finish_set(report, flow.pass_screening(11, 2, "Go gently."))
    clock.now = 2 * VALID_S
    assert flow.stage is Stage.PENDING_SAVE
    flow.pass_screening(12, 2, "Go gently.")    # asked again: the set still waits
    assert flow.stage is Stage.PENDING_SAVE


def test_saving_records_the_id_and_the_pain_after() -> None:
    flow, report, _ = _saved_flow()
    assert flow.stage is Stage.SAVED
    assert flow.saved_id(report) == 7
    assert flow.saved_id(_Report()) is None
    assert flow.pending is None
    assert (flow.saved_count, flow.last_saved, flow.last_pain) == (1, 7, 3)


def test_a_report_is_saved_once() -> None:
    flow, report, screened = _saved_flow()
    with pytest.raises(FlowError, match="saved already"):
        flow.saved(report, 8)
    with pytest.raises(FlowError, match="saved already"):
        flow.finish_set(report, screened)   # its questions are not asked again
    assert flow.saved_id(report) == 7
    assert (flow.saved_count, flow.last_saved, flow.pending) == (1, 7, None)


def test_a_later_set_never_passes_for_a_saved_one() -> None:
    """CPython gives a freed object's id to a new object of the same size: once the page
    has let go of a saved report, later reports must still be saved."""
    flow, report, _ = _saved_flow()
    del report   # the page moved on (a new set replaced it)
    later = [_Report() for _ in range(2000)]
    assert all(flow.saved_id(r) is None for r in later)
    flow.finish_set(later[-1], None)   # not refused as "saved already"
    assert flow.stage == Stage.PENDING_SAVE


def test_a_set_saved_without_its_questions_keeps_the_last_pain() -> None:
    """"Start camera" pressed again instead of "Save": the waiting set is taken and saved
    without pain after."""
    flow = _flow()
    screened = flow.pass_screening(11, 2, "Go gently.")
    report = _Report()
    flow.finish_set(report, screened)
    assert flow.take_pending() == (report, screened)
    assert flow.pending is None and flow.take_pending() is None
    flow.saved(report, 9)
    assert (flow.saved_id(report), flow.last_pain, flow.stage) == (9, 2, Stage.SAVED)


def test_saving_another_report_leaves_the_waiting_set() -> None:
    flow = _flow()
    screened = flow.pass_screening(11, 2, "Go gently.")
    waiting, other = _Report(), _Report()
    flow.finish_set(waiting, screened)
    flow.saved(other, 5)
    assert flow.pending == (waiting, screened)
    assert flow.stage is Stage.PENDING_SAVE


def test_after_a_pain_rise_the_questions_come_again_at_the_pain_just_reported() -> None:
    flow, _, _ = _saved_flow()
    flow.ask_screening_again("Saved to your record (session 7). Your pain went up.")
    assert flow.stage is Stage.NOT_SCREENED
    assert flow.screening is None
    # the repeated safety check starts at the value just reported
    assert flow.last_pain == 3
    assert flow.notice == "Saved to your record (session 7). Your pain went up."
    # the notice is shown once
    assert flow.take_notice() == "Saved to your record (session 7). Your pain went up."
    assert flow.take_notice() is None and flow.notice is None
    flow.pass_screening(12, 3, "Go gently.")
    assert flow.stage is Stage.SCREENED and flow.last_saved is None


def test_the_questions_are_asked_again_only_after_a_save() -> None:
    flow = _flow()
    flow.pass_screening(11, 2, "Go gently.")
    with pytest.raises(FlowError, match="after a saved set"):
        flow.ask_screening_again("Your pain went up.")
    assert flow.notice is None and flow.stage is Stage.SCREENED


def test_starting_again_after_a_saved_set() -> None:
    flow, first, screened = _saved_flow()
    second = _Report()
    flow.finish_set(second, screened)
    assert flow.stage is Stage.PENDING_SAVE and flow.last_saved is None
    flow.saved(second, 8, pain_after=1)
    assert flow.stage is Stage.SAVED
    assert (flow.saved_id(first), flow.saved_id(second)) == (7, 8)
    assert (flow.saved_count, flow.last_saved, flow.last_pain) == (2, 8, 1)


def test_forgetting_the_screening() -> None:
    flow = _flow()
    flow.pass_screening(11, 2, "Go gently.")
    flow.forget_screening()
    assert flow.stage is Stage.NOT_SCREENED and flow.last_pain == 2


def test_the_state_lives_in_the_mapping_not_the_flow() -> None:
    """The page makes a new flow on every run: all it knows is in the mapping."""
    state: dict[str, Any] = {}
    first = _flow(state)
    screened = first.pass_screening(11, 4, "Go gently.")
    report = _Report()
    first.finish_set(report, screened)
    again = _flow(state)
    assert again.stage is Stage.PENDING_SAVE
    assert again.pending == (report, screened) and again.last_pain == 4
    again.saved(report, 7)
    assert first.saved_id(report) == 7 and first.stage is Stage.SAVED
    assert _flow().saved_id(report) is None   # another tab: another mapping


def test_the_flow_needs_neither_streamlit_nor_the_database() -> None:
    code = ("import sys\n"
            "for name in ('streamlit', 'sessions', 'sqlalchemy'):\n"
            "    sys.modules[name] = None\n"
            "import app.flows.patient_session as f\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('streamlit', 'sessions', 'sqlalchemy', 'coach') and sys.modules[m]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


# --------------------------------------------------------------------------- the page pieces


@dataclass
class _Result:
    ok: bool
    advice: str
    red_flags: list[str]
    screening_id: int


@dataclass
class FakeClinic:
    """Records what the page hands to the clinic; a yes, or pain 8+, is a red flag."""

    screenings: list[_Result] = field(default_factory=list)
    saves: list[dict[str, Any]] = field(default_factory=list)

    def screening_today(self) -> _Result | None:
        return self.screenings[-1] if self.screenings else None

    def record_screening(self, answers: dict[str, bool], pain: int) -> _Result:
        flags = [k for k, v in answers.items() if v] + (["pain_before"] if pain >= 8 else [])
        result = _Result(not flags, "Please don't stretch today." if flags else "Go gently.",
                         flags, len(self.screenings) + 1)
        self.screenings.append(result)
        return result

    def save_session(self, report: Any, **kw: Any) -> int:
        self.saves.append({"report": report, **kw})
        return 100 + len(self.saves)


def _page() -> None:
    import streamlit as st

    from app.patient_ui import (
        after_session_form,
        needs_screening,
        save_pending,
        saved_notice,
        screening_gate,
    )
    from tests.test_patient_flow import FakeClinic, _Report

    clinic = st.session_state.setdefault("test-clinic", FakeClinic())
    report = st.session_state.setdefault("test-report", _Report())
    if not st.session_state.get("test-analyse-page"):   # that page does not call it
        save_pending(clinic, report)
    if needs_screening():
        saved_notice()
    screened = screening_gate(clinic)
    if screened is None:
        st.stop()
    st.caption(f"Safety check done (pain {screened.pain_before}/10). {screened.advice}")
    new_id = after_session_form(clinic, report, screened, key="after-session")
    if new_id is not None:
        st.success(f"Saved to your record (session {new_id})")


def _answer(at: AppTest, pain: int, yes: tuple[str, ...] = ()) -> AppTest:
    from sessions.screening import SCREENING_QUESTIONS

    for q in SCREENING_QUESTIONS:
        at.radio(key=f"screening-{q}").set_value("Yes" if q in yes else "No")
    at.slider(key="screening-pain").set_value(pain)
    return _press(at, "Continue")


def _press(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    return at.run()


def _texts(at: AppTest) -> str:
    parts = [e.value for kind in (at.subheader, at.success, at.error, at.warning, at.caption,
                                  at.markdown) for e in kind]
    return "\n".join(str(p) for p in parts)


@pytest.fixture()
def page() -> AppTest:
    at = AppTest.from_function(_page, default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def test_page_screening_then_a_saved_set_with_a_pain_rise(page: AppTest) -> None:
    at = page
    assert "Before you start: a quick safety check" in _texts(at)
    _press(at, "Continue")
    assert "Please answer every question" in _texts(at)
    _answer(at, 2)
    assert not at.exception, at.exception
    assert "Safety check done (pain 2/10). Go gently." in _texts(at)
    assert "How did it go?" in _texts(at)
    assert at.slider(key="after-session-pain").value == 2   # starts at the pain before
    at.slider(key="after-session-pain").set_value(4)
    _press(at, "Save to my record")
    assert not at.exception, at.exception
    clinic: FakeClinic = at.session_state["test-clinic"]
    assert [(s["pain_before"], s["pain_after"], s["screening_id"], s["completion"])
            for s in clinic.saves] == [(2, 4, 1, "completed")]
    # pain went up by 2: said once, and the safety questions come again at 4
    texts = _texts(at)
    assert ("Saved to your record (session 101). Your pain went up from 2 to 4: your "
            "therapist will see it.") in texts
    assert "Before you start: a quick safety check" in texts
    assert at.slider(key="screening-pain").value == 4
    at.run()
    assert "Your pain went up" not in _texts(at)
    assert len(clinic.saves) == 1


def test_page_a_set_is_saved_once(page: AppTest) -> None:
    at = _answer(page, 3)
    _press(at, "Save to my record")      # pain after 3: no rise
    assert "Saved to your record (session 101)" in _texts(at)
    assert "How did it go?" not in _texts(at)
    at.run()
    at.run()
    clinic: FakeClinic = at.session_state["test-clinic"]
    assert len(clinic.saves) == 1
    assert "Saved to your record (session 101)" in _texts(at)
    assert "Before you start" not in _texts(at)


def test_page_a_red_flag_stops_with_the_reason(page: AppTest) -> None:
    from sessions.screening import SCREENING_QUESTIONS

    at = _answer(page, 9, yes=("arm_numbness",))
    assert not at.exception, at.exception
    texts = _texts(at)
    assert "Please don't stretch today." in texts
    assert "You told us:" in texts
    assert SCREENING_QUESTIONS["arm_numbness"] in texts
    assert "Pain right now: 9 out of 10" in texts
    assert "Before you start" not in texts and "How did it go?" not in texts
    at.run()   # the stop stays, with the reasons given in this tab
    assert "Pain right now: 9 out of 10" in _texts(at)
    assert not at.session_state["test-clinic"].saves


def test_page_a_set_left_unsaved_is_saved_when_the_next_one_ends(page: AppTest) -> None:
    """"Start camera" pressed again instead of "Save": the earlier set goes into the
    record without the after-session questions, once."""
    at = _answer(page, 2)
    assert "How did it go?" in _texts(at)
    first = at.session_state["test-report"]
    at.session_state["test-report"] = _Report()      # the next set ended
    at.run()
    assert not at.exception, at.exception
    clinic: FakeClinic = at.session_state["test-clinic"]
    assert [(s["report"] is first, s["pain_before"], s["screening_id"], s["comment"],
             "pain_after" in s) for s in clinic.saves] == [
        (True, 2, 1, "(saved without the after-session questions)", False)]
    assert "How did it go?" in _texts(at)             # asked for the new set
    at.run()
    assert len(clinic.saves) == 1


def test_page_a_set_waiting_is_not_lost_when_another_page_shows_its_questions() -> None:
    """A live set's questions left unanswered, then an analysed video's questions shown
    (the Analyse page asks after its own report and does not look for a waiting set):
    the live set goes into the record without its questions, once, not overwritten."""
    at = AppTest.from_function(_page, default_timeout=60)
    at.session_state["test-analyse-page"] = True
    at = _answer(at.run(), 2)
    assert "How did it go?" in _texts(at)
    first = at.session_state["test-report"]
    at.session_state["test-report"] = _Report()      # the analysed video's report
    at.run()
    assert not at.exception, at.exception
    clinic: FakeClinic = at.session_state["test-clinic"]
    assert [(s["report"] is first, s["comment"]) for s in clinic.saves] == [
        (True, "(saved without the after-session questions)")]
    at.run()
    assert len(clinic.saves) == 1
