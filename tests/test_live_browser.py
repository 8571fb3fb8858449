"""The live coach in a real browser on a busy computer, and what it looks like from 2 m.

Headless Chromium (Debian's) with a fake camera playing a sample clip talks WebRTC
to the real app over loopback (see ``/work/shared/notes/browser-live-test.md``).
The loaded test starts two busy processes on the machine's cores itself (each ends
by itself after a bounded time, and is killed when the test ends) and checks that
the coach either counts the clip's reps or says plainly that the computer is too
busy; never blames the person's setup; never saves a technical failure as the
person's result; and that the state colour on the video agrees with the panel.
Every wait is on a state of the page (with a generous bound), never a fixed sleep.

Run: ``.venv/bin/python -m pytest -m browser tests/test_live_browser.py``.
Screenshots land in ``artifacts/screenshots/``.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.live import is_technical
from pose.hud import STATE_COLORS
from sessions.store import SessionStore
from tests.browser_utils import (
    SCREENSHOTS,
    AppServer,
    fake_camera_file,
    launch,
    open_app,
    reps_shown,
    run_app,
    screenshot,
    sign_in,
    wait_app_idle,
)

pytestmark = [pytest.mark.browser]

ROOT = Path(__file__).resolve().parent.parent
CLIP = ROOT / "sample_videos" / "neck_side_tilt_left_good.mp4"
#: Stillness before the clip: connection (~1 s), model start and the 3 s countdown.
LEAD_IN_S = 6.0
REPS_RE = re.compile(r"Reps(?: \((left|right|both)\))?: (\d+) of (\d+)")
#: Polls (about 0.5-1 s apart) the video's state may trail the panel's on a loaded machine.
LAG_SAMPLES = 20
#: Polls the video's state may lead the panel's: the video is drawn from every judged
#: frame, the panel refreshes on its own timer (0.5 s), so a state change reaches the
#: video first (seen: the video blue "rest" one poll before the panel left "ready"); with
#: both cores busy the panel's refresh itself is late by a few polls.
LEAD_SAMPLES = 3
BLAME = ("Check the camera setup", "never saw you")
#: Reads the top-middle pixel of the coached video (inside the state border).
BORDER_JS = """v => { const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  if (!c.width) return null;
  const g = c.getContext('2d'); g.drawImage(v, 0, 0);
  return Array.from(g.getImageData(Math.floor(c.width / 2), 2, 1, 1).data.slice(0, 3)); }"""
#: The coach is judging (past the countdown and the model's loading).
COACHING_JS = ("() => { const e = document.querySelector('.st-key-live-panel .live-state');"
               " return e && !['countdown', 'loading'].includes(e.dataset.state); }")
SPEECH_JS = ("window.__spoken = []; if (window.speechSynthesis) { const s = "
             "window.speechSynthesis; s.speak = (u) => { window.__spoken.push(u.text); }; }")


@contextlib.contextmanager
def cpu_load(n: int = 2, max_s: float = 300.0) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``n`` busy processes (one per core here), each ending by itself after ``max_s``."""
    code = f"import time\nend = time.monotonic() + {max_s}\nwhile time.monotonic() < end: pass"
    procs = [subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
             for _ in range(n)]
    try:
        yield procs
    finally:
        for p in procs:
            p.kill()
            p.wait(timeout=10)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    with run_app(tmp_path_factory.mktemp("stretch-coach-live-data")) as server:
        yield server
    assert server.process.poll() is not None


def _truth() -> dict[str, Any]:
    return json.loads(CLIP.with_name(CLIP.stem + ".truth.json").read_text(encoding="utf-8"))


def _nearest_state(rgb: list[int] | None) -> str | None:
    if not rgb:
        return None
    best = min(STATE_COLORS.items(),
               key=lambda kv: sum((a - b) ** 2 for a, b in zip(kv[1], rgb, strict=True)))
    dist = sum((a - b) ** 2 for a, b in zip(best[1], rgb, strict=True)) ** 0.5
    return _colour_key(best[0]) if dist < 90 else None


_SAME = {"ready": "ready", "loading": "ready", "countdown": "ready", "paused": "ready",
         "done": "position"}  # same colours


def _colour_key(state: str | None) -> str | None:
    return None if state is None else _SAME.get(state, state)


@contextlib.contextmanager
def _diagnose(page: Any, app: AppServer, name: str) -> Iterator[None]:
    """On failure: a screenshot and the server log's tail in the test's output."""
    try:
        yield
    except Exception:
        with contextlib.suppress(Exception):
            screenshot(page, name)
        sys.stderr.write(f"--- server log ---\n{app.log_tail(80)}\n")
        raise


def _open_live(page: Any, app: AppServer) -> Any:
    open_app(page, app, "Live_coach?stretch=neck_side_tilt")
    page.locator('[data-testid="stRadio"]').get_by_text("Left", exact=True).click()
    wait_app_idle(page)
    panel = page.locator(".st-key-live-panel")
    panel.get_by_text("Press Start camera").wait_for()
    return panel


def _panel_state(page: Any) -> str | None:
    el = page.locator(".st-key-live-panel .live-state")
    return el.first.get_attribute("data-state") if el.count() else None


def test_live_coach_on_a_loaded_computer(app: AppServer, playwright: Any,
                                         tmp_path: Path) -> None:
    truth = _truth()
    expected = truth["expected"]["reps"]
    clip_s = truth["n_frames"] / truth["fps"] + LEAD_IN_S
    camera = fake_camera_file(CLIP, tmp_path / "camera.mjpeg", lead_in_s=LEAD_IN_S)
    store = SessionStore(f"sqlite:///{app.data_dir / 'sessions.db'}")
    before = store.count()
    b = launch(playwright, camera)
    texts: list[str] = []
    pairs: list[tuple[str | None, str | None, str | None]] = []
    try:
        context = b.new_context(viewport={"width": 1280, "height": 720})
        context.set_default_timeout(120_000)
        context.add_init_script(SPEECH_JS)
        page = context.new_page()
        panel = _open_live(page, app)
        frame = page.frame_locator('iframe[title*="webrtc"]')
        with _diagnose(page, app, "live_loaded_failure"), cpu_load(2, max_s=3 * clip_s + 120):
            frame.get_by_role("button", name="Start camera").click()
            video = frame.locator("video").first
            panel.locator(".live-state").first.wait_for(timeout=120_000)
            shot, restarts = False, 0
            # poll the page's state until the set is complete or the clip has played
            # twice (a bound, not an assertion on time)
            until = time.monotonic() + 2 * clip_s + 30
            while time.monotonic() < until:
                before_state = _panel_state(page)
                try:
                    border = video.evaluate(BORDER_JS, timeout=5_000) if video.count() else None
                except Exception:  # the video element went away between the two calls
                    border = None
                after_state = _panel_state(page)
                pairs.append((before_state, _nearest_state(border), after_state))
                text = panel.inner_text()
                texts.append(text)
                if "Set complete" in text:
                    break
                if "connection dropped" in text and restarts < 2 and not page.locator(
                        ".st-key-live-panel .live-state").count():
                    # as a person would: press Start again; what was counted is kept
                    restarts += 1
                    frame.get_by_role("button", name="Start camera").click()
                    panel.locator(".live-state").first.wait_for(timeout=120_000)
                if after_state == "position" and not shot:
                    shot = True
                    screenshot(page, "live_loaded_1280x720")
                    video.screenshot(path=str(SCREENSHOTS / "live_loaded_video_640x480.png"))
                page.wait_for_timeout(500)
            screenshot(page, "live_loaded_end")
            stop = frame.get_by_role("button", name="Stop")
            if stop.count():
                stop.click()
            wait_app_idle(page)
        page.get_by_text(re.compile(
            r"Session summary|Nothing was counted|connection dropped|Press Start camera")
        ).first.wait_for()
        main = page.locator('[data-testid="stMain"]').inner_text()
        spoken = page.evaluate("() => window.__spoken")
        context.close()
    finally:
        b.close()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / "live_loaded_log.json").write_text(json.dumps(
            {"pairs": pairs, "texts": texts}, indent=1))

    everything = "\n".join([*texts, main])
    for words in BLAME:
        assert words not in everything, words
    max_reps = max((reps_shown(t) for t in texts),
                   default=0)
    busy_said = "too busy" in everything or "Your computer is busy" in everything
    reps_seen = [reps_shown(t) for t in texts]
    assert reps_seen == sorted(reps_seen), reps_seen  # nothing counted is ever lost
    complete = any("Set complete" in t for t in texts)
    # counted correctly, or said plainly that the computer is too busy
    assert (complete and max_reps == expected) or busy_said, (max_reps, expected, texts[-3:])
    # The video's state colour never contradicts the panel: every state the video shows
    # is one the panel showed just before, at the same time or at the next poll (the
    # panel refreshes on a timer, the video with every judged frame: LEAD_SAMPLES). On a
    # heavily loaded machine the returned video lags the panel (the frames' round trip
    # through the browser and the server takes seconds), so a lag window of LAG_SAMPLES
    # polls is allowed; the same-instant agreement is written to the log for the record.
    judged = [(i, a, v, c) for i, (a, v, c) in enumerate(pairs) if v is not None and (a or c)]
    assert len(judged) >= 5, pairs
    panel_keys = [{_colour_key(a), _colour_key(c)} for a, _, c in pairs]
    for i, _a, v, _c in judged:
        recent = set().union(*panel_keys[max(0, i - LAG_SAMPLES):i + 1 + LEAD_SAMPLES])
        assert v in recent, (i, v, pairs[max(0, i - LAG_SAMPLES):i + 1 + LEAD_SAMPLES])
    same = sum(v in (_colour_key(a), _colour_key(c)) for _, a, v, c in judged) / len(judged)
    sys.stderr.write(f"video state = panel state at the same poll: {same:.0%}\n")
    # and the video is not a frozen frame: its state changes as the panel's does
    assert len({v for _, _, v, _ in judged}) >= min(3, len({_colour_key(a) for _, a, _, _ in
                                                          judged})), pairs
    # speech is on by default, one sentence at a time with a cooldown
    assert spoken, "nothing was spoken"
    assert len(spoken) <= 2 * clip_s / 3.0 + 2
    # what was saved is honest: the person's result, or marked as a technical end
    deadline = time.monotonic() + 20
    while store.count() == before and complete and time.monotonic() < deadline:
        time.sleep(0.3)
    for s in store.list(limit=store.count() - before) if store.count() > before else []:
        assert s.reps > 0 or is_technical(s.problem), (s.reps, s.problem)
        if complete:
            assert s.complete and s.reps == expected
    if complete:
        assert store.count() == before + 1


def test_a_camera_starved_to_3_frames_per_second_ends_as_the_computers_problem(
        app: AppServer, playwright: Any, tmp_path: Path) -> None:
    """The path a starved CI run took (the video reaching the coach at about 1 frame/s),
    made deterministic: a camera that delivers 3 frames a second. Stop then reads as a
    dropped connection; what was begun is kept, "End the session here" records it as a
    technical end (never the person's result) and the page shows its summary."""
    truth = _truth()
    clip_s = truth["n_frames"] / truth["fps"] + LEAD_IN_S
    camera = fake_camera_file(CLIP, tmp_path / "camera.y4m", width=320, height=240,
                              fps=3, lead_in_s=LEAD_IN_S)
    store = SessionStore(f"sqlite:///{app.data_dir / 'sessions.db'}")
    before = store.count()
    b = launch(playwright, camera)
    texts: list[str] = []
    try:
        context = b.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(120_000)
        page = context.new_page()
        panel = _open_live(page, app)
        frame = page.frame_locator('iframe[title*="webrtc"]')
        with _diagnose(page, app, "live_starved_failure"):
            frame.get_by_role("button", name="Start camera").click()
            panel.locator(".live-state").first.wait_for(timeout=120_000)
            # until the first rep is begun, or the clip has played once (a bound)
            until = time.monotonic() + clip_s + 30
            while time.monotonic() < until:
                text = panel.inner_text()
                texts.append(text)
                if reps_shown(text) >= 1:
                    break
                page.wait_for_timeout(500)
            frame.get_by_role("button", name="Stop").click()
            end_here = page.get_by_role("button", name="End the session here")
            nothing = page.get_by_text("Nothing was counted")
            end_here.or_(nothing).first.wait_for()
            counted = bool(end_here.count())
            if counted:
                texts.append(panel.inner_text())
                end_here.click()
                page.get_by_text("Session summary").wait_for()
                end_here.wait_for(state="detached")  # the run is recorded: no longer offered
            wait_app_idle(page)
            main = page.locator('[data-testid="stMain"]').inner_text()
            screenshot(page, "live_starved_end")
        context.close()
    finally:
        b.close()

    everything = "\n".join([*texts, main])
    for words in BLAME:
        assert words not in everything, words
    # the person is told the computer (the video) is too slow, in plain words
    assert "too busy" in everything, everything[-800:]
    # a rep of the clip's first hold is begun within one play of the clip at 3 frames/s
    assert counted and max(reps_shown(t) for t in texts) >= 1, texts[-3:]
    assert "cut short by a technical problem" in main, main[-800:]
    deadline = time.monotonic() + 20
    while store.count() == before and time.monotonic() < deadline:
        time.sleep(0.3)
    assert store.count() == before + 1
    s = store.list(limit=1)[0]
    assert s.source == "live" and is_technical(s.problem), s.problem


def test_live_display_at_two_sizes_and_mute(app: AppServer, playwright: Any,
                                            tmp_path: Path) -> None:
    # the page asks the browser for 640x480 (the display scales with the picture's
    # height: the same proportions at 1280x720 are checked in tests/test_live.py)
    camera = fake_camera_file(CLIP, tmp_path / "camera.mjpeg", lead_in_s=LEAD_IN_S)
    b = launch(playwright, camera)
    try:
        context = b.new_context(viewport={"width": 1280, "height": 720})
        context.set_default_timeout(120_000)
        context.add_init_script(SPEECH_JS)
        page = context.new_page()
        panel = _open_live(page, app)
        toggle = page.locator('[data-testid="stCheckbox"]').filter(
            has_text="Speak the cues").locator("input")
        assert toggle.is_checked()  # spoken cues are on by default
        frame = page.frame_locator('iframe[title*="webrtc"]')
        frame.get_by_role("button", name="Start camera").click()
        video = frame.locator("video").first
        page.wait_for_function(COACHING_JS, timeout=180_000)
        screenshot(page, "live_1280x720")
        video.screenshot(path=str(SCREENSHOTS / "live_video_1280x720.png"))
        page.set_viewport_size({"width": 640, "height": 480})
        page.wait_for_function(COACHING_JS, timeout=180_000)
        screenshot(page, "live_640x480")
        page.set_viewport_size({"width": 1280, "height": 720})
        # mute: nothing more is said, while the coach carries on counting
        page.get_by_text("Speak the cues").click()
        # the switch shows off in the browser; that the app ran with it off is checked below
        # (nothing more is said over two refreshes of the panel)
        page.wait_for_function(
            "() => { const i = [...document.querySelectorAll('[data-testid=\"stCheckbox\"]')]"
            ".find(c => c.innerText.includes('Speak the cues')); "
            "return i && !i.querySelector('input').checked; }", timeout=30_000)
        wait_app_idle(page)
        assert not toggle.is_checked()
        said = len(page.evaluate("() => window.__spoken"))
        # two more refreshes of the panel (each would speak if it were not muted)
        for _ in range(2):
            seen = panel.inner_text()
            page.wait_for_function(
                "t => { const p = document.querySelector('.st-key-live-panel');"
                " return p && p.innerText !== t; }", arg=seen, timeout=120_000)
        assert len(page.evaluate("() => window.__spoken")) == said
        frame.get_by_role("button", name="Stop").click()
        wait_app_idle(page)
        context.close()
    finally:
        b.close()


# --------------------------------------------------------------------------- the end of a set

PASSWORD = "a calm and long password"


@pytest.fixture(scope="module")
def clinic_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The app in clinic mode: a patient whose program is the clip's stretch, then chin tucks."""
    from sessions.auth import Accounts
    from sessions.db import dispose_engine, get_engine, upgrade
    from sessions.service import Clinic, ProgramItemIn

    data = tmp_path_factory.mktemp("stretch-coach-live-clinic")
    url = f"sqlite:///{data / 'clinic.db'}"
    engine = get_engine(url)
    upgrade(engine)
    acc = Accounts(engine)
    acc.create_admin("admin", PASSWORD)
    admin = acc.login("admin", PASSWORD)
    acc.create_user(admin, "ther", PASSWORD, "therapist", "Therapist Tia")
    ther = acc.login("ther", PASSWORD)
    acc.create_user(admin, "pat", PASSWORD, "patient", "Pat Next", therapist_id=ther.user_id)
    pat = acc.login("pat", PASSWORD)
    Clinic(ther, engine).set_program(pat.user_id, [
        ProgramItemIn("neck_side_tilt", sides=("left",), reps=3, hold_s=5, times_per_week=7),
        ProgramItemIn("chin_tuck", reps=5, hold_s=5, times_per_week=7)])
    with run_app(data, env={"STRETCH_COACH_DB_URL": url}) as server:
        yield server
    assert server.process.poll() is not None
    dispose_engine(url)


def test_set_complete_then_the_next_prescribed_stretch(clinic_app: AppServer, playwright: Any,
                                                      tmp_path: Path) -> None:
    """A patient's set ends by itself (said, shown, summary), and one button moves the live
    page on to the next stretch of the program, the camera still on. Waits on states."""
    from sessions.service import SCREENING_QUESTIONS

    app = clinic_app
    truth = _truth()
    clip_s = truth["n_frames"] / truth["fps"] + LEAD_IN_S
    camera = fake_camera_file(CLIP, tmp_path / "camera.mjpeg", lead_in_s=LEAD_IN_S)
    b = launch(playwright, camera)
    try:
        context = b.new_context(viewport={"width": 1280, "height": 1000})
        context.set_default_timeout(120_000)
        context.add_init_script(SPEECH_JS)
        page = context.new_page()
        open_app(page, app, "Live_coach")
        sign_in(page, "pat", PASSWORD)
        main = page.locator('[data-testid="stMain"]')
        main.get_by_text("Before you start: a quick safety check").wait_for()
        for q in SCREENING_QUESTIONS.values():
            page.locator('[data-testid="stRadio"]').filter(has_text=q).get_by_text(
                "No", exact=True).click()
        page.get_by_role("button", name="Continue").click()
        picker = page.get_by_role("combobox", name="Stretch from your program")
        picker.wait_for()
        wait_app_idle(page)
        assert "Neck side tilt" in picker.input_value()
        panel = page.locator(".st-key-live-panel")
        frame = page.frame_locator('iframe[title*="webrtc"]')
        with _diagnose(page, app, "live_next_failure"):
            frame.get_by_role("button", name="Start camera").click()
            # the set ends by itself: "Set complete" in the panel; a bound of the clip
            # played three times (not an assertion on time): a computer too busy to
            # coach the whole set is stopped as a person would, and the rest still holds
            deadline = time.monotonic() + 3 * clip_s + 60
            complete = False
            while time.monotonic() < deadline and not complete:
                complete = "Set complete" in panel.inner_text()
                if not complete:
                    page.wait_for_timeout(500)
            sys.stderr.write(f"set complete: {complete}\n")
            form = page.locator(".st-key-after-session-box")
            if complete:
                assert reps_shown(panel.inner_text()) == truth["expected"]["reps"]
                # the summary and the questions after it, while the camera still runs
                form.get_by_text("How did it go?").wait_for()
                assert form.get_by_text("You stopped before the end of the set").count() == 0
                page.wait_for_function(  # said aloud too (one sentence at a time)
                    "() => (window.__spoken || []).some(s => s.startsWith('Set complete'))")
            else:
                text = panel.inner_text()
                assert "too busy" in text or "computer is busy" in text, text
                frame.get_by_role("button", name="Stop").click()
                page.get_by_text(re.compile(r"How did it go\?|Nothing was counted yet")
                                 ).first.wait_for()
                if page.get_by_text("Nothing was counted yet").count():
                    # too busy to count a rep: nothing saved, nothing to go on from
                    sys.stderr.write("nothing counted: the next stretch was not reached\n")
                    context.close()
                    return
                form.get_by_text("The camera or the app didn't work", exact=True).click()
            form.get_by_role("button", name="Save to my record").click()
            page.get_by_text(re.compile(r"Saved to your record \(session \d+\)")).wait_for()
            box = page.locator(".st-key-live-next")
            box.get_by_text("Next in today's program: Chin tuck").wait_for()
            screenshot(page, "live_next_offered")
            box.get_by_role("button", name="Next stretch: Chin tuck").click()
            # the page and the coach switch to the next stretch
            deadline = time.monotonic() + 120  # a bound: waits on the picker's state
            while "Chin tuck" not in picker.input_value() and time.monotonic() < deadline:
                page.wait_for_timeout(250)
            assert "Chin tuck" in picker.input_value()
            page.locator(".st-key-live-next").wait_for(state="detached")  # summary gone
            if complete:  # the camera stayed on: the stream goes on with the new stretch
                panel.get_by_text(re.compile(r"Reps: 0 of 5")).wait_for()
                panel.locator(".live-state").first.wait_for()
                assert "Set complete" not in panel.inner_text()
                screenshot(page, "live_next_started")
                frame.get_by_role("button", name="Stop").click()
            else:
                panel.get_by_text("Press Start camera").wait_for()
            wait_app_idle(page)
        context.close()
    finally:
        b.close()
