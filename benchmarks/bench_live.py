"""Benchmark of the live (WebRTC) path, as ratios measured in one run.

Prints:
1. per-frame cost in process: the frame callback's whole work
   (``LiveCoach.callback``: av.VideoFrame -> RGB, PoseLandmarker, people check,
   smoothing, trackers, overlay drawing, RGB -> av.VideoFrame, snapshot) against
   raw PoseLandmarker VIDEO-mode time on the same decoded 640x480 frames: median
   and p95 of each, their ratio, and the added milliseconds;
2. in a real browser (unless ``--no-browser``): the app is started with
   ``STRETCH_COACH_TIMING_LOG``, headless Chromium's fake camera sends the clip at
   30 frames/s, 640x480, for ``--seconds``; reported: frames/s processed by the
   server callback (frames the camera sent that the callback had no time for are
   dropped by streamlit-webrtc's async processing) and frames/s of the annotated
   video shown in the browser, each as a share of the 30 sent, plus the callback's
   median/p95 time under the real server.

Usage:
    .venv/bin/python benchmarks/bench_live.py [--video sample_videos/X.mp4]
        [--exercise ID] [--seconds 20] [--no-browser]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.live import LiveCoach  # noqa: E402
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
    """Median/p95 ms of the callback's work vs raw PoseLandmarker on the same frames."""
    import av

    definition = load_library()[exercise]
    images = _frames_640(video, limit)
    # raw model time: the same estimator settings the app uses (VIDEO mode, full model)
    raw_ms: list[float] = []
    with PoseEstimator(people_check_s=None) as est:
        est.raw(images[0], 0.0)
        for i, img in enumerate(images, start=1):
            t0 = time.perf_counter()
            est.raw(img, i / SEND_FPS)
            raw_ms.append((time.perf_counter() - t0) * 1000)
    # PoseEstimator.estimate: the model plus the periodic two-person check and conversion
    est_ms: list[float] = []
    with PoseEstimator() as est:
        est.estimate(images[0], 0.0)
        for i, img in enumerate(images, start=1):
            t0 = time.perf_counter()
            est.estimate(img, i / SEND_FPS)
            est_ms.append((time.perf_counter() - t0) * 1000)
    # the callback's whole work, one av.VideoFrame in and out per frame
    coach = LiveCoach(definition, resolve_sides(definition, side))
    coach.prepare()
    coach._spare_thread.join()  # warm-up outside the timing  # type: ignore[union-attr]
    frames = []
    for i, img in enumerate(images):
        vf = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        vf.pts, vf.time_base = round(i * 90000 / SEND_FPS), Fraction(1, 90000)
        frames.append(vf)
    cb_ms: list[float] = []
    for vf in frames:
        t0 = time.perf_counter()
        coach.callback(vf)
        cb_ms.append((time.perf_counter() - t0) * 1000)
    report = coach.stop()
    raw_med, raw_p95 = _stats(raw_ms)
    cb_med, cb_p95 = _stats(cb_ms)
    est_med, est_p95 = _stats(est_ms)
    return {"estimate_median_ms": est_med, "estimate_p95_ms": est_p95, "frames": len(images),
            "raw_median_ms": raw_med, "raw_p95_ms": raw_p95,
            "callback_median_ms": cb_med, "callback_p95_ms": cb_p95,
            "ratio_median": cb_med / raw_med, "ratio_p95": cb_p95 / raw_p95,
            "added_median_ms": cb_med - raw_med,
            "reps": report.reps_done if report else 0}


def in_browser(video: Path, exercise: str, side: str | None, seconds: float) -> dict:
    """Processed and displayed frames/s with the fake camera sending 30 frames/s."""
    from tests.browser_utils import fake_camera_file, launch, run_app, wait_app_idle

    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        tmpdir = Path(tmp)
        camera = fake_camera_file(video, tmpdir / "camera.mjpeg", max_s=seconds + 5)
        timing = tmpdir / "timing.csv"
        from playwright.sync_api import sync_playwright

        with run_app(tmpdir / "data", env={"STRETCH_COACH_TIMING_LOG": str(timing)}) as app, \
                sync_playwright() as p:
            b = launch(p, camera)
            page = b.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(f"{app.url}/Live_coach?stretch={exercise}")
            wait_app_idle(page)
            if side in ("left", "right"):
                page.locator('[data-testid="stRadio"]').get_by_text(
                    side.capitalize(), exact=True).click()
                wait_app_idle(page)
            time.sleep(2.0)  # let the page's model warm-up finish
            frame = page.frame_locator('iframe[title*="webrtc"]')
            frame.get_by_role("button", name="Start camera").click()
            page.locator(".st-key-live-panel").get_by_text("frames/s processed").wait_for()
            video_el = frame.locator("video").first
            count = ("v => v.getVideoPlaybackQuality ? "
                     "v.getVideoPlaybackQuality().totalVideoFrames : -1")
            time.sleep(1.0)
            shown0, t0 = video_el.evaluate(count), time.monotonic()
            time.sleep(seconds)
            shown1, t1 = video_el.evaluate(count), time.monotonic()
            frame.get_by_role("button", name="Stop").click()
            time.sleep(1.0)
            b.close()
        rows = np.loadtxt(timing, delimiter=",", ndmin=2)
    wall = rows[:, 0]
    steady = rows[wall >= wall[0] + 1.0]  # skip the first second (connection, warm-up)
    span = steady[-1, 0] - steady[0, 0]
    processed_fps = (len(steady) - 1) / span if span > 0 else 0.0
    shown_fps = (shown1 - shown0) / (t1 - t0) if shown0 >= 0 else float("nan")
    med, p95 = _stats(list(steady[:, 2]))
    return {"seconds": round(span, 1), "processed_fps": processed_fps,
            "displayed_fps": shown_fps, "server_callback_median_ms": med,
            "server_callback_p95_ms": p95}


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path)
    ap.add_argument("--exercise")
    ap.add_argument("--side")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--frames", type=int, default=600, help="frames for the in-process part")
    ap.add_argument("--no-browser", action="store_true")
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
    print(f"\n1. per-frame cost in process, {r['frames']} frames at 640x480")
    print(f"   raw PoseLandmarker (VIDEO mode): median {r['raw_median_ms']:.1f} ms, "
          f"p95 {r['raw_p95_ms']:.1f} ms")
    print(f"   PoseEstimator.estimate (+ 2-person check every 2 s): median "
          f"{r['estimate_median_ms']:.1f} ms, p95 {r['estimate_p95_ms']:.1f} ms")
    print(f"   live callback (whole work):      median {r['callback_median_ms']:.1f} ms, "
          f"p95 {r['callback_p95_ms']:.1f} ms")
    print(f"   ratio callback / raw model: median {r['ratio_median']:.2f}x, "
          f"p95 {r['ratio_p95']:.2f}x  (adds {r['added_median_ms']:.1f} ms per frame; "
          f"ceiling {1000 / r['callback_median_ms']:.0f} frames/s on one core)")

    if not args.no_browser:
        b = in_browser(args.video, args.exercise, args.side, args.seconds)
        print(f"\n2. in Chromium over WebRTC (loopback), camera sending {SEND_FPS:.0f} frames/s "
              f"at 640x480, {b['seconds']} s steady state")
        print(f"   processed by the server callback: {b['processed_fps']:.1f} frames/s "
              f"= {b['processed_fps'] / SEND_FPS:.0%} of sent")
        print(f"   video frames shown in the browser: {b['displayed_fps']:.1f} frames/s "
              f"= {b['displayed_fps'] / SEND_FPS:.0%} of sent (a frame the callback skipped "
              "is sent back with the last annotation)")
        print(f"   callback under the real server: median {b['server_callback_median_ms']:.1f}"
              f" ms, p95 {b['server_callback_p95_ms']:.1f} ms "
              f"({b['server_callback_median_ms'] / r['raw_median_ms']:.2f}x the raw model "
              f"median)")
    print("\nsingle runs; other processes may share the cores, so compare ratios, not "
          "absolute times.")


if __name__ == "__main__":
    main()
