"""The README's promises: the stretch example is one file that loads and counts."""

from __future__ import annotations

import re
from pathlib import Path

from exercises.definition import load_library
from exercises.engine import StretchTracker
from tests.builders import timeline

README = Path(__file__).resolve().parent.parent / "README.md"


def _example_toml() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Adding a stretch"):]
    return re.search(r"```toml\n(.*?)```", section, re.S).group(1)


def test_readme_stretch_example_is_one_file_that_works(tmp_path: Path) -> None:
    (tmp_path / "arm_raise_side.toml").write_text(_example_toml(), encoding="utf-8")
    lib = load_library(tmp_path)
    d = lib["arm_raise_side"]
    assert d.sides == ("left", "right")
    # two raises of the right arm to 95 degrees, held 4 s (prescribed hold 3 s)
    keys: list[tuple[float, dict]] = [(0.0, {"abduction": (10.0, 10.0)})]
    t = 1.5
    for _ in range(2):
        keys += [(t, {"abduction": (10.0, 10.0)}), (t + 1, {"abduction": (10.0, 95.0)}),
                 (t + 5, {"abduction": (10.0, 95.0)}), (t + 6, {"abduction": (10.0, 10.0)})]
        t += 8
    keys.append((t, {"abduction": (10.0, 10.0)}))
    right, left = StretchTracker(d, "right"), StretchTracker(d, "left")
    for frame in timeline(keys):
        right.update(frame)
        left.update(frame)
    assert [r.correct for r in right.reps] == [True, True]
    assert left.reps == []  # the mirrored side saw nothing
