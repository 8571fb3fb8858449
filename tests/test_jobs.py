"""Analysis jobs: the record (sessions.jobs) on SQLite and PostgreSQL, and the embedded runner.

The record's guarantees are checked without the pose model: a job is saved exactly
once whatever the order of claims, re-runs, cancels and finishes. The embedded
runner (no server) then analyses a short clip for real, and is cancelled mid-run.
The real broker with worker processes is in test_jobs_broker.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from sessions.jobs import JobLost, JobStore
from sessions.models import SessionRep, SessionRow
from tests.clinic_support import (  # noqa: F401 - fixtures
    db_url,
    engine,
    make_world,
    neck_report,
    screened,
)
from tests.job_support import SAMPLES, cut_clip, wait_until


def _sessions(eng: Engine) -> int:
    with eng.connect() as c:
        return int(c.execute(select(func.count()).select_from(SessionRow)).scalar_one())


def test_a_job_runs_and_is_saved_once(engine: Engine) -> None:  # noqa: F811
    store = JobStore(engine)
    jid = store.submit("/videos/a.mp4", "neck_side_tilt", side="left", save="personal")
    j = store.get(jid)
    assert (j.state, j.attempts, j.label, j.finished) == ("queued", 0, "a.mp4", False)
    attempt = store.claim(jid, "host:1")
    assert attempt == 1 and store.get(jid).state == "running"
    assert store.progress(jid, attempt, 30, 120) is False
    assert store.get(jid).share == pytest.approx(0.25)
    sid = store.finish(jid, attempt, neck_report(3))
    j = store.get(jid)
    assert (j.state, j.session_id, j.share) == ("done", sid, 1.0)
    assert j.report() is not None and j.report().reps_done == 3
    with pytest.raises(JobLost):
        store.finish(jid, attempt, neck_report(3))        # a second finish saves nothing
    assert store.claim(jid, "host:2") is None              # a finished job is not run again
    assert _sessions(engine) == 1


def test_a_rerun_after_a_dead_worker_saves_once(engine: Engine) -> None:  # noqa: F811
    store = JobStore(engine)
    jid = store.submit("/videos/a.mp4", "neck_side_tilt", save="personal")
    first = store.claim(jid, "host:1")
    store.progress(jid, first, 50, 100)
    second = store.claim(jid, "host:2")          # the broker re-delivered: worker 1 died
    assert (first, second) == (1, 2)
    assert store.progress(jid, first, 60, 100) is True     # the old run is told to stop
    with pytest.raises(JobLost):
        store.finish(jid, first, neck_report(2))
    assert store.fail(jid, first, "late failure") is False  # nor can it fail the job
    store.finish(jid, second, neck_report(3))
    j = store.get(jid)
    assert (j.state, j.attempts, j.worker, j.error) == ("done", 2, "host:2", None)
    assert j.report().reps_done == 3 and _sessions(engine) == 1


def test_cancel_queued_and_running(engine: Engine) -> None:  # noqa: F811
    store = JobStore(engine)
    queued = store.submit("/v/q.mp4", "neck_side_tilt", save="personal")
    assert store.cancel(queued).state == "cancelled"
    assert store.claim(queued) is None
    running = store.submit("/v/r.mp4", "neck_side_tilt", save="personal")
    attempt = store.claim(running)
    j = store.cancel(running)
    assert (j.state, j.cancel_requested) == ("running", True)
    assert store.progress(running, attempt, 10, 100) is True
    assert store.stopped(running, attempt) is True
    assert store.get(running).state == "cancelled"
    # a run that ends just as the cancel comes saves nothing either
    late = store.submit("/v/l.mp4", "neck_side_tilt", save="personal")
    attempt = store.claim(late)
    store.cancel(late)
    with pytest.raises(JobLost):
        store.finish(late, attempt, neck_report(3))
    assert store.get(late).state == "cancelled" and _sessions(engine) == 0
    with pytest.raises(KeyError):
        store.cancel(999_999)


def test_failure_keeps_one_line_reason(engine: Engine) -> None:  # noqa: F811
    store = JobStore(engine)
    jid = store.submit("/v/x.mp4", "neck_side_tilt")
    attempt = store.claim(jid)
    assert store.fail(jid, attempt, "x.mp4: not a video\n(moov atom not found)") is True
    j = store.get(jid)
    assert (j.state, j.error) == ("failed", "x.mp4: not a video (moov atom not found)")
    assert j.finished and j.report() is None


def test_a_patient_job_saves_into_the_record(engine: Engine,  # noqa: F811
                                             tmp_path: Path) -> None:
    w = make_world(engine)
    store = JobStore(engine)
    pid, tid = w.pat_a.user_id, w.ther_a.user_id
    video = _own_video(tmp_path)   # a patient's save fingerprints the file analysed
    # no screening today: the job fails closed and saves nothing (the safety gate)
    early = store.submit(video, "neck_side_tilt", save="patient", patient_id=pid,
                         submitted_by=tid)
    with pytest.raises(ValueError, match="safety questions"):
        store.finish(early, store.claim(early), neck_report(3))
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(SessionRow)).scalar_one() == 0
    # a video that can't be read any more can't be told from a sample: nothing is saved
    gone = store.submit(tmp_path / "gone.mp4", "neck_side_tilt", save="patient",
                        patient_id=pid, submitted_by=tid)
    with pytest.raises(ValueError, match=r"gone\.mp4 can no longer be read"):
        store.finish(gone, store.claim(gone), neck_report(3))
    screened(w.clinic(w.pat_a))
    jid = store.submit(video, "neck_side_tilt", save="patient", patient_id=pid,
                       submitted_by=tid)
    sid = store.finish(jid, store.claim(jid), neck_report(3))
    d = w.clinic(w.ther_a).session(sid)
    assert d.reps == 3 and len(d.reps_rows) == 3
    with engine.connect() as c:
        row = c.execute(select(SessionRow).where(SessionRow.id == sid)).one()
        assert (row.patient_id, row.recorded_by) == (pid, tid)
        assert c.execute(select(func.count()).select_from(SessionRep)).scalar_one() == 3
    with pytest.raises(ValueError, match="patient_id"):
        store.submit("/v/p.mp4", "neck_side_tilt", save="patient")
    with pytest.raises(ValueError, match="save must be"):
        store.submit("/v/p.mp4", "neck_side_tilt", save="cloud")


def test_stale_jobs_are_found(engine: Engine) -> None:  # noqa: F811
    store = JobStore(engine)
    a = store.submit("/v/a.mp4", "neck_side_tilt")
    b = store.submit("/v/b.mp4", "neck_side_tilt")
    store.claim(b)
    assert store.stale(3600) == []
    assert store.stale(-1) == [a, b]
    store.cancel(a)
    assert store.stale(-1) == [b]


# --------------------------------------------------------------------------- real runs


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s of a neck side tilt sample (a rep in progress)."""
    return cut_clip(SAMPLES / "neck_side_tilt_left_good.mp4",
                    tmp_path_factory.mktemp("clips") / "tilt4.mp4", 4.0)


@pytest.fixture
def local_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    monkeypatch.setenv("STRETCH_COACH_DB_URL", url)
    monkeypatch.delenv("STRETCH_COACH_BROKER_URL", raising=False)
    return url


@pytest.mark.slow
def test_a_job_gives_the_same_report_as_a_direct_analysis(short_clip: Path,
                                                          local_db: str) -> None:
    from coach.analyze import AnalysisOptions, analyze_video
    from coach.jobs import run_job
    from exercises.definition import load_library

    store = JobStore(local_db)
    jid = store.submit(short_clip, "neck_side_tilt", side="left", save="personal")
    run = run_job(jid, store)
    assert run.state == "done" and run.session_id is not None
    direct = analyze_video(short_clip, load_library()["neck_side_tilt"],
                           AnalysisOptions(side="left"))
    got = store.get(jid)
    assert got.frames_done == direct.frames == got.report().frames
    assert got.report().reps_done == direct.reps_done
    assert [r["peak"] for r in got.report().reps] == [r["peak"] for r in direct.reps]
    assert got.report().media["file"] == "tilt4.mp4"


@pytest.mark.slow
def test_embedded_runner_cancel_mid_run(short_clip: Path, local_db: str) -> None:
    """The in-process runner (no server): a job cancelled while running stops, unsaved."""
    from coach import jobs as engine_mod

    store = JobStore(local_db)
    jid = store.submit(short_clip, "neck_side_tilt", side="left", save="personal")
    engine_mod.enqueue(jid)
    wait_until("the job to start", lambda: store.get(jid).frames_done > 0, 120, 0.05)
    store.cancel(jid)
    j = wait_until("the job to stop", lambda: (lambda j: j if j.finished else None)(
        store.get(jid)), 60)
    assert j.state == "cancelled" and j.session_id is None
    assert j.frames_done < j.frames_total
    # the runner keeps serving: the next job runs to the end
    jid2 = store.submit(short_clip, "neck_side_tilt", side="left", save="personal")
    engine_mod.enqueue(jid2)
    j2 = wait_until("the second job", lambda: (lambda j: j if j.finished else None)(
        store.get(jid2)), 180)
    assert j2.state == "done" and j2.session_id is not None
    assert _sessions(JobStore(local_db).engine) == 1


@pytest.mark.slow
def test_batch_command_over_a_folder_without_a_server(short_clip: Path, tmp_path: Path) -> None:
    """``stretch-coach batch`` with no broker: jobs run in the command's own process."""
    import json
    import os
    import subprocess
    import sys

    from tests.job_support import ROOT

    folder = tmp_path / "recordings"
    folder.mkdir()
    (folder / "a.mp4").write_bytes(short_clip.read_bytes())
    (folder / "broken.mp4").write_text("not a video\n")
    (folder / "notes.txt").write_text("not a video either, and not picked up\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("STRETCH_COACH_BROKER_URL", "STRETCH_COACH_DB_URL")}
    env.update(STRETCH_COACH_DATA=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "app.cli", "batch", str(folder), "-e",
                        "neck_side_tilt", "--side", "left", "--workers", "2", "--json-dir",
                        str(tmp_path / "out")], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 17, r.stderr             # one job failed
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 2
    assert "a.mp4  done" in lines[0]
    assert "broken.mp4  failed  can't be analysed as a video: broken.mp4" in lines[1]
    report = json.loads((tmp_path / "out" / "a.json").read_text())
    assert report["exercise"] == "neck_side_tilt" and report["frames"] == 120
    store = JobStore(f"sqlite:///{tmp_path / 'data' / 'sessions.db'}")
    assert [j.state for j in store.list()] == ["done", "failed"]
    assert {j.batch for j in store.list()} != {None}


# --------------------------------------------------------------------------- refusals at save


@pytest.fixture
def fake_analysis(monkeypatch: pytest.MonkeyPatch) -> list:
    """``run_job``'s analysis replaced by a ready report (no pose model): the calls."""
    import coach.analyze

    calls: list = []

    def analyze_video(path, definition, options=None, progress=None, estimator=None):
        calls.append(path)
        return neck_report(3)

    monkeypatch.setattr(coach.analyze, "analyze_video", analyze_video)
    return calls


def _own_video(folder: Path) -> Path:
    """A recording that is not byte-identical to any bundled sample."""
    out = folder / "mine.mp4"
    out.write_bytes(b"not a sample, and not analysed for real\n")
    return out


def test_a_patient_job_of_a_bundled_sample_is_refused_at_save(
        engine: Engine, tmp_path: Path, fake_analysis: list) -> None:  # noqa: F811
    """Renamed, or without any mark in its media, a sample never enters a record."""
    import shutil

    from coach.jobs import run_job

    w = make_world(engine)
    screened(w.clinic(w.pat_a))
    store = JobStore(engine)
    renamed = tmp_path / "renamed.mp4"
    shutil.copyfile(SAMPLES / "neck_side_tilt_left_good.mp4", renamed)
    target = {"save": "patient", "patient_id": w.pat_a.user_id,
              "submitted_by": w.ther_a.user_id}
    direct = store.submit(renamed, "neck_side_tilt", **target)
    with pytest.raises(ValueError, match="bundled sample"):
        store.finish(direct, store.claim(direct), neck_report(3))
    keep = tmp_path / "kept" / "v.mp4"
    jid = store.submit(renamed, "neck_side_tilt", params={"keep_as": str(keep)}, **target)
    run = run_job(jid, store)
    j = store.get(jid)
    assert (run.state, j.state, j.session_id) == ("failed", "failed", None)
    assert "bundled sample" in j.error and "\n" not in j.error
    assert not keep.exists()
    assert _sessions(engine) == 0
    # the patient's own video is saved, with the fingerprint of the file analysed
    own = store.submit(_own_video(tmp_path), "neck_side_tilt", **target)
    assert run_job(own, store).state == "done"
    assert len(store.get(own).report().media["sha256"]) == 64
    assert _sessions(engine) == 1


def test_a_job_refused_at_save_by_a_red_flag_ends_failed(
        engine: Engine, tmp_path: Path, fake_analysis: list) -> None:  # noqa: F811
    """A red flag raised after the job was queued: failed, naming it; nothing saved or kept."""
    from coach.jobs import run_job
    from sessions.screening import SCREENING_QUESTIONS

    w = make_world(engine)
    screened(w.clinic(w.pat_a))
    store = JobStore(engine)
    keep = tmp_path / "kept" / "v.mp4"
    jid = store.submit(_own_video(tmp_path), "neck_side_tilt", save="patient",
                       patient_id=w.pat_a.user_id, submitted_by=w.ther_a.user_id,
                       params={"keep_as": str(keep)})
    red = dict.fromkeys(SCREENING_QUESTIONS, False) | {next(iter(SCREENING_QUESTIONS)): True}
    assert not w.clinic(w.pat_a).record_screening(red, 2).ok
    run = run_job(jid, store)
    j = store.get(jid)
    assert (run.state, j.state, j.session_id) == ("failed", "failed", None)
    assert "red flag" in j.error and run.error == j.error
    assert not keep.exists() and fake_analysis
    assert _sessions(engine) == 0


def test_a_database_error_is_stored_without_its_sql(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The page shows ``job.error``: a plain sentence, never SQL, parameters or a class."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    import coach.analyze
    from coach.jobs import run_job

    store = JobStore(engine)
    for error, needle in (
            (OperationalError("SELECT secret FROM users WHERE name = %(name)s",
                              {"name": "pat_a"}, Exception("server closed the connection "
                                                           "unexpectedly")),
             "cannot reach"),
            (IntegrityError("INSERT INTO session_reps (x) VALUES (?)", (1,),
                            Exception("UNIQUE constraint failed: session_reps.x")),
             "UNIQUE constraint failed"),
            (RuntimeError("SELECT secret FROM users"), "unexpected error")):
        def analyze_video(*a, error=error, **k):
            raise error

        monkeypatch.setattr(coach.analyze, "analyze_video", analyze_video)
        jid = store.submit(_own_video(tmp_path), "neck_side_tilt", save="personal")
        assert run_job(jid, store).state == "failed"
        reason = store.get(jid).error
        assert needle in reason, reason
        for sql in ("SELECT", "INSERT", "[SQL", "pat_a", "OperationalError", "sqlalche.me"):
            assert sql not in reason, reason


def test_kept_videos_are_private(engine: Engine, tmp_path: Path,  # noqa: F811
                                 fake_analysis: list) -> None:
    import os

    from coach.jobs import run_job

    store = JobStore(engine)
    annotated = tmp_path / "annotated.mp4"
    annotated.write_bytes(b"annotated\n")
    keep = tmp_path / "kept" / "videos" / "v.mp4"
    old = os.umask(0o022)
    try:
        jid = store.submit(_own_video(tmp_path), "neck_side_tilt", save="personal", params={
            "keep_as": str(keep), "annotated_path": str(annotated)})
        run = run_job(jid, store)
    finally:
        os.umask(old)
    assert run.state == "done", run.error
    media = store.get(jid).report().media
    kept = [Path(media["kept_video"]), Path(media["kept_annotated"])]
    assert kept[0] == keep and all(p.is_file() for p in kept)
    assert [p.stat().st_mode & 0o777 for p in kept] == [0o600, 0o600]
    assert keep.parent.stat().st_mode & 0o777 == 0o700
    # a video that can't be kept: the job fails with the reason, not left running
    (tmp_path / "a file").write_text("not a folder\n")
    jid = store.submit(_own_video(tmp_path), "neck_side_tilt", save="personal",
                       params={"keep_as": str(tmp_path / "a file" / "v.mp4")})
    run = run_job(jid, store)
    assert (run.state, store.get(jid).state) == ("failed", "failed")
    assert "not a folder" in run.error and store.get(jid).session_id is None
