"""An upload in the web page runs as a job: progress, a usable page meanwhile, cancel, reload.

The app runs its embedded job runner (no broker, SQLite in a temporary data dir).
Waits are on what the page shows or on job states in the database, never fixed sleeps.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sessions.jobs import JobStore
from sessions.store import SessionStore
from tests.browser_utils import AppServer, open_app, run_app, screenshot, wait_app_idle
from tests.job_support import SAMPLES, cut_clip, wait_until

pytestmark = [pytest.mark.browser]

TIMEOUT_MS = 240_000
PROGRESS = re.compile(r"Analysing (\S+): frame (\d+) of (\d+)")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    data = tmp_path_factory.mktemp("jobs-app-data")
    with run_app(data, env={"STRETCH_COACH_SAMPLES": str(SAMPLES)}) as server:
        yield server
    assert server.process.poll() is not None


def _db(app: AppServer) -> str:
    return f"sqlite:///{app.data_dir / 'sessions.db'}"


def _upload(page: Any, app: AppServer, video: Path) -> int:
    """Upload ``video`` for a neck side tilt, press Analyse; returns the job id from the URL."""
    open_app(page, app, "Analyse_video?stretch=neck_side_tilt")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(video))
    page.get_by_text(video.name).first.wait_for()
    page.get_by_role("button", name="Analyse", exact=True).click()
    page.wait_for_url(re.compile(r"[?&]job=\d+"), timeout=TIMEOUT_MS)
    return int(re.search(r"[?&]job=(\d+)", page.url).group(1))  # type: ignore[union-attr]


def _shown_frame(page: Any, name: str) -> int:
    """The frame number the progress bar shows now for ``name`` (0 while none is shown)."""
    bar = page.get_by_text(PROGRESS).first
    if not bar.count():
        return 0
    m = PROGRESS.search(bar.inner_text())
    return int(m.group(2)) if m and m.group(1) == name else 0


def test_upload_shows_progress_stays_usable_survives_reload_and_cancels(
        page: Any, app: AppServer, tmp_path: Path) -> None:
    video = tmp_path / "tilt32.mp4"       # a whole sample, 32 s: long enough to catch running
    shutil.copyfile(SAMPLES / "neck_side_tilt_left_good.mp4", video)
    store, sessions = JobStore(_db(app)), SessionStore(_db(app))
    before = sessions.count()
    job_id = _upload(page, app, video)
    first = wait_until("progress in the page", lambda: _shown_frame(page, video.name),
                       TIMEOUT_MS / 1000)
    # the page stays usable while the analysis runs: other widgets answer at once
    page.get_by_role("tab", name="Try a sample video").click()
    page.get_by_role("combobox", name="Sample").wait_for()
    page.get_by_role("tab", name="Your video").click()
    # and the progress moves on by itself
    wait_until("the progress to advance", lambda: _shown_frame(page, video.name) > first,
               TIMEOUT_MS / 1000)
    screenshot(page, "analyse_job_progress")
    # a reload picks the running job up (the job id is in the URL)
    page.reload()
    wait_app_idle(page, TIMEOUT_MS)
    wait_until("progress after the reload", lambda: _shown_frame(page, video.name),
               TIMEOUT_MS / 1000)
    assert store.get(job_id).state == "running"
    page.get_by_role("button", name="Cancel").click()
    page.get_by_text("was cancelled").wait_for(timeout=TIMEOUT_MS)
    job = store.get(job_id)
    assert job.state == "cancelled" and job.frames_done < (job.frames_total or 0)
    assert sessions.count() == before
    assert not Path(job.video_path).exists()      # the upload did not outlive its job
    screenshot(page, "analyse_job_cancelled")


def test_result_is_picked_up_after_a_reload(page: Any, app: AppServer,
                                            tmp_path: Path) -> None:
    video = cut_clip(SAMPLES / "neck_side_tilt_left_good.mp4", tmp_path / "tilt_4s.mp4", 4.0)
    store = JobStore(_db(app))
    job_id = _upload(page, app, video)
    page.reload()                                  # whatever the job is doing meanwhile
    wait_app_idle(page, TIMEOUT_MS)
    saved = page.get_by_text(re.compile(r"Saved to My sessions \(session (\d+)\)\."))
    saved.wait_for(timeout=TIMEOUT_MS)
    job = store.get(job_id)
    assert job.state == "done" and job.session_id is not None
    assert f"session {job.session_id})" in saved.inner_text()
    assert SessionStore(_db(app)).get(job.session_id).report.media["file"] == video.name
    page.get_by_text("Your movement over time").wait_for()
    assert not Path(job.video_path).exists()
