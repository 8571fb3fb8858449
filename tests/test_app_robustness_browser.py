"""Bad input a real browser can produce: the app answers calmly and keeps serving.

Headless Chromium (Debian's) driven by Playwright against ``streamlit run
app/Home.py`` on loopback, as in ``tests/test_app_browser.py``. The live cases
feed Chromium's fake camera with the stress clips in ``sample_videos/stress``:
two people, a side view of a front-view stretch, a camera framed too tight.
Also: camera permission denied, wrong file types, an upload over the size
limit, and reloading the page in the middle of a live session.

The renamed non-video ``.mp4`` case is in ``tests/test_app_browser.py``.

Run: ``.venv/bin/python -m pytest tests/test_app_robustness_browser.py``.
Screenshots land in ``artifacts/screenshots/robust_*.png``.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.live import INTERRUPTED, is_technical
from sessions.store import SessionStore
from tests.browser_utils import (
    CHROMIUM,
    CHROMIUM_ARGS,
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
STRESS = ROOT / "sample_videos" / "stress"
TIMEOUT_MS = 120_000
LEAD_IN_S = 2.0
REPS_RE = re.compile(r"Reps(?: \((left|right|both)\))?: (\d+) of (\d+)")
#: Phases of a repetition under way (something to record if the session ends now).
REP_UNDER_WAY_RE = re.compile(r"Moving into the stretch|In position: hold|"
                              r"Coming back to the start")
CAMERA_HINT = "If the camera doesn't start, allow camera access for this site"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    data = tmp_path_factory.mktemp("stretch-coach-robust")
    with run_app(data, env={"STRETCH_COACH_SAMPLES": str(SAMPLES)}) as server:
        yield server
    assert server.process.poll() is not None


# --------------------------------------------------------------------------- helpers


def _open(page: Any, app: AppServer, path: str = "") -> None:
    open_app(page, app, path)


def _main_text(page: Any) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def _assert_no_traceback(page: Any) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in _main_text(page)


def _assert_still_serving(page: Any, app: AppServer) -> None:
    """The health endpoint answers and the home page loads."""
    with urllib.request.urlopen(f"{app.url}/_stcore/health", timeout=5) as r:
        assert r.read().strip() == b"ok"
    _open(page, app)
    page.get_by_role("heading", name="Stretch Coach").first.wait_for()
    _assert_no_traceback(page)


def _chip_error(page: Any, message: re.Pattern[str]) -> str:
    """The uploader refused the file: its chip is marked invalid, and hovering it shows
    ``message`` (Streamlit shows the reason in a tooltip). Returns the tooltip text."""
    chip = page.locator('[data-testid="stFileChip"]').first
    chip.wait_for()
    assert chip.get_attribute("aria-invalid") == "true"
    chip.locator('[role="alert"]').filter(has_text=message).wait_for(state="attached")
    wait_app_idle(page)
    chip.hover()
    tip = page.locator('[data-testid="stTooltipErrorContent"]').filter(has_text=message).first
    tip.wait_for()
    return str(tip.inner_text())


def _reps(text: str) -> int:
    return reps_shown(text)


def _new_context(b: Any) -> Any:
    context = b.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _start_live(page: Any, app: AppServer, stretch: str, side: str | None = None) -> Any:
    """Open the live page for ``stretch``, press Start camera; returns the panel."""
    _open(page, app, f"Live_coach?stretch={stretch}")
    if side:
        page.locator('[data-testid="stRadio"]').get_by_text(side, exact=True).click()
        wait_app_idle(page)
    panel = page.locator(".st-key-live-panel")
    panel.get_by_text("Press Start camera").wait_for()
    page.frame_locator('iframe[title*="webrtc"]').get_by_role(
        "button", name="Start camera").click()
    return panel


def _stop_live(page: Any) -> None:
    page.frame_locator('iframe[title*="webrtc"]').get_by_role("button", name="Stop").click()
    wait_app_idle(page)


def _live_setup_message(app: AppServer, playwright: Any, tmp_path: Path, clip: str,
                        stretch: str, message: str | re.Pattern[str], shot: str) -> str:
    """Stream a stress clip on the live page until ``message`` shows; check nothing is counted.

    Returns the panel text when the message was seen.
    """
    truth = json.loads((STRESS / f"{clip}.truth.json").read_text(encoding="utf-8"))
    clip_s = truth["n_frames"] / truth["fps"]
    camera = fake_camera_file(STRESS / f"{clip}.mp4", tmp_path / f"{clip}.mjpeg")
    store = SessionStore(f"sqlite:///{app.data_dir / 'sessions.db'}")
    before = store.count()
    b = launch(playwright, camera)
    try:
        context = _new_context(b)
        page = context.new_page()
        panel = _start_live(page, app, stretch)
        warning = panel.locator('[data-testid="stAlertContentWarning"]').filter(
            has_text=message).first
        # the camera's stream must start first; on a loaded CI machine the warning had not
        # shown after 60 s (2026-12-02), on a quiet one it shows within seconds. The
        # warning is the state waited on; the cap only bounds a hang
        warning.wait_for(timeout=TIMEOUT_MS)
        seen = panel.inner_text()
        screenshot(page, f"robust_{shot}")
        # keep streaming for one more loop of the clip: still nothing counted
        max_reps = _reps(seen)
        until = time.monotonic() + clip_s
        while time.monotonic() < until:
            max_reps = max(max_reps, _reps(panel.inner_text()))
            page.wait_for_timeout(300)
        _assert_no_traceback(page)
        _stop_live(page)
        panel.get_by_text("Camera stopped").wait_for(timeout=60_000)
        # the page reruns after the stop: wait for its verdict rather than racing it
        page.get_by_text(re.compile("Nothing was counted|Session summary")).first.wait_for(
            timeout=60_000)
        main = _main_text(page)
        assert "Session summary" not in main
        assert "Nothing was counted" in main
        _assert_still_serving(page, app)
        context.close()
    finally:
        b.close()
    assert max_reps == 0, (clip, max_reps)
    assert store.count() == before  # nothing counted, nothing saved
    return seen


# --------------------------------------------------------------------------- live camera


def test_live_two_people_asks_for_one_person(app: AppServer, playwright: Any,
                                             tmp_path: Path) -> None:
    text = _live_setup_message(app, playwright, tmp_path, "two_people", "neck_side_tilt",
                               "I can see more than one person", "two_people")
    assert "Make sure only you are in the camera's view" in text


def test_live_side_view_asks_to_face_the_camera(app: AppServer, playwright: Any,
                                                tmp_path: Path) -> None:
    _live_setup_message(app, playwright, tmp_path, "wrong_view_side", "neck_side_tilt",
                        "Turn to face the camera", "wrong_view")


def test_live_partial_view_asks_to_get_in_view(app: AppServer, playwright: Any,
                                               tmp_path: Path) -> None:
    text = _live_setup_message(
        app, playwright, tmp_path, "partial_view", "overhead_side_bend",
        re.compile(r"in view|Step back|step back|can't see you"), "partial_view")
    assert re.search(r"(Step back|step back|Move toward the middle).*in view|can't see",
                     text), text


def test_live_camera_permission_denied(app: AppServer, playwright: Any) -> None:
    # a camera exists, but no fake "allow" UI: the permission prompt is denied
    args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--deny-permission-prompts"]
    b = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    try:
        context = _new_context(b)
        context.clear_permissions()
        page = context.new_page()
        _start_live(page, app, "neck_side_tilt")
        frame = page.frame_locator('iframe[title*="webrtc"]')
        # streamlit-webrtc says why the camera did not start
        frame.get_by_text(re.compile(r"not allowed|Permission|NotAllowedError",
                                     re.IGNORECASE)).first.wait_for(timeout=30_000)
        main = page.locator('[data-testid="stMain"]')
        main.get_by_text(CAMERA_HINT).wait_for()
        page.locator(".st-key-live-panel").get_by_text("Press Start camera").wait_for()
        _assert_no_traceback(page)
        screenshot(page, "robust_camera_denied")
        # the page keeps working and the server still serves
        _assert_still_serving(page, app)
        context.close()
    finally:
        b.close()


def test_reload_during_live_session(app: AppServer, playwright: Any, tmp_path: Path) -> None:
    clip = SAMPLES / "neck_side_tilt_left_good.mp4"
    camera = fake_camera_file(clip, tmp_path / "camera.mjpeg", lead_in_s=LEAD_IN_S)
    store = SessionStore(f"sqlite:///{app.data_dir / 'sessions.db'}")
    before = store.count()
    b = launch(playwright, camera)
    try:
        context = _new_context(b)
        page = context.new_page()
        panel = _start_live(page, app, "neck_side_tilt", side="Left")
        # a repetition under way (being seen at rest alone is not a session to save)
        panel.get_by_text(REP_UNDER_WAY_RE).first.wait_for(timeout=120_000)
        page.reload()
        wait_app_idle(page, TIMEOUT_MS)
        page.locator(".st-key-live-panel").get_by_text("Press Start camera").wait_for()
        _assert_no_traceback(page)
        screenshot(page, "robust_reload_live")
        # the interrupted session was saved when the old connection went away
        deadline = time.monotonic() + 20
        while store.count() == before and time.monotonic() < deadline:
            time.sleep(0.3)
        assert store.count() == before + 1, "the interrupted live session was not saved"
        saved = store.list(limit=1)[0]
        assert saved.source == "live" and not saved.complete
        _open(page, app, "My_sessions")
        main = page.locator('[data-testid="stMain"]')
        main.get_by_text("marked incomplete").first.wait_for()
        opened = page.get_by_role("combobox", name="Open a session").input_value()
        assert opened.endswith("interrupted"), opened
        # stopped by the person, or (on a computer too busy to coach) a technical end
        assert saved.problem == INTERRUPTED or is_technical(saved.problem), saved.problem
        assert saved.problem in main.inner_text()
        screenshot(page, "robust_reload_my_sessions")
        _assert_still_serving(page, app)
        context.close()
    finally:
        b.close()


# --------------------------------------------------------------------------- uploads


@pytest.mark.parametrize("name", ["notes.txt", "photo.png"])
def test_upload_of_wrong_type_is_refused(page: Any, app: AppServer, tmp_path: Path,
                                         name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(2000) if name.endswith(".png")
                     else b"my stretching notes\n" * 50)
    _open(page, app, "Analyse_video")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    _chip_error(page, re.compile(r"not allowed|not supported", re.IGNORECASE))
    # refused: there is nothing to analyse
    assert page.get_by_role("button", name="Analyse", exact=True).is_disabled()
    _assert_no_traceback(page)
    screenshot(page, f"robust_upload_{path.suffix[1:]}")
    _assert_still_serving(page, app)


def test_oversized_upload_is_refused(page: Any, tmp_path: Path) -> None:
    big = tmp_path / "long_session.mp4"
    big.write_bytes(os.urandom(2 * 1024 * 1024))
    with run_app(tmp_path / "data", env={"STREAMLIT_SERVER_MAX_UPLOAD_SIZE": "1"}) as small:
        _open(page, small, "Analyse_video")
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(big))
        text = _chip_error(page, re.compile(r"must be 1(\.0)?MB or smaller", re.IGNORECASE))
        assert "long_session.mp4" not in text
        assert page.get_by_role("button", name="Analyse", exact=True).is_disabled()
        _assert_no_traceback(page)
        screenshot(page, "robust_upload_too_big")
        _assert_still_serving(page, small)
        assert small.alive()
