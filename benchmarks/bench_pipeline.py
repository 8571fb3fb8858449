"""Benchmark of the video-analysis pipeline, as ratios measured in one run.

Prints:
0. real-time factor: clip seconds analysed per wall-clock second by ``analyze_video``
   with the default options (settled frames skipped) and judging every frame, and the
   CPU time per *judged* frame over the raw model's CPU time per frame on the same,
   already decoded frames (all of the process's threads counted);
1. throughput: the whole pipeline (decode + PoseLandmarker + smoothing + trackers
   + report) in frames/s divided by raw PoseLandmarker VIDEO-mode frames/s on the
   same, already decoded frames;
2. smoothing lag: delay (ms) the One-Euro filter adds on a moving landmark,
   measured by cross-correlation, with the jitter reduction it buys;
3. peak memory (RSS) of ``stretch-coach analyze`` on a 30 s and a 5 min video
   made from the same clip, and their difference.

Usage:
    .venv/bin/python benchmarks/bench_pipeline.py [--video sample_videos/X.mp4]
        [--exercise ID] [--skip-memory]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.analyze import AnalysisOptions, analyze_video  # noqa: E402
from exercises.definition import load_library  # noqa: E402
from pose.estimator import PoseEstimator  # noqa: E402
from pose.smoothing import OneEuroFilter  # noqa: E402
from pose.video import AnnotatedVideoWriter, open_video  # noqa: E402


def _default_clip() -> tuple[Path, str]:
    for truth in sorted((ROOT / "sample_videos").glob("*.truth.json")):
        data = json.loads(truth.read_text())
        clip = truth.with_name(truth.name.replace(".truth.json", ".mp4"))
        if clip.exists():
            return clip, data["exercise"]
    raise SystemExit("no sample clip found; pass --video and --exercise")


def throughput(video: Path, exercise: str, repeats: int = 2) -> dict[str, float]:
    """Pipeline frames/s over raw PoseLandmarker frames/s, best of ``repeats`` each."""
    definition = load_library()[exercise]
    with open_video(video) as reader:
        images = [f.image for f in reader.frames(max_side=960)]
    n = len(images)
    raw_best, pipe_best = 0.0, 0.0
    for _ in range(repeats):
        with PoseEstimator(people_check_s=None) as est:
            est.raw(images[0], 0.0)  # warm-up outside the timing
            t0 = time.perf_counter()
            for i, img in enumerate(images, start=1):
                est.raw(img, i / 30.0)
            raw_best = max(raw_best, n / (time.perf_counter() - t0))
        with PoseEstimator(people_check_s=AnalysisOptions().people_check_s) as est:
            est.raw(images[0], 0.0)
            t0 = time.perf_counter()
            report = analyze_video(video, definition, AnalysisOptions(), estimator=est)
            pipe_best = max(pipe_best, report.frames / (time.perf_counter() - t0))
    return {"frames": n, "raw_fps": raw_best, "pipeline_fps": pipe_best,
            "ratio": pipe_best / raw_best}


def realtime(video: Path, exercise: str) -> dict[str, float]:
    """Real-time factor of the analysis and CPU per judged frame over the raw model's."""
    definition = load_library()[exercise]
    with open_video(video) as reader:
        seconds = reader.info.duration_s
        images = [f.image for f in reader.frames(max_side=960)]
    out: dict[str, float] = {"clip_s": seconds, "frames": len(images)}
    with PoseEstimator(people_check_s=None) as est:
        est.raw(images[0], 0.0)
        c0, t0 = time.process_time(), time.perf_counter()
        for i, img in enumerate(images, start=1):
            est.raw(img, i / 30.0)
        out["raw_cpu_ms"] = 1000 * (time.process_time() - c0) / len(images)
        out["raw_rtf"] = seconds / (time.perf_counter() - t0)  # decoding excluded
    for name, opts in (("default", AnalysisOptions()), ("every", AnalysisOptions(max_skip_s=0))):
        with PoseEstimator(people_check_s=opts.people_check_s) as est:
            est.raw(images[0], 0.0)
            c0, t0 = time.process_time(), time.perf_counter()
            report = analyze_video(video, definition, opts, estimator=est)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        judged = report.media["frames_judged"]
        out[f"{name}_rtf"] = seconds / wall
        out[f"{name}_judged"] = judged
        out[f"{name}_cpu_per_judged_ms"] = 1000 * cpu / max(judged, 1)
        out[f"{name}_reps"] = report.reps_done
    return out


def smoothing_lag(fps: float = 30.0) -> dict[str, float]:
    """Lag (ms) and jitter reduction of the default One-Euro filter on stretch-like motions.

    The motions: a landmark moving 120 px back and forth at 0.25 Hz (a slow
    stretch) and at 1 Hz (a brisk one), plus 2 px Gaussian jitter (what
    MediaPipe shows on a still person). The lag is the phase delay of the
    filtered sine, fitted by least squares, so it is not limited to whole frames.
    """
    rng = np.random.default_rng(0)
    t = np.arange(0, 40, 1 / fps)
    out: dict[str, float] = {}
    for hz in (0.25, 1.0):
        w = 2 * np.pi * hz
        noisy = 120 * np.sin(w * t) + rng.normal(0, 2.0, t.size)
        f = OneEuroFilter()
        smooth = np.array([f(np.array([x]), ti)[0] for x, ti in zip(noisy, t, strict=True)])
        keep = t > 2.0
        basis = np.stack([np.sin(w * t[keep]), np.cos(w * t[keep])], axis=1)
        (a, b), *_ = np.linalg.lstsq(basis, smooth[keep], rcond=None)
        out[f"lag_ms_{hz:g}hz"] = 1000 * float(np.arctan2(-b, a)) / w
    still = 300 + rng.normal(0, 2.0, t.size)
    f2 = OneEuroFilter()
    s2 = np.array([f2(np.array([x]), ti)[0] for x, ti in zip(still, t, strict=True)])
    out["jitter_raw_px"] = float(np.std(still[30:]))
    out["jitter_smoothed_px"] = float(np.std(s2[30:]))
    return out


def _make_long(video: Path, seconds: float, out: Path) -> None:
    """Loop ``video`` into a ``seconds``-long clip, streaming (no frame list in memory)."""
    with open_video(video) as reader:
        fps, w, h = reader.info.fps, reader.info.width, reader.info.height
    total = round(seconds * fps)
    written = 0
    with AnnotatedVideoWriter(out, fps, w, h, crf=30) as writer:
        while written < total:
            with open_video(video) as reader:
                for frame in reader.frames():
                    if written == total:
                        break
                    writer.write(frame.image)
                    written += 1


def _peak_rss_mb(video: Path, exercise: str) -> float:
    """Peak resident memory of a fresh ``stretch-coach analyze`` process, in MB.

    Read from the child's own VmHWM: ``ru_maxrss`` would be wrong here, because on
    Linux it survives exec and starts from the parent's size at fork.
    """
    code = ("import sys; from app.cli import main\n"
            "try:\n main(['analyze', sys.argv[1], '-e', sys.argv[2], '-q'])\n"
            "except SystemExit: pass\n"
            "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0])")
    out = subprocess.run([sys.executable, "-c", code, str(video), exercise],
                         capture_output=True, text=True, cwd=ROOT, check=True).stdout
    kb = int(next(line for line in out.splitlines() if line.startswith("VmHWM")).split()[1])
    return kb / 1024.0


def memory(video: Path, exercise: str) -> dict[str, float]:
    """Peak RSS of the CLI on a 30 s and a 5 min video made from ``video``."""
    with tempfile.TemporaryDirectory() as tmp:
        short, long_ = Path(tmp) / "30s.mp4", Path(tmp) / "5min.mp4"
        _make_long(video, 30, short)
        _make_long(video, 300, long_)
        a = _peak_rss_mb(short, exercise)
        b = _peak_rss_mb(long_, exercise)
    return {"peak_30s_mb": a, "peak_5min_mb": b, "difference_mb": b - a}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path)
    ap.add_argument("--exercise")
    ap.add_argument("--skip-memory", action="store_true", help="skip the 5-minute memory run")
    args = ap.parse_args()
    if args.video is None:
        args.video, ex = _default_clip()
        args.exercise = args.exercise or ex
    if not args.exercise:
        ap.error("--exercise is required with --video")
    print(f"clip: {args.video.name} ({args.exercise}); machine cores: "
          f"{len(__import__('os').sched_getaffinity(0))}")
    rt = realtime(args.video, args.exercise)
    print(f"real time: {rt['clip_s']:.1f} s clip ({rt['frames']} frames) analysed at "
          f"{rt['default_rtf']:.2f}x real time (default: {rt['default_judged']} frames judged, "
          f"{rt['default_reps']} reps), {rt['every_rtf']:.2f}x judging every frame "
          f"({rt['every_reps']} reps); raw model alone on decoded frames {rt['raw_rtf']:.2f}x")
    print(f"CPU per judged frame / raw model CPU per frame: default "
          f"{rt['default_cpu_per_judged_ms'] / rt['raw_cpu_ms']:.2f}, every frame "
          f"{rt['every_cpu_per_judged_ms'] / rt['raw_cpu_ms']:.2f} "
          f"({rt['default_cpu_per_judged_ms']:.1f} / {rt['every_cpu_per_judged_ms']:.1f} vs "
          f"{rt['raw_cpu_ms']:.1f} ms, decoding of every frame included)")
    tp = throughput(args.video, args.exercise)
    print(f"throughput: pipeline {tp['pipeline_fps']:.1f} fps / raw PoseLandmarker "
          f"{tp['raw_fps']:.1f} fps = ratio {tp['ratio']:.2f} ({tp['frames']} frames)")
    lag = smoothing_lag()
    print(f"smoothing: lag {lag['lag_ms_0.25hz']:.0f} ms at 0.25 Hz, {lag['lag_ms_1hz']:.0f} ms "
          f"at 1 Hz; still-landmark jitter "
          f"{lag['jitter_raw_px']:.2f} px -> {lag['jitter_smoothed_px']:.2f} px")
    if not args.skip_memory:
        mem = memory(args.video, args.exercise)
        print(f"memory: peak RSS 30 s video {mem['peak_30s_mb']:.0f} MB, 5 min video "
              f"{mem['peak_5min_mb']:.0f} MB, difference {mem['difference_mb']:+.0f} MB")


if __name__ == "__main__":
    main()
