"""Only the frames that will be judged are converted (colour, scaling), with the very
same answers as converting every frame.

``coach.analyze`` tells the decoding thread from which time frames may be judged
again; frames before it are decoded but never converted. Forcing every frame to be
converted (the gate always open) must give an identical report: same frames judged,
same measure series, same reps and holds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from coach import analyze as analysis
from coach.analyze import AnalysisOptions, analyze_video
from exercises.definition import load_library
from pose.video import open_video
from tests.job_support import SAMPLES, cut_clip


def test_unwanted_frames_are_decoded_but_not_converted(tmp_path: Path) -> None:
    clip = cut_clip(SAMPLES / "chin_tuck_good.mp4", tmp_path / "c.mp4", 1.0)
    with open_video(clip) as reader:
        every = list(reader.frames())
        some = list(reader.frames(wanted=lambda t: int(t * 30 + 0.5) % 3 == 0))
    assert [f.timestamp_s for f in some] == [f.timestamp_s for f in every]
    assert [f.index for f in some] == [f.index for f in every]
    for a, b in zip(every, some, strict=True):
        if b.index % 3 == 0:
            assert b.image is not None and np.array_equal(a.image, b.image)
        else:
            assert b.image is None


@pytest.mark.slow
@pytest.mark.parametrize("name", ["chest_opener_good", "neck_side_tilt_left_good"])
def test_converting_only_judged_frames_changes_nothing(name: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    truth = json.loads((SAMPLES / f"{name}.truth.json").read_text())
    definition = load_library()[truth["exercise"]]
    side = truth["side"] if definition.is_sided else None
    clip = SAMPLES / f"{name}.mp4"
    lazy = analyze_video(clip, definition, AnalysisOptions(side=side))
    # the old behaviour: every frame converted
    monkeypatch.setattr(analysis._Gate, "wanted", lambda self, t: True)
    eager = analyze_video(clip, definition, AnalysisOptions(side=side))
    assert lazy.media["frames_judged"] == eager.media["frames_judged"] < lazy.frames
    assert lazy.series == eager.series
    assert lazy.reps == eager.reps
    assert (lazy.reps_done, lazy.holds_completed) == (eager.reps_done, eager.holds_completed)
    assert lazy.reps_done == truth["expected"]["reps"]
