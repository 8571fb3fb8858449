"""The patient's side of the clinic in Streamlit: today's program, safety screening,
and the questions after a session.

Thin: the questions, the red-flag rules, the advice, adherence and what counts as
done all come from ``sessions.service.Clinic`` (and ``sessions.screening``). This
module lays them out and passes the answers back. Where the tab's session is
(screened, stopped, a set waiting, saved, the last pain, a notice) is kept by
``app.flows.patient_session.PatientSessionFlow`` over ``st.session_state``.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.auth_ui import md
from app.clinic_ui import target_text
from app.flows.patient_session import PatientSessionFlow, Screened, Stop
from app.ui import side_label
from coach.report import SessionReport
from exercises.definition import StretchDefinition
from sessions.screening import SCREENING_VALID_S, pain_rose
from sessions.service import SCREENING_QUESTIONS, Clinic, ProgramItem, TodayItem

__all__ = [
    "ABANDON_REASONS",
    "Screened",
    "after_session_form",
    "choose_program_item",
    "done_text",
    "dose_line",
    "item_label",
    "item_run",
    "needs_screening",
    "next_program_item",
    "program_item_picker",
    "save_pending",
    "saved_id",
    "saved_notice",
    "screening_gate",
]

#: Why a patient stopped early (the first ones are what a therapist needs to know).
ABANDON_REASONS = (
    "It hurt, or the pain got worse",
    "I felt dizzy or unwell",
    "Numbness, tingling or weakness",
    "I ran out of time",
    "The camera or the app didn't work",
    "Something else",
)


def _flow() -> PatientSessionFlow:
    """The patient's session in this browser tab (screening, set, questions, save)."""
    return PatientSessionFlow(st.session_state, valid_s=SCREENING_VALID_S)


# --------------------------------------------------------------------------- program


def dose_line(item: ProgramItem) -> str:
    """The dose in words: "3 sets of 5, hold 20 s, rest 30 s between sets, left side,
    twice a day, 5 days a week"."""
    reps = f"{item.reps} rep{'s' if item.reps != 1 else ''}"
    parts = [f"{item.sets} sets of {item.reps}" if item.sets > 1 else reps]
    if item.hold_s:
        parts.append(f"hold {item.hold_s:g} s")
    if item.sets > 1:
        parts.append(f"rest {item.rest_between_sets_s:g} s between sets")
    sides = [s for s in item.sides if s != "both"]
    if sides:
        parts.append(" and ".join(sides) + (" side" if len(sides) == 1 else " sides"))
    parts.append(item.frequency)
    return ", ".join(parts)


def done_text(t: TodayItem) -> str:
    """What is done of an item: "done today ✓", "1 of 2 today", "2 of 5 this week"."""
    if t.done_for_today:
        return "done today ✓"
    if t.item.per_day > 1 and t.done_today:
        return f"{t.done_today} of {t.item.per_day} today"
    return f"{t.done_this_week} of {t.item.per_week} this week"


def item_label(t: TodayItem, number: int) -> str:
    """A program item for a picker, with what is done (plain text)."""
    return f"{number}. {t.item.exercise_name} ({dose_line(t.item)}) · {done_text(t)}"


def _picker_key(key: str) -> str:
    # a new key after each saved session: the default moves on to the next item
    return f"{key}-{_flow().saved_count}"


def next_program_item(items: list[TodayItem], current_id: int | None) -> TodayItem | None:
    """The item to offer after ``current_id``: the next one in the program not done today,
    going round to the start; None when every other item is done today."""
    ids = [t.item.id for t in items]
    start = ids.index(current_id) + 1 if current_id in ids else 0
    for t in items[start:] + items[:start]:
        if t.item.id != current_id and not t.done_for_today:
            return t
    return None


def choose_program_item(key: str, item_id: int) -> None:
    """Make ``program_item_picker(key=key)`` show ``item_id`` on the next run (call it from
    a button's ``on_click``, before the picker is drawn)."""
    st.session_state[_picker_key(key)] = item_id


def item_run(today: TodayItem, lib: dict[str, StretchDefinition]
             ) -> tuple[StretchDefinition, tuple[str, ...]]:
    """The stretch with the item's dose and target applied, and the sides to track.

    Raises:
        KeyError: the item's stretch is not in ``lib``.
        ValueError: the item can't be applied to the stretch (the reason).
    """
    definition = today.item.apply(lib[today.item.exercise])
    sides = tuple(s for s in today.item.sides if s != "both") or definition.run_sides
    if not definition.is_sided:
        sides = ("both",)
    return definition, tuple(sides)


def program_item_picker(items: list[TodayItem], lib: dict[str, StretchDefinition], *,
                        key: str, disabled: bool = False, preferred: int | None = None
                        ) -> tuple[TodayItem, StretchDefinition, tuple[str, ...]] | None:
    """Pick the program item to do now (default: the first whose dose for today is not
    done yet).

    Returns:
        (item, the stretch with the item's dose and target applied, sides to track),
        or None when the item can't be run (the reason is shown).
    """
    ids = [t.item.id for t in items]
    key = _picker_key(key)
    default = next((i for i, t in enumerate(items) if not t.done_for_today), 0)
    if preferred in ids and not _flow().saved_count:
        default = ids.index(preferred)
    if st.session_state.get(key) in ids:
        default = 0  # chosen already (e.g. "Next stretch"): the state decides, not the index
    labels = {t.item.id: item_label(t, n) for n, t in enumerate(items, 1)}
    chosen = st.selectbox("Stretch from your program", ids, index=default, key=key,
                          disabled=disabled, format_func=lambda i: labels[i])
    today = items[ids.index(chosen)]
    base = lib.get(today.item.exercise)
    if base is None:
        st.error(f"The stretch {md(today.item.exercise)} in your program is not in this "
                 "app's library. Please tell your therapist.")
        return None
    try:
        definition, sides = item_run(today, lib)
    except ValueError as e:
        st.error(f"This program item can't be run as prescribed ({e}). Please tell your "
                 "therapist.")
        return None
    st.caption(f"Prescribed: {dose_line(today.item)}"
               + (f". {definition.primary.label} target: "
                  f"{target_text(base, today.item.target_low, today.item.target_high)}, set "
                  "by your therapist" if today.item.target is not None else ""))
    if today.item.notes:
        st.info(f"**From your therapist:** {md(today.item.notes)}", icon=":material/chat:")
    return today, definition, sides


# --------------------------------------------------------------------------- screening


def screening_gate(clinic: Clinic, *, key: str = "screening") -> Screened | None:
    """The safety questions before a session; returns the passed screening or None.

    None means the page must not offer the camera: either the form is shown and not
    yet answered, or a red flag stopped the session (the advice is shown). The
    service decides: a red flag raised today (in any tab, page or command) stops
    every session until tomorrow.
    """
    flow = _flow()
    today = clinic.screening_today()
    if today is not None and not today.ok:
        stopped = flow.stop_reason or Stop(
            today.advice,
            tuple(SCREENING_QUESTIONS.get(k, "Severe pain") for k in today.red_flags))
        flow.stop(stopped)
        _show_stop(stopped)
        return None
    flow.lift_stop()
    done = flow.screening
    if done is not None and today is not None:
        return done

    with st.container(key=f"{key}-box"):
        st.subheader("Before you start: a quick safety check")
        st.write("Answer each question honestly. If something is wrong today, stretching "
                 "can wait: your safety comes first.")
        with st.form(key, border=True):
            answers: dict[str, Any] = {}
            for q, text in SCREENING_QUESTIONS.items():
                answers[q] = st.radio(text, ["No", "Yes"], index=None, horizontal=True,
                                      key=f"{key}-{q}")
            pain = st.slider("How much pain do you have right now? (0 = none, "
                             "10 = the worst imaginable)", 0, 10,
                             flow.last_pain, key=f"{key}-pain")
            submitted = st.form_submit_button("Continue", type="primary")
    if not submitted:
        return None
    missing = [q for q, a in answers.items() if a is None]
    if missing:
        st.warning("Please answer every question (yes or no) before you start.",
                   icon=":material/help:")
        return None
    try:
        result = clinic.record_screening({q: a == "Yes" for q, a in answers.items()},
                                         int(pain))
    except ValueError as e:
        st.error(f"The answers could not be recorded: {e}")
        return None
    if not result.ok:
        flow.stop(Stop(result.advice,
                       tuple(SCREENING_QUESTIONS.get(k, f"Pain right now: {pain} out of 10")
                             for k in result.red_flags)))
        st.rerun()
    flow.pass_screening(result.screening_id, int(pain), result.advice)
    st.rerun()
    return None  # not reached


def _show_stop(stop: Stop) -> None:
    with st.container(key="screening-stop"):
        st.error(f"**Your safety comes first.** {stop.advice}", icon=":material/emergency:")
        if stop.why:
            st.markdown("You told us:\n" + "\n".join(f"- {w}" for w in stop.why))
        st.markdown("If you have **sudden** numbness, weakness, trouble speaking or severe "
                    "pain, call your emergency number or go to urgent care now.")
        st.caption("No session can be recorded today after a red flag, on any page. If you "
                   "answered by mistake, tell your therapist; your therapist sees the "
                   "answers you gave.")


def needs_screening() -> bool:
    """The safety questions are due: none passed in this tab recently (a red flag is
    handled by ``screening_gate``, which shows the stop instead of the questions)."""
    return _flow().screening is None


def saved_notice() -> None:
    """Once: the note that the last session was saved (when the page asks questions next)."""
    text = _flow().take_notice()
    if text:
        st.success(text, icon=":material/task_alt:")


def forget_screening() -> None:
    """Ask the safety questions again before the next session (e.g. after a pain rise)."""
    _flow().forget_screening()


# --------------------------------------------------------------------------- after a session


def saved_id(report: SessionReport) -> int | None:
    """The id this report was saved under from this tab, if it was."""
    return _flow().saved_id(report)


def after_session_form(clinic: Clinic, report: SessionReport, screened: Screened | None, *,
                       key: str, video_path: str | None = None) -> int | None:
    """How the patient feels after the session; saving it into their record.

    Returns:
        The saved session id, or None while the form is not submitted yet.
    """
    flow = _flow()
    already = flow.saved_id(report)
    if already is not None:
        return already
    save_pending(clinic, report)   # a set still waiting for its questions is never dropped
    flow.finish_set(report, screened)
    with st.container(key=f"{key}-box"):
        st.subheader("How did it go?")
        with st.form(key, border=True):
            pain_after = st.slider("How much pain do you have now? (0 = none, 10 = the worst "
                                   "imaginable)", 0, 10,
                                   screened.pain_before if screened else 0,
                                   key=f"{key}-pain")
            reason = None
            other = ""
            if not report.complete:
                st.markdown("You stopped before the end of the set. What made you stop?")
                reason = st.radio("Reason for stopping", ABANDON_REASONS, index=None,
                                  key=f"{key}-reason", label_visibility="collapsed")
                other = st.text_input("In your own words (optional)", key=f"{key}-other",
                                      max_chars=500)
            comment = st.text_area("Anything to tell your therapist? (optional)",
                                   key=f"{key}-comment", max_chars=2000)
            submitted = st.form_submit_button("Save to my record", type="primary")
    if not submitted:
        st.caption("The session is saved to your record when you press **Save to my "
                   "record**.")
        return None
    abandon = ""
    if reason is not None:
        abandon = reason + (f": {other.strip()}" if other.strip() else "")
    elif other.strip():
        abandon = other.strip()
    try:
        new_id = clinic.save_session(
            report, pain_before=screened.pain_before if screened else None,
            pain_after=int(pain_after), comment=comment,
            completion="abandoned" if abandon else "completed", abandon_reason=abandon,
            screening_id=screened.screening_id if screened else None, video_path=video_path)
    except ValueError as e:
        st.error(f"The session could not be saved: {e}")
        return None
    flow.saved(report, new_id, pain_after=int(pain_after))
    if screened is not None and pain_rose(screened.pain_before, pain_after):
        # pain went up: the safety questions again before the next stretch (the page
        # shows them at once, so say here that the session was saved, and why)
        flow.ask_screening_again(
            f"Saved to your record (session {new_id}). Your pain went up from "
            f"{screened.pain_before} to {pain_after}: your therapist will see it. Please "
            "answer the safety questions again before your next stretch, and stop if the "
            "pain keeps rising.")
    st.rerun()
    return new_id  # not reached


def save_pending(clinic: Clinic, current: SessionReport | None) -> None:
    """Save a finished session whose questions were never answered (a new run started).

    The safety net for "pressed Start camera again instead of Save": the earlier
    session goes into the record without pain-after or comment, never lost.
    """
    flow = _flow()
    pending = flow.pending
    if pending is None:
        return
    report, screened = pending
    if report is current or flow.saved_id(report) is not None:
        return
    flow.take_pending()
    try:
        new_id = clinic.save_session(
            report, pain_before=screened.pain_before if screened else None,
            screening_id=screened.screening_id if screened else None,
            comment="(saved without the after-session questions)")
    except ValueError:
        return
    flow.saved(report, new_id)


def sides_text(sides: tuple[str, ...]) -> str:
    """"Left side, Right side"."""
    return ", ".join(side_label(s) for s in sides)
