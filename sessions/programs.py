"""Programs: what a therapist prescribes, today's program, and the one adherence.

A program runs from ``starts_on`` to ``ends_on`` (local dates, both included; no
end date = open-ended). Each item is one stretch on some sides with its dose
(sets, reps, hold, rest between sets) and how often: ``times_per_day`` sessions
on ``times_per_week`` days of a week. Items prescribed before ``times_per_day``
existed may say up to 28 sessions a week, once a day; they are counted as before.

Every function here works inside a transaction in which ``sessions.service.Clinic``
has already authorized the patient (``Clinic._patient``): they take the patient's
id and query only that patient's rows. Nothing here checks who is asking.

Adherence (``adherence``) is the one count the therapist's dashboard, the
patient's page and the progress report (PDF) all show:

- the window runs from max(program start, period start) to min(program end,
  today, period end), in local days;
- over a window of ``n`` days an item owes ``ceil(n * times_per_week / 7)`` days
  of ``times_per_day`` sessions (a whole week owes exactly ``times_per_week``
  days; a program that starts today owes today's sessions only);
- a session counts as done when it is ``completed``, not ended by a technical
  failure (``coach.report.TECHNICAL``; the rule is ``session_rows.counts_as_result``),
  of a prescribed stretch on overlapping sides, inside the window; at most the day's
  dose per item per day, and at most what the item owes.

The values taken and returned (``Days``, ``ProgramItemIn``, ``ProgramItem``,
``TodayItem``, ``ProgramInfo``, ``Adherence``) are in ``sessions.program_schemas``
and re-exported here.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from exercises.definition import Prescription, StretchDefinition
from sessions.checks import as_date, as_utc, clean_text, flush, sides_of
from sessions.models import Program, SessionRow
from sessions.models import ProgramItem as ProgramItemRow
from sessions.program_schemas import (
    DEFAULT_REST_BETWEEN_SETS_S,
    Adherence,
    Days,
    ProgramInfo,
    ProgramItem,
    ProgramItemIn,
    TodayItem,
)
from sessions.session_rows import counts_as_result

__all__ = [
    "DEFAULT_REST_BETWEEN_SETS_S",
    "MAX_REST_BETWEEN_SETS_S",
    "MAX_TIMES_PER_DAY",
    "Adherence",
    "Days",
    "DuplicateItemError",
    "ProgramError",
    "ProgramInfo",
    "ProgramItem",
    "ProgramItemIn",
    "TodayItem",
    "active_program",
    "adherence",
    "adherence_text",
    "check_items",
    "done_counts",
    "program_info",
    "program_items",
    "set_program",
    "sides_overlap",
    "todays_items",
]

MAX_REST_BETWEEN_SETS_S = 600
MAX_TIMES_PER_DAY = 6
MAX_NOTE = 5000


class ProgramError(ValueError):
    """A program that can't be prescribed as entered (the reason, one line)."""


class DuplicateItemError(ProgramError):
    """The same stretch on the same (or overlapping) sides twice in one program."""


# --------------------------------------------------------------------------- helpers




def sides_overlap(a: Sequence[str], b: Sequence[str]) -> bool:
    """Whether two side lists share a side (``"both"`` overlaps everything)."""
    return "both" in a or "both" in b or bool(set(a) & set(b))




def _first_error(e: Exception) -> str:
    errors = getattr(e, "errors", None)
    if callable(errors):
        err = errors()[0]
        return f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}"
    return str(e).splitlines()[0]


def _int_in(value: Any, low: int, high: int, what: str, stretch: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProgramError(f"{stretch}: {what} must be {low}..{high}, got {value!r}")
    return value




def _name(library: dict[str, StretchDefinition], exercise: str) -> str:
    d = library.get(exercise)
    return d.name if d is not None else exercise


def _to_item(r: ProgramItemRow, library: dict[str, StretchDefinition]) -> ProgramItem:
    """A stored item as the schema."""
    return ProgramItem(id=r.id, position=r.position, exercise=r.exercise,
                       exercise_name=_name(library, r.exercise), sides=sides_of(r.sides),
                       sets=r.sets, reps=r.reps, hold_s=r.hold_s,
                       times_per_week=r.times_per_week, target_low=r.target_low,
                       target_high=r.target_high, notes=r.notes,
                       times_per_day=r.times_per_day,
                       rest_between_sets_s=r.rest_between_sets_s)


def _item_row(item: ProgramItemIn, position: int, library: dict[str, StretchDefinition]
              ) -> ProgramItemRow:
    if not isinstance(item, ProgramItemIn):
        raise ProgramError(f"program items must be ProgramItemIn, got {type(item).__name__}")
    d = library.get(item.exercise)
    if d is None:
        raise ProgramError(f"unknown stretch {item.exercise!r}; valid: {', '.join(library)}")
    sides = tuple(sides_of(item.sides) if isinstance(item.sides, str) else item.sides)
    if not sides:
        sides = d.run_sides
    valid = d.sides or ("both",)
    bad = [x for x in sides if x not in valid]
    if bad or len(set(sides)) != len(sides):
        raise ProgramError(f"{d.id}: sides must be distinct values of {', '.join(valid)}; "
                           f"got {list(sides)}")
    p = d.prescription
    try:
        presc = Prescription(sets=item.sets if item.sets is not None else p.sets,
                             reps=item.reps if item.reps is not None else p.reps,
                             hold_s=item.hold_s if item.hold_s is not None else p.hold_s,
                             rest_s=p.rest_s)
    except Exception as e:  # pydantic ValidationError: one line
        raise ProgramError(f"{d.id}: bad dose: {_first_error(e)}") from None
    per_day = _int_in(item.times_per_day, 1, MAX_TIMES_PER_DAY, "times_per_day", d.id)
    _int_in(item.times_per_week, 1, 28 if per_day == 1 else 7, "times_per_week (days a week)"
            if per_day > 1 else "times_per_week", d.id)
    rest = _int_in(item.rest_between_sets_s, 0, MAX_REST_BETWEEN_SETS_S,
                   "rest_between_sets_s", d.id)
    lo, hi = item.target_low, item.target_high
    if (lo is None) != (hi is None):
        raise ProgramError(f"{d.id}: give both target_low and target_high, or neither")
    if lo is not None:
        lo, hi = float(lo), float(hi)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ProgramError(f"{d.id}: target must be low < high, got [{lo}, {hi}]")
    row = ProgramItemRow(position=position, exercise=d.id, sides=",".join(sides),
                         sets=presc.sets, reps=presc.reps, hold_s=presc.hold_s,
                         times_per_week=item.times_per_week, target_low=lo, target_high=hi,
                         notes=clean_text(item.notes, "item notes", MAX_NOTE,
                                          error=ProgramError),
                         times_per_day=per_day, rest_between_sets_s=rest)
    if lo is not None:  # the override must fit the stretch's thresholds
        try:
            _to_item(row, library).apply(d)
        except ValueError as e:
            raise ProgramError(f"{d.id}: the target does not fit the stretch's thresholds: "
                               f"{_first_error(e)}") from None
    return row


def _refuse_duplicates(rows: list[ProgramItemRow], library: dict[str, StretchDefinition]
                       ) -> None:
    for a in range(len(rows)):
        for b in range(a):
            if rows[a].exercise == rows[b].exercise and sides_overlap(
                    sides_of(rows[a].sides), sides_of(rows[b].sides)):
                raise DuplicateItemError(
                    f"{_name(library, rows[a].exercise)} is in the program twice (items "
                    f"{b + 1} and {a + 1}, sides {rows[b].sides} and {rows[a].sides}): "
                    f"give each stretch once, or different sides")


def check_items(items: Sequence[ProgramItemIn], library: dict[str, StretchDefinition]
                ) -> None:
    """Validate items as ``set_program`` will, without a database (e.g. a page's draft).

    Raises:
        ProgramError: unknown stretch, bad sides, dose, frequency or target.
        DuplicateItemError: the same stretch and sides twice.
    """
    _refuse_duplicates([_item_row(i, pos, library) for pos, i in enumerate(items)], library)


# --------------------------------------------------------------------------- service


def set_program(s: Session, patient_id: int, therapist_id: int, items: Sequence[ProgramItemIn],
                notes: str, *, starts_on: date | None, ends_on: date | None, days: Days,
                library: dict[str, StretchDefinition]) -> Program:
    """Prescribe a new program for an authorized patient; the previous one is kept,
    inactive.

    Args:
        starts_on: first day (local); None = today.
        ends_on: last day (local, included); None = no end date.

    Raises:
        ProgramError: unknown stretch, bad sides, dose, frequency, target or dates.
        DuplicateItemError: the same stretch and sides twice (nothing is changed).
    """
    notes = clean_text(notes, "program notes", MAX_NOTE, error=ProgramError)
    start = (days.today if starts_on is None
             else as_date(starts_on, "the start date", error=ProgramError))
    end = None if ends_on is None else as_date(ends_on, "the end date", error=ProgramError)
    if end is not None and end < start:
        raise ProgramError(f"the program ends ({end.isoformat()}) before it starts "
                           f"({start.isoformat()}): give an end date on or after the start")
    rows = [_item_row(i, pos, library) for pos, i in enumerate(items)]
    _refuse_duplicates(rows, library)
    s.execute(update(Program).where(Program.patient_id == patient_id, Program.active)
              .values(active=False))
    program = Program(patient_id=patient_id, therapist_id=therapist_id, notes=notes,
                      created_at=days.now, active=True, starts_on=start, ends_on=end)
    s.add(program)
    s.flush()
    for r in rows:
        r.program_id = program.id
        s.add(r)
    flush(s, "program", error=ProgramError)
    return program


def active_program(s: Session, patient_id: int) -> Program | None:
    """The patient's active program row (the newest), or None."""
    return s.scalars(select(Program).where(Program.patient_id == patient_id, Program.active)
                     .order_by(Program.id.desc())).first()


def program_items(s: Session, program: Program | None, library: dict[str, StretchDefinition]
                  ) -> list[ProgramItem]:
    """The items of ``program`` in order ([] for None)."""
    if program is None:
        return []
    rows = s.scalars(select(ProgramItemRow).where(ProgramItemRow.program_id == program.id)
                     .order_by(ProgramItemRow.position)).all()
    return [_to_item(r, library) for r in rows]


def _status(program: Program, today: date) -> str:
    if program.starts_on > today:
        return "upcoming"
    if program.ends_on is not None and program.ends_on < today:
        return "ended"
    return "running"


def program_info(s: Session, patient_id: int, days: Days,
                 library: dict[str, StretchDefinition]) -> ProgramInfo | None:
    """The patient's active program with its dates and status, or None."""
    program = active_program(s, patient_id)
    if program is None:
        return None
    today = days.today
    return ProgramInfo(id=program.id, starts_on=program.starts_on, ends_on=program.ends_on,
                       notes=program.notes, created_at=program.created_at,
                       items=tuple(program_items(s, program, library)),
                       status=_status(program, today), today=today)


def _done_rows(s: Session, patient_id: int, exercises: set[str], start: datetime,
               end: datetime) -> list[Any]:
    """(exercise, sides, created_at) of the sessions that count, in [start, end)."""
    if not exercises:
        return []
    return list(s.execute(
        select(SessionRow.exercise, SessionRow.sides, SessionRow.created_at)
        .where(SessionRow.patient_id == patient_id, counts_as_result(),
               SessionRow.exercise.in_(sorted(exercises)),
               SessionRow.created_at >= start, SessionRow.created_at < end)).all())


def _per_item_day(rows: list[Any], items: Sequence[ProgramItem], days: Days
                  ) -> dict[int, Counter]:
    """Sessions per item per local day (each session counts toward every matching item)."""
    out: dict[int, Counter] = defaultdict(Counter)
    for exercise, sides, created in rows:
        for i in items:
            if i.exercise == exercise and sides_overlap(i.sides, sides_of(sides)):
                out[i.id][days.local(as_utc(created)).date()] += 1
    return out


def done_counts(s: Session, patient_id: int, program: Program | None,
                items: Sequence[ProgramItem], days: Days) -> tuple[Counter, Counter]:
    """Sessions that count per item id: (today, this week), from the program's start."""
    today: Counter = Counter()
    week: Counter = Counter()
    if program is None or not items:
        return today, week
    start = max(days.monday, program.starts_on)
    rows = _done_rows(s, patient_id, {i.exercise for i in items}, days.start(start),
                      days.start(days.today + timedelta(days=1)))
    for item_id, per_day in _per_item_day(rows, items, days).items():
        week[item_id] = sum(per_day.values())
        today[item_id] = per_day.get(days.today, 0)
    return today, week


def todays_items(s: Session, patient_id: int, days: Days,
                 library: dict[str, StretchDefinition]) -> list[TodayItem]:
    """The running program's items with what is done today and this week; [] when there
    is no program, or it has not started yet, or it has ended."""
    program = active_program(s, patient_id)
    if program is None or _status(program, days.today) != "running":
        return []
    items = program_items(s, program, library)
    today, week = done_counts(s, patient_id, program, items, days)
    return [TodayItem(i, today[i.id], week[i.id]) for i in items]


def adherence(s: Session, patient_id: int, days: Days, library: dict[str, StretchDefinition],
              since: date | None = None, until: date | None = None) -> Adherence:
    """Prescribed sessions done over a period (see the module's docstring for the rules).

    Args:
        since, until: the period's first and last local day (None = open).
    """
    today = days.today
    program = active_program(s, patient_id)
    if program is None:
        return Adherence(0, 0, None, None, since, until, None, None, today)
    items = program_items(s, program, library)
    start = max(d for d in (program.starts_on, since) if d is not None)
    end = min(d for d in (program.ends_on, today, until) if d is not None)
    n = (end - start).days + 1
    prescribed = sum(i.owed(n) for i in items)
    done = 0
    if n > 0 and items:
        rows = _done_rows(s, patient_id, {i.exercise for i in items}, days.start(start),
                          days.start(end + timedelta(days=1)))
        per = _per_item_day(rows, items, days)
        for i in items:
            counted = sum(min(k, i.per_day) for k in per.get(i.id, Counter()).values())
            done += min(counted, i.owed(n))
    return Adherence(done, prescribed, start, end, since, until, program.starts_on,
                     program.ends_on, today)


def _days_text(start: date, end: date) -> str:
    """``"7 Apr to 9 Apr 2025"``, ``"28 Dec 2024 to 3 Jan 2025"``, ``"7 Apr 2025"``."""
    if start == end:
        return f"{start.day} {start:%b %Y}"
    first = f"{start.day} {start:%b}" + ("" if start.year == end.year else f" {start.year}")
    return f"{first} to {end.day} {end:%b %Y}"


def adherence_text(a: Adherence) -> str:
    """One sentence for people, the same on the dashboard and in the PDF.

    Example: ``"Adherence: 4 of 6 prescribed sessions done (67%), 7 Apr to 9 Apr 2025,
    from the program's start."``
    """
    if a.starts_on is None:
        return "Adherence: no program prescribed."
    assert a.start is not None and a.end is not None
    if a.start > a.end:
        if a.since is not None and a.since > a.today:
            return "Adherence: this period has not begun yet; nothing is due."
        if a.starts_on > a.today:
            return (f"Adherence: the program starts on {_days_text(a.starts_on, a.starts_on)}"
                    "; nothing is due yet.")
        if a.ends_on is not None and a.since is not None and a.ends_on < a.since:
            return (f"Adherence: the program ended on {_days_text(a.ends_on, a.ends_on)}, "
                    "before this period.")
        return (f"Adherence: the program started on {_days_text(a.starts_on, a.starts_on)}"
                ", after this period.")
    share = f" ({100 * a.share:.0f}%)" if a.share is not None else ""
    whole = a.start == a.starts_on
    to_end = a.ends_on is not None and a.end == a.ends_on
    note = ("the whole program" if whole and to_end else "from the program's start" if whole
            else "to the program's end" if to_end else "")
    return (f"Adherence: {a.done} of {a.prescribed} prescribed sessions done{share}, "
            f"{_days_text(a.start, a.end)}" + (f", {note}" if note else "") + ".")
