"""Benchmark of the live (WebRTC) path, as ratios measured in one run.

Prints:
1. per-frame cost in process: the live path's whole work on one judged frame
   (``LiveCoach.callback`` with ``synchronous=True``: av.VideoFrame -> RGB,
   PoseLandmarker, periodic people check, smoothing, trackers, snapshot, the
   on-video display, RGB -> av.VideoFrame) against raw PoseLandmarker VIDEO-mode
   time on the same decoded 640x480 frames. The two are timed *interleaved*, frame
   by frame (raw model, then the live path, on the same frame), so that other
   processes slowing the machine slow both alike. Median and p95 of each, their
   ratio, and the added milliseconds; and the same in CPU time of the whole process
   (all its threads, so background work such as the two-person check is counted),
   which other programs on a shared machine disturb less than wall time; and the
   live path's own share of each frame (callback minus the model call inside it,
   timed on the same frame), which is what the live path adds. In the
   app the model part runs in the judge thread and the callback itself only
   converts and draws (its own time is reported in part 2).
2. in a real browser (unless ``--no-browser``): the app is started with
   ``STRETCH_COACH_TIMING_LOG``, headless Chromium's fake camera sends the clip at
   30 frames/s, 640x480, for ``--seconds``; reported: frames/s judged (by the
   judge thread), frames/s through the callback and shown in the browser, the
   callback's and the judging's median/p95 time. With ``--load N`` this part runs
   twice: without load, then with N busy processes started (and stopped) by the
   benchmark itself.

Usage:
    .venv/bin/python benchmarks/bench_live.py [--video sample_videos/X.mp4]
        [--exercise ID] [--seconds 20] [--no-browser] [--load 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.live import LiveCoach, LoadGovernor  # noqa: E402
from coach.pipeline import resolve_sides  # noqa: E402
from exercises.definition import load_library  # noqa: E402
from pose.estimator import PoseEstimator  # noqa: E402
from pose.video import open_video  # noqa: E402

SEND_FPS = 30.0


def _default_clip() -> tuple[Path, str, str | None]:
    for truth in sorted((ROOT / "sample_videos").glob("*.truth.json")):
        data = json.loads(truth.read_text())
        clip = truth.with_name(truth.name.replace(".truth.json", ".mp4"))
        if clip.exists():
            return clip, data["exercise"], data.get("side")
    raise SystemExit("no sample clip found; pass --video and --exercise")


def _stats(ms: list[float]) -> tuple[float, float]:
    a = np.asarray(ms)
    return float(np.median(a)), float(np.percentile(a, 95))


def _frames_640(video: Path, limit: int) -> list[np.ndarray]:
    import cv2

    out = []
    with open_video(video) as reader:
        for f in reader.frames():
            img = f.image
            if img.shape[:2] != (480, 640):
                img = cv2.resize(img, (640, 480), interpolation=cv2.INTER_AREA)
            out.append(np.ascontiguousarray(img))
            if len(out) >= limit:
                break
    return out


def in_process(video: Path, exercise: str, side: str | None, limit: int = 600) -> dict:
    """Median/p95 ms of the live path's whole work vs raw PoseLandmarker, interleaved."""
    import av

    definition = load_library()[exercise]
    images = _frames_640(video, limit)
    frames = []
    for i, img in enumerate(images):
        vf = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        vf.pts, vf.time_base = round(i * 90000 / SEND_FPS), Fraction(1, 90000)
        frames.append(vf)
    # the live path judging every frame (a free machine), countdown off, same model
    coach = LiveCoach(definition, resolve_sides(definition, side), synchronous=True,
                      countdown_s=0.0, governor=_JudgeAll())
    coach.prepare()
    coach._spare.thread.join()  # warm-up outside the timing  # type: ignore[union-attr]
    # the model call inside the live path, timed on its own: callback minus it is what the
    # live path adds on that very frame (other programs slow the model, not this share)
    in_model: list[float] = []
    live_est = coach._spare.estimator
    model_call = live_est.raw

    def timed_raw(image: np.ndarray, t: float) -> object:
        t0 = time.perf_counter()
        try:
            return model_call(image, t)
        finally:
            in_model.append((time.perf_counter() - t0) * 1000)

    live_est.raw = timed_raw
    own_ms: list[float] = []
    raw_ms: list[float] = []
    cb_ms: list[float] = []
    raw_cpu: list[float] = []
    cb_cpu: list[float] = []
    # raw model time: the same estimator settings the app uses (VIDEO mode, full model)
    with PoseEstimator(people_check_s=None) as est:
        est.raw(images[0], 0.0)
        for i, (img, vf) in enumerate(zip(images, frames, strict=True), start=1):
            t0, c0 = time.perf_counter(), time.process_time()
            est.raw(img, i / SEND_FPS)
            raw_ms.append((time.perf_counter() - t0) * 1000)
            raw_cpu.append((time.process_time() - c0) * 1000)
            t0, c0 = time.perf_counter(), time.process_time()
            in_model.clear()
            coach.callback(vf)
            cb_ms.append((time.perf_counter() - t0) * 1000)
            own_ms.append(cb_ms[-1] - sum(in_model))
            cb_cpu.append((time.process_time() - c0) * 1000)
    judged = coach.snapshot().frames
    report = coach.report or coach.stop()
    raw_med, raw_p95 = _stats(raw_ms)
    cb_med, cb_p95 = _stats(cb_ms)
    own_med, own_p95 = _stats(own_ms)
    raw_cpu_med, raw_cpu_p95 = _stats(raw_cpu)
    cb_cpu_med, cb_cpu_p95 = _stats(cb_cpu)
    return {"own_median_ms": own_med, "own_p95_ms": own_p95,
            "cpu_ratio_median": cb_cpu_med / raw_cpu_med,
            "cpu_ratio_p95": cb_cpu_p95 / raw_cpu_p95,
            "raw_cpu_median_ms": raw_cpu_med, "callback_cpu_median_ms": cb_cpu_med,
            "frames": len(images), "judged": judged,
            "raw_median_ms": raw_med, "raw_p95_ms": raw_p95,
            "callback_median_ms": cb_med, "callback_p95_ms": cb_p95,
            "ratio_median": cb_med / raw_med, "ratio_p95": cb_p95 / raw_p95,
            "added_median_ms": cb_med - raw_med,
            "reps": report.reps_done if report else 0}


class _JudgeAll(LoadGovernor):
    """Judge every frame (the per-frame cost of the whole live path is what is measured)."""

    def should_judge(self, stream_t: float) -> bool:
        return True


@contextlib.contextmanager
def cpu_load(n: int, max_s: float) -> Iterator[None]:
    """``n`` busy processes, each ending by itself after ``max_s`` seconds (or at exit)."""
    code = f"import time\nend = time.monotonic() + {max_s}\nwhile time.monotonic() < end: pass"
    procs = [subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
             for _ in range(n)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait(timeout=10)


def in_browser(video: Path, exercise: str, side: str | None, seconds: float,
               load: int = 0) -> dict:
    """Judged and displayed frames/s with the fake camera sending 30 frames/s."""
    from tests.browser_utils import fake_camera_file, launch, run_app, wait_app_idle

    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        tmpdir = Path(tmp)
        camera = fake_camera_file(video, tmpdir / "camera.mjpeg", max_s=seconds + 10)
        timing = tmpdir / "timing.csv"
        from playwright.sync_api import sync_playwright

        with run_app(tmpdir / "data", env={"STRETCH_COACH_TIMING_LOG": str(timing)}) as app, \
                sync_playwright() as p:
            b = launch(p, camera)
            page = b.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(180_000)
            page.goto(f"{app.url}/Live_coach?stretch={exercise}")
            wait_app_idle(page)
            if side in ("left", "right"):
                page.locator('[data-testid="stRadio"]').get_by_text(
                    side.capitalize(), exact=True).click()
                wait_app_idle(page)
            page.locator(".st-key-live-panel").get_by_text("Press Start camera").wait_for()
            ctx = cpu_load(load, seconds + 120) if load else contextlib.nullcontext()
            with ctx:
                frame = page.frame_locator('iframe[title*="webrtc"]')
                frame.get_by_role("button", name="Start camera").click()
                page.locator(".st-key-live-panel").get_by_text("frames/s coached").wait_for()
                video_el = frame.locator("video").first
                count = ("v => v.getVideoPlaybackQuality ? "
                         "v.getVideoPlaybackQuality().totalVideoFrames : -1")
                shown0, t0 = video_el.evaluate(count), time.monotonic()
                time.sleep(seconds)
                shown1, t1 = video_el.evaluate(count), time.monotonic()
                alive = "connection dropped" not in page.locator(
                    ".st-key-live-panel").inner_text()
                frame.get_by_role("button", name="Stop").click()
                time.sleep(1.0)
            b.close()
        rows = [r.split(",") for r in timing.read_text().splitlines()]
    cb = np.array([[float(x) for x in r[:5]] for r in rows if len(r) == 6])
    judge = np.array([[float(x) for x in r[:5]] for r in rows if len(r) == 5])
    out: dict = {"load": load, "connection_alive": alive,
                 "displayed_fps": (shown1 - shown0) / (t1 - t0) if shown0 >= 0 else float("nan")}
    for name, a in (("judged", judge), ("callback", cb)):
        if len(a) < 2:
            out[f"{name}_fps"], out[f"{name}_median_ms"], out[f"{name}_p95_ms"] = 0.0, 0, 0
            continue
        steady = a[a[:, 0] >= a[0, 0] + 1.0]  # skip the first second
        span = steady[-1, 0] - steady[0, 0] if len(steady) > 1 else 0.0
        out[f"{name}_fps"] = (len(steady) - 1) / span if span > 0 else 0.0
        out[f"{name}_median_ms"], out[f"{name}_p95_ms"] = _stats(list(a[:, 2]))
    return out


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path)
    ap.add_argument("--exercise")
    ap.add_argument("--side")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--frames", type=int, default=600, help="frames for the in-process part")
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--load", type=int, default=2,
                    help="busy processes for the second browser run (0: none)")
    args = ap.parse_args(argv)
    if args.video is None:
        args.video, exercise, side = _default_clip()
        args.exercise = args.exercise or exercise
        args.side = args.side or side
    if not args.exercise:
        raise SystemExit("--exercise is required with --video")
    cmd = " ".join(shlex.quote(a) for a in [
        ".venv/bin/python", "benchmarks/bench_live.py", *(argv if argv is not None
                                                          else sys.argv[1:])])
    print(f"command: {cmd}")
    print(f"clip: {args.video.name} ({args.exercise}, side {args.side or 'all'}), "
          f"{os.cpu_count()} CPU cores")

    r = in_process(args.video, args.exercise, args.side, args.frames)
    print(f"\n1. per-frame cost in process, {r['frames']} frames at 640x480 "
          f"(interleaved with the raw model; {r['judged']} judged)")
    print(f"   raw PoseLandmarker (VIDEO mode): median {r['raw_median_ms']:.1f} ms, "
          f"p95 {r['raw_p95_ms']:.1f} ms")
    print(f"   live path (whole work):          median {r['callback_median_ms']:.1f} ms, "
          f"p95 {r['callback_p95_ms']:.1f} ms")
    print(f"   ratio live / raw model: median {r['ratio_median']:.2f}x, "
          f"p95 {r['ratio_p95']:.2f}x  (adds {r['added_median_ms']:.1f} ms per frame)")
    print(f"   the live path's own work on a frame (callback minus its model call): median "
          f"{r['own_median_ms']:.2f} ms, p95 {r['own_p95_ms']:.2f} ms")
    print(f"   CPU time of the process per frame (all its threads; less sensitive to other "
          f"programs): raw median {r['raw_cpu_median_ms']:.1f} ms, live "
          f"{r['callback_cpu_median_ms']:.1f} ms; ratio median {r['cpu_ratio_median']:.2f}x, "
          f"p95 {r['cpu_ratio_p95']:.2f}x")

    if not args.no_browser:
        for load in sorted({0, args.load}):
            b = in_browser(args.video, args.exercise, args.side, args.seconds, load)
            what = f"with {load} busy processes" if load else "no extra load"
            print(f"\n2. in Chromium over WebRTC (loopback), fake camera file at "
                  f"{SEND_FPS:.0f} frames/s, 640x480 (the page asks for at most 15 frames/s), "
                  f"{args.seconds:.0f} s, {what}")
            print(f"   judged: {b['judged_fps']:.1f} frames/s (judging median "
                  f"{b['judged_median_ms']:.1f} ms, p95 {b['judged_p95_ms']:.1f} ms)")
            print(f"   through the callback: {b['callback_fps']:.1f} frames/s (callback median "
                  f"{b['callback_median_ms']:.1f} ms, p95 {b['callback_p95_ms']:.1f} ms)")
            print(f"   shown in the browser: {b['displayed_fps']:.1f} frames/s; connection "
                  f"{'held' if b['connection_alive'] else 'DROPPED'}")
    print("\nsingle runs; other processes may share the cores, so compare ratios, not "
          "absolute times.")


if __name__ == "__main__":
    main()
