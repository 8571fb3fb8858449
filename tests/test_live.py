"""The live coach behind the browser page, without a browser: runs, stops, threads, ICE."""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.live import (
    INTERRUPTED,
    STALL_S,
    TECHNICAL,
    HudLayer,
    LiveCoach,
    LoadGovernor,
    hud_info,
    ice_servers,
    is_technical,
)
from app.patient_ui import item_run, next_program_item
from coach.report import SessionReport
from exercises.definition import load_library
from pose.frame import PoseFrame
from pose.hud import STATE_COLORS, HudInfo, draw_hud
from sessions.service import ProgramItem, TodayItem
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


class GappyEstimator(ScriptedEstimator):
    """Sees nobody between ``gap[0]`` and ``gap[1]`` seconds (a dropped reading)."""

    def __init__(self, script: list[tuple[float, float]], gap: tuple[float, float]) -> None:
        super().__init__(script)
        self.gap = gap

    def estimate(self, image_rgb: np.ndarray, t: float) -> PoseFrame:
        if self.gap[0] <= t < self.gap[1]:
            self.calls += 1
            return PoseFrame.empty(t, (640, 480))
        return super().estimate(image_rgb, t)


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
           estimators: list[ScriptedEstimator] | None = None, countdown_s: float = 0.0,
           gap: tuple[float, float] | None = None) -> LiveCoach:
    """A coach on the neck side tilt whose model follows ``script`` (and sees nobody
    during ``gap``)."""
    d = load_library()["neck_side_tilt"]

    def factory() -> ScriptedEstimator:
        est = ScriptedEstimator(script) if gap is None else GappyEstimator(script, gap)
        if estimators is not None:
            estimators.append(est)
        return est

    def save(report: SessionReport) -> int:
        saved.append(report)
        return len(saved)

    return LiveCoach(d, ("left",), save=save, estimator_factory=factory, synchronous=True,
                     countdown_s=countdown_s)


def test_full_set_ends_by_itself_and_is_saved_complete(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    saved: list[SessionReport] = []
    ests: list[ScriptedEstimator] = []
    coach = _coach(_reps_script(4), saved, ests)  # the person would do a 4th rep
    _feed(coach, 38.0)
    snap = coach.snapshot()
    # the set has an end: 3 of 3, counting stopped, the report made and saved once
    assert snap.done and not snap.running and snap.state == "done"
    assert snap.reps == 3 and snap.reps_target == 3 and snap.sides[0].reps == 3
    report = coach.report
    assert report is not None and report.source == "live"
    assert report.reps_done == 3 and report.complete and report.problem is None
    assert report.media["ended"] == "complete"
    assert saved == [report] and coach.saved_id == 1
    assert len(report.series["t"]) == len(report.series["left"]) > 300
    assert ests[0].closed and not coach.running
    # the rest of this stream only shows "Set complete"; nothing more is counted
    calls = ests[0].calls
    for i in range(30):
        coach.process(IMAGE, 38.0 + i / 15)
    assert not coach.running and ests[0].calls == calls and len(ests) == 1
    assert coach.stop() is None  # the stream ends: nothing more to save
    assert saved == [report]
    monkeypatch.setattr("app.live.coach._AFTER_STOP_GRACE_S", 0.0)
    coach.process(IMAGE, 0.0)  # the next Start begins a new set
    assert coach.running and coach.snapshot().reps == 0 and len(ests) == 2
    assert not coach.snapshot().done and coach.snapshot().sides[0].reps == 0


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


def test_seen_at_rest_but_no_rep_begun_is_not_saved() -> None:
    """Counting started (the person stood still) but no repetition began: stopping saves
    nothing, whether by the Stop button or a dropped connection (no 0/100 in the record)."""
    for drop in (False, True):
        saved: list[SessionReport] = []
        coach = _coach([(0.0, 0.0), (100.0, 0.0)], saved)  # at rest throughout
        _feed(coach, 4.0)
        assert coach.snapshot().counting and coach.snapshot().reps == 0
        if drop:
            _stall(coach)
        assert coach.stop() is None
        assert saved == [] and coach.report is None and not coach.resumable


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
    monkeypatch.setattr("app.live.coach._AFTER_STOP_GRACE_S", 0.0)
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

    coach = LiveCoach(load_library()["neck_side_tilt"], ("left",), estimator_factory=broken,
                      synchronous=True)
    out = coach.process(IMAGE, 0.0)
    assert out is IMAGE
    assert coach.snapshot().error == "no pose model: run 'stretch-coach model'"
    assert not coach.running


def test_prepare_warms_up_an_estimator_used_by_the_next_run() -> None:
    ests: list[ScriptedEstimator] = []
    coach = _coach(_reps_script(1), [], ests)
    coach.prepare()
    assert coach._spare.thread is not None
    coach._spare.thread.join(timeout=10)
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


# --------------------------------------------------------------------------- under load


class FixedCostGovernor(LoadGovernor):
    """A governor that believes every judged frame costs ``cost_s`` (a busy computer)."""

    def __init__(self, cost_s: float, fps: float | None = None) -> None:
        super().__init__()
        self.cost_s = cost_s
        self.fps = fps

    def judged(self, stream_t: float, cost_s: float, now: float) -> None:
        super().judged(stream_t, self.cost_s, now)

    def judged_fps(self, now: float) -> float:
        return self.fps if self.fps is not None else super().judged_fps(now)


def test_governor_stride_follows_the_cost() -> None:
    gov = LoadGovernor(duty=0.5)
    assert gov.should_judge(0.0)
    gov.judged(0.0, 0.2, now=0.0)       # 200 ms per frame: at most one every 0.4 s
    assert abs(gov.min_interval_s() - 0.4) < 1e-3
    judged = [i for i in range(1, 61) if gov.should_judge(i / 30)
              and (gov.judged(i / 30, 0.2, now=i / 30) or True)]
    assert 4 <= len(judged) <= 5        # 2 s of 30 frames/s: about 5 judged
    for _ in range(40):                 # the computer is free again: the cost falls back
        gov.judged(3.0, 0.01, now=3.0)
    assert gov.min_interval_s() < 1 / 25


def test_governor_rates_and_too_busy() -> None:
    gov = LoadGovernor(window_s=3.0)
    for i in range(31):
        gov.arrived(i / 30)
    assert 29 < gov.incoming_fps(1.0) < 31
    for k in range(12):                 # 2 judged frames per second for 6 s
        gov.judged(k / 2, 0.4, now=k / 2)
    assert 1.5 < gov.judged_fps(5.5) < 2.5
    assert gov.too_busy(5.5)
    gov.judged(6.0, 0.01, now=6.0)
    assert not gov.too_busy(6.0) or gov.judged_fps(6.0) < 4


def test_busy_computer_judges_fewer_frames_and_counts_the_same() -> None:
    saved: list[SessionReport] = []
    ests: list[ScriptedEstimator] = []
    coach = _coach(_reps_script(3), saved, ests)
    coach.governor = FixedCostGovernor(0.25)   # each frame costs 250 ms: ~3 judged per second
    frames = 0
    for i in range(round(30.0 * 30) + 1):      # 30 s of a 30 frames/s camera
        out = coach.process(IMAGE.copy(), i / 30)
        frames += 1
        assert out.shape == IMAGE.shape
    assert ests[0].calls < frames / 6         # most frames were shown, not judged
    snap = coach.snapshot()
    assert snap.done and snap.reps == 3       # the same count as an idle computer
    report = coach.report
    assert report is not None and report.complete
    holds = [r["hold_s"] for r in report.reps]
    assert all(h >= 5.0 for h in holds)        # holds timed from capture timestamps


def test_busy_notice_is_plain_and_about_the_computer() -> None:
    coach = _coach(_reps_script(3), [])
    coach.governor = FixedCostGovernor(0.25, fps=6.0)
    _feed(coach, 4.0, fps=30.0)
    snap = coach.snapshot()
    assert snap.notice_kind == "busy"
    assert snap.notice == "Your computer is busy: coaching at 6 frames per second"
    coach.governor.fps = 2.0
    coach.governor._busy_since = -1e9           # has been under 4 frames/s for a while
    snap = coach.snapshot()
    assert snap.notice_kind == "too_busy" and "too busy" in snap.notice
    for text in (snap.notice, hud_info(snap).notice):
        assert "camera" not in text.lower() and "position" not in text.lower()


def test_too_busy_session_is_recorded_as_technical() -> None:
    saved: list[SessionReport] = []
    coach = _coach(_reps_script(1, [(11.5, 35.0), (14.0, 35.0)]), saved)
    coach.governor = FixedCostGovernor(0.25, fps=2.0)
    _feed(coach, 14.0, fps=30.0)
    coach._run.fps_log[:] = [2.0] * 10  # type: ignore[union-attr]
    report = coach.stop()
    assert report is not None and not report.complete and is_technical(report.problem)
    assert "too busy" in report.problem and report.media["ended"] == "technical"


# --------------------------------------------------------------------------- dropped connection


def _stall(coach: LiveCoach) -> None:
    """Frames stopped arriving longer ago than ``STALL_S`` (white box: no sleeping)."""
    assert coach._run is not None
    coach._run.last_arrival -= STALL_S + 1.0


def test_stalled_video_is_said_plainly() -> None:
    coach = _coach(_reps_script(3), [])
    _feed(coach, 5.0)
    _stall(coach)
    snap = coach.snapshot()
    assert snap.notice_kind == "stalled" and "stopped arriving" in snap.notice
    assert "what you did so far is kept" in snap.notice
    assert snap.reps == coach._snapshot.reps


def test_dropped_connection_resumes_without_losing_reps(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    saved: list[SessionReport] = []
    ests: list[ScriptedEstimator] = []
    script = _reps_script(3)
    coach = _coach(script, saved, ests)
    _feed(coach, 12.0)                    # one rep done, the second not started
    assert coach.snapshot().reps == 1
    _stall(coach)
    assert coach.stop() is None           # not a finished session: suspended
    snap = coach.snapshot()
    assert saved == [] and coach.report is None
    assert snap.resumable and snap.notice_kind == "dropped" and snap.reps == 1
    assert snap.notice.startswith("The video connection dropped: press Start to continue")
    assert ests[0].closed
    monkeypatch.setattr("app.live.coach._AFTER_STOP_GRACE_S", 0.0)
    # Start again: the new stream's clock starts at 0; the run continues where it was
    for i in range(round(20.0 * 15) + 1):
        coach.process(IMAGE, i / 15)
    snap = coach.snapshot()
    assert snap.done and snap.reps == 3 and len(ests) == 2
    report = coach.report
    assert report is not None and report.complete and report.reps_done == 3
    assert saved == [report]
    t = report.series["t"]
    assert all(b > a for a, b in itertools.pairwise(t))  # one continuous timeline


def test_ending_a_dropped_session_records_a_technical_end() -> None:
    saved: list[SessionReport] = []
    coach = _coach(_reps_script(3), saved)
    _feed(coach, 12.0)
    _stall(coach)
    coach.stop()
    report = coach.end_suspended()
    assert report is not None and saved == [report]
    assert not report.complete and report.reps_done == 1
    assert report.problem.startswith(TECHNICAL) and is_technical(report.problem)
    assert "connection dropped" in report.problem and report.media["ended"] == "technical"
    assert not coach.resumable and coach.end_suspended() is None


def test_changing_the_stretch_records_the_dropped_session() -> None:
    saved: list[SessionReport] = []
    coach = _coach(_reps_script(3), saved)
    _feed(coach, 12.0)
    _stall(coach)
    coach.stop()
    coach.configure(coach.definition, coach.sides)   # same stretch: still resumable
    assert coach.resumable and saved == []
    coach.configure(load_library()["chin_tuck"], ("both",))
    assert not coach.resumable and len(saved) == 1 and is_technical(saved[0].problem)


def test_drop_before_anything_counted_saves_nothing() -> None:
    saved: list[SessionReport] = []
    coach = _coach([(0.0, 35.0), (100.0, 35.0)], saved)  # never seen at rest
    _feed(coach, 3.0)
    _stall(coach)
    assert coach.stop() is None
    snap = coach.snapshot()
    assert not snap.resumable and snap.notice_kind == "dropped"
    assert saved == [] and coach.end_suspended() is None
    assert coach.last_end == "dropped"  # the page says the connection dropped


# --------------------------------------------------------------------------- display


def test_countdown_before_judging() -> None:
    ests: list[ScriptedEstimator] = []
    coach = _coach(_reps_script(1), [], ests, countdown_s=3.0)
    _feed(coach, 2.0)
    snap = coach.snapshot()
    assert snap.state == "countdown" and 0 < snap.countdown_s <= 1.01
    assert ests[0].calls == 0 and snap.frames == 0
    _feed(coach, 4.0)
    assert ests[0].calls > 0 and coach.snapshot().countdown_s == 0


def test_video_shows_what_the_panel_shows() -> None:
    coach = _coach(_reps_script(2), [])
    _feed(coach, 14.0)
    image = np.full((480, 640, 3), 90, np.uint8)
    t = 14.0 + 1 / 15
    out = coach.process(image.copy(), t)
    snap = coach.snapshot()
    assert snap.reps == 1
    expected = draw_hud(image.copy(), coach._run.pose, hud_info(snap))  # type: ignore[union-attr]
    # drawn directly, or blended from the display drawn once (a few levels of rounding)
    assert np.abs(out.astype(int) - expected).max() <= 4


@pytest.mark.parametrize(("gap_s", "state"), [(0.3, "position"), (2.0, "ready")])
def test_display_keeps_its_state_through_a_brief_dropout(gap_s: float, state: str) -> None:
    """A few unreadable frames mid-hold keep the display "in position" (the engine keeps
    the phase until the body is lost for ``lost_s``); a longer loss turns it grey and
    says what to do."""
    coach = _coach(_reps_script(1), [], gap=(5.0, 5.0 + gap_s))
    _feed(coach, 5.0 + gap_s - 0.05)
    snap = coach.snapshot()
    assert snap.phase == "cant_assess"
    assert snap.state == state
    assert (snap.setup_message is None) == (state == "position")


def test_old_skeleton_is_not_drawn_on_a_new_frame() -> None:
    coach = _coach(_reps_script(2), [])
    _feed(coach, 6.0)
    run = coach._run
    assert run is not None and run.pose is not None
    image = np.full((480, 640, 3), 90, np.uint8)
    later = coach._draw(image.copy(), run, run.pose.timestamp_s + 2.0)
    without = draw_hud(image.copy(), None, hud_info(coach.snapshot()))
    assert np.abs(later.astype(int) - without).max() <= 4
    fresh = coach._draw(image.copy(), run, run.pose.timestamp_s)
    assert not np.array_equal(fresh, without)


@pytest.mark.parametrize("size", [(640, 480), (1280, 720)])
@pytest.mark.parametrize("state", ["ready", "rest", "moving", "position", "ease", "done"])
def test_state_colour_frames_the_picture(size: tuple[int, int], state: str) -> None:
    w, h = size
    out = draw_hud(np.zeros((h, w, 3), np.uint8), None,
                   HudInfo(state=state, state_text=state, reps=1, reps_target=3,
                           hold_s=2.0, hold_target_s=5.0, cue="Hold it"))
    u = h / 100
    for y, x in [(round(0.5 * u), w // 2), (h // 2, round(0.5 * u)), (h // 2, w - 2)]:
        assert tuple(out[y, x]) == STATE_COLORS[state], (y, x)


@pytest.mark.parametrize("size", [(640, 480), (1280, 720)])
def test_rep_count_is_large_relative_to_the_picture(size: tuple[int, int]) -> None:
    w, h = size
    blank = np.zeros((h, w, 3), np.uint8)
    base = draw_hud(blank, None, HudInfo(state="rest", reps_target=0))
    out = draw_hud(blank, None, HudInfo(state="rest", reps=2, reps_target=3))
    diff = np.any(out != base, axis=2)
    ys, xs = np.nonzero(diff[:, w // 2:])
    # the "REPS" caption and the "2/3" count together: about a fifth of the picture's height
    assert 0.15 * h <= ys.max() - ys.min() <= 0.3 * h
    assert xs.min() + w // 2 > w * 0.6    # in the top right corner


def test_callback_never_waits_for_the_model() -> None:
    import av

    release = threading.Event()

    class SlowToLoad(ScriptedEstimator):
        def __init__(self) -> None:
            release.wait(60)
            super().__init__(_reps_script(1))

    coach = LiveCoach(load_library()["neck_side_tilt"], ("left",),
                      estimator_factory=SlowToLoad, countdown_s=0.0)
    from fractions import Fraction

    outs: list[object] = []

    def send() -> None:
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(IMAGE, format="rgb24")
            frame.pts, frame.time_base = i * 3000, Fraction(1, 90000)
            outs.append(coach.callback(frame))

    sender = threading.Thread(target=send)
    sender.start()
    sender.join(timeout=30)
    try:
        assert not sender.is_alive() and len(outs) == 5  # frames flowed while loading
        assert coach.running and coach.snapshot().notice_kind == "loading"
    finally:
        release.set()
        coach.close()


def test_stop_after_a_trickle_of_frames_is_a_dropped_connection() -> None:
    saved: list[SessionReport] = []
    coach = _coach(_reps_script(3), saved)
    _feed(coach, 12.0)
    run = coach._run
    assert run is not None
    run.started_wall -= 10.0                 # the run has been going for a while...
    coach.governor._arrived.clear()          # ...and only 2 frames arrived in the last 3 s
    now = time.monotonic()
    coach.governor.arrived(now - 1.0)
    coach.governor.arrived(now)
    snap = coach.snapshot()
    assert snap.notice_kind == "slow" and "1 frame per second is arriving" in snap.notice
    assert coach.stop() is None and coach.resumable and saved == []
    assert coach.last_end == "too_busy"  # the computer's problem, said as such


HUDS = {
    "rest": HudInfo(state="rest", state_text="Rest", side_text="Left side", reps=1,
                    reps_target=3, cue="Tilt your head toward your left shoulder"),
    "hold": HudInfo(state="position", state_text="In position", reps=1, reps_target=3,
                    hold_s=2.3, hold_target_s=10.0, cue="Hold it there"),
    "ready": HudInfo(state="ready", state_text="Getting ready", reps=0, reps_target=3,
                     cue="Step back so your shoulders and hips are in view, with only "
                     "you in the picture", notice="Computer busy: 6 frames/s"),
    "countdown": HudInfo(state="countdown", state_text="Get ready", reps_target=3,
                         countdown_s=2.2),
    "done": HudInfo(state="done", state_text="Set complete", reps=3, reps_target=3,
                    done=True),
    "moving": HudInfo(state="moving", state_text="Into position", reps=2, reps_target=3,
                      cue="Keep going"),
}


@pytest.mark.parametrize("size", [(640, 480), (1280, 720)])
@pytest.mark.parametrize("name", sorted(HUDS))
def test_blended_display_equals_the_drawn_one(size: tuple[int, int], name: str) -> None:
    w, h = size
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    pose = front_pose(t=0.0, neck_tilt=20.0)
    pose = pose if tuple(pose.image_size) == (w, h) else None
    layer = HudLayer(background=False)
    hud = HUDS[name]
    expected = draw_hud(image.copy(), pose, hud)
    for _ in range(2):  # built once, then blended from the cache
        out = layer.draw(image.copy(), pose, hud)
        diff = np.abs(out.astype(int) - expected)
        assert diff.max() <= 4 and (diff > 2).mean() < 1e-3, (name, diff.max())
    assert layer.builds == 1


def test_display_is_rebuilt_only_when_what_it_says_changes() -> None:
    layer = HudLayer(background=False)
    image = np.zeros((480, 640, 3), np.uint8)
    hold = HUDS["hold"]
    for k in range(10):  # the arc moves with every frame, the seconds shown change once
        layer.draw(image.copy(), None, dataclasses.replace(hold, hold_s=2.05 + k * 0.09))
    assert layer.builds == 1
    # the hold's seconds are drawn on each frame over the same blend: a whole hold is one
    second = layer.draw(image.copy(), None, dataclasses.replace(hold, hold_s=3.05))
    assert layer.builds == 1
    direct = draw_hud(image.copy(), None, dataclasses.replace(hold, hold_s=3.05))
    assert np.abs(second.astype(int) - direct.astype(int)).max() <= 4
    layer.draw(image.copy(), None, dataclasses.replace(hold, reps=2))
    assert layer.builds == 2


def test_display_is_drawn_directly_until_its_blend_is_ready() -> None:
    layer = HudLayer()  # blends are made in a background thread
    image = np.full((480, 640, 3), 90, np.uint8)
    hud = HUDS["rest"]
    first = layer.draw(image.copy(), None, hud)
    assert np.array_equal(first, draw_hud(image.copy(), None, hud))  # not waited for
    for _ in range(layer.settle_frames - 1):  # a display that stays is made into a blend
        assert np.array_equal(layer.draw(image.copy(), None, hud), first)
    deadline = time.monotonic() + 60
    while layer.builds == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert layer.builds == 1
    assert np.abs(layer.draw(image.copy(), None, hud).astype(int) - first).max() <= 4


@pytest.mark.slow
def test_two_people_are_refused_with_the_check_off_the_frame_path() -> None:
    """The real model on the two-people clip: the check for a second person runs in a
    background thread (no judged frame waits for it) and the coach still says so."""
    from pose.estimator import PoseEstimator
    from pose.video import open_video

    clip = Path(__file__).resolve().parent.parent / "sample_videos" / "stress" / "two_people.mp4"
    with open_video(clip) as reader:
        images = [f.image for f in reader.frames()]
    estimators: list[PoseEstimator] = []

    def factory() -> PoseEstimator:
        est = PoseEstimator(people_check_background=True)
        estimators.append(est)
        return est

    coach = LiveCoach(load_library()["neck_side_tilt"], ("left",), estimator_factory=factory,
                      synchronous=True, countdown_s=0.0)
    messages: list[str | None] = []
    try:
        # play the clip until the coach asks for one person (a bound of 20 loops, not time)
        for i in itertools.islice(itertools.count(), 20 * len(images)):
            coach.process(images[i % len(images)].copy(), i / 30)
            messages.append(coach.snapshot().setup_message)
            if messages[-1] and "more than one person" in messages[-1]:
                break
        assert messages[-1] and "more than one person" in messages[-1], set(messages)
        assert estimators[0].people_checks >= 1
    finally:
        coach.close()


# --------------------------------------------------------------------------- the end of a set


def test_after_a_complete_set_the_coach_goes_on_with_the_next_stretch() -> None:
    """The set's end as a state machine: counting -> complete (report saved, nothing more
    counted, "Set complete" on the video) -> next stretch on the same stream."""
    saved: list[SessionReport] = []
    ests: list[ScriptedEstimator] = []
    coach = _coach(_reps_script(4), saved, ests)
    _feed(coach, 38.0)
    done = coach.snapshot()
    assert done.done and done.state == "done" and done.reps == 3 and len(saved) == 1
    assert hud_info(done).done and hud_info(done).state_text == "Set complete"
    chin = load_library()["chin_tuck"]
    for i in range(15):  # the stream goes on showing "Set complete", counting nothing
        coach.process(IMAGE, 38.0 + i / 15)
        assert coach.snapshot().done and not coach.running
    assert coach.next_set(chin, ("both",))
    fresh = coach.snapshot()
    assert not fresh.done and fresh.reps == 0 and fresh.reps_target == 5 * 1
    assert coach.report is None and coach.saved_id is None
    coach.process(IMAGE, 39.1)  # the next frame of the same stream starts the new set
    assert coach.running and coach.definition.id == "chin_tuck" and len(ests) == 2
    snap = coach.snapshot()
    assert not snap.done and snap.reps == 0 and [s.side for s in snap.sides] == ["both"]
    assert saved == [saved[0]] and saved[0].exercise == "neck_side_tilt"


def test_next_stretch_is_refused_while_a_set_is_going() -> None:
    coach = _coach(_reps_script(3), [])
    _feed(coach, 12.0)
    assert coach.running
    assert not coach.next_set(load_library()["chin_tuck"], ("both",))
    assert coach.definition.id == "neck_side_tilt" and coach.running


def _today(item_id: int, exercise: str, done_today: int = 0) -> TodayItem:
    item = ProgramItem(id=item_id, position=item_id, exercise=exercise,
                       exercise_name=exercise.replace("_", " ").capitalize(),
                       sides=("left",), sets=1, reps=3, hold_s=5.0, times_per_week=7,
                       target_low=None, target_high=None, notes="")
    return TodayItem(item, done_today, done_today)


@pytest.mark.parametrize(("done", "current", "expected"), [
    ((0, 0, 0), 1, 2),          # the next one in the program
    ((0, 1, 0), 1, 3),          # skipping one already done today
    ((0, 0, 0), 3, 1),          # round to the start
    ((1, 1, 0), 3, None),       # every other one is done today
    ((0, 0, 0), None, 1),       # not from the program: the first one not done
    ((1, 0, 0), 99, 2),
])
def test_next_program_item(done: tuple[int, ...], current: int | None,
                           expected: int | None) -> None:
    items = [_today(i, ex, d) for i, ex, d in zip(
        (1, 2, 3), ("neck_side_tilt", "chin_tuck", "chest_opener"), done, strict=True)]
    nxt = next_program_item(items, current)
    assert (nxt.item.id if nxt is not None else None) == expected


def test_program_item_runs_with_its_dose_and_sides() -> None:
    lib = load_library()
    definition, sides = item_run(_today(2, "neck_side_tilt"), lib)
    assert sides == ("left",) and definition.prescription.reps == 3
    definition, sides = item_run(_today(2, "chin_tuck"), lib)
    assert sides == ("both",)
