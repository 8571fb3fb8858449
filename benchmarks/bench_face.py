"""Per-frame cost of the face model relative to the pose model, on one clip.

Runs PoseLandmarker (VIDEO mode, as the coach does) over the clip's decoded frames
and, on each frame with a person, the face model (``pose.face.FaceEstimator``, ROI
tracked from the previous frame's mesh), timing the two separately. Prints the
median per-frame times and their ratio, and how often the face was found.

Usage:
    .venv/bin/python benchmarks/bench_face.py [--video sample_videos/X.mp4]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    from pose.estimator import PoseEstimator
    from pose.face import FaceEstimator
    from pose.video import open_video

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = ROOT / "sample_videos" / "neck_side_tilt_left_good.mp4"
    parser.add_argument("--video", default=str(default))
    args = parser.parse_args(argv)
    pose_ms: list[float] = []
    face_ms: list[float] = []
    found = 0
    with open_video(args.video) as reader, PoseEstimator(people_check_s=None) as est:
        face = FaceEstimator()
        for vf in reader.frames():
            t0 = time.perf_counter()
            frame = est.estimate(vf.image, vf.timestamp_s)
            t1 = time.perf_counter()
            pose_ms.append((t1 - t0) * 1000)
            if frame.is_empty:
                continue
            head = face.estimate(vf.image, frame)
            face_ms.append((time.perf_counter() - t1) * 1000)
            found += head is not None
    pose_med, face_med = float(np.median(pose_ms[5:])), float(np.median(face_ms[5:]))
    print(f"{Path(args.video).name}: {len(pose_ms)} frames; pose model {pose_med:.1f} ms/frame, "
          f"face model {face_med:.1f} ms/frame (median) -> ratio {face_med / pose_med:.2f}; "
          f"face found on {found}/{len(face_ms)} frames with a person, "
          f"{face.runs / max(1, len(face_ms)):.2f} network runs per frame")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
