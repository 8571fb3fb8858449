"""The live coach behind the browser page, without a browser: runs, stops, threads, ICE."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.live import INTERRUPTED, LiveCoach, ice_servers
from coach.report import SessionReport
from exercises.definition import load_library
from pose.frame import PoseFrame
from tests.builders import front_pose

IMAGE = np.zeros((480, 640, 3), np.uint8)


class ScriptedEstimator:
    """Stands in for PoseEstimator: the neck tilt follows a script of (time, degrees)."""

    def __init__(self, script: list[tuple[float, float]]) -> None:
        self.script = script
        self.closed = False
        self.calls = 0

    def estimate(self, image_rgb: np.ndarray, t: float) -> PoseFrame:
        self.calls += 1
        times = [k[0] for k in self.script]
        angle = float(np.interp(t, times, [k[1] for k in self.script]))
        return front_pose(t=t, neck_tilt=angle)

    def close(self) -> None:
        self.closed = True


def _reps_script(reps: int, extra: list[tuple[float, float]] | None = None
                 ) -> list[tuple[float, float]]:
    keys = [(0.0, 0.0), (1.5, 0.0)]
    t = 1.5
    for _ in range(reps):
        keys += [(t + 1.0, 35.0), (t + 7.0, 35.0), (t + 8.0, 0.0), (t + 9.0, 0.0)]
        t += 9.0
    return keys + (extra or [])


def _feed(coach: LiveCoach, until_s: float, fps: float = 15.0) -> None:
    for i in range(round(until_s * fps) + 1):
        coach.process(IMAGE, i / fps)


def _coach(script: list[tuple[float, float]], saved: list[SessionReport],
           estimators: list[ScriptedEstimator] | None = None) -> LiveCoach:
    d = load_library()["neck_side_tilt"]

    def factory() -> ScriptedEstimator:
        est = ScriptedEstimator(script)
        if estimators is not None:
            estimators.append(est)
        return est

    def save(report: SessionReport) -> int:
        saved.append(report)
        return len(saved)

    return LiveCoach(d, ("left",), save=save, estimator_factory=factory)


def test_full_set_is_saved_complete() -> None:
    saved: list[SessionReport] = []
    ests: list[ScriptedEstimator] = []
    coach = _coach(_reps_script(3), saved, ests)
    _feed(coach, 30.0)
    snap = coach.snapshot()
    assert snap.running and snap.reps == 3 and snap.reps_target == 3
    assert snap.sides[0].side == "left" and snap.sides[0].reps == 3
    report = coach.stop()
    assert report is not None and report.source == "live"
    assert report.reps_done == 3 and report.complete and report.problem is None
    assert saved == [report] and coach.saved_id == 1
    assert len(report.series["t"]) == len(report.series["left"]) > 400
    assert ests[0].closed
    assert not coach.running and not coach.snapshot().running
    assert coach.stop() is None  # idempotent
    assert len(saved) == 1


def test_stop_mid_set_is_saved_interrupted() -> None:
    saved: list[SessionReport] = []
    coach = _coach(_reps_script(1, [(11.5, 35.0), (14.0, 35.0)]), saved)
    _feed(coach, 14.0)
    report = coach.stop()
    assert report is not None
    assert report.reps_done == 1 and not report.complete and report.problem == INTERRUPTED
    assert [r["complete"] for r in report.reps] == [True, False]


def test_nothing_counted_is_not_saved() -> None:
    saved: list[SessionReport] = []
    coach = _coach([(0.0, 35.0), (100.0, 35.0)], saved)  # never seen at rest
    _feed(coach, 3.0)
    assert coach.stop() is None
    assert saved == [] and coach.report is None


def test_hold_and_cues_are_published() -> None:
    coach = _coach(_reps_script(1), [])
    _feed(coach, 6.0)  # in the middle of the first hold
    snap = coach.snapshot()
    assert snap.phase == "position"
    assert 1.0 < snap.hold_s < 5.0 and snap.hold_required_s == 5.0
    assert snap.cues and snap.counting and snap.fps > 0


def test_frames_right_after_a_stop_do_not_start_a_new_run() -> None:
    coach = _coach(_reps_script(1), [])
    _feed(coach, 3.0)
    coach.stop()
    coach.process(IMAGE, 3.1)  # a late frame of the stream that just ended
    assert not coach.running


def test_new_run_after_a_stop_starts_fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    saved: list[SessionReport] = []
    ests: list[ScriptedEstimator] = []
    coach = _coach(_reps_script(1), saved, ests)
    _feed(coach, 12.0)
    coach.stop()
    monkeypatch.setattr("app.live._AFTER_STOP_GRACE_S", 0.0)
    coach.process(IMAGE, 100.0)  # stream time restarts at 0 for the new run
    assert coach.running and coach.snapshot().reps == 0 and coach.report is None
    assert len(ests) == 2


def test_configure_is_ignored_during_a_run() -> None:
    coach = _coach(_reps_script(1), [])
    coach.process(IMAGE, 0.0)
    other = load_library()["chin_tuck"]
    coach.configure(other, ("both",))
    assert coach.definition.id == "neck_side_tilt"
    coach.stop()
    coach.configure(other, ("both",))
    assert coach.definition.id == "chin_tuck"


def test_model_problem_is_shown_not_raised() -> None:
    def broken() -> object:
        raise RuntimeError("no pose model: run 'stretch-coach model'")

    coach = LiveCoach(load_library()["neck_side_tilt"], ("left",), estimator_factory=broken)
    out = coach.process(IMAGE, 0.0)
    assert out is IMAGE
    assert coach.snapshot().error == "no pose model: run 'stretch-coach model'"
    assert not coach.running


def test_prepare_warms_up_an_estimator_used_by_the_next_run() -> None:
    ests: list[ScriptedEstimator] = []
    coach = _coach(_reps_script(1), [], ests)
    coach.prepare()
    assert coach._spare_thread is not None
    coach._spare_thread.join(timeout=10)
    assert len(ests) == 1 and ests[0].calls == 1
    coach.process(IMAGE, 0.0)
    assert len(ests) == 1  # the warmed-up one was used
    coach.close()
    assert ests[0].closed


def test_processing_and_polling_from_different_threads() -> None:
    saved: list[SessionReport] = []
    coach = _coach(_reps_script(2), saved)
    seen: list[int] = []
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            seen.append(coach.snapshot().reps)
            time.sleep(0.001)

    poller = threading.Thread(target=poll)
    poller.start()
    worker = threading.Thread(target=_feed, args=(coach, 21.0))
    worker.start()
    worker.join()
    done.set()
    poller.join()
    assert seen == sorted(seen) and seen[-1] == 2
    report = coach.stop()
    assert report is not None and report.reps_done == 2


def test_callback_takes_and_returns_av_frames() -> None:
    import av

    coach = _coach(_reps_script(1), [])
    frame = av.VideoFrame.from_ndarray(np.full((480, 640, 3), 40, np.uint8), format="rgb24")
    frame.pts = 3000
    from fractions import Fraction

    frame.time_base = Fraction(1, 90000)
    out = coach.callback(frame)
    assert isinstance(out, av.VideoFrame)
    assert (out.width, out.height) == (640, 480) and out.pts == 3000
    assert coach.snapshot().frames == 1


def test_timing_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "timing.csv"
    monkeypatch.setenv("STRETCH_COACH_TIMING_LOG", str(log))
    coach = _coach(_reps_script(1), [])
    _feed(coach, 1.0)
    rows = [r.split(",") for r in log.read_text().splitlines()]
    assert len(rows) == 16 and all(len(r) == 5 for r in rows)
    assert rows[-1][3:] == ["640", "480"]


@pytest.mark.parametrize(("env", "expected", "raises"), [
    ({}, [], None),
    ({"STRETCH_COACH_ICE_SERVERS": "[]"}, [], None),
    ({"STRETCH_COACH_ICE_SERVERS": '[{"urls": ["stun:stun.example.org:3478"]}]'},
     [{"urls": ["stun:stun.example.org:3478"]}], None),
    ({"STRETCH_COACH_ICE_SERVERS": "{not json"}, None, "not valid JSON"),
    ({"STRETCH_COACH_ICE_SERVERS": '{"urls": "stun:x"}'}, None, "JSON list"),
    ({"STRETCH_COACH_ICE_SERVERS": '[{"url": "stun:x"}]'}, None, "urls"),
])
def test_ice_servers_from_env(env: dict[str, str], expected: list | None, raises: str | None,
                              tmp_path: Path) -> None:
    env = {"STRETCH_COACH_DATA": str(tmp_path), **env}
    if raises:
        with pytest.raises(ValueError, match=raises):
            ice_servers(env)
    else:
        assert ice_servers(env) == expected


def test_ice_servers_from_file(tmp_path: Path) -> None:
    servers = [{"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "p"}]
    (tmp_path / "ice_servers.json").write_text(json.dumps(servers))
    assert ice_servers({"STRETCH_COACH_DATA": str(tmp_path)}) == servers
    other = tmp_path / "other.json"
    other.write_text("[]")
    assert ice_servers({"STRETCH_COACH_DATA": str(tmp_path),
                        "STRETCH_COACH_ICE_FILE": str(other)}) == []
