"""Benchmark of the video-analysis pipeline, as ratios measured in one run.

Prints:
0. real-time factor: clip seconds analysed per wall-clock second by ``analyze_video``
   with the default options (settled frames skipped) and judging every frame, and the
   CPU time per *judged* frame (all of the process's threads counted) over two raw
   baselines measured in the same run on the same clip:
   a. the raw model alone: PoseLandmarker's CPU per frame on already decoded frames;
   b. a bare decode + PoseLandmarker loop: every frame decoded, converted and given to
      the model in one thread, CPU per frame (what the issue's 0.97 / 13 % compared);
   with ``--repeats N`` the whole block is measured N times (spread on a shared machine),
   and the default analysis is also run as it was before unjudged frames were left
   undecoded (every frame decoded, frames converted ahead of the gate) for a
   before/after in one run;
1. throughput: the whole pipeline (decode + PoseLandmarker + smoothing + trackers
   + report) in frames/s divided by raw PoseLandmarker VIDEO-mode frames/s on the
   same, already decoded frames;
2. smoothing lag: delay (ms) the One-Euro filter adds on a moving landmark,
   measured by cross-correlation, with the jitter reduction it buys;
3. peak memory (RSS) of ``stretch-coach analyze`` on a 30 s and a 5 min video
   made from the same clip, and their difference.

Usage:
    .venv/bin/python benchmarks/bench_pipeline.py [--video sample_videos/X.mp4]
        [--exercise ID] [--skip-memory] [--repeats N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.analyze import AnalysisOptions, _Gate, analyze_video  # noqa: E402
from exercises.definition import load_library  # noqa: E402
from pose.estimator import PoseEstimator  # noqa: E402
from pose.smoothing import OneEuroFilter  # noqa: E402
from pose.video import open_video  # noqa: E402
from pose.video_writer import AnnotatedVideoWriter  # noqa: E402


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
        every = AnalysisOptions(max_skip_s=0)  # every frame through the model, as the raw loop
        with PoseEstimator(people_check_s=every.people_check_s) as est:
            est.raw(images[0], 0.0)
            t0 = time.perf_counter()
            report = analyze_video(video, definition, every, estimator=est)
            pipe_best = max(pipe_best, report.frames / (time.perf_counter() - t0))
    return {"frames": n, "raw_fps": raw_best, "pipeline_fps": pipe_best,
            "ratio": pipe_best / raw_best}


@contextlib.contextmanager
def _previous_gate() -> Iterator[None]:
    """The analysis as it was before unjudged frames were left undecoded: every frame
    decoded, and converted unless the gate was already past it when the decoding thread
    (a queue's length ahead of the model) reached it."""
    with mock.patch.object(_Gate, "surely_unwanted", lambda self, t: False), \
            mock.patch.object(_Gate, "wanted", lambda self, t: t >= self.next_t):
        yield


def realtime(video: Path, exercise: str) -> dict[str, float]:
    """Real-time factor of the analysis and CPU per judged frame over two raw baselines:
    the model alone on decoded frames, and a bare decode + model loop on every frame."""
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
    with PoseEstimator(people_check_s=None) as est:  # one check for a second person
        est._count_people(images[0])
        c0 = time.process_time()
        for img in images[::100]:
            est._count_people(img)
        out["people_check_ms"] = 1000 * (time.process_time() - c0) / len(images[::100])
    del images
    with open_video(video) as reader:  # decoding alone: every frame / what others refer to
        for name, unwanted in (("decode_all", False), ("decode_refs", True)):
            c0 = time.process_time()
            for _ in reader.frames(max_side=960, wanted=lambda t: False,
                                   surely_unwanted=lambda t, u=unwanted: u):
                pass
            out[f"{name}_ms"] = 1000 * (time.process_time() - c0)
    with PoseEstimator(people_check_s=None) as est, open_video(video) as reader:
        est.raw(np.zeros((8, 8, 3), np.uint8), 0.0)
        c0, t0 = time.process_time(), time.perf_counter()
        n = 0
        for f in reader.frames(max_side=960):
            est.raw(f.image, 1.0 + f.timestamp_s)
            n += 1
        out["bare_cpu_ms"] = 1000 * (time.process_time() - c0) / n
        out["bare_rtf"] = seconds / (time.perf_counter() - t0)
    runs = (("default", AnalysisOptions(), False), ("before", AnalysisOptions(), True),
            ("every", AnalysisOptions(max_skip_s=0), False))
    for name, opts, before in runs:
        with PoseEstimator(people_check_s=opts.people_check_s) as est:
            est.raw(np.zeros((8, 8, 3), np.uint8), 0.0)
            with _previous_gate() if before else contextlib.nullcontext():
                c0, t0 = time.process_time(), time.perf_counter()
                report = analyze_video(video, definition, opts, estimator=est)
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        judged = report.media["frames_judged"]
        out[f"{name}_people_checks"] = est.people_checks
        out[f"{name}_rtf"] = seconds / wall
        out[f"{name}_judged"] = judged
        out[f"{name}_cpu_per_judged_ms"] = 1000 * cpu / max(judged, 1)
        out[f"{name}_reps"] = report.reps_done
        out[f"{name}_holds"] = report.holds_completed
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


def _print_realtime(rt: dict[str, float], prefix: str) -> None:
    def ratios(name: str) -> str:
        ms = rt[f"{name}_cpu_per_judged_ms"]
        return (f"{ms / rt['raw_cpu_ms']:.2f} vs model alone, {ms / rt['bare_cpu_ms']:.2f} vs "
                f"bare decode+model loop ({ms:.1f} ms)")

    print(f"{prefix}real time: {rt['clip_s']:.1f} s clip ({rt['frames']} frames) analysed at "
          f"{rt['default_rtf']:.2f}x real time (default: {rt['default_judged']} frames judged, "
          f"{rt['default_reps']} reps, {rt['default_holds']} holds), {rt['every_rtf']:.2f}x "
          f"judging every frame ({rt['every_reps']} reps, {rt['every_holds']} holds); "
          f"raw model alone on decoded frames {rt['raw_rtf']:.2f}x, bare decode+model loop "
          f"{rt['bare_rtf']:.2f}x")
    print(f"{prefix}CPU per judged frame / raw CPU per frame (model alone on decoded frames "
          f"{rt['raw_cpu_ms']:.1f} ms; bare decode+model loop over every frame "
          f"{rt['bare_cpu_ms']:.1f} ms):")
    print(f"{prefix}  default (settled frames skipped, unjudged non-reference frames left "
          f"undecoded): {ratios('default')}")
    print(f"{prefix}  default as before (every frame decoded, frames converted ahead of "
          f"the gate): {ratios('before')}, {rt['before_rtf']:.2f}x real time "
          f"[{rt['before_judged']} judged, {rt['before_reps']} reps, "
          f"{rt['before_holds']} holds]")
    print(f"{prefix}  judging every frame: {ratios('every')}")
    judged, raw = rt["default_judged"], rt["raw_cpu_ms"]
    refs = rt["decode_refs_ms"] / judged
    people = rt["default_people_checks"] * rt["people_check_ms"] / judged
    print(f"{prefix}floor of the default per judged frame, vs model alone: decoding the frames "
          f"others refer to {refs:.2f} ms ({refs / raw:.3f}; every frame: "
          f"{rt['decode_all_ms'] / judged:.2f} ms), checks for a second person "
          f"{people:.2f} ms ({people / raw:.3f}: {rt['default_people_checks']} checks x "
          f"{rt['people_check_ms']:.1f} ms) -> {1 + (refs + people) / raw:.2f} before "
          f"conversion, smoothing and judging")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path)
    ap.add_argument("--exercise")
    ap.add_argument("--skip-memory", action="store_true", help="skip the 5-minute memory run")
    ap.add_argument("--repeats", type=int, default=1,
                    help="measure the real-time block this many times (spread)")
    args = ap.parse_args()
    if args.video is None:
        args.video, ex = _default_clip()
        args.exercise = args.exercise or ex
    if not args.exercise:
        ap.error("--exercise is required with --video")
    print(f"clip: {args.video.name} ({args.exercise}); machine cores: "
          f"{len(__import__('os').sched_getaffinity(0))}")
    for run in range(1, args.repeats + 1):
        rt = realtime(args.video, args.exercise)
        _print_realtime(rt, f"run {run}/{args.repeats}: " if args.repeats > 1 else "")
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
