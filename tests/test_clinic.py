"""The clinic service on SQLite and PostgreSQL: scoping, programs, screening, sessions, trends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, func, select

from exercises.definition import load_library
from sessions.auth import AccessDenied
from sessions.models import Flag, SessionFault, SessionRep, SessionRow, SessionSeries
from sessions.screening import SCREENING_QUESTIONS
from sessions.series import LandmarkSeries
from sessions.service import Clinic, ProgramItemIn
from sessions.store import SessionStore
from tests import clinic_support
from tests.clinic_support import (
    TRICKY,
    FakeClock,
    World,
    neck_report,
)

# the shared fixtures: every test here runs on SQLite and on PostgreSQL
db_url, engine, world = clinic_support.db_url, clinic_support.engine, clinic_support.world

NO = dict.fromkeys(SCREENING_QUESTIONS, False)
TILT_TARGET = tuple(load_library()["neck_side_tilt"].primary.target)   # the library's own band
UTC = timezone.utc


def _counts(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as c:
        return tuple(c.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (SessionRow, SessionRep, SessionFault, SessionSeries, Flag))


def _screen(c: Clinic, pain: int = 0) -> Clinic:
    """``c`` after its patient answered the safety questions (no red flag)."""
    c.record_screening(NO, pain)
    return c


def _public_methods() -> set[str]:
    return {n for n in dir(Clinic) if not n.startswith("_") and callable(getattr(Clinic, n))}


@pytest.fixture
def data(world: World) -> dict:
    """Programs, a session and a flag for patient A (therapist A) and patient B (therapist B)."""
    ids: dict = {}
    for ther, pat in ((world.ther_a, world.pat_a), (world.ther_b, world.pat_b)):
        key = pat.username
        Clinic(ther, world.engine).set_program(pat.user_id, [
            ProgramItemIn("neck_side_tilt", ("left", "right"), times_per_week=3)])
        cp = Clinic(pat, world.engine)
        sc = cp.record_screening(NO, 1)
        sid = cp.save_session(neck_report(), screening_id=sc.screening_id, pain_after=5)
        flag = Clinic(ther, world.engine).flags(pat.user_id)[0].id
        ids[key] = {"patient": pat.user_id, "session": sid, "flag": flag}
    return ids


# --------------------------------------------------------------------------- scoping


def _calls_with_ids(c: Clinic, patient: int, session: int, flag: int
                    ) -> dict[str, Callable[[], object]]:
    """Every public method, called on someone else's records."""
    return {
        "patients": None,            # lists only own patients: checked separately
        "patient": lambda: c.patient(patient),
        "set_video_opt_in": None,    # acts on the caller only
        "set_program": lambda: c.set_program(patient, [ProgramItemIn("chin_tuck")]),
        "program": lambda: c.program(patient),
        "program_info": lambda: c.program_info(patient),
        "adherence": lambda: c.adherence(patient),
        "todays_program": None,      # acts on the caller only
        "record_screening": lambda: c.record_screening(NO, 0, patient_id=patient),
        "screening_today": lambda: c.screening_today(patient),
        "save_session": lambda: c.save_session(neck_report(), patient_id=patient),
        "sessions": lambda: c.sessions(patient),
        "session": lambda: c.session(session),
        "add_note": lambda: c.add_note(session, "sneaky note"),
        "flags": lambda: c.flags(patient),
        "resolve_flag": lambda: c.resolve_flag(flag, "sneaky close"),
        "trends": lambda: c.trends(patient),
        "export_csv": lambda: c.export_csv(patient, None, None),
        "export_pdf": lambda: c.export_pdf(patient, None, None),
        "export_handout": lambda: c.export_handout(patient),
    }


def test_therapist_cannot_reach_another_therapists_patient(world: World, data: dict) -> None:
    ca = Clinic(world.ther_a, world.engine)
    b = data["pat_b"]
    before = _counts(world.engine)
    calls = _calls_with_ids(ca, b["patient"], b["session"], b["flag"])
    assert set(calls) == _public_methods(), "a new Clinic method needs a row here"
    for name, call in calls.items():
        if call is None:
            continue
        with pytest.raises(AccessDenied):
            call()
            pytest.fail(f"therapist A could call {name} on therapist B's patient")
    assert _counts(world.engine) == before
    # listings never include B's patient or records
    assert {p.username for p in ca.patients()} == {"pat_a", "pat_a2"}
    assert {s.patient_id for s in ca.sessions()} == {data["pat_a"]["patient"]}
    assert {f.patient_id for f in ca.flags(open_only=False)} == {data["pat_a"]["patient"]}
    # B's flag is still open, B's session has no note
    cb = Clinic(world.ther_b, world.engine)
    assert [f.id for f in cb.flags()] == [b["flag"]]
    assert cb.session(b["session"]).notes == ()


def test_foreign_and_missing_ids_give_the_same_answer(world: World, data: dict) -> None:
    ca = Clinic(world.ther_a, world.engine)
    b = data["pat_b"]
    missing = {"patient": 10_000, "session": 10_000, "flag": 10_000}
    foreign = _calls_with_ids(ca, b["patient"], b["session"], b["flag"])
    absent = _calls_with_ids(ca, missing["patient"], missing["session"], missing["flag"])
    for name, call in foreign.items():
        if call is None:
            continue
        with pytest.raises(AccessDenied) as e1:
            call()
        with pytest.raises(AccessDenied) as e2:
            absent[name]()
        assert str(e1.value) == str(e2.value), name


def test_patient_cannot_reach_another_patient(world: World, data: dict) -> None:
    cp = Clinic(world.pat_a, world.engine)
    b = data["pat_b"]
    a2 = world.pat_a2.user_id   # same therapist, still not theirs
    before = _counts(world.engine)
    for pid in (b["patient"], a2):
        for name, call in _calls_with_ids(cp, pid, b["session"], b["flag"]).items():
            if call is None:
                continue
            with pytest.raises(AccessDenied):
                call()
                pytest.fail(f"patient A could call {name} on another patient")
    # therapist-only methods
    for call in (cp.patients, lambda: cp.flags(), lambda: cp.add_note(
            data["pat_a"]["session"], "self note"),
            lambda: cp.resolve_flag(data["pat_a"]["flag"], "self close"),
            lambda: cp.set_program(world.pat_a.user_id, [])):
        with pytest.raises(AccessDenied):
            call()
    assert _counts(world.engine) == before
    # own records are fine
    assert [s.id for s in cp.sessions()] == [data["pat_a"]["session"]]
    assert cp.session(data["pat_a"]["session"]).patient_id == world.pat_a.user_id
    assert cp.patient(world.pat_a.user_id).therapist_display_name == "Therapist A"
    assert [i.exercise for i in cp.program()] == ["neck_side_tilt"]


def test_therapist_only_methods_for_patients(world: World) -> None:
    ct = Clinic(world.ther_a, world.engine)
    with pytest.raises(AccessDenied):
        ct.todays_program()
    with pytest.raises(ValueError, match="patient_id"):
        ct.record_screening(NO, 0)
    with pytest.raises(AccessDenied):
        ct.set_video_opt_in(True)
    with pytest.raises(ValueError, match="patient_id"):
        ct.save_session(neck_report())


def test_personal_and_clinic_sessions_never_mix(world: World, data: dict) -> None:
    store = SessionStore(world.engine.url.render_as_string(hide_password=False))
    personal = store.save(neck_report(1))
    assert [s.id for s in store.list()] == [personal]
    assert store.get(data["pat_a"]["session"]) is None
    assert store.count() == 1
    ca = Clinic(world.ther_a, world.engine)
    with pytest.raises(AccessDenied):
        ca.session(personal)
    assert personal not in [s.id for s in ca.sessions()]


# --------------------------------------------------------------------------- programs


def test_program_is_validated_replaced_and_applied(world: World) -> None:
    ca = Clinic(world.ther_a, world.engine)
    pa = world.pat_a.user_id
    bad = [
        (ProgramItemIn("neck_tilt_typo"), "unknown stretch"),
        (ProgramItemIn("neck_side_tilt", ("middle",)), "sides"),
        (ProgramItemIn("neck_side_tilt", ("left", "left")), "sides"),
        (ProgramItemIn("chin_tuck", ("left",)), "sides"),
        (ProgramItemIn("neck_side_tilt", reps=0), "bad dose"),
        (ProgramItemIn("neck_side_tilt", hold_s=-1), "bad dose"),
        (ProgramItemIn("neck_side_tilt", times_per_week=0), "times_per_week"),
        (ProgramItemIn("neck_side_tilt", target_low=30), "both"),
        (ProgramItemIn("neck_side_tilt", target_low=40, target_high=30), "low < high"),
        (ProgramItemIn("neck_side_tilt", target_low=5, target_high=30), "thresholds"),
    ]
    for item, why in bad:
        with pytest.raises(ValueError, match=why):
            ca.set_program(pa, [item])
    assert ca.program(pa) == []
    ca.set_program(pa, [ProgramItemIn("chin_tuck")], notes="first")
    ca.set_program(pa, [
        ProgramItemIn("neck_side_tilt", "left", sets=2, reps=4, hold_s=10, times_per_week=5,
                      target_low=25, target_high=45, notes=TRICKY[0]),
        ProgramItemIn("chin_tuck")], notes=TRICKY[1])
    items = ca.program(pa)
    assert [(i.exercise, i.sides) for i in items] == [("neck_side_tilt", ("left",)),
                                                     ("chin_tuck", ("both",))]
    tilt, tuck = items
    assert (tilt.sets, tilt.reps, tilt.hold_s, tilt.times_per_week) == (2, 4, 10.0, 5)
    assert tilt.target == (25.0, 45.0) and tilt.notes == TRICKY[0]
    assert (tuck.reps, tuck.hold_s, tuck.target) == (5, 3.0, None)   # the stretch's defaults
    assert ca.patient(pa).program_notes == TRICKY[1]
    d = tilt.apply(ca.library["neck_side_tilt"])
    assert d.primary.target == (25.0, 45.0)
    assert (d.prescription.sets, d.prescription.reps, d.prescription.hold_s) == (2, 4, 10.0)
    assert ca.library["neck_side_tilt"].primary.target == TILT_TARGET   # not mutated


def test_todays_program_counts_completed_sessions(world: World) -> None:
    clock = FakeClock(datetime(2025, 3, 12, 12, 0, tzinfo=UTC))   # a Wednesday
    ca = Clinic(world.ther_a, world.engine, clock=clock, tz=UTC)
    ca.set_program(world.pat_a.user_id, [
        ProgramItemIn("neck_side_tilt", ("left",), times_per_week=3),
        ProgramItemIn("neck_side_tilt", ("right",), times_per_week=2),
        ProgramItemIn("chin_tuck", times_per_week=7)], starts_on=date(2025, 3, 10))
    cp = Clinic(world.pat_a, world.engine, clock=clock, tz=UTC)
    clock.now = datetime(2025, 3, 9, 12, 0, tzinfo=UTC)    # last Sunday: last week
    _screen(cp).save_session(neck_report())
    clock.now = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)    # Monday
    _screen(cp).save_session(neck_report())
    clock.now = datetime(2025, 3, 12, 7, 0, tzinfo=UTC)    # today
    _screen(cp).save_session(neck_report())
    cp.save_session(neck_report(stop_mid_rep=True))        # interrupted: not counted
    cp.save_session(neck_report(), completion="abandoned", abandon_reason="phone rang")
    clock.now = datetime(2025, 3, 12, 20, 0, tzinfo=UTC)
    today = cp.todays_program()
    assert [(t.item.exercise, t.item.sides, t.done_today, t.done_this_week,
             t.remaining_this_week) for t in today] == [
        ("neck_side_tilt", ("left",), 1, 2, 1),
        ("neck_side_tilt", ("right",), 0, 0, 2),
        ("chin_tuck", ("both",), 0, 0, 7)]
    # this week so far (Monday, the program's start, to Wednesday: 3 days) owes
    # ceil(3 * 3 / 7) = 2 left tilts, ceil(3 * 2 / 7) = 1 right tilt and 3 chin tucks
    row = {p.username: p for p in ca.patients()}["pat_a"]
    assert (row.adherence_done, row.adherence_prescribed) == (2, 6)


# --------------------------------------------------------------------------- screening, flags


def test_red_flag_stops_the_session_and_flags_the_patient(world: World) -> None:
    cp = Clinic(world.pat_a, world.engine)
    ok = cp.record_screening(NO, 3)
    assert ok.ok and ok.red_flags == () and "gently" in ok.advice
    # the good screening's pain becomes the session's pain before
    sid = cp.save_session(neck_report(), screening_id=ok.screening_id, pain_after=3)
    d = cp.session(sid)
    assert (d.pain_before, d.pain_after) == (3, 3)
    assert d.screening == NO
    red = cp.record_screening({**NO, "arm_numbness": True}, 2)
    assert not red.ok and red.red_flags == ("arm_numbness",)
    assert "doctor" in red.advice
    severe = cp.record_screening(NO, 9)
    assert not severe.ok and severe.red_flags == ("pain_before",)
    before = _counts(world.engine)
    with pytest.raises(ValueError, match="red flag"):
        cp.save_session(neck_report(), screening_id=red.screening_id)
    assert _counts(world.engine) == before
    flags = Clinic(world.ther_a, world.engine).flags(world.pat_a.user_id)
    assert [(f.kind, f.screening_id) for f in flags] == [
        ("red_flag", severe.screening_id), ("red_flag", red.screening_id)]
    assert "numbness" in flags[1].detail
    assert Clinic(world.ther_b, world.engine).flags() == []


@pytest.mark.parametrize(("answers", "pain", "why"), [
    ({k: False for k in list(SCREENING_QUESTIONS)[1:]}, 0, "missing"),
    ({**NO, "headache": False}, 0, "unknown"),
    ({**NO, "fever": "no"}, 0, "true or false"),
    (NO, 11, "0 to 10"),
    (NO, -1, "0 to 10"),
    (NO, 2.5, "0 to 10"),
])
def test_screening_answers_are_checked(world: World, answers: dict, pain: object, why: str
                                       ) -> None:
    with pytest.raises(ValueError, match=why):
        Clinic(world.pat_a, world.engine).record_screening(answers, pain)  # type: ignore[arg-type]


def test_pain_rise_of_two_flags_the_session(world: World) -> None:
    cp = Clinic(world.pat_a, world.engine)
    cp.record_screening(NO, 0)
    ca = Clinic(world.ther_a, world.engine)
    cp.save_session(neck_report(), pain_before=2, pain_after=3)
    assert ca.flags() == []
    sid = cp.save_session(neck_report(), pain_before=2, pain_after=4)
    (flag,) = ca.flags()
    assert (flag.kind, flag.session_id, flag.patient_username) == ("pain_rise", sid, "pat_a")
    assert "2/10 to 4/10" in flag.detail
    assert ca.patients()[0].open_flags == 1
    ca.resolve_flag(flag.id, "Called: pain settled by the evening")
    ca.resolve_flag(flag.id, "again")   # idempotent: the first note stays
    assert ca.flags() == []
    (done,) = ca.flags(open_only=False)
    assert done.resolved_by == world.ther_a.user_id and done.resolved_at is not None
    with pytest.raises(ValueError, match="0 to 10"):
        cp.save_session(neck_report(), pain_before=2, pain_after=11)


# --------------------------------------------------------------------------- saving


def test_session_round_trip_with_reps_faults_series_and_landmarks(world: World) -> None:
    cp = Clinic(world.pat_a, world.engine)
    cp.record_screening(NO, 0)
    report = neck_report(3)
    n = len(report.series["t"])
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 1280, size=(n, 33, 2))
    xy[5, 3] = np.nan
    lm = LandmarkSeries(t=np.array(report.series["t"]), xy=xy,
                        visibility=rng.uniform(0, 1, size=(n, 33)))
    sid = cp.save_session(report, pain_before=1, pain_after=1, comment=TRICKY[1],
                          landmarks=lm)
    d = Clinic(world.ther_a, world.engine).session(sid)
    assert (d.exercise, d.sides, d.source, d.completion) == ("neck_side_tilt", ("left",),
                                                             "live", "completed")
    assert d.score == pytest.approx(report.score["score"])
    assert d.reps == report.reps_done == 3
    assert d.comment == TRICKY[1]
    assert d.target == TILT_TARGET
    assert [(r.side, r.index, r.peak, r.score, r.hold_s, r.correct) for r in d.reps_rows] == [
        (r["side"], r["index"], r["peak"], r["score"], r["hold_s"], r["correct"])
        for r in report.reps]
    assert all((r.target_low, r.target_high) == TILT_TARGET for r in d.reps_rows)
    assert d.series == report.series
    assert d.to_report().to_dict() == report.to_dict()
    assert d.score_breakdown == report.score
    assert d.landmarks is not None
    assert np.isnan(d.landmarks.xy[5, 3]).all()
    ok = np.isfinite(xy)
    assert np.abs(d.landmarks.xy[ok] - xy[ok]).max() <= 0.125 + 1e-9
    assert np.abs(d.landmarks.visibility - lm.visibility).max() <= 0.5 / 255 + 1e-9
    assert d.started_at is not None and d.ended_at is not None
    assert (d.ended_at - d.started_at).total_seconds() == pytest.approx(report.duration_s,
                                                                        abs=0.01)


def test_session_with_faults_keeps_the_timeline(world: World) -> None:
    report = neck_report(2)
    report.faults = [{"id": "shoulders_level", "side": "left", "rep": 1, "start_s": 3.0,
                      "end_s": 4.5, "duration_s": 1.5, "cue": "Keep your shoulders level"}]
    report.reps[0]["faults"] = ["shoulders_level"]
    sid = _screen(Clinic(world.pat_a, world.engine)).save_session(report)
    d = Clinic(world.ther_a, world.engine).session(sid)
    assert [(f.fault, f.side, f.rep, f.start_s, f.end_s, f.duration_s) for f in d.faults] == [
        ("shoulders_level", "left", 1, 3.0, 4.5, 1.5)]
    assert d.reps_rows[0].faults == ("shoulders_level",)


def test_interrupted_and_abandoned_sessions(world: World) -> None:
    cp = Clinic(world.pat_a, world.engine)
    cp.record_screening(NO, 0)
    report = neck_report(1, stop_mid_rep=True)
    sid = cp.save_session(report)   # "completed" asked, but the report is incomplete
    d = cp.session(sid)
    assert d.completion == "interrupted"
    assert d.problem == "camera stopped before the set was finished"
    assert [r.complete for r in d.reps_rows] == [True, False]
    with pytest.raises(ValueError, match="reason"):
        cp.save_session(neck_report(), completion="abandoned")
    with pytest.raises(ValueError, match="completion"):
        cp.save_session(neck_report(), completion="finished")
    aid = cp.save_session(neck_report(1), completion="abandoned", abandon_reason=TRICKY[0])
    a = cp.session(aid)
    assert (a.completion, a.abandon_reason) == ("abandoned", TRICKY[0])
    iid = cp.save_session(neck_report(), completion="interrupted")
    assert cp.session(iid).completion == "interrupted"


@pytest.mark.parametrize("breakage", ["score_out_of_range", "duplicate_rep"])
def test_a_failing_write_leaves_nothing_half_written(world: World, breakage: str) -> None:
    cp = Clinic(world.pat_a, world.engine)
    cp.record_screening(NO, 0)
    cp.save_session(neck_report())
    before = _counts(world.engine)
    report = neck_report(3)
    if breakage == "score_out_of_range":
        report.reps[2]["score"] = 150.0          # violates ck_session_reps_score
    else:
        report.reps[2]["index"] = report.reps[1]["index"]   # violates uq_session_reps_rep
    with pytest.raises(ValueError, match="could not save the session"):
        # a pain rise would add a flag too: it must roll back with the rest
        cp.save_session(report, pain_before=0, pain_after=9, comment="half")
    assert _counts(world.engine) == before
    assert [s.comment for s in cp.sessions()] == [None]
    assert Clinic(world.ther_a, world.engine).flags() == []
    cp.save_session(neck_report())      # the service still works afterwards
    assert _counts(world.engine)[0] == before[0] + 1


def test_therapist_saves_for_own_patient(world: World) -> None:
    ca = Clinic(world.ther_a, world.engine)
    _screen(Clinic(world.pat_a, world.engine))
    sid = ca.save_session(neck_report(), patient_id=world.pat_a.user_id, comment="in clinic")
    d = Clinic(world.pat_a, world.engine).session(sid)
    assert d.patient_id == world.pat_a.user_id and d.comment == "in clinic"
    with world.engine.connect() as c:
        assert c.execute(select(SessionRow.recorded_by).where(SessionRow.id == sid)
                         ).scalar_one() == world.ther_a.user_id


def test_video_path_is_kept_only_after_opt_in(world: World) -> None:
    cp = Clinic(world.pat_a, world.engine)
    cp.record_screening(NO, 0)
    sid = cp.save_session(neck_report(), video_path="/videos/a.mp4")
    assert cp.session(sid).video_path is None
    cp.set_video_opt_in(True)
    assert cp.patient(world.pat_a.user_id).video_opt_in
    sid2 = cp.save_session(neck_report(), video_path="/videos/b.mp4")
    assert Clinic(world.ther_a, world.engine).session(sid2).video_path == "/videos/b.mp4"


def test_notes_by_the_therapist_verbatim(world: World) -> None:
    sid = _screen(Clinic(world.pat_a, world.engine)).save_session(neck_report())
    ca = Clinic(world.ther_a, world.engine)
    for t in TRICKY:
        ca.add_note(sid, t)
    with pytest.raises(ValueError, match="empty"):
        ca.add_note(sid, "   ")
    notes = Clinic(world.pat_a, world.engine).session(sid).notes
    assert [n.text for n in notes] == TRICKY
    assert {n.author_display_name for n in notes} == {"Therapist A"}


# --------------------------------------------------------------------------- dashboard


def _save_on(cp: Clinic, clock: FakeClock, day: date, angle: float, **kw) -> int:
    clock.now = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=10)
    return _screen(cp).save_session(neck_report(3, angle=angle), **kw)


def test_session_filters(world: World) -> None:
    clock = FakeClock()
    cp = Clinic(world.pat_a, world.engine, clock=clock, tz=UTC)
    d0 = date(2025, 1, 6)
    ids = [_save_on(cp, clock, d0 + timedelta(days=i), 35.0) for i in range(5)]
    clock.now = datetime(2025, 1, 8, 23, 30, tzinfo=UTC)
    chin = _screen(cp).save_session(neck_report())
    with world.engine.begin() as c:   # pretend it was a chin tuck
        c.execute(SessionRow.__table__.update().where(SessionRow.id == chin)
                  .values(exercise="chin_tuck"))
    ca = Clinic(world.ther_a, world.engine, clock=clock, tz=UTC)
    pa = world.pat_a.user_id
    assert [s.id for s in ca.sessions(pa)] == [ids[4], ids[3], chin, ids[2], ids[1], ids[0]]
    got = ca.sessions(pa, since=date(2025, 1, 7), until=date(2025, 1, 8))
    assert [s.id for s in got] == [chin, ids[2], ids[1]]
    assert [s.id for s in ca.sessions(pa, exercise="chin_tuck")] == [chin]
    assert ca.sessions(pa, since=date(2025, 2, 1)) == []


def test_patient_list_trend_and_latest_score(world: World) -> None:
    clock = FakeClock()
    cp = Clinic(world.pat_a, world.engine, clock=clock, tz=UTC)
    d0 = date(2025, 1, 6)
    # ROM peaks rising: low scores first, full scores later
    for i, angle in enumerate([16.5, 17.0, 17.5, 35.0, 35.0, 35.0]):
        _save_on(cp, clock, d0 + timedelta(days=i), angle)
    ca = Clinic(world.ther_a, world.engine, clock=clock, tz=UTC)
    rows = {p.username: p for p in ca.patients()}
    a = rows["pat_a"]
    assert a.trend == "up"
    assert a.latest_score == pytest.approx(cp.sessions()[0].score)
    assert rows["pat_a2"].trend is None and rows["pat_a2"].latest_score is None
    # falling: the same in reverse, for the other patient
    cp2 = Clinic(world.pat_a2, world.engine, clock=clock, tz=UTC)
    for i, angle in enumerate([35.0, 35.0, 35.0, 16.5, 17.0, 17.5]):
        _save_on(cp2, clock, d0 + timedelta(days=i), angle)
    assert {p.username: p.trend for p in ca.patients()}["pat_a2"] == "down"
    for i in range(6):
        _save_on(cp2, clock, d0 + timedelta(days=10 + i), 35.0)
    assert {p.username: p.trend for p in ca.patients()}["pat_a2"] == "flat"


def test_trends_per_stretch_and_calendar(world: World) -> None:
    clock = FakeClock()
    ca = Clinic(world.ther_a, world.engine, clock=clock, tz=UTC)
    pa = world.pat_a.user_id
    ca.set_program(pa, [ProgramItemIn("neck_side_tilt", times_per_week=4, target_low=22,
                                      target_high=48)])
    cp = Clinic(world.pat_a, world.engine, clock=clock, tz=UTC)
    d0 = date(2025, 2, 3)
    _save_on(cp, clock, d0, 30.0, pain_before=2, pain_after=2)
    _save_on(cp, clock, d0, 40.0, pain_before=3, pain_after=1)
    _save_on(cp, clock, d0 + timedelta(days=2), 35.0)
    clock.now += timedelta(hours=1)
    cp.save_session(neck_report(1, stop_mid_rep=True))
    t = ca.trends(pa, include_incomplete=True)
    assert t.calendar == {d0: 2, d0 + timedelta(days=2): 1}   # completed sessions only
    assert t.prescribed_per_week == 4
    tilt = t.stretches["neck_side_tilt"]
    assert tilt.target == (22.0, 48.0)
    assert tilt.rom_peak == [30.0, 40.0, 35.0, 35.0]
    # no pain given: the screening's pain before (0) is the session's
    assert tilt.pain_before == [2, 3, 0, 0] and tilt.pain_after == [2, 1, None, None]
    assert len(tilt.dates) == len(tilt.scores) == 4
    assert tilt.dates == sorted(tilt.dates)
    assert t.scores == tilt.scores
    assert Clinic(world.pat_a, world.engine, tz=UTC).trends(pa, True).calendar == t.calendar
    # by default the set stopped mid-rep is left out of the series (not the result)
    done = ca.trends(pa)
    assert done.calendar == t.calendar
    assert done.stretches["neck_side_tilt"].rom_peak == [30.0, 40.0, 35.0]
    assert len(done.scores) == len(done.dates) == 3 and done.scores == t.scores[:3]


def _four_good_days(world: World) -> tuple[FakeClock, Clinic, Clinic, date]:
    """A patient's four completed sessions on four days from 3 March 2025: the clock,
    the patient's and the therapist's clinic, the first day."""
    clock = FakeClock()
    cp = Clinic(world.pat_a, world.engine, clock=clock, tz=UTC)
    d0 = date(2025, 3, 3)
    for i in range(4):
        _save_on(cp, clock, d0 + timedelta(days=i), 35.0)
    return clock, cp, Clinic(world.ther_a, world.engine, clock=clock, tz=UTC), d0


def test_interrupted_sessions_do_not_move_the_patient_list(world: World) -> None:
    # three good sessions, then two cut short (e.g. the computer too busy to coach): the
    # latest score and the trend are the completed sessions'
    clock, cp, ca, _ = _four_good_days(world)
    before = {p.username: p for p in ca.patients()}["pat_a"]
    for _ in range(2):
        clock.now += timedelta(days=1)
        _screen(cp).save_session(neck_report(1, stop_mid_rep=True))
    assert [x.completion for x in cp.sessions()[:2]] == ["interrupted", "interrupted"]
    after = {p.username: p for p in ca.patients()}["pat_a"]
    assert after.latest_score == before.latest_score
    assert after.trend == before.trend == "flat"


def test_technical_failures_stay_out_of_trends_and_the_patient_list(world: World) -> None:
    # a complete report whose problem says "technical: ..." is saved "completed", but
    # it is not the patient's result: not a trend point, not the latest score
    clock, cp, ca, d0 = _four_good_days(world)
    pa = world.pat_a.user_id
    before = {p.username: p for p in ca.patients()}["pat_a"]
    series = ca.trends(pa)
    for i in range(2):
        clock.now = datetime.combine(d0 + timedelta(days=5 + i), datetime.min.time(),
                                     tzinfo=UTC) + timedelta(hours=10)
        broken = neck_report(3, angle=16.5)
        broken.problem = "technical: the camera stopped sending frames"
        assert broken.complete
        _screen(cp).save_session(broken)
    assert [x.completion for x in cp.sessions()[:2]] == ["completed", "completed"]
    after = {p.username: p for p in ca.patients()}["pat_a"]
    assert after.latest_score == before.latest_score
    assert after.trend == before.trend == "flat"
    done = ca.trends(pa)
    assert done.scores == series.scores and done.dates == series.dates
    assert done.stretches["neck_side_tilt"].session_ids == \
        series.stretches["neck_side_tilt"].session_ids
    assert done.calendar == series.calendar
    # asked for, they are shown, but never counted as a day done
    everything = ca.trends(pa, include_incomplete=True)
    assert len(everything.scores) == len(series.scores) + 2
    assert everything.calendar == series.calendar


# --------------------------------------------------------------------------- safety gates (issue 9)


def test_a_bundled_sample_is_never_saved_into_a_record(world: World) -> None:
    from sessions.sources import fingerprint, samples_dir

    cp = Clinic(world.pat_a, world.engine)
    ca = Clinic(world.ther_a, world.engine)
    cp.record_screening(NO, 1)
    before = _counts(world.engine)
    marked = neck_report()
    marked.media["sample"] = True
    with pytest.raises(ValueError, match="sample"):
        cp.save_session(marked)
    # a sample uploaded under another name is recognised by its bytes
    clip = sorted(samples_dir().glob("*.mp4"))[0]
    renamed = neck_report()
    renamed.media.update(file="my_own_video.mp4", sha256=fingerprint(clip))
    with pytest.raises(ValueError, match="sample"):
        cp.save_session(renamed)
    with pytest.raises(ValueError, match="sample"):
        ca.save_session(renamed, patient_id=world.pat_a.user_id)
    assert _counts(world.engine) == before
    own = neck_report()
    own.media.update(file="my_own_video.mp4", sha256="0" * 64)
    assert cp.save_session(own) > 0


def test_an_avatar_demonstration_clip_is_never_saved_into_a_record(world: World) -> None:
    """The library's demonstration clips (``demos/*.mp4``) are avatar clips too."""
    from sessions.sources import fingerprint

    cp = _screen(Clinic(world.pat_a, world.engine))
    before = _counts(world.engine)
    clip = Path(__file__).resolve().parent.parent / "demos" / "cat_cow.mp4"
    demo = neck_report()
    demo.media.update(file="my_own_video.mp4", sha256=fingerprint(clip))
    with pytest.raises(ValueError, match="sample"):
        cp.save_session(demo)
    assert _counts(world.engine) == before


def test_no_session_is_recorded_on_a_red_flag_day(world: World) -> None:
    clock = FakeClock(datetime(2025, 3, 12, 9, 0, tzinfo=UTC))
    cp = Clinic(world.pat_a, world.engine, clock=clock, tz=UTC)
    ca = Clinic(world.ther_a, world.engine, clock=clock, tz=UTC)
    red = cp.record_screening({**NO, "dizziness": True}, 2)
    assert not red.ok
    clock.advance(minutes=5)
    again = cp.record_screening(NO, 0)       # "I answered by mistake"
    assert not again.ok and "today" in again.advice
    assert cp.screening_today() is not None and not cp.screening_today().ok
    before = _counts(world.engine)
    for save in (lambda: cp.save_session(neck_report(), screening_id=again.screening_id),
                 lambda: cp.save_session(neck_report()),
                 lambda: ca.save_session(neck_report(), patient_id=world.pat_a.user_id)):
        with pytest.raises(ValueError, match="red flag"):
            save()
    # the therapist entering other answers the same day changes nothing
    assert not ca.record_screening(NO, 0, patient_id=world.pat_a.user_id).ok
    with pytest.raises(ValueError, match="red flag"):
        ca.save_session(neck_report(), patient_id=world.pat_a.user_id)
    assert _counts(world.engine)[0] == before[0]
    clock.now = datetime(2025, 3, 13, 9, 0, tzinfo=UTC)   # the next day
    ok = cp.record_screening(NO, 0)
    assert ok.ok
    assert cp.save_session(neck_report()) > 0


def test_a_session_needs_a_valid_screening_of_the_day(world: World) -> None:
    clock = FakeClock(datetime(2025, 3, 12, 8, 0, tzinfo=UTC))
    cp = Clinic(world.pat_a, world.engine, clock=clock, tz=UTC)
    ca = Clinic(world.ther_a, world.engine, clock=clock, tz=UTC)
    with pytest.raises(ValueError, match="safety questions"):
        cp.save_session(neck_report())
    with pytest.raises(ValueError, match="safety questions"):
        ca.save_session(neck_report(), patient_id=world.pat_a.user_id)
    sc = cp.record_screening(NO, 4)
    assert cp.screening_today().screening_id == sc.screening_id
    clock.advance(hours=4)                        # older than the 3 h validity
    assert cp.screening_today() is None
    with pytest.raises(ValueError, match="safety questions"):
        cp.save_session(neck_report())
    with pytest.raises(ValueError, match="no longer valid"):
        cp.save_session(neck_report(), screening_id=sc.screening_id)
    late = cp.record_screening(NO, 2)
    clock.now = datetime(2025, 3, 13, 0, 30, tzinfo=UTC)   # just after midnight
    with pytest.raises(ValueError, match="no longer valid"):
        cp.save_session(neck_report(), screening_id=late.screening_id)
    # another patient's screening is not yours
    other = Clinic(world.pat_a2, world.engine, clock=clock, tz=UTC).record_screening(NO, 0)
    with pytest.raises(AccessDenied):
        cp.save_session(neck_report(), screening_id=other.screening_id)
    # in the clinic the therapist enters the patient's answers, then records the session
    with pytest.raises(ValueError, match="patient_id"):
        ca.record_screening(NO, 3)
    with pytest.raises(AccessDenied):
        Clinic(world.ther_b, world.engine, clock=clock, tz=UTC).record_screening(
            NO, 3, patient_id=world.pat_a.user_id)
    ca.record_screening(NO, 3, patient_id=world.pat_a.user_id)
    sid = ca.save_session(neck_report(), patient_id=world.pat_a.user_id, pain_after=3)
    assert cp.session(sid).pain_before == 3


# ------------------------------------------------------------ flags and programs (issue 9)


def test_a_flag_is_closed_with_a_note_who_and_when(world: World) -> None:
    clock = FakeClock(datetime(2025, 3, 12, 9, 0, tzinfo=UTC))
    cp = Clinic(world.pat_a, world.engine, clock=clock, tz=UTC)
    ca = Clinic(world.ther_a, world.engine, clock=clock, tz=UTC)
    cp.record_screening({**NO, "fever": True}, 1)
    (flag,) = ca.flags()
    for empty in ("", "   ", None):
        with pytest.raises(ValueError, match="note"):
            ca.resolve_flag(flag.id, empty)  # type: ignore[arg-type]
    assert [f.id for f in ca.flags()] == [flag.id]         # still open
    clock.advance(hours=2)
    ca.resolve_flag(flag.id, TRICKY[0])
    assert ca.flags() == []
    (done,) = ca.flags(open_only=False)
    assert done.resolution_note == TRICKY[0]
    assert (done.resolved_by, done.resolved_by_name) == (world.ther_a.user_id, "Therapist A")
    assert done.resolved_at == clock.now
    clock.advance(hours=1)
    ca.resolve_flag(flag.id, "a second note")
    (again,) = ca.flags(open_only=False)
    assert (again.resolution_note, again.resolved_at) == (TRICKY[0], done.resolved_at)
    with pytest.raises(AccessDenied):
        Clinic(world.ther_b, world.engine).resolve_flag(flag.id, "not mine")


@pytest.mark.parametrize("items", [
    [ProgramItemIn("chin_tuck"), ProgramItemIn("chin_tuck", reps=3)],
    [ProgramItemIn("neck_side_tilt", ("left",)), ProgramItemIn("neck_side_tilt", ("left",))],
    [ProgramItemIn("neck_side_tilt", ("left", "right")), ProgramItemIn("neck_side_tilt",
                                                                       ("right",))],
    [ProgramItemIn("neck_side_tilt"), ProgramItemIn("chin_tuck"),
     ProgramItemIn("neck_side_tilt", ("left",))],
])
def test_a_stretch_is_prescribed_once(world: World, items: list) -> None:
    ca = Clinic(world.ther_a, world.engine)
    pa = world.pat_a.user_id
    ca.set_program(pa, [ProgramItemIn("chin_tuck", notes="before")])
    with pytest.raises(ValueError, match="twice"):
        ca.set_program(pa, items)
    assert [i.notes for i in ca.program(pa)] == ["before"]      # nothing changed
    # the two sides as separate items are fine (different doses per side)
    ca.set_program(pa, [ProgramItemIn("neck_side_tilt", ("left",), reps=5),
                        ProgramItemIn("neck_side_tilt", ("right",), reps=3)])
    assert [i.sides for i in ca.program(pa)] == [("left",), ("right",)]
