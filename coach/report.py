"""Session reports: what happened in one stretch session, as JSON and CSV.

A report is built from the trackers at the end of a session (live or video) and
holds reps with their metrics, holds, faults with timestamps, the session score
with its breakdown, and a compact time series of the primary measure for
charts. It never holds images.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from coach.private_files import open_private
from exercises.definition import Prescription, StretchDefinition
from exercises.engine import FaultInterval, RepRecord, StretchTracker
from exercises.measures import get_measure
from exercises.scoring import score_rep, score_session

__all__ = ["TECHNICAL", "FrameCsvWriter", "SessionReport", "build_report", "is_technical",
           "rep_rows"]

REPORT_VERSION = 1
#: ``SessionReport.problem`` of a session ended by a technical failure starts with this;
#: such a session is not the person's result (leave it out of scores, trends and
#: adherence).
TECHNICAL = "technical: "


def is_technical(problem: str | None) -> bool:
    """Whether a report's ``problem`` says the session ended by a technical failure."""
    return bool(problem) and str(problem).startswith(TECHNICAL)


def _r(x: float | None, nd: int = 2) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), nd)


@dataclass
class SessionReport:
    """The outcome of one session of one stretch.

    Attributes:
        exercise: stretch id.
        exercise_name: stretch name.
        sides: sides tracked.
        source: ``"video"``, ``"live"`` or ``"camera"``.
        prescription: the dose judged against.
        duration_s: time covered by the analysis.
        frames: frames processed.
        assessable_share: share of frames in which the body could be judged.
        reps: per-rep metrics (dicts).
        faults: every fault with side, rep and timestamps.
        score: session score and breakdown.
        complete: False when the source ended early (e.g. truncated video).
        problem: the reason when not complete, one line.
        setup_issues: counts of frames per setup problem (nobody, several_people, ...).
        series: {"t": [...], "<side>": [...]} primary measure per frame (None = not measured).
        media: source file info (name, fps, size, rotation).
        baselines: per side, the resting value a rest-relative measure is measured from
            (``baseline = "rest"`` stretches such as chin tuck; for ``"low_point"`` ones,
            such as cat-cow, the low point of the last rest; None otherwise).
        diagnosis: when no repetition was counted, why: ``{"code", "message"}`` (see
            ``StretchTracker.diagnosis``); None when reps were counted.
        warnings: plain sentences about anything that may have made the result less
            reliable (e.g. a second person in view, much of the video not judged).
    """

    exercise: str
    exercise_name: str
    sides: list[str]
    source: str
    prescription: dict[str, Any]
    duration_s: float
    frames: int
    assessable_share: float
    reps: list[dict[str, Any]]
    faults: list[dict[str, Any]]
    score: dict[str, Any]
    complete: bool = True
    problem: str | None = None
    setup_issues: dict[str, int] = field(default_factory=dict)
    series: dict[str, list[float | None]] = field(default_factory=dict)
    media: dict[str, Any] = field(default_factory=dict)
    primary_label: str = ""
    primary_unit: str = "deg"
    target: tuple[float, float] = (0.0, 0.0)
    baselines: dict[str, float | None] = field(default_factory=dict)
    diagnosis: dict[str, str] | None = None
    warnings: list[str] = field(default_factory=list)
    version: int = REPORT_VERSION

    # ---------------------------------------------------------------- summaries

    @property
    def reps_done(self) -> int:
        """Counted repetitions over all sides (complete, full range, not a duplicate)."""
        return sum(1 for r in self.reps if r.get("counted", r["complete"]))

    @property
    def correct_reps(self) -> int:
        """Completed repetitions that were correct."""
        return sum(1 for r in self.reps if r["correct"])

    @property
    def holds_completed(self) -> int:
        """Completed repetitions whose hold met the prescription."""
        return sum(1 for r in self.reps if r.get("counted", r["complete"]) and r["hold_ok"])

    def summary_line(self) -> str:
        """One human line, e.g. for the CLI."""
        s = self.score
        holds = (f", holds {self.holds_completed}/{self.reps_done} of "
                 f"{self.prescription['hold_s']:g} s" if self.prescription["hold_s"] else "")
        partial = sum(1 for r in self.reps if r["complete"] and not r.get("counted", True)
                      and not r.get("duplicate_of"))
        part = f", {partial} partial (not counted)" if partial else ""
        return (f"{self.exercise_name}: {self.reps_done} reps ({self.correct_reps} correct)"
                f"{part}{holds}, score {s['score']:.0f}/100"
                + ("" if self.complete else f" [incomplete: {self.problem}]"))

    def frame_series(self, side: str, n_frames: int) -> list[float | None]:
        """The primary measure per video frame index (0..n_frames-1) for ``side``: the
        judged frames' values, ``None`` for frames not judged (skipped while settled) or
        not measurable. Frame indices come from the series' timestamps and the fps."""
        fps = float(self.media.get("fps") or 0.0)
        out: list[float | None] = [None] * n_frames
        if fps <= 0:
            return out
        for t, v in zip(self.series.get("t", []), self.series.get(side, []), strict=False):
            i = round(t * fps)
            if 0 <= i < n_frames:
                out[i] = v
        return out

    # ---------------------------------------------------------------- output

    def to_dict(self, include_series: bool = True) -> dict[str, Any]:
        """JSON-friendly dict (no NaN)."""
        d = asdict(self)
        d["summary"] = {"reps": self.reps_done, "correct_reps": self.correct_reps,
                        "holds_completed": self.holds_completed, "score": self.score["score"]}
        if not include_series:
            d.pop("series")
        return d

    def write_json(self, path: str | Path) -> None:
        """Write the report as JSON (UTF-8), a private file (0600: health data).

        Raises:
            OSError: the file could not be written.
        """
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        with open_private(path, "w", encoding="utf-8") as fh:
            fh.write(text)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SessionReport:
        """Rebuild a report from ``to_dict`` output."""
        d = {k: v for k, v in d.items() if k != "summary"}
        d["target"] = tuple(d.get("target", (0.0, 0.0)))
        return cls(**d)


def _rep_dict(rep: RepRecord, definition: StretchDefinition) -> dict[str, Any]:
    sc = score_rep(rep, definition)
    return {
        "side": rep.side,
        "index": rep.index,
        "start_s": _r(rep.start_s),
        "end_s": _r(rep.end_s),
        "complete": rep.complete,
        "counted": rep.counted,
        "range_fraction": _r(rep.range_fraction, 3),
        "duplicate_of": rep.duplicate_of,
        "peak": _r(rep.peak, 3 if abs(rep.peak if math.isfinite(rep.peak) else 0) < 5 else 1),
        "reached_target": rep.reached_target,
        "hold_s": _r(rep.hold_s),
        "hold_required_s": rep.hold_required_s,
        "hold_ok": rep.hold_ok,
        "correct": rep.correct,
        "faults": sorted({f.id for f in rep.faults}),
        "score": _r(sc.score, 1),
        "rom": _r(sc.rom, 3),
        "hold": _r(sc.hold, 3),
        "form": _r(sc.form, 3),
    }


def _fault_dict(f: FaultInterval) -> dict[str, Any]:
    return {"id": f.id, "side": f.side, "rep": f.rep, "start_s": _r(f.start_s),
            "end_s": _r(f.end_s), "duration_s": _r(f.duration_s), "cue": f.cue}


def build_report(definition: StretchDefinition, trackers: Iterable[StretchTracker], *,
                 source: str, prescription: Prescription, duration_s: float, frames: int,
                 complete: bool = True, problem: str | None = None,
                 series: dict[str, list[float | None]] | None = None,
                 media: dict[str, Any] | None = None,
                 score_sides: list[str] | None = None) -> SessionReport:
    """Collect the trackers' records into a ``SessionReport``.

    Args:
        score_sides: sides the completion score is judged on (default: every tracked side).
    """
    trackers = list(trackers)
    reps = [r for t in trackers for r in t.reps]
    reps.sort(key=lambda r: r.start_s)
    faults = sorted((f for t in trackers for f in t.faults), key=lambda f: f.start_s)
    seen = max(1, sum(t.frames_seen for t in trackers))
    assessable = sum(t.frames_assessable for t in trackers) / seen
    setup: dict[str, int] = {}
    for t in trackers:
        for k, v in t.setup_counts.items():
            setup[k] = max(setup.get(k, 0), v)
    score = score_session(reps, definition, prescription,
                          sides=score_sides or [t.side for t in trackers])
    diagnosis = _diagnosis(trackers)
    warnings = []
    if setup.get("several_people"):
        warnings.append(f"More than one person was in view in {setup['several_people']} "
                        "frames; those frames were not judged")
    if 0 < assessable < 0.5:
        warnings.append(f"Your position could be judged in only {assessable:.0%} of the frames")

    return SessionReport(
        exercise=definition.id, exercise_name=definition.name,
        sides=[t.side for t in trackers], source=source,
        prescription=prescription.model_dump(), duration_s=round(duration_s, 3), frames=frames,
        assessable_share=round(assessable, 4),
        reps=[_rep_dict(r, definition) for r in reps],
        faults=[_fault_dict(f) for f in faults],
        score=score.to_dict(), complete=complete, problem=problem, setup_issues=setup,
        series=series or {}, media=media or {}, primary_label=definition.primary.label,
        primary_unit=get_measure(definition.primary.measure).unit,
        target=definition.primary.target,
        baselines={t.side: (None if t.baseline is None else round(t.baseline, 4))
                   for t in trackers},
        diagnosis=diagnosis, warnings=warnings,
    )


def _diagnosis(trackers: list[StretchTracker]) -> dict[str, str] | None:
    """Why nothing was counted, from the tracker that got furthest (None if reps counted)."""
    if any(t.counted_reps for t in trackers):
        return None
    order = ["never_reached_target", "not_completed", "no_movement", "never_at_rest"]
    found = [d for d in (t.diagnosis() for t in trackers) if d is not None]
    if not found:
        return None
    found.sort(key=lambda d: order.index(d[0]) if d[0] in order else len(order))
    return {"code": found[0][0], "message": found[0][1]}


class FrameCsvWriter:
    """Streams one CSV row per frame (time, per-side primary value, phase, reps, hold, cues).

    Rows are written as they come, so memory stays flat for any video length. The file
    is private (0600: health data).
    """

    def __init__(self, path: str | Path, sides: list[str]) -> None:
        self._fh = open_private(path, "w", newline="", encoding="utf-8")
        self._w = csv.writer(self._fh)
        cols = ["frame", "t_s", "assessable"]
        for s in sides:
            cols += [f"value_{s}", f"phase_{s}", f"reps_{s}", f"hold_s_{s}"]
        cols += ["cues", "setup_message", "judged"]
        self._w.writerow(cols)
        self.sides = sides

    def write(self, index: int, feedback: list[Any], judged: bool = True) -> None:
        """Write one frame's row from its per-side feedback (same order as ``sides``);
        ``judged=False`` marks a frame skipped while settled (the last judgement holds)."""
        fb0 = feedback[0]
        row: list[Any] = [index, f"{fb0.timestamp_s:.3f}", int(any(f.assessable for f in feedback))]
        for f in feedback:
            row += ["" if f.value is None else f"{f.value:.3f}", f.phase.value, f.reps,
                    f"{f.hold_s:.2f}"]
        cues = " | ".join(dict.fromkeys(c.text for f in feedback for c in f.cues))
        row += [cues, next((f.setup_message for f in feedback if f.setup_message), "") or "",
                int(judged)]
        self._w.writerow(row)

    def close(self) -> None:
        """Flush and close the file."""
        self._fh.close()


def rep_rows(report: SessionReport) -> list[dict[str, Any]]:
    """Per-rep rows (for tables and CSV export)."""
    return [{k: (";".join(v) if isinstance(v, list) else v) for k, v in r.items()}
            for r in report.reps]

