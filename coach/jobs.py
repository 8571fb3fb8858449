"""Running video analyses as jobs, in this process or on ``stretch-coach worker`` machines.

The job queue is Dramatiq's (see the README's deployment section for why Dramatiq):

- **Embedded (the default, no server):** ``$STRETCH_COACH_BROKER_URL`` unset. Jobs go
  through Dramatiq's in-memory broker to worker threads inside this process (the web
  app or the CLI); the store is the SQLite file. Jobs left queued or running by a
  process that stopped are re-enqueued when the next one starts its runner.
- **Clinic:** ``$STRETCH_COACH_BROKER_URL`` = ``amqp://...`` (RabbitMQ) or
  ``redis://...`` and ``$STRETCH_COACH_DB_URL`` = PostgreSQL. The app only enqueues;
  any number of ``stretch-coach worker`` processes on any machines run the jobs.
  Messages are acknowledged after the job ends, so a killed worker's job is handed
  to another worker (RabbitMQ at once; Redis after its heartbeat timeout), and
  ``sessions.jobs`` makes sure it is saved exactly once.

The message carries the job id only; the job's record (video path, stretch,
options, progress, result) is in the database through ``sessions.jobs.JobStore``.
The video path must be readable by the workers (a shared folder in a clinic).

This module is the engine (configuration, the broker and its actor, the embedded
runner, waiting, the worker command); what one run of a job does is
``coach.job_run``, whose public names are re-exported here.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from coach.job_run import PROGRESS_EVERY_S, JobCancelled, JobRun, run_job

__all__ = [
    "ENV_BROKER",
    "ENV_QUEUE",
    "PROGRESS_EVERY_S",
    "JobCancelled",
    "JobRun",
    "broker_url",
    "enqueue",
    "reset",
    "run_job",
    "run_worker",
    "start",
    "wait_for",
]

log = logging.getLogger(__name__)

ENV_BROKER = "STRETCH_COACH_BROKER_URL"
ENV_QUEUE = "STRETCH_COACH_QUEUE"
ENV_LOCAL_WORKERS = "STRETCH_COACH_LOCAL_WORKERS"
DEFAULT_QUEUE = "stretch_coach_analysis"
#: a queued or running job not updated for this long has no live worker (embedded mode)
STALE_AFTER_S = 60.0
#: the longest a job may run before Dramatiq stops it (milliseconds)
TIME_LIMIT_MS = 6 * 3600 * 1000


def broker_url() -> str | None:
    """``$STRETCH_COACH_BROKER_URL``, or None for the embedded runner."""
    url = os.environ.get(ENV_BROKER, "").strip()
    return url or None


def queue_name() -> str:
    """The queue jobs go to (``$STRETCH_COACH_QUEUE``, default ``stretch_coach_analysis``)."""
    return os.environ.get(ENV_QUEUE, "").strip() or DEFAULT_QUEUE


# --------------------------------------------------------------------------- the engine

_lock = threading.RLock()
_broker: Any = None
_actor: Any = None
_local_worker: Any = None


def _perform(job_id: int) -> None:
    """The Dramatiq actor's body: run the job; a failure is recorded, never raised."""
    from sessions.errors import log_failure

    try:
        run_job(int(job_id))
    except Exception as e:  # the job is recorded as failed by run_job; this is the DB going away
        log_failure(log, f"job {job_id} could not be run", e)
        raise


def _setup() -> tuple[Any, Any]:
    """The broker (RabbitMQ, Redis or in-memory) and the actor, once per process."""
    global _broker, _actor
    with _lock:
        if _broker is None:
            import dramatiq

            url = broker_url()
            if url is None:
                from dramatiq.brokers.stub import StubBroker

                broker = StubBroker()
            elif url.startswith(("amqp://", "amqps://")):
                from dramatiq.brokers.rabbitmq import RabbitmqBroker

                broker = RabbitmqBroker(url=url)
            elif url.startswith(("redis://", "rediss://", "unix://")):
                from dramatiq.brokers.redis import RedisBroker

                broker = RedisBroker(url=url)
            else:
                raise ValueError(f"{ENV_BROKER}={url!r}: use amqp://... (RabbitMQ) or "
                                 f"redis://... (Redis)")
            dramatiq.set_broker(broker)
            _actor = dramatiq.actor(_perform, broker=broker, actor_name="analyse_video_job",
                                    queue_name=queue_name(), max_retries=0,
                                    time_limit=TIME_LIMIT_MS)
            _broker = broker
        return _broker, _actor


def _start_local_worker() -> None:
    """Start the in-process worker threads of the embedded runner (once per process)."""
    global _local_worker
    with _lock:
        if _local_worker is not None:
            return
        import dramatiq

        broker, _ = _setup()
        threads = max(1, int(os.environ.get(ENV_LOCAL_WORKERS, "1") or 1))
        worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=200)
        worker.start()
        _local_worker = worker
        log.info("embedded job runner: %d worker thread(s) in this process", threads)
        _recover(broker)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _orphaned(job: Any, stale_before: float) -> bool:
    """Whether no live process is moving ``job`` (embedded mode: one machine)."""
    import socket

    if job.worker and job.state == "running":
        host, _, pid = job.worker.rpartition(":")
        if host == socket.gethostname() and pid.isdigit():
            return int(pid) != os.getpid() and not _pid_alive(int(pid))
    updated = job.heartbeat_at or job.created_at
    return updated.timestamp() < stale_before


def _recover(broker: Any) -> None:
    """Re-enqueue jobs that a stopped process left queued or running (embedded mode)."""
    from sessions.errors import log_failure
    from sessions.jobs import JobStore

    try:
        jobs = JobStore().list(states=("queued", "running"))
    except Exception as e:
        log_failure(log, "could not look for jobs left over by a stopped process", e)
        return
    stale_before = time.time() - STALE_AFTER_S
    for job in jobs:
        if _orphaned(job, stale_before):
            log.info("job %s was left unfinished by a stopped process: queued again", job.id)
            _actor.send(job.id)


def start() -> None:
    """Start the embedded runner now (no-op with a broker): picks up jobs left over."""
    if broker_url() is None:
        _start_local_worker()


def reset() -> None:
    """Stop the embedded runner and forget the broker (tests, or a changed configuration)."""
    global _broker, _actor, _local_worker
    with _lock:
        worker, broker = _local_worker, _broker
        _broker = _actor = _local_worker = None
    if worker is not None:
        worker.stop(timeout=5000)
    if broker is not None:
        broker.close()


def enqueue(job_id: int) -> None:
    """Hand a recorded job to the engine: the broker, or the embedded runner."""
    _, actor = _setup()
    if broker_url() is None:
        _start_local_worker()
    actor.send(int(job_id))


def wait_for(job_ids: list[int], store: Any = None, timeout_s: float | None = None,
             on_update: Callable[[list[Any]], None] | None = None,
             poll_s: float = 0.5) -> list[Any]:
    """Poll the database until every job has finished (or ``timeout_s`` passes).

    Returns:
        The jobs (``JobInfo``) as last read.
    """
    from sessions.jobs import JobStore

    store = store or JobStore()
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        jobs = store.list(ids=job_ids)
        if on_update is not None:
            on_update(jobs)
        if all(j.finished for j in jobs) or (deadline is not None
                                             and time.monotonic() > deadline):
            return jobs
        time.sleep(poll_s)


def run_worker(threads: int = 1, ready: Callable[[], None] | None = None) -> None:
    """Run a worker on the configured broker until SIGINT/SIGTERM (``stretch-coach worker``).

    Each worker thread takes one job at a time (prefetch 1), so jobs spread over
    workers instead of piling up on the first.

    Raises:
        RuntimeError: no broker configured (``$STRETCH_COACH_BROKER_URL``).
    """
    import dramatiq

    if broker_url() is None:
        raise RuntimeError(f"no broker configured: set {ENV_BROKER} (amqp://... or "
                           f"redis://...); without one the app runs jobs itself")
    from sessions.jobs import JobStore

    JobStore()   # the schema is current before the first job
    broker, _ = _setup()
    worker = dramatiq.Worker(broker, worker_threads=max(1, threads), worker_timeout=500)
    worker.queue_prefetch = max(1, threads)
    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        log.info("signal %s: stopping after the current job", signum)
        stop.set()

    old = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    worker.start()
    deadline = time.monotonic() + 60
    while not stop.is_set() and time.monotonic() < deadline and not all(
            c.consumer is not None for c in worker.consumers.values()):
        time.sleep(0.05)   # consuming from the broker (connected), so jobs spread at once
    log.info("worker %s on queue %s", os.getpid(), queue_name())
    if ready is not None:
        ready()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        worker.stop(timeout=10_000)
        broker.close()
        for s, h in old.items():
            signal.signal(s, h)
