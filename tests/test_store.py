"""The session store: round trips on a temporary SQLite file."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from coach.pipeline import CoachSession
from coach.report import SessionReport, build_report
from exercises.definition import load_library
from sessions.store import SessionStore, default_data_dir, default_url
from tests.builders import timeline


def _neck_tilt_report(reps: int, *, stop_mid_rep: bool = False, complete: bool = True,
                      problem: str | None = None) -> SessionReport:
    """A neck side tilt (left) session with ``reps`` held repetitions from synthetic poses."""
    d = load_library()["neck_side_tilt"]
    session = CoachSession(d, ("left",), estimator=None, smoothing=False)
    keys: list[tuple[float, dict]] = [(0.0, {"neck_tilt": 0.0}), (1.5, {"neck_tilt": 0.0})]
    t = 1.5
    for _ in range(reps):
        keys += [(t + 1.0, {"neck_tilt": 35.0}), (t + 7.0, {"neck_tilt": 35.0}),
                 (t + 8.0, {"neck_tilt": 0.0}), (t + 9.0, {"neck_tilt": 0.0})]
        t += 9.0
    if stop_mid_rep:
        keys += [(t + 1.0, {"neck_tilt": 35.0}), (t + 2.0, {"neck_tilt": 35.0})]
    frames = 0
    last_t = 0.0
    for frame in timeline(keys, fps=15.0):
        session.process_pose(frame)
        frames += 1
        last_t = frame.timestamp_s
    session.finish()
    return build_report(d, session.trackers.values(), source="live",
                        prescription=d.prescription, duration_s=last_t, frames=frames,
                        complete=complete, problem=problem,
                        series={"t": [0.0, 0.5], "left": [1.0, None]})


def test_round_trip(tmp_path: Path) -> None:
    store = SessionStore(f"sqlite:///{tmp_path / 'sessions.db'}")
    report = _neck_tilt_report(3)
    assert report.reps_done == 3
    sid = store.save(report)
    got = store.get(sid)
    assert got is not None
    assert got.id == sid
    assert (got.exercise, got.sides, got.source) == ("neck_side_tilt", ("left",), "live")
    assert got.complete and got.problem is None
    assert got.reps == 3
    assert got.score == pytest.approx(report.score["score"])
    assert got.created_at.tzinfo is not None
    assert got.report.to_dict() == report.to_dict()
    assert got.report.series == {"t": [0.0, 0.5], "left": [1.0, None]}
    assert store.get(sid + 100) is None
    store.close()


def test_interrupted_session_is_stored_as_such(tmp_path: Path) -> None:
    store = SessionStore(f"sqlite:///{tmp_path / 's.db'}")
    problem = "camera stopped before the set was finished"
    report = _neck_tilt_report(1, stop_mid_rep=True, complete=False, problem=problem)
    sid = store.save(report)
    got = store.get(sid)
    assert got is not None
    assert not got.complete
    assert got.problem == problem
    assert got.report.complete is False
    assert got.reps == 1
    # the rep in progress when the camera stopped is kept, marked incomplete
    assert [r["complete"] for r in got.report.reps] == [True, False]


def test_list_newest_first_limit_and_filter(tmp_path: Path) -> None:
    store = SessionStore(f"sqlite:///{tmp_path / 's.db'}")
    ids = [store.save(_neck_tilt_report(1)) for _ in range(3)]
    listed = store.list(limit=2)
    assert [s.id for s in listed] == ids[::-1][:2]
    assert store.count() == 3
    assert store.list(exercise="chin_tuck") == []
    assert len(store.list(exercise="neck_side_tilt")) == 3


def test_reopen_keeps_sessions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    sid = SessionStore(url).save(_neck_tilt_report(1))
    again = SessionStore(url)
    assert again.get(sid) is not None


def test_saves_from_several_threads(tmp_path: Path) -> None:
    store = SessionStore(f"sqlite:///{tmp_path / 's.db'}")
    report = _neck_tilt_report(1)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                store.save(report)
        except BaseException as e:  # collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert store.count() == 15


def test_default_location_follows_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRETCH_COACH_DATA", str(tmp_path / "data"))
    assert default_data_dir() == tmp_path / "data"
    assert default_url() == f"sqlite:///{tmp_path / 'data' / 'sessions.db'}"
    store = SessionStore()
    assert (tmp_path / "data" / "sessions.db").exists()
    assert store.count() == 0
