"""Judging fewer frames while nothing can change must not change the answers.

Every sample clip is analysed twice through the real decoder and pose model: every
frame judged (``max_skip_s=0``) and with the default skipping of settled stretches.
Counts must be identical, each rep's hold time within 0.2 s, and the skipping run must
judge clearly fewer frames (else it is not worth having)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coach.analyze import AnalysisOptions, analyze_video
from exercises.definition import load_library

SAMPLES = Path(__file__).resolve().parent.parent / "sample_videos"
TRUTHS = sorted(SAMPLES.glob("*.truth.json"))


@pytest.mark.slow
@pytest.mark.parametrize("truth_path", TRUTHS, ids=lambda p: p.name.split(".")[0])
def test_skipping_settled_frames_keeps_counts_and_holds(truth_path: Path) -> None:
    truth = json.loads(truth_path.read_text())
    definition = load_library()[truth["exercise"]]
    side = truth["side"] if definition.is_sided else None
    clip = truth_path.with_name(truth_path.name.replace(".truth.json", ".mp4"))
    full = analyze_video(clip, definition, AnalysisOptions(side=side, max_skip_s=0.0))
    fast = analyze_video(clip, definition, AnalysisOptions(side=side))
    assert full.media["frames_judged"] == full.frames
    assert fast.frames == full.frames
    assert fast.media["frames_judged"] < 0.75 * fast.frames, fast.media
    for key in ("reps_done", "correct_reps", "holds_completed"):
        assert getattr(fast, key) == getattr(full, key), (key, fast.summary_line(),
                                                          full.summary_line())
    assert len(fast.reps) == len(full.reps)
    for a, b in zip(fast.reps, full.reps, strict=True):
        assert a["counted"] == b["counted"]
        assert abs(a["hold_s"] - b["hold_s"]) <= 0.2, (a, b)
        assert abs(a["start_s"] - b["start_s"]) <= 0.2 and abs(a["end_s"] - b["end_s"]) <= 0.2
