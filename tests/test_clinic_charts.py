"""The therapist's progress charts in the app (issue 9): one score line per stretch."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from app.clinic_ui import stretch_score_chart


def test_score_chart_has_one_line_per_stretch() -> None:
    # alternate days of two stretches: coloured (and so split into lines) by stretch,
    # never one line zig-zagging between a neck tilt at 90 and a chin tuck at 40
    t0 = datetime(2025, 4, 7, 9)
    points = pd.DataFrame([(t0 + timedelta(days=k), 90.0 if k % 2 else 40.0,
                            "Neck side tilt" if k % 2 else "Chin tuck") for k in range(6)],
                          columns=["when", "score", "stretch"])
    spec = stretch_score_chart(points).to_dict()
    assert spec["mark"]["type"] == "line"
    assert spec["encoding"]["color"]["field"] == "stretch"
    assert spec["encoding"]["y"]["scale"]["domain"] == [0, 100]
