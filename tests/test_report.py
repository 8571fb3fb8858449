"""Session reports built from trackers: JSON round trip, completion judged on the right sides."""

from __future__ import annotations

import json

from coach.report import SessionReport, build_report
from exercises.definition import load_library
from exercises.engine import StretchTracker
from tests.builders import timeline


def _left_tilts(n: int) -> list:
    keys: list[tuple[float, dict]] = [(0.0, {"neck_tilt": 0.0})]
    t = 1.5
    for _ in range(n):
        keys += [(t, {"neck_tilt": 0.0}), (t + 1, {"neck_tilt": 35.0}),
                 (t + 7, {"neck_tilt": 35.0}), (t + 8, {"neck_tilt": 0.0})]
        t += 9.5
    keys.append((t, {"neck_tilt": 0.0}))
    return list(timeline(keys))


def _trackers(n: int) -> list[StretchTracker]:
    d = load_library()["neck_side_tilt"]
    trackers = [StretchTracker(d, "left"), StretchTracker(d, "right")]
    for f in _left_tilts(n):
        for t in trackers:
            t.update(f)
    return trackers


def test_completion_on_sides_done_vs_all_sides() -> None:
    d = load_library()["neck_side_tilt"]
    trackers = _trackers(3)
    common = {"source": "video", "prescription": d.prescription, "duration_s": 30.0,
              "frames": 900}
    both = build_report(d, trackers, **common)
    left_only = build_report(d, trackers, **common, score_sides=["left"])
    assert both.reps_done == left_only.reps_done == 3
    assert both.score["completion"] == 0.5 and both.score["symmetry"] == 0.0
    assert left_only.score["completion"] == 1.0 and left_only.score["score"] == 100.0


def test_json_round_trip(tmp_path) -> None:
    d = load_library()["neck_side_tilt"]
    report = build_report(d, _trackers(2), source="video", prescription=d.prescription,
                          duration_s=20.0, frames=600, score_sides=["left"])
    path = tmp_path / "r.json"
    report.write_json(path)
    data = json.loads(path.read_text())
    assert data["summary"] == {"reps": 2, "correct_reps": 2, "holds_completed": 2,
                               "score": report.score["score"]}
    again = SessionReport.from_dict(data)
    assert again.reps == report.reps and again.faults == report.faults
