"""Helpers for the browser tests: run the real app, drive headless Chromium, fake a camera.

Used by ``tests/test_app_browser.py`` and ``benchmarks/bench_live.py``. Facts
behind the choices: ``/work/shared/notes/browser-live-test.md`` (Debian
chromium, never ``playwright install``; fake camera from a .mjpeg/.y4m file;
START inside the webrtc iframe).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("STRETCH_COACH_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
]


def chromium_available() -> bool:
    """Whether the Debian chromium binary and the playwright package are present."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class AppServer:
    """A running ``streamlit run app/Home.py``."""

    url: str
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        """Process still running and the health endpoint answers ok."""
        return self.process.poll() is None and _healthy(self.url)

    def log_tail(self, n: int = 60) -> str:
        """The last ``n`` lines of the server log."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200 and r.read().strip() == b"ok"
    except OSError:
        return False


@contextlib.contextmanager
def run_app(data_dir: Path, *, env: dict[str, str] | None = None,
            startup_timeout_s: float = 90.0) -> Iterator[AppServer]:
    """Start the app on a free port with its own data dir; stop it and wait at the end."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "streamlit.log"
    full_env = {**os.environ, "STRETCH_COACH_DATA": str(data_dir),
                "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                "STRETCH_COACH_ICE_SERVERS": "[]", **(env or {})}
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "app" / "Home.py"),
           "--server.headless", "true", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=full_env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    server = AppServer(url, port, data_dir, proc, log_path)
    try:
        deadline = time.monotonic() + startup_timeout_s
        while not _healthy(url):
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}:\n"
                                   f"{server.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit not healthy after {startup_timeout_s:.0f} s:\n"
                                   f"{server.log_tail()}")
            time.sleep(0.3)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


#: Generous default for page waits: the app shares two cores with the pose model.
BROWSER_TIMEOUT_MS = 120_000


def open_app(page: Any, app: Any, path: str = "") -> None:
    """Go to ``path`` of the running app and wait until Streamlit is idle."""
    page.goto(f"{app.url}/{path}")
    wait_app_idle(page, BROWSER_TIMEOUT_MS)


def launch(playwright: Any, fake_video: Path | None = None, *, headless: bool = True) -> Any:
    """Launch Debian's Chromium from a Playwright instance; ``fake_video`` feeds the camera."""
    args = list(CHROMIUM_ARGS)
    if fake_video is not None:
        args += ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 f"--use-file-for-fake-video-capture={fake_video}"]
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=headless, args=args)


@contextlib.contextmanager
def browser(fake_video: Path | None = None, *, headless: bool = True) -> Iterator[Any]:
    """A Playwright Chromium browser with its own Playwright instance (one per thread)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p, fake_video, headless=headless)
        try:
            yield b
        finally:
            b.close()


def screenshot(page: Any, name: str, *, max_height: int = 6000) -> Path:
    """Save a screenshot of the whole app under ``artifacts/screenshots/NAME.png``.

    Streamlit scrolls inside its main container, so the viewport is grown to the
    content's height for the shot and restored afterwards.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.wait_for_timeout(800)  # let tables (canvas) and charts finish drawing
    size = page.viewport_size
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=\"stMain\"], "
        "[data-testid=\"stAppScrollToBottomContainer\"], section.main, body')]"
        ".map(e => e.scrollHeight))")
    if size and height and height > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": min(int(height), max_height)})
        page.wait_for_timeout(800)
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        if size:
            page.set_viewport_size(size)
    return path


def wait_app_idle(page: Any, timeout_ms: float = 60_000) -> None:
    """Wait until Streamlit has rendered and is not running the script."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"] "
        "[data-testid=\"stStatusWidgetRunningIcon\"]')", timeout=timeout_ms)


def sign_in(page: Any, username: str, password: str, timeout_ms: float = 60_000) -> None:
    """Fill the app's sign-in form (shown on the page that asked for it) and submit it.

    When this browser is already signed in (the sign-in survives a reload: a login
    cookie) and no form is shown, nothing is filled: sign out first to change user.
    """
    form = page.locator('[data-testid="stForm"]').filter(
        has=page.get_by_role("button", name="Sign in"))
    account = page.locator(".st-key-account-box")
    form.or_(account).first.wait_for(timeout=timeout_ms)
    if form.count() == 0 and account.count():
        return
    form.get_by_role("textbox", name="Username").fill(username)
    form.get_by_role("textbox", name="Password").fill(password)
    form.get_by_role("button", name="Sign in").click()
    wait_app_idle(page, timeout_ms)


def fake_camera_file(src: Path, dest: Path, *, width: int = 640, height: int = 480,
                     max_s: float | None = None, lead_in_s: float = 0.0,
                     quality: int = 4, fps: int | None = None) -> Path:
    """Re-encode a video for Chromium's fake camera, which plays it in a loop.

    ``lead_in_s`` repeats the first frame that long first: like a person standing
    still before starting, it absorbs the second or so lost while WebRTC connects.

    ``dest`` ending in ``.mjpeg`` gives a small MJPEG stream (colours slightly off);
    ``.y4m`` gives raw I420 (~14 MB per second at 640x480, 30 fps). Frames are scaled
    to ``width`` x ``height`` (letterboxed, aspect kept). ``fps``: a camera that delivers
    only that many frames per second (the clip keeps its real-time pace: frames between
    are left out); give it with ``.y4m``, whose header Chromium paces by.
    """
    import av
    import numpy as np

    mjpeg = dest.suffix.lower() == ".mjpeg"
    with av.open(str(src)) as inp:
        vin = inp.streams.video[0]
        rate = fps or round(float(vin.average_rate or 30))
        fmt, codec, pix = (("mjpeg", "mjpeg", "yuvj420p") if mjpeg
                           else ("yuv4mpegpipe", "rawvideo", "yuv420p"))
        with av.open(str(dest), "w", format=fmt) as out:
            st = out.add_stream(codec, rate=rate)
            st.width, st.height, st.pix_fmt = width, height, pix
            if mjpeg:
                st.codec_context.qmin = st.codec_context.qmax = quality
            lead = round(lead_in_s * rate)
            n, next_t = 0, 0.0
            for i, frame in enumerate(inp.decode(vin)):
                if max_s is not None and frame.time is not None and frame.time > max_s:
                    break
                if fps is not None:
                    if frame.time is not None and frame.time + 1e-6 < next_t:
                        continue  # between two of the slow camera's frames
                    next_t += 1.0 / fps
                canvas = _letterbox(frame.to_ndarray(format="rgb24"), width, height, np)
                vf = av.VideoFrame.from_ndarray(canvas, format="rgb24").reformat(format=pix)
                for _ in range(1 + (lead if i == 0 else 0)):
                    vf.pts = n
                    n += 1
                    for pkt in st.encode(vf):
                        out.mux(pkt)
            for pkt in st.encode():
                out.mux(pkt)
    return dest


def _letterbox(img: Any, width: int, height: int, np: Any) -> Any:
    import cv2

    h, w = img.shape[:2]
    if (w, h) == (width, height):
        return img
    scale = min(width / w, height / h)
    nw, nh = round(w * scale), round(h * scale)
    small = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((height, width, 3), np.uint8)
    y0, x0 = (height - nh) // 2, (width - nw) // 2
    canvas[y0:y0 + nh, x0:x0 + nw] = small
    return canvas


_REPS_SHOWN = re.compile(r"Reps(?: \((left|right|both)\))?: (\d+) of (\d+)")


def reps_shown(text: str) -> int:
    """Reps the live panel shows, summed over sides. Per side the largest count is taken
    once: during a rerun Streamlit can keep the previous copy of an element on screen
    beside the new one, and adding both would double-count."""
    per_side: dict[str, int] = {}
    for m in _REPS_SHOWN.finditer(text):
        side = m.group(1) or "all"
        per_side[side] = max(per_side.get(side, 0), int(m.group(2)))
    return sum(per_side.values())
