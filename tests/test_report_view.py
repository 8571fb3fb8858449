"""The report view (``app.ui.render_report``) run by Streamlit's own test runner."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest


def _script(problem: str | None) -> None:
    from dataclasses import replace

    from app.ui import render_report
    from tests.test_store import _neck_tilt_report

    report = replace(_neck_tilt_report(0, complete=False, problem=problem),
                     diagnosis={"code": "no_movement",
                                "message": "No repetition seen. If you did move, check the "
                                           "camera: face the camera"})
    render_report(report, key="r")


@pytest.mark.parametrize(("problem", "camera_advice"), [
    ("camera stopped before the set was finished", True),
    ("technical: the computer was too busy to coach (2 frames per second)", False),
])
def test_a_technical_end_is_not_put_on_the_person(problem: str, camera_advice: bool) -> None:
    """A set the computer or the connection cut short says so; it does not add the
    diagnosis that points at the person's movement or camera."""
    at = AppTest.from_function(_script, args=(problem,), default_timeout=60).run()
    assert not at.exception, at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert problem in warnings
    assert ("check the camera" in warnings) == camera_advice, warnings
