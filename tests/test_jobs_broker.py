"""The clinic deployment for real: RabbitMQ, PostgreSQL and two ``stretch-coach worker`` processes.

A batch spreads over both workers and every job is saved once; a worker killed
(SIGKILL) mid-job has its job re-run by the other and saved exactly once; a
cancelled job stops and saves nothing. Tests wait on job states in the database
with bounded deadlines, never on fixed sleeps; every worker is stopped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sessions.jobs import JobInfo, JobStore
from sessions.models import SessionRow
from tests.clinic_support import fresh_pg_database
from tests.job_support import SAMPLES, WorkerProcess, cut_clip, wait_until

BROKER_URL = os.environ.get("STRETCH_COACH_TEST_BROKER_URL",
                            "amqp://guest:guest@127.0.0.1:5672/%2F")
#: generous: a loaded 2-core machine analyses a few seconds of video in well under this
JOB_TIMEOUT_S = 300

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Short clips cut from the samples: four of 2 s for a batch, one of 8 s to kill/cancel."""
    d = tmp_path_factory.mktemp("broker-clips")
    out = {f"b{i}": cut_clip(SAMPLES / name, d / f"b{i}.mp4", 2.0, start_s=2.0 * i)
           for i, name in enumerate(["neck_side_tilt_left_good.mp4",
                                     "neck_side_tilt_right_shrug.mp4"] * 2)}
    out["long"] = cut_clip(SAMPLES / "neck_side_tilt_left_good.mp4", d / "long.mp4", 8.0)
    return out


class Deployment:
    """A fresh PostgreSQL database, a private queue and worker processes on them."""

    def __init__(self, db_url: str, tmp: Path) -> None:
        self.env = {"STRETCH_COACH_DB_URL": db_url, "STRETCH_COACH_BROKER_URL": BROKER_URL,
                    "STRETCH_COACH_QUEUE": f"test_{uuid.uuid4().hex[:10]}"}
        self.tmp = tmp
        self.store = JobStore(db_url)
        self.workers: list[WorkerProcess] = []

    def start_worker(self) -> WorkerProcess:
        w = WorkerProcess(self.env, self.tmp / f"worker{len(self.workers)}.log")
        self.workers.append(w)
        wait_until(f"worker {w.pid} to connect", w.ready, 180, 0.1)
        return w

    def submit(self, clip: Path, **kw: object) -> int:
        """Record a job and send it to the broker, as the app does."""
        from coach import jobs

        jid = self.store.submit(clip, "neck_side_tilt", side="left", save="personal", **kw)
        jobs.enqueue(jid)
        return jid

    def finished(self, ids: list[int]) -> list[JobInfo] | None:
        jobs = self.store.list(ids=ids)
        return jobs if all(j.finished for j in jobs) else None

    def sessions(self) -> int:
        with self.store.engine.connect() as c:
            return int(c.execute(select(func.count()).select_from(SessionRow)).scalar_one())

    def stop(self) -> None:
        for w in self.workers:
            w.stop()


def _delete_queues(name: str) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(BROKER_URL))
    try:
        ch = conn.channel()
        for q in (name, f"{name}.DQ", f"{name}.XQ"):
            ch.queue_delete(q)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    from coach import jobs

    for db_url in fresh_pg_database("jobsbroker"):
        d = Deployment(db_url, tmp_path_factory.mktemp("deploy"))
        # this test process plays the app: it only sends, on the deployment's own queue
        old = {k: os.environ.get(k) for k in d.env}
        os.environ.update(d.env)
        jobs.reset()
        try:
            d.start_worker()
            d.start_worker()
            yield d
        finally:
            d.stop()
            jobs.reset()
            _delete_queues(d.env["STRETCH_COACH_QUEUE"])
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _live(d: Deployment) -> list[WorkerProcess]:
    return [w for w in d.workers if w.proc.poll() is None]


def test_two_workers_share_a_batch_and_save_each_job_once(deployment: Deployment,
                                                          clips: dict[str, Path]) -> None:
    d = deployment
    before = d.sessions()
    ids = [d.submit(clips[f"b{i}"], batch="two-workers") for i in range(4)]
    jobs = wait_until("the batch to finish", lambda: d.finished(ids), JOB_TIMEOUT_S)
    assert [j.state for j in jobs] == ["done"] * 4, [(j.state, j.error) for j in jobs]
    assert all(j.attempts == 1 and j.session_id is not None for j in jobs)
    assert all(j.frames_done == j.frames_total == 60 for j in jobs)
    assert d.sessions() == before + 4
    pids = {j.worker.rpartition(":")[2] for j in jobs}
    assert pids == {str(w.pid) for w in _live(d)}, "both workers took jobs"


def test_a_cancelled_job_stops_and_saves_nothing(deployment: Deployment,
                                                 clips: dict[str, Path]) -> None:
    d = deployment
    before = d.sessions()
    jid = d.submit(clips["long"])
    wait_until("the job to run", lambda: d.store.get(jid).frames_done > 0, JOB_TIMEOUT_S, 0.05)
    d.store.cancel(jid)
    (j,) = wait_until("the job to stop", lambda: d.finished([jid]), JOB_TIMEOUT_S)
    assert j.state == "cancelled" and j.session_id is None and j.result is None
    assert j.frames_done < j.frames_total
    assert d.sessions() == before
    # a job cancelled while still queued never runs
    queued = d.store.submit(clips["b0"], "neck_side_tilt", save="personal")
    assert d.store.cancel(queued).state == "cancelled"


def test_a_killed_workers_job_is_rerun_and_saved_once(deployment: Deployment,
                                                       clips: dict[str, Path]) -> None:
    d = deployment
    before = d.sessions()
    jid = d.submit(clips["long"])
    j = wait_until("the job to be part-way", lambda: (lambda j: j if j.frames_done >= 10
                                                       else None)(d.store.get(jid)),
                   JOB_TIMEOUT_S, 0.05)
    victim = next(w for w in d.workers if str(w.pid) == j.worker.rpartition(":")[2])
    victim.kill()                       # SIGKILL mid-job: no clean-up at all
    (j,) = wait_until("the job to be re-run to the end", lambda: d.finished([jid]),
                      JOB_TIMEOUT_S)
    assert j.state == "done", j.error
    assert j.attempts == 2
    assert j.worker.rpartition(":")[2] != str(victim.pid)
    assert j.frames_done == j.frames_total == 240
    assert d.sessions() == before + 1
    with d.store.engine.connect() as c:
        saved = c.execute(select(SessionRow.id).where(SessionRow.id == j.session_id)).all()
    assert len(saved) == 1
