"""The therapist's program editor: dates, stretches and their dose, then save.

The draft lives in the session state until **Save program**; the service's own
rules (``sessions.programs.check_items``) check each stretch before it joins the
draft, and ``sessions.service.Clinic.set_program`` checks the whole program again
when it is saved.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from app.auth_ui import md
from app.clinic_ui import target_text
from app.patient_ui import dose_line
from app.ui import get_library
from sessions.programs import (
    DEFAULT_REST_BETWEEN_SETS_S,
    MAX_REST_BETWEEN_SETS_S,
    MAX_TIMES_PER_DAY,
    check_items,
)
from sessions.service import (
    Clinic,
    DuplicateItemError,
    ProgramInfo,
    ProgramItem,
    ProgramItemIn,
)


def _draft_key(patient_id: int) -> str:
    return f"clinic-program-draft-{patient_id}"


def _as_input(i: ProgramItem) -> ProgramItemIn:
    return ProgramItemIn(exercise=i.exercise, sides=tuple(i.sides), sets=i.sets, reps=i.reps,
                         hold_s=i.hold_s, times_per_week=i.times_per_week,
                         target_low=i.target_low, target_high=i.target_high, notes=i.notes,
                         times_per_day=i.times_per_day,
                         rest_between_sets_s=i.rest_between_sets_s)


def _draft_line(item: ProgramItemIn) -> str:
    d = get_library().get(item.exercise)
    p = d.prescription if d is not None else None
    sets = item.sets if item.sets is not None else (p.sets if p else 1)
    reps = item.reps if item.reps is not None else (p.reps if p else 1)
    hold = item.hold_s if item.hold_s is not None else (p.hold_s if p else 0)
    sides = tuple(item.sides) if not isinstance(item.sides, str) else tuple(
        s for s in item.sides.split(",") if s)
    view = ProgramItem(id=0, position=0, exercise=item.exercise,
                       exercise_name=d.name if d else item.exercise,
                       sides=sides or (d.run_sides if d else ()), sets=sets, reps=reps,
                       hold_s=hold, times_per_week=item.times_per_week,
                       target_low=item.target_low, target_high=item.target_high,
                       notes=item.notes, times_per_day=item.times_per_day,
                       rest_between_sets_s=item.rest_between_sets_s)
    line = dose_line(view)
    if item.target_low is not None and item.target_high is not None:
        line += (f" · target {target_text(d, item.target_low, item.target_high)}"
                 if d is not None else f" · target {item.target_low:g} to {item.target_high:g}")
    return line


def _program_dates(patient_id: int, program: ProgramInfo | None
                   ) -> tuple[date, date | None, bool]:
    """The start and end date pickers: (starts_on, ends_on, differ from the saved program's).

    An ended program offers today and no end date, so saving it again restarts it.
    """
    today = date.today()
    # editing a program that runs or is to come keeps its dates; a new one starts today
    keep = program is not None and program.status != "ended"
    start0 = program.starts_on if keep and program is not None else today
    end0 = program.ends_on if keep and program is not None else None
    c1, c2 = st.columns(2)
    starts_on = c1.date_input("Starts on", value=start0, key=f"program-starts-{patient_id}",
                              format="YYYY-MM-DD",
                              help="The first day of the program; adherence counts from "
                                   "here.")
    ends_on = c2.date_input("Ends on (optional)", value=end0, min_value=starts_on,
                            key=f"program-ends-{patient_id}", format="YYYY-MM-DD",
                            help="The last day of the program. Leave empty for no end date.")
    if program is not None:
        state = {"upcoming": "starts later", "ended": "has ended", "running": "is running"}
        st.caption(f"The current program {state[program.status]}: {program.period}.")
    saved = (program.starts_on, program.ends_on) if program is not None else (start0, end0)
    return starts_on, ends_on, (starts_on, ends_on) != saved


def program_editor(svc: Clinic, patient_id: int, notes: str) -> None:
    """Prescribe the program: dates, stretches and their dose; save it."""
    lib = get_library()
    program = svc.program_info(patient_id)
    current = list(program.items) if program is not None else []
    key = _draft_key(patient_id)
    if key not in st.session_state:
        st.session_state[key] = [_as_input(i) for i in current]
    draft: list[ProgramItemIn] = st.session_state[key]
    changed = draft != [_as_input(i) for i in current]

    st.subheader("Program")
    starts_on, ends_on, dates_changed = _program_dates(patient_id, program)
    changed = changed or dates_changed
    if not draft:
        st.info("No stretches in the program yet. Add them below, then **Save program**.",
                icon=":material/playlist_add:")
    for n, item in enumerate(draft):
        with st.container(border=True, key=f"program-item-{patient_id}-{n}"):
            c1, c2 = st.columns([6, 1], vertical_alignment="center")
            name = lib[item.exercise].name if item.exercise in lib else item.exercise
            c1.markdown(f"**{n + 1}. {md(name)}**  \n{md(_draft_line(item))}"
                        + (f"  \n*Note:* {md(item.notes)}" if item.notes else ""))
            if c2.button("Remove", key=f"program-remove-{patient_id}-{n}",
                         icon=":material/delete:"):
                draft.pop(n)
                st.rerun()

    with st.expander("Add a stretch", expanded=not draft, icon=":material/add:"):
        with st.form(f"program-add-{patient_id}", clear_on_submit=True, border=False):
            # the first stretch not yet prescribed (not simply the alphabetical first)
            ids = ([i for i in lib if i not in {x.exercise for x in draft}]
                   + [i for i in lib if i in {x.exercise for x in draft}])
            exercise = st.selectbox("Stretch", ids, key=f"add-stretch-{patient_id}",
                                    format_func=lambda i: f"{lib[i].name} ({lib[i].targets_area})")
            sides = st.radio("Sides (one-sided stretches only)",
                             ["both", "left", "right"], horizontal=True,
                             key=f"add-sides-{patient_id}",
                             format_func=lambda s: {"both": "Left and right", "left": "Left only",
                                                    "right": "Right only"}[s])
            c1, c2, c3, c4 = st.columns(4)
            sets = c1.number_input("Sets", 1, 10, value=None, step=1,
                                   placeholder="stretch's default", key=f"add-sets-{patient_id}")
            reps = c2.number_input("Reps per set", 1, 50, value=None, step=1,
                                   placeholder="stretch's default", key=f"add-reps-{patient_id}")
            hold = c3.number_input("Hold (s)", 0.0, 300.0, value=None, step=1.0,
                                   placeholder="stretch's default", key=f"add-hold-{patient_id}")
            rest = c4.number_input("Rest between sets (s)", 0, MAX_REST_BETWEEN_SETS_S,
                                   value=DEFAULT_REST_BETWEEN_SETS_S, step=5,
                                   key=f"add-rest-{patient_id}")
            f1, f2 = st.columns(2)
            per_week = f1.number_input("Days a week", 1, 7, value=7, step=1,
                                       key=f"add-week-{patient_id}")
            per_day = f2.number_input("Times a day", 1, MAX_TIMES_PER_DAY, value=1, step=1,
                                      key=f"add-day-{patient_id}")
            t1, t2 = st.columns(2)
            lo = t1.number_input("Target from (optional)", value=None, step=1.0,
                                 key=f"add-lo-{patient_id}",
                                 help="Override the stretch's target band for this patient, "
                                      "in the stretch's unit: degrees, or shoulder widths "
                                      "(see the table below). Leave both empty to keep the "
                                      "stretch's own target.")
            hi = t2.number_input("Target to (optional)", value=None, step=1.0,
                                 key=f"add-hi-{patient_id}")
            item_notes = st.text_input("Note for the patient (optional)", max_chars=500,
                                       key=f"add-notes-{patient_id}")
            added = st.form_submit_button("Add to program", icon=":material/add:")
        if added:
            d = lib[exercise]
            item = ProgramItemIn(
                exercise=exercise,
                sides=() if not d.is_sided or sides == "both" else (sides,),
                sets=None if sets is None else int(sets),
                reps=None if reps is None else int(reps),
                hold_s=None if hold is None else float(hold), times_per_week=int(per_week),
                target_low=lo, target_high=hi, notes=item_notes.strip(),
                times_per_day=int(per_day), rest_between_sets_s=int(rest))
            try:   # the service's own rules, before the item joins the draft
                check_items([*draft, item], lib)
            except DuplicateItemError:
                st.warning(f"{md(d.name)} is already in the program for these sides: change "
                           "or remove that item instead of adding it twice.",
                           icon=":material/content_copy:")
            except ValueError as e:
                st.warning(f"This stretch was not added: {md(str(e))}")
            else:
                draft.append(item)
                st.rerun()
        st.caption("Each stretch's own dose and target band (targets are in the stretch's "
                   "unit; rest-relative ones from the patient's resting position, swings such "
                   "as cat-cow from where each repetition starts):")
        st.dataframe(_defaults_table(lib), hide_index=True, width="stretch")

    program_notes = st.text_area("Program notes for the patient (optional)", value=notes,
                                 key=f"program-notes-{patient_id}", max_chars=5000)
    changed = changed or program_notes.strip() != (notes or "").strip()
    c1, c2, _ = st.columns([1, 1, 3])
    if c1.button("Save program", type="primary", key=f"program-save-{patient_id}",
                 disabled=not changed, icon=":material/save:"):
        try:
            svc.set_program(patient_id, list(draft), notes=program_notes,
                            starts_on=starts_on, ends_on=ends_on)
        except DuplicateItemError as e:
            st.warning(f"The program was not saved: {md(str(e))}",
                       icon=":material/content_copy:")
        except ValueError as e:
            st.error(f"The program was not saved: {md(str(e))}")
        else:
            st.session_state.pop(key, None)
            st.session_state["clinic-program-saved"] = patient_id
            st.rerun()
    if c2.button("Discard changes", key=f"program-discard-{patient_id}", disabled=not changed):
        for k in (key, f"program-notes-{patient_id}", f"program-starts-{patient_id}",
                  f"program-ends-{patient_id}"):
            st.session_state.pop(k, None)
        st.rerun()
    if st.session_state.pop("clinic-program-saved", None) == patient_id:
        st.success("Program saved. The patient sees it in **My program**.",
                   icon=":material/task_alt:")
    elif changed:
        st.caption("Unsaved changes: press **Save program** to prescribe them.")


def _defaults_table(lib: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for d in lib.values():
        p = d.prescription
        rows.append({"stretch": d.name, "measured": d.primary.label,
                     "target": target_text(d),
                     "default dose": f"{p.sets} × {p.reps}" + (f", hold {p.hold_s:g} s"
                                                              if p.hold_s else ""),
                     "sides": "one side at a time" if d.is_sided else "both together"})
    return pd.DataFrame(rows)
