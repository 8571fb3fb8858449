"""The analyse page's uploads as jobs, in headless Chromium: progress, reload, cancel.

Uses the app server of ``test_app_browser.py`` (its ``app`` fixture, one server for this
module) and Chromium from ``conftest.py``. Every wait is on a state shown by the page or
recorded in the database, never on a duration, so it holds on a loaded 2-core machine.

Run: ``.venv/bin/python -m pytest -m browser tests/test_analyse_jobs_browser.py``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from sessions.jobs import JobStore
from sessions.store import SessionStore
from tests.browser_utils import AppServer, open_app, screenshot, wait_app_idle
from tests.job_support import cut_clip
from tests.test_app_browser import _preferred_sample, app  # noqa: F401 - the app fixture

pytestmark = [pytest.mark.browser]

#: a job on the whole clip may take minutes on a loaded machine
JOB_TIMEOUT_MS = 600_000
PROGRESS_RE = re.compile(r"Analysing: (\d+) % \((\d+) of (\d+) s\)")


@pytest.fixture(scope="module")
def upload(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The preferred sample re-encoded (so its bytes are not a bundled sample's and the
    result is saved like a person's own recording), and its truth."""
    clip, truth = _preferred_sample()
    seconds = truth["n_frames"] / truth["fps"] + 1.0
    dest = tmp_path_factory.mktemp("uploads") / "my_recording.mp4"
    return cut_clip(clip, dest, seconds), truth


def _stores(app: AppServer) -> tuple[SessionStore, JobStore]:  # noqa: F811
    url = f"sqlite:///{app.data_dir / 'sessions.db'}"
    return SessionStore(url), JobStore(url)


def _submit(page: Any, app: AppServer, video: Path, exercise: str) -> int:  # noqa: F811
    """Upload ``video`` on the analyse page, press Analyse; the job id from the address."""
    open_app(page, app, f"Analyse_video?stretch={exercise}")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(video))
    page.get_by_text(video.name).first.wait_for()
    wait_app_idle(page)
    page.get_by_role("button", name="Analyse", exact=True).click()
    page.wait_for_url(re.compile(r"[?&]job=\d+"))
    return int(re.search(r"[?&]job=(\d+)", page.url).group(1))


def _progress(page: Any, above: int, *, or_done: bool = False) -> int:
    """Wait until the panel shows more than ``above`` per cent; returns what it shows
    (``or_done``: or 100 once the finished job's report is shown)."""
    handle = page.wait_for_function(
        """([above, orDone]) => {
             const p = document.querySelector('.st-key-job-panel');
             const m = p && p.innerText.match(/Analysing: (\\d+) %/);
             if (m && +m[1] > above) return +m[1];
             const main = document.querySelector('[data-testid="stMain"]');
             return orDone && !p && main && main.innerText.includes(
               'Your movement over time') ? 100 : null; }""",
        arg=[above, or_done], polling=200, timeout=JOB_TIMEOUT_MS)
    return int(handle.json_value())


def test_upload_job_shows_progress_survives_a_reload_and_saves_once(
        page: Any, app: AppServer, upload: tuple[Path, dict[str, Any]]) -> None:  # noqa: F811
    video, truth = upload
    sessions, jobs = _stores(app)
    before = sessions.count()
    job_id = _submit(page, app, video, truth["exercise"])
    panel = page.locator(".st-key-job-panel")
    first = _progress(page, 0)
    text = panel.inner_text()
    m = PROGRESS_RE.search(text)
    assert m, text
    assert abs(int(m.group(3)) - truth["n_frames"] / truth["fps"]) <= 1.5, text
    screenshot(page, "analyse_job_progress")
    # one analysis at a time: Analyse waits for this one
    assert page.get_by_role("button", name="Analyse", exact=True).is_disabled()
    page.get_by_text("An analysis is running (below)").first.wait_for()
    # the page stays usable meanwhile: a widget outside the panel reruns the page, and
    # its effect shows while the job goes on
    page.get_by_text("Save the result to My sessions").click()
    page.wait_for_function("() => [...document.querySelectorAll('input[type=checkbox]')]"
                           ".some(c => c.closest('label')?.innerText.includes('Keep the "
                           "video') && c.disabled)")
    page.get_by_text("Save the result to My sessions").click()
    page.wait_for_function("() => [...document.querySelectorAll('input[type=checkbox]')]"
                           ".some(c => c.closest('label')?.innerText.includes('Keep the "
                           "video') && !c.disabled)")
    second = _progress(page, first)
    assert jobs.get(job_id).state == "running"
    # a reload (a new browser session) finds the job by the id in the address, and
    # follows it on: the progress goes on from where it was (or the job is done)
    page.reload()
    wait_app_idle(page)
    assert f"job={job_id}" in page.url
    assert _progress(page, second, or_done=True) > second
    page.get_by_text("Your movement over time").wait_for(timeout=JOB_TIMEOUT_MS)
    wait_app_idle(page)
    reps = page.locator('[data-testid="stMetric"]').filter(has_text="Reps").first \
        .locator('[data-testid="stMetricValue"]').inner_text()
    assert int(reps.split("/")[0]) == truth["expected"]["reps"], reps
    job = jobs.get(job_id)
    assert job.state == "done" and job.session_id is not None
    page.get_by_text(f"Saved to My sessions (session {job.session_id}).").wait_for()
    assert sessions.count() == before + 1
    assert not Path(job.video_path).exists()       # the upload did not outlive its job
    screenshot(page, "analyse_job_done_after_reload")
    # and once more: a finished job is shown again, not re-run and not saved twice
    page.reload()
    wait_app_idle(page)
    page.get_by_text("Your movement over time").wait_for(timeout=JOB_TIMEOUT_MS)
    assert sessions.count() == before + 1 and jobs.get(job_id).attempts == 1


def test_cancel_stops_the_job_and_saves_nothing(page: Any, app: AppServer,  # noqa: F811
                                                upload: tuple[Path, dict[str, Any]]) -> None:
    video, truth = upload
    sessions, jobs = _stores(app)
    before = sessions.count()
    job_id = _submit(page, app, video, truth["exercise"])
    _progress(page, 0)
    page.locator(".st-key-job-panel").get_by_role("button", name="Cancel").click()
    page.get_by_text("was cancelled. Nothing was saved.").wait_for(timeout=JOB_TIMEOUT_MS)
    job = jobs.get(job_id)
    assert job.state == "cancelled" and job.session_id is None and job.result is None
    assert job.frames_total and job.frames_done < job.frames_total
    assert sessions.count() == before
    assert not Path(job.video_path).exists()
    assert not Path(job.params["folder"]).exists()   # nor its partial annotated video
    assert not (app.data_dir / "videos").exists() or not any(
        (app.data_dir / "videos").rglob("*.mp4"))
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "analyse_job_cancelled")
    # the page works on: Analyse is offered again
    assert page.get_by_role("button", name="Analyse", exact=True).is_enabled()


def test_an_unknown_job_id_in_the_address_is_refused(page: Any, app: AppServer  # noqa: F811
                                                     ) -> None:
    """The id in the address is only a pointer: ``JobStore.get_for`` decides (another
    account's job is refused the same way: ``test_jobs_page.py``)."""
    open_app(page, app, "Analyse_video?job=999999")
    page.get_by_text("That analysis isn't available here").wait_for()
    page.wait_for_url(lambda url: "job=" not in url)


def test_a_job_left_running_by_a_stopped_app_finishes_after_a_restart(
        page: Any, tmp_path: Path, upload: tuple[Path, dict[str, Any]]) -> None:
    """The app stops mid-job (SIGKILL: no chance to tidy up); the next app on the same
    data folder runs the job again when its page is reloaded, and saves it once."""
    import signal

    from tests.browser_utils import run_app
    from tests.test_app_browser import SAMPLES

    video, truth = upload
    data = tmp_path / "data"
    env = {"STRETCH_COACH_SAMPLES": str(SAMPLES)}
    with run_app(data, env=env) as first:
        sessions, jobs = _stores(first)
        job_id = _submit(page, first, video, truth["exercise"])
        _progress(page, 0)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=30)
    assert jobs.get(job_id).state == "running"      # left behind by the dead app
    with run_app(data, env=env) as second:
        open_app(page, second, f"Analyse_video?job={job_id}")
        page.get_by_text("Your movement over time").wait_for(timeout=JOB_TIMEOUT_MS)
        wait_app_idle(page)
        job = jobs.get(job_id)
        assert job.state == "done" and job.attempts == 2 and job.session_id is not None
        assert sessions.count() == 1
        page.get_by_text(f"Saved to My sessions (session {job.session_id}).").wait_for()
