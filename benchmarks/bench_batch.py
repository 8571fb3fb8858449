"""Batch throughput of the clinic deployment with 1 and 2 workers, as a ratio measured in one run.

The same set of clips (cut from ``sample_videos/``) is analysed as jobs twice: once
by one ``stretch-coach worker`` process, once by two, on a real broker (RabbitMQ by
default) and a fresh PostgreSQL database. Workers are started and connected before
the clock starts; the clock stops when the database shows every job finished.

Prints, per worker count: wall seconds, video seconds analysed per wall second,
jobs per minute and the workers' CPU seconds; then the ratio (2 workers / 1 worker).
On a quiet 2-core machine the ideal is 2.0; on a machine busy with other work the
workers only get what is left, and the ratio says little.

Usage:
    .venv/bin/python benchmarks/bench_batch.py [--clips 6] [--seconds 5]
        [--broker amqp://guest:guest@127.0.0.1:5672/%2F]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

SAMPLES = ROOT / "sample_videos"


def cut(src: Path, dest: Path, seconds: float, start_s: float) -> Path:
    """``seconds`` of ``src`` from ``start_s``, re-encoded as H.264 mp4."""
    import av

    with av.open(str(src)) as inp:
        vin = inp.streams.video[0]
        with av.open(str(dest), "w") as out:
            st = out.add_stream("libx264", rate=round(float(vin.average_rate or 30)))
            st.width, st.height, st.pix_fmt = vin.width, vin.height, "yuv420p"
            st.options = {"preset": "ultrafast", "crf": "20"}
            n = 0
            for frame in inp.decode(vin):
                t = float(frame.time or 0.0)
                if t < start_s:
                    continue
                if t >= start_s + seconds:
                    break
                vf = frame.reformat(format="yuv420p")
                vf.pts = n
                n += 1
                for pkt in st.encode(vf):
                    out.mux(pkt)
            for pkt in st.encode():
                out.mux(pkt)
    return dest


def start_workers(n: int, env: dict[str, str], logs: Path) -> list[subprocess.Popen]:
    procs = []
    for i in range(n):
        log = open(logs / f"worker{n}-{i}.log", "wb")  # noqa: SIM115 - lives with the process
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"], cwd=ROOT, stdout=log,
            stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT), **env}))
    deadline = time.monotonic() + 180
    for i, p in enumerate(procs):
        path = logs / f"worker{n}-{i}.log"
        while b"worker ready" not in path.read_bytes():
            if p.poll() is not None or time.monotonic() > deadline:
                stop_workers(procs)
                raise SystemExit(f"worker did not start: {path.read_text(errors='replace')}")
            time.sleep(0.1)
    return procs


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_batch(n_workers: int, clips: list[Path], exercise: str, env: dict[str, str],
              logs: Path) -> tuple[float, float]:
    """(wall s, workers' CPU s) for ``n_workers`` workers to finish every clip (nothing saved).

    The CPU seconds include the workers' start-up (model load), which the wall time
    does not.
    """
    import resource

    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    from coach import jobs
    from sessions.jobs import JobStore

    os.environ.update(env)
    jobs.reset()
    store = JobStore(env["STRETCH_COACH_DB_URL"])
    procs = start_workers(n_workers, env, logs)
    try:
        t0 = time.perf_counter()
        ids = [store.submit(c, exercise, batch=f"bench{n_workers}") for c in clips]
        for i in ids:
            jobs.enqueue(i)
        final = jobs.wait_for(ids, store, timeout_s=3600, poll_s=0.1)
        wall = time.perf_counter() - t0
    finally:
        stop_workers(procs)
        jobs.reset()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    bad = [(j.label, j.state, j.error) for j in final if j.state != "done"]
    if bad:
        raise SystemExit(f"jobs did not finish: {bad}")
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--video", type=Path, default=SAMPLES / "neck_side_tilt_left_good.mp4")
    ap.add_argument("--exercise", default="neck_side_tilt")
    ap.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672/%2F")
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                    help="admin URL; a fresh database is made beside it and dropped")
    args = ap.parse_args()

    name = f"stretch_coach_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = make_url(args.pg).set(database=name).render_as_string(hide_password=False)
    env = {"STRETCH_COACH_DB_URL": db_url, "STRETCH_COACH_BROKER_URL": args.broker,
           "STRETCH_COACH_QUEUE": f"bench_{uuid.uuid4().hex[:8]}"}
    try:
        with tempfile.TemporaryDirectory(prefix="stretch-coach-bench-") as tmp:
            d = Path(tmp)
            clips = [cut(args.video, d / f"clip{i}.mp4", args.seconds, i * args.seconds % 25)
                     for i in range(args.clips)]
            video_s = args.clips * args.seconds
            print(f"{args.clips} clips of {args.seconds:g} s ({video_s:g} s of 640x480 video), "
                  f"broker {make_url(args.broker.replace('amqp', 'http')).host}, "
                  f"{os.cpu_count()} cores", flush=True)
            walls = {}
            for n in (1, 2):
                load = os.getloadavg()[0]
                walls[n], cpu = run_batch(n, clips, args.exercise, env, d)
                print(f"{n} worker(s): {walls[n]:6.1f} s wall, "
                      f"{video_s / walls[n]:.2f} video s per s, "
                      f"{60 * args.clips / walls[n]:.1f} jobs/min, workers' CPU {cpu:.1f} s "
                      f"(load average {load:.1f} before)", flush=True)
            print(f"throughput ratio 2 workers / 1 worker: {walls[1] / walls[2]:.2f}")
            if os.getloadavg()[0] > (os.cpu_count() or 1):
                print("note: the machine was busy with other work (load average above the "
                      "core count): the ratio is not the engine's; measure on a quiet machine")
    finally:
        from sessions.db import dispose_engine

        dispose_engine(db_url)
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        _delete_queue(args.broker, env["STRETCH_COACH_QUEUE"])


def _delete_queue(url: str, name: str) -> None:
    if not url.startswith("amqp"):
        return
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        ch = conn.channel()
        for q in (name, f"{name}.DQ", f"{name}.XQ"):
            ch.queue_delete(q)
    finally:
        conn.close()


if __name__ == "__main__":
    main()
