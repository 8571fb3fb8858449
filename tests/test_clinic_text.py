"""What patients read: units in words, not bare numbers (issue 9)."""

from __future__ import annotations

import pytest

from app.clinic_ui import target_text, unit_words
from exercises.definition import load_library


@pytest.mark.parametrize(("stretch", "band", "text"), [
    ("neck_side_tilt", None, "20 to 50°"),
    ("neck_side_tilt", (25.0, 40.0), "25 to 40°"),
    ("chin_tuck", None, "6 to 30° from your resting position"),
    ("cross_body_shoulder", None, "0.15 to 1.5 shoulder widths"),
    ("shoulder_shrug", None, "0.1 to 0.6 shoulder widths from your resting position"),
    ("cat_cow", None, "35 to 90° from where each repetition starts"),
])
def test_targets_are_said_in_words(stretch: str, band: tuple | None, text: str) -> None:
    d = load_library()[stretch]
    assert tuple(d.primary.target) == {
        "neck_side_tilt": (20, 50), "chin_tuck": (-30, -6), "cross_body_shoulder": (0.15, 1.5),
        "shoulder_shrug": (-0.6, -0.1), "cat_cow": (35, 90)}[stretch]
    assert target_text(d, *(band or (None, None))) == text


def test_every_library_target_reads_without_a_minus_sign() -> None:
    for d in load_library().values():
        words = target_text(d)
        assert "-" not in words and ("°" in words or "shoulder widths" in words), (d.id, words)
    assert unit_words("ratio", "rest") == " shoulder widths from your resting position"
