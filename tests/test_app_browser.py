"""The Streamlit app in a real browser: headless Chromium (Debian's) driven by Playwright.

One app server for the module (``streamlit run app/Home.py`` on a free port, its
own ``STRETCH_COACH_DATA`` in a temporary folder). The live test feeds Chromium's
fake camera with a sample clip converted to MJPEG and talks WebRTC over loopback.

Run: ``.venv/bin/python -m pytest -m browser tests/test_app_browser.py``.
Screenshots land in ``artifacts/screenshots/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.live.state import DROPPED, INTERRUPTED, TOO_BUSY
from exercises.definition import load_library
from sessions.store import SessionStore
from tests.browser_utils import (
    AppServer,
    fake_camera_file,
    launch,
    open_app,
    reps_shown,
    run_app,
    screenshot,
    wait_app_idle,
)

pytestmark = [pytest.mark.browser]

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = Path(os.environ.get("STRETCH_COACH_SAMPLES") or ROOT / "sample_videos")
#: Clips preferred for the analyse and live tests, in order (short, clean); else the first.
PREFERRED = ("neck_side_tilt_left_good", "neck_rotation_right_good", "chest_opener_good")
TIMEOUT_MS = 120_000
#: Seconds of stillness added before the clip in the fake camera (the connection eats ~1 s,
#: the live coach counts down 3 s before judging).
LEAD_IN_S = 6.0
REPS_RE = re.compile(r"Reps(?: \((left|right|both)\))?: (\d+) of (\d+)")
HOLD_RE = re.compile(r"Hold: (\d+(?:\.\d+)?) s of")


def _samples() -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for truth in sorted(SAMPLES.glob("*.truth.json")):
        mp4 = truth.with_name(truth.name.replace(".truth.json", ".mp4"))
        if mp4.is_file():
            out.append((mp4, json.loads(truth.read_text(encoding="utf-8"))))
    return out


def _preferred_sample() -> tuple[Path, dict[str, Any]]:
    """A short, clean clip (see ``PREFERRED``), else the first sample."""
    samples = {p.stem: (p, t) for p, t in _samples()}
    assert samples, f"no sample clips with truth in {SAMPLES}"
    name = next((n for n in PREFERRED if n in samples), next(iter(samples)))
    return samples[name]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    data = tmp_path_factory.mktemp("stretch-coach-data")
    env = {"STRETCH_COACH_SAMPLES": str(SAMPLES)}
    with run_app(data, env=env) as server:
        yield server
    # the app must have shut down cleanly (no orphan server left behind)
    assert server.process.poll() is not None


def _open(page: Any, app: AppServer, path: str = "") -> None:
    open_app(page, app, path)


def _metric(page: Any, label: str) -> str:
    m = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return m.locator('[data-testid="stMetricValue"]').inner_text()


# --------------------------------------------------------------------------- tests


def test_home_shows_safety_note_and_links(page: Any, app: AppServer) -> None:
    _open(page, app)
    page.get_by_role("heading", name="Stretch Coach").first.wait_for()
    body = page.locator('[data-testid="stMain"]')
    body.get_by_text("not a diagnosis").first.wait_for()
    text = body.inner_text()
    assert "numbness, tingling or weakness in your arms" in text
    assert "lasts for days" in text
    for link in ("Live coach", "Analyse a video", "Stretch library", "My sessions"):
        body.get_by_role("link", name=re.compile(link)).first.wait_for()
    screenshot(page, "home")


def test_library_lists_every_stretch(page: Any, app: AppServer) -> None:
    _open(page, app, "Stretch_library")
    page.get_by_role("heading", name="Stretch library").wait_for()
    main = page.locator('[data-testid="stMain"]')
    lib = load_library()
    for d in lib.values():
        main.get_by_text(d.name, exact=False).first.wait_for()
    assert page.locator('[data-testid="stExpander"]').count() == len(lib)
    # open one: steps with the side filled in, camera setup and safety
    page.locator('[data-testid="stExpander"] summary').filter(has_text="Neck side tilt").click()
    main.get_by_text("your left ear moves toward your left shoulder").wait_for()
    assert "{side}" not in main.inner_text()
    main.get_by_text(lib["neck_side_tilt"].camera.setup).wait_for()
    screenshot(page, "library")


def test_library_shows_a_looping_demo_of_a_stretch_without_a_sample(page: Any,
                                                                    app: AppServer) -> None:
    """Chin tuck had no video here before issue 10: its demonstration comes from its
    definition (``demos/chin_tuck.mp4``, ``python -m avatar demo``), captioned as such."""
    box = page.locator('[data-testid="stExpander"]').filter(has_text="Chin tuck")
    video = box.locator("video")
    # Streamlit autoplays a video only the first time it is mounted in a page (a later
    # mount, e.g. an expander closed by a rerun and opened again, starts paused). A click
    # landing while the page still reruns can be lost or undone: then load the page again
    # and open it once more, until one click opens it and mounts the video (a state).
    # A mount that is not the page's first (a late rerun reopened it, seen on a loaded CI
    # machine) starts paused without autoplay: that attempt is also made again.
    for _attempt in range(4):
        _open(page, app, "Stretch_library")
        page.get_by_role("heading", name="Stretch library").wait_for()
        wait_app_idle(page)
        box.locator("summary").click()
        with contextlib.suppress(Exception):  # playwright's TimeoutError: open it again
            video.wait_for(timeout=30_000)
        if (video.count() and box.locator("details[open]").count()
                and video.get_attribute("autoplay") is not None):
            break
    video.wait_for(timeout=TIMEOUT_MS)
    assert video.get_attribute("autoplay") is not None
    assert video.evaluate("v => v.muted") is True
    # the browser plays it (H.264) and it loops (Streamlit rewinds it when it ends):
    # its clock runs, then comes back to the start instead of ending
    page.wait_for_function("v => v.readyState >= 2 && v.duration > 0 && !v.paused",
                           arg=video.element_handle(), timeout=TIMEOUT_MS)
    duration = video.evaluate("v => v.duration")
    assert 2 < duration <= 10.5
    page.wait_for_function(
        """v => { const t = v.currentTime, seen = v._maxT || 0; v._maxT = Math.max(seen, t);
                  return !v.ended && seen > 1 && t < seen - 1; }""",
        # a starved machine plays it slower than real time: wait on the loop, not a clock
        arg=video.element_handle(), polling=250,
        timeout=max(TIMEOUT_MS, int(duration * 1000) * 3 + 20_000))
    box.get_by_text("Animated demonstration").wait_for()


def test_analyse_sample_matches_truth(page: Any, app: AppServer) -> None:
    clip, truth = _preferred_sample()
    _open(page, app, f"Analyse_video?sample={clip.stem}")
    page.get_by_role("tab", name="Try a sample video").click()
    assert clip.name in page.get_by_role("combobox", name="Sample").input_value()
    page.get_by_role("button", name="Analyse this sample").click()
    page.get_by_text("Your movement over time").wait_for(timeout=240_000)
    wait_app_idle(page, 240_000)
    reps = _metric(page, "Reps")
    assert int(reps.split("/")[0]) == truth["expected"]["reps"], (clip.name, reps)
    # the chart is drawn by vega-embed
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.locator("canvas, svg").first.wait_for()
    # the annotated video is playable
    video = page.locator('[data-testid="stVideo"]').first
    video.wait_for()
    video.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const v = document.querySelector('[data-testid=\"stVideo\"]');"
        " return v && v.readyState >= 1 && v.duration > 0; }", timeout=60_000)
    duration = page.evaluate("() => document.querySelector('[data-testid=\"stVideo\"]').duration")
    assert duration == pytest.approx(truth["n_frames"] / truth["fps"], abs=1.0) \
        if "n_frames" in truth else duration > 0
    assert page.get_by_role("button", name="Report (JSON)").count() == 1
    assert page.get_by_role("button", name="Annotated video (mp4)").count() == 1
    screenshot(page, "analyse_sample")


def test_upload_of_non_video_is_a_calm_error(page: Any, app: AppServer,
                                              tmp_path: Path) -> None:
    bogus = tmp_path / "holiday.mp4"
    bogus.write_text("not a video at all\n" * 100)
    _open(page, app, "Analyse_video")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(bogus))
    page.get_by_text("holiday.mp4").first.wait_for()
    page.get_by_role("button", name="Analyse", exact=True).click()
    error = page.locator('[data-testid="stAlertContentError"]').first
    error.wait_for()
    text = error.inner_text()
    assert "can't be analysed as a video" in text and "holiday.mp4" in text
    assert "Traceback" not in page.locator('[data-testid="stMain"]').inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "analyse_bad_upload")
    # the server is still serving
    with urllib.request.urlopen(f"{app.url}/_stcore/health", timeout=5) as r:
        assert r.read().strip() == b"ok"
    _open(page, app, "Stretch_library")
    page.get_by_role("heading", name="Stretch library").wait_for()


def _upload_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("stretch-coach-upload-*"))


def _upload_and_analyse(page: Any, app: AppServer, video: Path, *, keep: bool,
                        stretch: str = "neck_side_tilt") -> None:
    _open(page, app, f"Analyse_video?stretch={stretch}")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(video))
    page.get_by_text(video.name).first.wait_for()
    if keep:
        page.get_by_text("Keep the video with this session").click()
        wait_app_idle(page)
    page.get_by_role("button", name="Analyse", exact=True).click()


def test_video_without_a_person_is_explained_and_not_saved(page: Any, app: AppServer,
                                                            tmp_path: Path) -> None:
    from pose.video_writer import write_video

    empty_room = tmp_path / "empty_room.mp4"
    write_video(empty_room, (np.full((240, 320, 3), 200, np.uint8) for _ in range(45)), 15.0)
    store = SessionStore(f"sqlite:///{app.data_dir / 'sessions.db'}")
    before, uploads = store.count(), _upload_dirs()
    _upload_and_analyse(page, app, empty_room, keep=True)
    page.get_by_text("could hardly see a person").wait_for()
    wait_app_idle(page)
    assert "was not saved" in page.locator('[data-testid="stMain"]').inner_text()
    assert store.count() == before
    assert not list((app.data_dir / "videos").glob("*empty_room*"))
    assert _upload_dirs() <= uploads  # the upload did not outlive the analysis
    screenshot(page, "analyse_no_person")


def test_uploaded_video_is_kept_only_when_asked(page: Any, app: AppServer,
                                                tmp_path: Path) -> None:
    clip, _ = _preferred_sample()
    short = tmp_path / "my_stretch.mp4"
    fake_camera_file(clip, tmp_path / "short.y4m", max_s=2.5)  # person at rest
    from pose.video import open_video
    from pose.video_writer import write_video

    with open_video(tmp_path / "short.y4m") as reader:
        write_video(short, (f.image for f in reader.frames()), 30.0)
    store = SessionStore(f"sqlite:///{app.data_dir / 'sessions.db'}")
    uploads = _upload_dirs()
    _upload_and_analyse(page, app, short, keep=True)
    page.get_by_text("The video is kept with it").wait_for(timeout=120_000)
    saved = store.list(limit=1)[0]
    kept = Path(saved.report.media["kept_video"])
    assert kept.is_file() and kept.parent == app.data_dir / "videos" / "personal"
    assert "my_stretch" not in kept.name and (kept.stat().st_mode & 0o777) == 0o600
    assert kept.read_bytes() == short.read_bytes()
    assert saved.report.media["file"] == "my_stretch.mp4"
    assert _upload_dirs() <= uploads
    # and without the tick nothing is kept
    n_kept = len(list((app.data_dir / "videos" / "personal").iterdir()))
    _upload_and_analyse(page, app, short, keep=False)
    page.get_by_text(re.compile(r"Saved to My sessions \(session \d+\)\.$")).wait_for(
        timeout=120_000)
    assert len(list((app.data_dir / "videos" / "personal").iterdir())) == n_kept
    assert "kept_video" not in store.list(limit=1)[0].report.media


def test_live_coach_counts_reps_from_fake_camera(app: AppServer, playwright: Any,
                                                 tmp_path: Path) -> None:
    clip, truth = _preferred_sample()
    name = clip.stem
    expected = truth["expected"]["reps"]
    duration = (truth.get("n_frames", 0) / truth.get("fps", 30) or 40.0) + LEAD_IN_S
    camera = fake_camera_file(clip, tmp_path / "camera.mjpeg", lead_in_s=LEAD_IN_S)
    store = SessionStore(f"sqlite:///{app.data_dir / 'sessions.db'}")
    before = store.count()

    b = launch(playwright, camera)
    try:
        context = b.new_context(viewport={"width": 1280, "height": 1000})
        context.set_default_timeout(TIMEOUT_MS)
        # record what the page asks the browser to say (headless Chromium has no voices)
        context.add_init_script(
            "window.__spoken = []; if (window.speechSynthesis) { const s = window.speechSynthesis;"
            " s.speak = (u) => { window.__spoken.push(u.text); }; }")
        page = context.new_page()
        _open(page, app, f"Live_coach?stretch={truth['exercise']}")
        # spoken cues are on by default
        if truth.get("side") in ("left", "right"):
            page.locator('[data-testid="stRadio"]').get_by_text(
                truth["side"].capitalize(), exact=True).click()
            wait_app_idle(page)
        page.locator(".st-key-live-panel").get_by_text("Press Start camera").wait_for()
        frame = page.frame_locator('iframe[title*="webrtc"]')
        frame.get_by_role("button", name="Start camera").click()
        panel = page.locator(".st-key-live-panel")
        panel.get_by_text(REPS_RE).first.wait_for(timeout=60_000)
        started = time.monotonic()
        max_reps, max_hold, cues_seen, shot = 0, 0.0, False, False
        texts: list[str] = []
        # stream until the clip's reps are counted, or one clip length (+ slack) has passed
        while time.monotonic() - started < duration + 8:
            text = panel.inner_text()
            texts.append(text)
            max_reps = max(max_reps, reps_shown(text))
            hold = HOLD_RE.search(text)
            max_hold = max(max_hold, float(hold.group(1)) if hold else 0.0)
            cues_seen |= panel.locator('[data-testid="stAlertContentInfo"]').count() > 0
            if max_reps >= expected and max_hold > 0:
                break
            if max_hold > 1.0 and not shot:
                shot = True
                screenshot(page, "live_streaming")
            time.sleep(0.5)
        screenshot(page, "live_streaming_end")
        frame.get_by_role("button", name="Stop").click()
        # the summary waits for the judge thread to finish the frames it holds: on a starved
        # machine (1 frame/s coached, seen once) that took over 60 s
        summary = page.get_by_text("Session summary")
        end_here = page.get_by_role("button", name="End the session here")
        nothing = page.get_by_text("Nothing was counted")
        summary.or_(end_here).or_(nothing).first.wait_for(timeout=180_000)
        if not summary.count() and end_here.count():
            # starved, the stream read as a dropped connection (seen on a loaded CI machine):
            # as a person would, record what was done (a technical end, kept, not blamed)
            end_here.click()
            summary.or_(nothing).first.wait_for(timeout=180_000)
        wait_app_idle(page)
        summary_reps = int(_metric(page, "Reps").split("/")[0]) if summary.count() else 0
        main = page.locator('[data-testid="stMain"]').inner_text()
        spoken = page.evaluate("() => window.__spoken")
        screenshot(page, "live_summary")
        context.close()
    finally:
        b.close()

    # the session was saved in the store (by the page, or by the worker when the track ended)
    deadline = time.monotonic() + 10
    while store.count() == before and time.monotonic() < deadline:
        time.sleep(0.3)
    everything = "\n".join([*texts, main])
    for words in ("Check the camera setup", "never saw you"):   # never blames the person
        assert words not in everything, words
    busy_said = "too busy" in everything.lower() or "computer is busy" in everything.lower()
    if store.count() == before:
        # nothing counted on a computer too busy to coach (CI: the video reached the coach
        # at 1 frame/s): nothing saved, never a 0/100, and the page said why plainly
        assert max_reps == 0 and busy_said, everything[-500:]
        return
    saved = store.list(limit=1)
    assert store.count() == before + 1 and saved
    s = saved[0]
    assert s.source == "live" and s.exercise == truth["exercise"]
    # Counted right, or (issue 8) said plainly that the computer was too busy: on a starved
    # machine (seen on CI: the camera's video reaching the coach at 1 frame/s) the set is
    # recorded as the computer's problem, never as the person's result.
    problem = s.problem or ""
    starved = problem.startswith(TOO_BUSY.split("{", 1)[0]) or problem == DROPPED
    if starved:
        assert not s.complete and (busy_said or "connection dropped" in everything), \
            everything[-500:]
    else:
        assert abs(max_reps - expected) <= 1, (name, max_reps, expected)
        assert abs(summary_reps - expected) <= 1, (name, summary_reps, expected)
        assert max_hold > 0 or cues_seen, "neither a hold timer nor a cue was shown"
        assert spoken and all(isinstance(t, str) and t for t in spoken), spoken
        assert abs(s.reps - expected) <= 1
    assert len(spoken) <= duration / 3.0 + 1  # the cooldown keeps speech sparse
    assert s.complete == (s.reps >= expected)
    if not s.complete:
        # stopped by the person, or (seen on a starved CI machine: 1 judged frame/s) ended
        # as a technical problem that names the computer or the connection, never the
        # person's setup
        assert s.problem in (INTERRUPTED, DROPPED) or s.problem.startswith(
            TOO_BUSY.split("{", 1)[0]), s.problem


def test_my_sessions_lists_and_opens_a_session(page: Any, app: AppServer) -> None:
    from tests.test_store import _neck_tilt_report

    store = SessionStore(f"sqlite:///{app.data_dir / 'sessions.db'}")
    report = _neck_tilt_report(2, stop_mid_rep=True, complete=False,
                               problem="camera stopped before the set was finished")
    sid = store.save(report)
    _open(page, app, "My_sessions")
    page.get_by_role("heading", name="My sessions").wait_for()
    main = page.locator('[data-testid="stMain"]')
    main.locator('[data-testid="stDataFrame"]').first.wait_for()
    # the newest session is opened by default: ours
    main.get_by_text("marked incomplete").first.wait_for()
    assert int(_metric(page, "Reps").split("/")[0]) == report.reps_done
    main.locator('[data-testid="stVegaLiteChart"]').first.locator("canvas, svg").first.wait_for()
    assert store.get(sid) is not None
    screenshot(page, "my_sessions")
