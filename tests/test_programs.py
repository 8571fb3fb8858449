"""Programs on SQLite and PostgreSQL: dates, dose, duplicates, and the one adherence.

The migration test upgrades a revision-0004 database holding a program; the rest
prescribe through ``Clinic`` with a fixed clock and time zone and check what is
owed and what is done over windows cut by the program's start and end, the
period asked for, and today.
"""

from __future__ import annotations

import subprocess
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Boolean, DateTime, Integer, String, Text, column, insert, select, table
from sqlalchemy.exc import IntegrityError

from sessions import db
from sessions.models import Program
from sessions.models import ProgramItem as ProgramItemRow
from sessions.programs import DEFAULT_REST_BETWEEN_SETS_S
from sessions.service import (
    Clinic,
    DuplicateItemError,
    ProgramError,
    ProgramItemIn,
    adherence_text,
)
from sessions.wording import dose_text
from tests import clinic_support
from tests.clinic_support import FakeClock, World, backend_url, neck_report, screened

db_url, engine, world = clinic_support.db_url, clinic_support.engine, clinic_support.world

UTC = timezone.utc
BACKENDS = ["sqlite", "postgresql"]


# --------------------------------------------------------------------------- migration


def _raw(name: str, *cols: tuple[str, object]) -> object:
    return table(name, *(column(c, t) for c, t in cols))


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_from_0004_gives_existing_programs_their_start(backend: str,
                                                               tmp_path: Path) -> None:
    gen = backend_url(backend, "progmig", tmp_path)
    eng = db.get_engine(next(gen))
    try:
        db.upgrade(eng, "0004")
        users = _raw("users", ("id", Integer), ("username", String), ("username_key", String),
                     ("display_name", String), ("role", String), ("password_hash", String),
                     ("active", Boolean), ("video_opt_in", Boolean),
                     ("created_at", DateTime(timezone=True)),
                     ("password_changed_at", DateTime(timezone=True)))
        programs = _raw("programs", ("id", Integer), ("patient_id", Integer),
                        ("notes", Text), ("created_at", DateTime(timezone=True)),
                        ("active", Boolean))
        items = _raw("program_items", ("id", Integer), ("program_id", Integer),
                     ("position", Integer), ("exercise", String), ("sides", String),
                     ("sets", Integer), ("reps", Integer), ("hold_s", Integer),
                     ("times_per_week", Integer), ("notes", Text))
        # 23:30 UTC on 3 March: the UTC date is the 3rd (a +01:00 client saw the 4th)
        set_at = datetime(2025, 3, 3, 23, 30, tzinfo=UTC)
        with eng.begin() as c:
            c.execute(insert(users).values(
                id=1, username="p", username_key="p", display_name="P", role="patient",
                password_hash="x", active=True, video_opt_in=False, created_at=set_at,
                password_changed_at=set_at))
            c.execute(insert(programs).values(id=7, patient_id=1, notes="old",
                                              created_at=set_at, active=True))
            c.execute(insert(items).values(id=3, program_id=7, position=0,
                                           exercise="chin_tuck", sides="both", sets=2,
                                           reps=5, hold_s=5, times_per_week=14, notes=""))
        db.upgrade(eng)
        assert db.current_revision(eng) == "0005"
        with eng.connect() as c:
            p = c.execute(select(Program.__table__)).one()
            i = c.execute(select(ProgramItemRow.__table__)).one()
        assert (p.id, p.starts_on, p.ends_on, p.notes) == (7, date(2025, 3, 3), None, "old")
        assert (i.times_per_day, i.rest_between_sets_s, i.times_per_week) == (1, 30, 14)
        # the new checks hold on the upgraded tables
        for bad in ({"ends_on": date(2025, 3, 2)},):
            with pytest.raises(IntegrityError), eng.begin() as c:
                c.execute(Program.__table__.update().values(**bad))
        for bad in ({"times_per_day": 0}, {"times_per_day": 7},
                    {"rest_between_sets_s": -1}, {"rest_between_sets_s": 601}):
            with pytest.raises(IntegrityError), eng.begin() as c:
                c.execute(ProgramItemRow.__table__.update().values(**bad))
        # and back down to 0004 with the program kept
        from alembic import command

        with eng.begin() as c:
            command.downgrade(db._alembic_config(c), "0004")
        with eng.connect() as c:
            assert c.execute(select(programs.c.id)).scalars().all() == [7]
        db.upgrade(eng)
        assert db.current_revision(eng) == "0005"
    finally:
        gen.close()


# --------------------------------------------------------------------------- adherence

TODAY = date(2025, 3, 12)          # a Wednesday
NOW = datetime(2025, 3, 12, 20, 0, tzinfo=UTC)


def _day(n: int) -> date:
    return date(2025, 3, n)


def _at(d: date, hour: int = 9) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


def _sessions(world: World, clock: FakeClock, days: list[int]) -> Clinic:
    """Completed left neck tilts of patient A, one per entry of ``days`` (of March 2025)."""
    cp = Clinic(world.pat_a, world.engine, clock=clock, tz=UTC)
    for k, n in enumerate(days):
        clock.now = _at(_day(n)) + timedelta(minutes=k)
        screened(cp).save_session(neck_report(1))
    clock.now = NOW
    return cp


def _prescribe(world: World, clock: FakeClock, *, starts: date | None = None,
               ends: date | None = None, per_week: int = 7, per_day: int = 1) -> Clinic:
    ca = Clinic(world.ther_a, world.engine, clock=clock, tz=UTC)
    ca.set_program(world.pat_a.user_id, [
        ProgramItemIn("neck_side_tilt", ("left",), reps=1, hold_s=1, times_per_week=per_week,
                      times_per_day=per_day)], starts_on=starts, ends_on=ends)
    return ca


@pytest.mark.parametrize(
    ("case", "program", "sessions", "period", "expected", "text"), [
        ("starts today: owes today's only", dict(starts=TODAY), [11, 12], (None, None),
         (1, 1), "1 of 1 prescribed sessions done (100%), 12 Mar 2025, from the program's "
                 "start."),
        ("starts today, not done yet", dict(starts=TODAY), [11], (None, None), (0, 1),
         "0 of 1 prescribed sessions done (0%)"),
        ("started on Monday, open-ended", dict(starts=_day(10)), [9, 10, 12], (None, None),
         (2, 3), "2 of 3 prescribed sessions done (67%), 10 Mar to 12 Mar 2025, from the "
                 "program's start."),
        ("ended last week: counted to its end", dict(starts=_day(3), ends=_day(9)),
         [2, 8, 9, 10], (None, None), (2, 7), "2 of 7 prescribed sessions done (29%), "
                                              "3 Mar to 9 Mar 2025, the whole program."),
        ("starts in the future: nothing owed", dict(starts=_day(15)), [11, 12], (None, None),
         (0, 0), "Adherence: the program starts on 15 Mar 2025; nothing is due yet."),
        ("a period inside the program", dict(starts=_day(1)), [9, 10, 11, 12],
         (_day(10), _day(11)), (2, 2), "2 of 2 prescribed sessions done (100%), 10 Mar to "
                                       "11 Mar 2025."),
        ("a period that runs past today stops at today", dict(starts=_day(1)), [12],
         (_day(10), _day(16)), (1, 3), "1 of 3 prescribed sessions done (33%), 10 Mar to "
                                       "12 Mar 2025."),
        ("a period before the program", dict(starts=_day(10)), [5], (_day(1), _day(7)),
         (0, 0), "Adherence: the program started on 10 Mar 2025, after this period."),
        ("a period after the program's end", dict(starts=_day(1), ends=_day(5)), [8],
         (_day(8), _day(12)), (0, 0), "the program ended on 5 Mar 2025, before this period"),
        ("a period still to come", dict(starts=_day(1)), [12], (_day(16), _day(22)),
         (0, 0), "Adherence: this period has not begun yet; nothing is due."),
        ("twice a day: at most two a day count", dict(starts=_day(11), per_day=2),
         [11, 11, 11, 12], (None, None), (3, 4), "3 of 4 prescribed sessions done (75%)"),
        ("3 days a week over 3 days owes 2", dict(starts=_day(10), per_week=3), [10, 11, 12],
         (None, None), (2, 2), "2 of 2 prescribed sessions done (100%)"),
    ])
def test_adherence_over_program_and_period_windows(
        world: World, case: str, program: dict, sessions: list[int],
        period: tuple[date | None, date | None], expected: tuple[int, int], text: str) -> None:
    clock = FakeClock(NOW)
    # sessions before the program is set (a program may start in the past)
    cp = _sessions(world, clock, sessions)
    ca = _prescribe(world, clock, **program)
    a = ca.adherence(world.pat_a.user_id, *period)
    assert (a.done, a.prescribed) == expected, case
    assert text in adherence_text(a), (case, adherence_text(a))
    assert cp.adherence(None, *period) == a          # the patient sees the same count


def test_only_completed_non_technical_sessions_of_the_program_count(world: World) -> None:
    clock = FakeClock(NOW)
    ca = _prescribe(world, clock, starts=_day(10), per_day=3)
    cp = Clinic(world.pat_a, world.engine, clock=clock, tz=UTC)
    clock.now = _at(TODAY)
    screened(cp).save_session(neck_report(1))                               # counts
    cp.save_session(neck_report(1, stop_mid_rep=True))                      # interrupted
    cp.save_session(neck_report(1), completion="abandoned", abandon_reason="phone")
    technical = neck_report(1)
    technical.problem = "technical: the computer was too busy to coach (3 frames per second)"
    cp.save_session(technical)                                   # complete, but technical
    clock.now = NOW
    a = ca.adherence(world.pat_a.user_id)
    assert (a.done, a.prescribed) == (1, 9)
    today = cp.todays_program()
    assert [(t.done_today, t.done_this_week, t.done_for_today) for t in today] == [
        (1, 1, False)]


def test_the_dashboard_counts_this_week_with_the_same_function(world: World) -> None:
    clock = FakeClock(NOW)
    _sessions(world, clock, [9, 10, 11, 11, 12])
    ca = _prescribe(world, clock, starts=_day(1), per_week=5)
    monday = _day(10)
    week = ca.adherence(world.pat_a.user_id, monday, monday + timedelta(days=6))
    assert (week.done, week.prescribed) == (3, 3)       # Mon-Wed: ceil(3 * 5 / 7) = 3
    info = ca.patient(world.pat_a.user_id)
    row = {p.username: p for p in ca.patients()}["pat_a"]
    assert (info.adherence_done, info.adherence_prescribed) == (3, 3)
    assert (row.adherence_done, row.adherence_prescribed) == (3, 3)


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                         capture_output=True, text=True).stdout
    return " ".join(out.split())


@pytest.mark.parametrize("period", [(None, None), (_day(10), _day(16)), (_day(1), _day(11))])
def test_the_pdf_says_the_dashboards_adherence(world: World, tmp_path: Path,
                                               period: tuple[date | None, date | None]
                                               ) -> None:
    clock = FakeClock(NOW)
    _sessions(world, clock, [4, 9, 10, 11, 11, 12])
    ca = _prescribe(world, clock, starts=_day(5), ends=_day(31), per_week=5, per_day=2)
    pid = world.pat_a.user_id
    dashboard = adherence_text(ca.adherence(pid, *period))
    assert dashboard.startswith("Adherence: ") and "prescribed sessions done" in dashboard
    text = _pdf_text(ca.export_pdf(pid, *period), tmp_path)
    assert dashboard in text, (dashboard, text[:600])
    assert "Program (from 2025-03-05 to 2025-03-31)" in text
    assert "twice a day, 5 days a week, rest 30 seconds between sets" not in text  # 1 set
    assert "twice a day, 5 days a week" in text


# --------------------------------------------------------------------------- prescribing


def test_duplicate_items_are_refused_with_their_own_error(world: World) -> None:
    ca = Clinic(world.ther_a, world.engine)
    pa = world.pat_a.user_id
    ca.set_program(pa, [ProgramItemIn("chin_tuck", notes="before")])
    with pytest.raises(DuplicateItemError, match="Neck side tilt is in the program twice"):
        ca.set_program(pa, [ProgramItemIn("neck_side_tilt", ("left",), reps=3),
                            ProgramItemIn("chin_tuck"),
                            ProgramItemIn("neck_side_tilt", ("left",), reps=5)])
    assert issubclass(DuplicateItemError, ProgramError) and issubclass(ProgramError, ValueError)
    assert [i.notes for i in ca.program(pa)] == ["before"]      # nothing changed


@pytest.mark.parametrize(("item", "dates", "why"), [
    (ProgramItemIn("chin_tuck", times_per_day=0), {}, "times_per_day must be 1..6"),
    (ProgramItemIn("chin_tuck", times_per_day=7), {}, "times_per_day must be 1..6"),
    (ProgramItemIn("chin_tuck", times_per_day=2, times_per_week=14), {}, "days a week"),
    (ProgramItemIn("chin_tuck", times_per_week=29), {}, "times_per_week must be 1..28"),
    (ProgramItemIn("chin_tuck", rest_between_sets_s=601), {}, "rest_between_sets_s"),
    (ProgramItemIn("chin_tuck", rest_between_sets_s=-1), {}, "rest_between_sets_s"),
    (ProgramItemIn("chin_tuck"), {"starts_on": _day(10), "ends_on": _day(9)},
     "ends .* before it starts"),
    (ProgramItemIn("chin_tuck"), {"starts_on": "2025-03-10"}, "must be a date"),
])
def test_bad_frequency_rest_and_dates_are_refused(world: World, item: ProgramItemIn,
                                                  dates: dict, why: str) -> None:
    ca = Clinic(world.ther_a, world.engine)
    with pytest.raises(ProgramError, match=why):
        ca.set_program(world.pat_a.user_id, [item], **dates)
    assert ca.program_info(world.pat_a.user_id) is None


def test_program_dates_dose_and_status(world: World) -> None:
    clock = FakeClock(NOW)
    ca = Clinic(world.ther_a, world.engine, clock=clock, tz=UTC)
    cp = Clinic(world.pat_a, world.engine, clock=clock, tz=UTC)
    pa = world.pat_a.user_id
    ca.set_program(pa, [ProgramItemIn("neck_side_tilt", ("left",), sets=3, reps=5, hold_s=20,
                                      times_per_week=5, times_per_day=2,
                                      rest_between_sets_s=45)])
    info = cp.program_info()
    assert info is not None
    assert (info.starts_on, info.ends_on, info.status) == (TODAY, None, "running")
    assert info.period == "from 12 Mar, no end date"
    (item,) = info.items
    assert (item.times_per_day, item.rest_between_sets_s, item.per_week) == (2, 45, 10)
    assert dose_text(item) == ("3 sets of 5 repetitions, hold each 20 seconds, left side "
                               "only, twice a day, 5 days a week, rest 45 seconds between "
                               "sets")
    assert [t.item.id for t in cp.todays_program()] == [item.id]

    ca.set_program(pa, [ProgramItemIn("chin_tuck")], starts_on=_day(16), ends_on=_day(31))
    info = cp.program_info()
    assert (info.status, info.period) == ("upcoming", "from 16 Mar to 31 Mar")
    assert cp.todays_program() == []                 # nothing to do before it starts
    assert info.items[0].rest_between_sets_s == DEFAULT_REST_BETWEEN_SETS_S

    ca.set_program(pa, [ProgramItemIn("chin_tuck")], starts_on=date(2024, 12, 1),
                   ends_on=_day(11))
    info = cp.program_info()
    assert (info.status, info.period) == ("ended", "from 1 Dec 2024 to 11 Mar")
    assert cp.todays_program() == []


def test_the_handout_gives_the_period_and_the_dose(world: World, tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    ca = Clinic(world.ther_a, world.engine, clock=clock, tz=UTC)
    ca.set_program(world.pat_a.user_id, [
        ProgramItemIn("chin_tuck", sets=3, reps=5, hold_s=20, times_per_week=5,
                      times_per_day=2, rest_between_sets_s=30)],
        starts_on=_day(5), ends_on=_day(31))
    text = _pdf_text(ca.export_handout(world.pat_a.user_id), tmp_path)
    assert "Prescribed by Therapist A, from 05 March 2025 to 31 March 2025." in text
    assert ("3 sets of 5 repetitions, hold each 20 seconds, twice a day, 5 days a week, "
            "rest 30 seconds between sets") in text
