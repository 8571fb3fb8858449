"""What the analyse page needs from jobs: who may see a job by its id, the page's save
and keep choices carried by a job, the progress words.

The page itself is driven in Chromium in ``test_analyse_jobs_browser.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import Engine

from sessions.jobs import JobStore
from tests.clinic_support import (  # noqa: F401 - fixtures
    db_url,
    engine,
    make_world,
    neck_report,
)
from tests.job_support import SAMPLES, cut_clip


def test_a_job_is_shown_only_to_the_account_that_submitted_it(engine: Engine  # noqa: F811
                                                              ) -> None:
    w = make_world(engine)
    store = JobStore(engine)
    mine = store.submit("/v/a.mp4", "neck_side_tilt", submitted_by=w.pat_a.user_id)
    personal = store.submit("/v/b.mp4", "neck_side_tilt")
    assert store.get_for(mine, w.pat_a.user_id).id == mine
    assert store.get_for(personal, None).id == personal
    # another patient, the therapist, personal mode, an unknown id: the same "no such job"
    for job_id, who in ((mine, w.pat_a2.user_id), (mine, w.ther_a.user_id), (mine, None),
                        (personal, w.pat_a.user_id), (10_000, None)):
        with pytest.raises(KeyError, match=f"no analysis job {job_id}"):
            store.get_for(job_id, who)
        with pytest.raises(KeyError):
            store.cancel_for(job_id, who)
    assert store.get(mine).state == "queued"      # the refused cancel changed nothing
    assert store.cancel_for(mine, w.pat_a.user_id).state == "cancelled"


def test_a_session_saved_by_the_page_is_attached_once(engine: Engine) -> None:  # noqa: F811
    w = make_world(engine)
    store = JobStore(engine)
    jid = store.submit("/v/a.mp4", "neck_side_tilt", submitted_by=w.pat_a.user_id)
    attempt = store.claim(jid, "host:1")
    assert store.finish(jid, attempt, neck_report(2), save=False) is None
    with pytest.raises(KeyError):
        store.attach_session(jid, w.pat_a2.user_id, 5)
    assert store.get(jid).session_id is None
    from tests.clinic_support import screened

    sid = screened(w.clinic(w.pat_a)).save_session(neck_report(2), pain_after=1)
    store.attach_session(jid, w.pat_a.user_id, sid)
    store.attach_session(jid, w.pat_a.user_id, sid + 1)   # the first one stays
    assert store.get(jid).session_id == sid


@pytest.mark.slow
def test_page_job_keeps_the_video_for_the_app_and_marks_the_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A patient's upload: the job saves nothing itself (the page asks the pain question
    first) but keeps the video in the private folder asked for, and deletes the upload."""
    from coach.jobs import run_job
    from sessions.files import new_job_folder, video_folder

    monkeypatch.setenv("STRETCH_COACH_DB_URL", f"sqlite:///{tmp_path / 'jobs.db'}")
    folder = new_job_folder(tmp_path)
    upload = cut_clip(SAMPLES / "neck_side_tilt_left_good.mp4", folder / "upload.mp4", 2.0)
    keep = video_folder(tmp_path, 7)
    store = JobStore()
    jid = store.submit(upload, "neck_side_tilt", label="mine.mp4", side="left", params={
        "annotated_path": str(folder / "annotated.mp4"), "delete_after": True,
        "app_saves": True, "keep_in": str(keep), "media": {"sha256": "abc"}})
    run = run_job(jid, store)
    assert run.state == "done" and run.session_id is None
    media = store.get(jid).report().media
    assert media["file"] == "mine.mp4" and media["sha256"] == "abc"
    kept = sorted(keep.iterdir())
    assert {str(p) for p in kept} == {media["kept_video"], media["kept_annotated"]}
    assert all((p.stat().st_mode & 0o777) == 0o600 for p in kept)
    assert not upload.exists() and (folder / "annotated.mp4").is_file()
    assert (os.stat(folder).st_mode & 0o777) == 0o700


@pytest.mark.parametrize(("state", "done", "total", "fps", "cancel", "expected"), [
    ("queued", 0, None, 30.0, False, "Waiting for the analysis to start..."),
    ("running", 0, None, 30.0, False, "Analysing: frame 0"),
    ("running", 360, 900, 30.0, False, "Analysing: 40 % (12 of 30 s)"),
    ("running", 360, 900, None, False, "Analysing: 40 % (frame 360 of 900)"),
    ("running", 360, 900, 30.0, True, "Stopping the analysis..."),
])
def test_progress_words(state: str, done: int, total: int | None, fps: float | None,
                        cancel: bool, expected: str) -> None:
    from datetime import datetime, timezone

    from app.analyse_jobs import progress_text
    from sessions.jobs import JobInfo

    now = datetime.now(timezone.utc)
    job = JobInfo(id=1, state=state, label="a.mp4", exercise="chin_tuck", side=None,
                  video_path="/v/a.mp4", params={"fps": fps}, save="none", patient_id=None,
                  submitted_by=None, batch=None, attempts=1, worker=None, frames_done=done,
                  frames_total=total, cancel_requested=cancel, error=None, session_id=None,
                  created_at=now, started_at=now, finished_at=None, heartbeat_at=now,
                  result=None)
    assert progress_text(job) == expected


def _panel_page() -> None:
    from app.analyse_jobs import job_panel

    job_panel(1, None)


@pytest.mark.parametrize(("error", "traceback"), [
    ("database", False),     # the database not answering: one plain line, no SQL
    ("bug", True),           # a programming error keeps its traceback in the log
])
def test_an_unreadable_job_is_logged_in_one_line_without_sql(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, error: str,
        traceback: bool) -> None:
    import logging

    from sqlalchemy.exc import OperationalError
    from streamlit.testing.v1 import AppTest

    import app.analyse_jobs

    class Store:
        def get_for(self, job_id: int, user_id: int | None) -> None:
            if error == "database":
                raise OperationalError("SELECT * FROM analysis_jobs WHERE id = %(id)s",
                                       {"id": 1}, Exception("server closed the connection\n"
                                                            "unexpectedly"))
            raise TypeError("a bug")

    monkeypatch.setattr(app.analyse_jobs, "job_store", Store)
    with caplog.at_level(logging.WARNING, logger="stretch_coach.app.analyse"):
        at = AppTest.from_function(_panel_page, default_timeout=60).run()
    assert not at.exception, at.exception
    assert "can't be read right now" in at.warning[0].value
    (record,) = [r for r in caplog.records if r.name == "stretch_coach.app.analyse"]
    assert (record.exc_info is not None) is traceback
    text = record.getMessage()
    assert "\n" not in text and "job 1" in text
    for sql in ("SELECT", "analysis_jobs", "[SQL", "parameters"):
        assert sql not in text, text
