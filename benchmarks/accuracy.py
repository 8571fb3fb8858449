"""Accuracy benchmark: the real ``analyze`` path against ground truth, per stretch/exercise.

Runs ``coach.analyze.analyze_video`` (the code ``stretch-coach analyze`` runs: decoder,
PoseLandmarker, smoothing, trackers, report) over up to four suites and compares its
report with the truth beside each clip:

* ``samples``: ``sample_videos/*.mp4`` with ``*.truth.json`` (the avatar sidecar format:
  ``exercise``, ``side``, per-frame ``landmarks``, ``reps`` and ``expected``);
* ``validation``: a folder of generated clips in the same sidecar format (``--validation``;
  e.g. from ``python -m avatar validation --out DIR``);
* ``real``: a folder of real-person clips with hand-made truth ``<clip>.json`` in the
  real-clips format (``rep_count``, ``reps[]``, ``holds[]``, ``non_exercise_segments``;
  ``--real``). Each clip's ``movement`` picks a definition from ``REAL_MOVEMENTS`` (or a
  ``definition`` field in the truth file, or a ``--real-map`` JSON file
  ``{"<clip stem or movement>": {"definition": ID, "side": "left|right|null"}}``);
* ``workout``: the labelled push-up / pull-up / squat set (``--workout DIR`` holding
  ``raw/<exercise>/*.mp4`` and ``labels/<exercise>/<name>.csv`` with ``frame,time,label``;
  a 1 marks a finished rep). A plain two-threshold angle counter runs on the *same* pose
  model output beside the project, so the comparison is made in one run.

Per group it prints count exact %, within one %, count MAE, hold-time error (s),
primary-measure MAE against per-frame truth (where the truth has it) and fault timing
(where the truth lists faults), then one row per clip. The table goes to stdout as
markdown, progress to stderr, ``--json FILE`` writes everything machine-readable.

Counting convention for the workout set: ``count`` is the number of labelled frames
(the count the set's README gives). Read against the pose, a label marks the moment a
rep is *done* (back at the top of a push-up, at straight arms), not its start: a label
in a clip's last second is a rep that finished just before the end, and a rep still
on its way back when the clip ends has no label. Label files that are all zeros are
excluded (15 push-up files have no label at all although their clips show push-ups); a
label file whose video is absent, a git-LFS pointer or unreadable counts as missing.

Pose cache: by default the model's output for each clip is recorded under
``--pose-cache`` (keyed by the video's SHA-256, the model file and the options that
change what the model sees) and replayed on later runs, so changing a definition or
the engine re-judges every clip in seconds. Decoding, smoothing, trackers and report
still run for real; ``--no-cache`` runs the model afresh.

Usage:
    python benchmarks/accuracy.py                          # samples only
    python benchmarks/accuracy.py --real ../realclips/calib --workout ../realclips/workout \\
        --definitions benchmarks/definitions --json out/accuracy.json
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing
import os
import sys
import time
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.cases import (  # noqa: E402, F401  (re-exported for callers and tests)
    DEFINITIONS,
    REAL_MOVEMENTS,
    WORKOUT,
    Case,
    Result,
    real_cases,
    sample_cases,
    workout_cases,
)
from benchmarks.report import markdown, summarise  # noqa: E402
from coach.analyze import AnalysisOptions, analyze_video  # noqa: E402
from exercises.definition import StretchDefinition, load_library  # noqa: E402
from exercises.measures import definition_needs_face, get_measure  # noqa: E402
from pose.frame import PoseFrame  # noqa: E402
from pose.geometry import joint_angle  # noqa: E402
from pose.landmarks import NUM_LANDMARKS, side_landmark  # noqa: E402

log = logging.getLogger("accuracy")

DEFAULT_CACHE = Path(os.environ.get("STRETCH_COACH_BENCH_CACHE",
                                    Path.home() / ".cache" / "stretch-coach" / "bench-poses"))
ANALYSIS = {"max_side": 960, "num_poses": 1, "people_check_s": 4.0}  # AnalysisOptions defaults

_JOINTS = {"elbow": ("shoulder", "elbow", "wrist"), "knee": ("hip", "knee", "ankle")}


# ------------------------------------------------------------------ analysis of one case

def plain_counter(frames: list[PoseFrame], joint: str, up: float, down: float) -> int:
    """The plain two-threshold counter on raw pose frames (see ``WORKOUT``)."""
    a, b, c = _JOINTS[joint]
    reps, is_down = 0, False
    for f in frames:
        if f.is_empty:
            continue
        best, best_vis = math.nan, -1.0
        for side in ("left", "right"):
            lms = [side_landmark(side, p) for p in (a, b, c)]
            vis = float(np.mean([f.visibility[int(lm)] for lm in lms]))
            if vis > best_vis:
                best_vis = vis
                best = joint_angle(*(f.point(lm) for lm in lms))
        if not math.isfinite(best):
            continue
        if best < down:
            is_down = True
        elif best > up and is_down:
            is_down = False
            reps += 1
    return reps


def _truth_series(truth: dict[str, Any], measure: str, side: str) -> np.ndarray:
    """Primary measure on the sidecar's projected true joints, per frame."""
    w, h = truth["width"], truth["height"]
    m = get_measure(measure)
    out = []
    for i, pts in enumerate(truth["landmarks"]):
        xy = np.array([[np.nan, np.nan] if p is None else p for p in pts], dtype=float)
        if xy.shape != (NUM_LANDMARKS, 2):
            out.append(np.nan)
            continue
        vis = np.where(np.isfinite(xy[:, 0]), 1.0, 0.0)
        out.append(m(PoseFrame(xy=xy, visibility=vis, timestamp_s=i / truth["fps"],
                               image_size=(w, h)), side))
    return np.array(out, dtype=float)


def _estimator(case: Case, cache: Path | None,
               face: bool = False) -> tuple[object, Path | None, bool]:
    from benchmarks.pose_cache import CacheKey, RecordingEstimator, ReplayEstimator, load_frames
    from pose.model import resolve_model

    model = resolve_model(None)
    out = None
    if cache is not None:
        key = CacheKey.for_video(case.video, model, **ANALYSIS)
        out = cache / key.file_name()
        if out.exists():
            return ReplayEstimator(load_frames(out)), out, True
    from pose.estimator import PoseEstimator

    est = PoseEstimator(model, num_poses=ANALYSIS["num_poses"],
                        people_check_s=ANALYSIS["people_check_s"], face=face)
    if out is None:
        return est, None, False
    return RecordingEstimator(est), out, False


def run_case(case: Case, library: dict[str, StretchDefinition], cache: Path | None,
             csv_dir: Path | None = None) -> Result:
    """Analyse one clip with the real analyze path and compare with its truth."""
    from benchmarks.pose_cache import CacheKey, save_frames

    res = Result(case)
    if case.skip:
        res.error = case.skip
        return res
    if case.definition not in library:
        res.error = f"definition {case.definition!r} not found (pass --definitions DIR)"
        return res
    definition = library[case.definition]
    t0 = time.perf_counter()
    if definition_needs_face(definition):
        cache = None  # the cache holds pose landmarks only; the face model runs afresh
    try:
        estimator, cache_file, replayed = _estimator(case, cache, definition_needs_face(definition))
    except Exception as e:  # unreadable video while hashing, model unavailable
        res.error = f"{type(e).__name__}: {e}"
        return res
    try:
        csv_path = (csv_dir / (case.name.replace("/", "__") + ".csv")) if csv_dir else None
        # every frame judged: the cache stays complete and the measure MAE is over every
        # frame (tests/test_frame_skipping.py shows the default skipping keeps counts
        # and holds)
        options = AnalysisOptions(side=case.side, csv_path=csv_path, max_skip_s=0.0,
                                  **ANALYSIS)
        report = analyze_video(case.video, definition, options, estimator=estimator)
    except Exception as e:
        res.error = f"{type(e).__name__}: {e}"
        return res
    finally:
        estimator.close()  # type: ignore[attr-defined]
    frames = getattr(estimator, "frames", [])
    if cache_file is not None and not replayed:
        from pose.model import resolve_model

        save_frames(cache_file, frames, CacheKey.for_video(case.video, resolve_model(None),
                                                           **ANALYSIS))
    res.seconds = time.perf_counter() - t0
    res.count = report.reps_done
    res.full_reps = sum(1 for r in report.reps if r["counted"] and r["reached_target"])
    res.assessable_share = report.assessable_share
    res.setup_issues = dict(report.setup_issues)
    if report.diagnosis:
        res.diagnosis = f"{report.diagnosis['code']}: {report.diagnosis['message']}"
    res.reps = [{k: r[k] for k in ("side", "start_s", "end_s", "complete", "peak",
                                   "reached_target", "hold_s")} for r in report.reps]
    if case.plain is not None:
        res.plain_count = plain_counter(frames, *case.plain)
    _compare_holds(res, report, definition)
    _compare_faults(res, report)
    _compare_series(res, report, definition)
    for r in report.reps:
        if r["counted"] and any(s <= (r["start_s"] or 0) < e for s, e in case.non_exercise):
            res.reps_in_non_exercise += 1
    return res


@lru_cache(maxsize=1)
def _sidecar(path: str) -> dict[str, Any]:
    """A rendered clip's truth sidecar, read once for the holds and the series (read
    only: callers must not change it)."""
    return json.loads(Path(path).read_text())


def _compare_holds(res: Result, report: Any, definition: StretchDefinition) -> None:
    """Each truth hold against the counted rep it belongs to. For rendered clips the truth
    is geometric: the time the rig's true primary measure spent in the target band
    (``avatar.verify.true_hold_times``), not the acted plateau."""
    geometric: list[float] = []
    if res.case.truth_path is not None:
        from avatar.verify import true_hold_times

        geometric = true_hold_times(_sidecar(res.case.truth_path), definition,
                                    res.case.truth_side)
    for h in res.case.holds:
        truth = h.get("hold_s", h["end_s"] - h["start_s"])
        k = h.get("rep", 0) - 1
        if 0 <= k < len(geometric) and math.isfinite(geometric[k]):
            truth = geometric[k]
        # the reported rep (counted or not) whose span holds the middle of the acted hold
        mid = (h["start_s"] + h["end_s"]) / 2
        match = next((r for r in report.reps
                      if r["start_s"] <= mid <= (r["end_s"] if r["end_s"] is not None
                                                 else math.inf)), None)
        if match is None and truth == 0.0:
            continue  # never in the band, and nothing reported: nothing to time
        if match is None:
            res.holds_missed += 1
            res.hold_errors.append(truth)
        else:
            res.hold_errors.append(abs((match["hold_s"] or 0.0) - truth))


def _compare_faults(res: Result, report: Any) -> None:
    for f in res.case.faults:
        matches = [g for g in report.faults if g["id"] == f["id"] and g["rep"] == f.get("rep")]
        if not matches:
            res.faults_missed += 1
            continue
        res.fault_errors.append(min(abs(g["start_s"] - f["start_s"]) for g in matches))


def _compare_series(res: Result, report: Any, definition: StretchDefinition) -> None:
    case = res.case
    if case.truth_path is None:
        return
    truth = _sidecar(case.truth_path)
    if not truth.get("landmarks"):
        return
    p = definition.primary
    if not definition.is_sided:
        msr_side, key = "left", "both"
    else:
        side = case.truth_side if case.truth_side in ("left", "right") else definition.sides[0]
        msr_side = side if p.side == "same" else ("right" if side == "left" else "left")
        key = side
    if key not in report.series:
        return
    given = (truth.get("truth_measures") or {}).get(f"{p.measure}@{msr_side}")
    if given is None and not definition.is_sided:
        given = (truth.get("truth_measures") or {}).get(p.measure)
    expected = (np.array([np.nan if v is None else v for v in given], dtype=float)
                if given is not None else _truth_series(truth, p.measure, msr_side))
    head_yaw = (truth.get("head") or {}).get("yaw")
    if p.measure == "neck_rotation" and head_yaw:
        # the rig's own head yaw against the upper trunk (toward the person's left), as
        # tests/test_face.py uses. The sidecar's neck_rotation series is the pose twin on
        # the rig's points, an estimate: on varied bodies it agreed with readings 7-11
        # degrees wide of the rig's 55 degree turns
        toward = 1.0 if msr_side == "left" else -1.0
        expected = toward * np.array([np.nan if v is None else v for v in head_yaw], float)
    got = np.array([np.nan if v is None else v for v in report.frame_series(key, expected.size)],
                   dtype=float)  # per frame index; NaN where a settled frame was not judged
    n = min(got.size, expected.size)
    got, expected = got[:n], expected[:n]
    if p.baseline != "none":
        # judged from the person's own resting value: both series as changes from their
        # own rest (the frames before the first rep), as tests/test_samples.py does
        from avatar.verify import from_rest

        reps, fps = truth.get("reps") or [], float(truth["fps"])
        got, expected = from_rest(got, reps, fps), from_rest(expected, reps, fps)
    ok = np.isfinite(got) & np.isfinite(expected)
    if ok.any():
        res.measure_mae = float(np.mean(np.abs(got[ok] - expected[ok])))


# ------------------------------------------------------------------ aggregation and output

# ------------------------------------------------------------------ main

_LIB: dict[str, StretchDefinition] = {}
_CFG: dict[str, Any] = {}


def _init_worker(definitions: list[str], cache: str | None, csv_dir: str | None) -> None:
    logging.basicConfig(level=logging.WARNING)
    _LIB.update(load_definitions(definitions))
    _CFG.update(cache=Path(cache) if cache else None, csv_dir=Path(csv_dir) if csv_dir else None)


def _work(case: Case) -> Result:
    return run_case(case, _LIB, _CFG["cache"], _CFG["csv_dir"])


def load_definitions(extra: list[str]) -> dict[str, StretchDefinition]:
    """The built-in library plus every ``--definitions`` folder (later ones override)."""
    lib = dict(load_library())
    for d in extra:
        lib.update(load_library(d))
    return lib


def build_parser() -> argparse.ArgumentParser:
    """The command line (see the module docstring)."""
    p = argparse.ArgumentParser(
        prog="benchmarks/accuracy.py",
        description="Accuracy of the real analyze path against ground truth, per stretch: "
                    "count exact / within one / MAE, hold-time error, primary-measure MAE, "
                    "fault timing; on the workout set also the plain two-threshold counter "
                    "on the same pose output. Table (markdown) to stdout, progress to stderr.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  python benchmarks/accuracy.py --real ../realclips/calib "
               "--workout ../realclips/workout \\\n      --definitions benchmarks/definitions "
               "--json out/accuracy.json")
    p.add_argument("--samples", type=Path, default=ROOT / "sample_videos",
                   help="folder of avatar clips with *.truth.json (default: sample_videos/)")
    p.add_argument("--no-samples", action="store_true", help="skip the sample clips")
    p.add_argument("--validation", type=Path, action="append", default=[],
                   help="folder of generated validation clips (*.mp4 + *.truth.json)")
    p.add_argument("--real", type=Path, action="append", default=[],
                   help="folder of real clips with hand-made truth <clip>.json")
    p.add_argument("--real-map", type=Path, default=None,
                   help="JSON {clip stem or movement: {definition, side}} overriding the "
                        "built-in movement table")
    p.add_argument("--workout", type=Path, default=None,
                   help="labelled workout set: DIR/raw/<exercise>/*.mp4 and "
                        "DIR/labels/<exercise>/*.csv")
    p.add_argument("--definitions", action="append", default=[],
                   help="extra definition folder(s), added to the built-in library "
                        "(default: benchmarks/definitions when it exists)")
    p.add_argument("--only", default=None, help="run only clips whose name contains this")
    p.add_argument("--pose-cache", type=Path, default=DEFAULT_CACHE,
                   help=f"record/replay the pose model's output here (default: {DEFAULT_CACHE})")
    p.add_argument("--no-cache", action="store_true", help="always run the pose model afresh")
    p.add_argument("--csv-dir", type=Path, default=None,
                   help="write each clip's per-frame CSV (as 'stretch-coach analyze --csv')")
    p.add_argument("--jobs", type=int, default=1,
                   help="worker processes (each runs its own model; counts do not depend on "
                        "it, only the wall time). Default 1")
    p.add_argument("--json", type=Path, default=None, help="write machine-readable results")
    p.add_argument("--no-clips", action="store_true", help="omit the per-clip table")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    definitions = [str(d) for d in args.definitions]
    default_defs = DEFINITIONS
    if not definitions and default_defs.is_dir():
        definitions = [str(default_defs)]
    library = load_definitions(definitions)
    mapping = json.loads(args.real_map.read_text()) if args.real_map else {}
    cases: list[Case] = []
    if not args.no_samples and args.samples.is_dir():
        cases += sample_cases(args.samples, "samples")
    for v in args.validation:
        cases += sample_cases(v, "validation")
    for r in args.real:
        cases += real_cases(r, mapping)
    tally = None
    if args.workout:
        wc, tally = workout_cases(args.workout)
        cases += wc
    if args.only:
        cases = [c for c in cases if args.only in c.name]
    if not cases:
        print("no clips found; see --help", file=sys.stderr)
        return 2
    cache = None if args.no_cache else args.pose_cache
    if args.csv_dir:
        args.csv_dir.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    t0 = time.perf_counter()

    def progress(i: int, res: Result) -> None:
        c = res.case
        got = res.error or f"counted {res.count} (truth {c.count})"
        print(f"[{i}/{len(cases)}] {c.suite} {c.name}: {got}", file=sys.stderr, flush=True)

    if args.jobs > 1:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(args.jobs, _init_worker,
                      (definitions, str(cache) if cache else None,
                       str(args.csv_dir) if args.csv_dir else None)) as pool:
            for i, res in enumerate(pool.imap(_work, cases), 1):
                progress(i, res)
                results.append(res)
    else:
        for i, case in enumerate(cases, 1):
            res = run_case(case, library, cache, args.csv_dir)
            progress(i, res)
            results.append(res)
    rows = summarise(results)
    print(markdown(rows, results, tally, per_clip=not args.no_clips))
    print(f"done: {len(cases)} clips in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"summary": rows, "workout_labels": tally,
                   "clips": [{**asdict(r), "count_error": r.count_error} for r in results]}
        args.json.write_text(json.dumps(payload, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
