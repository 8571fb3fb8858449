"""CSV and PDF exports on SQLite and PostgreSQL: they parse, render and keep text as text."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from sessions.auth import AccessDenied
from sessions.exports import REP_COLUMNS, SESSION_COLUMNS, safe_cell
from sessions.progress_pdf import PAIN_AXES, SCORE_AXES
from sessions.service import Clinic, ProgramItemIn
from tests import clinic_support
from tests.clinic_support import (
    PASSWORD,
    TRICKY,
    FakeClock,
    World,
    neck_report,
    screened,
)

# the shared fixtures: every test here runs on SQLite and on PostgreSQL
db_url, engine, world = clinic_support.db_url, clinic_support.engine, clinic_support.world

UTC = timezone.utc
D0 = date(2025, 4, 7)   # a Monday


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _fill(world: World, display_name: str = "Patient A") -> tuple[Clinic, int, list[int]]:
    """Three days of sessions for patient A (one with a pain rise), a program, a red flag."""
    clock = FakeClock()
    acc = world.accounts
    pid = acc.create_user(world.ther_a, "exported", PASSWORD, "patient", display_name)
    me = acc.login("exported", PASSWORD)
    ca = Clinic(world.ther_a, world.engine, clock=clock, tz=UTC)
    clock.now = datetime.combine(D0 - timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    ca.set_program(pid, [ProgramItemIn("neck_side_tilt", ("left",), times_per_week=3)])
    cp = Clinic(me, world.engine, clock=clock, tz=UTC)
    ids = []
    for i, (angle, comment) in enumerate([(30.0, TRICKY[0]), (35.0, TRICKY[1]),
                                          (40.0, "=HYPERLINK(\"http://x\")")]):
        clock.now = datetime.combine(D0 + timedelta(days=i), datetime.min.time(),
                                     tzinfo=UTC) + timedelta(hours=9)
        ids.append(screened(cp).save_session(neck_report(3, angle=angle), pain_before=1,
                                   pain_after=3 if i == 1 else 1, comment=comment))
    clock.now += timedelta(hours=1)
    from sessions.screening import SCREENING_QUESTIONS

    cp.record_screening({**dict.fromkeys(SCREENING_QUESTIONS, False), "arm_weakness": True}, 2)
    ca.add_note(ids[0], TRICKY[2])
    return ca, pid, ids


def test_csv_parses_with_every_session_and_rep(world: World) -> None:
    ca, pid, ids = _fill(world)
    sessions_text, reps_text = ca.export_csv(pid, None, None)
    sessions = _rows(sessions_text)
    assert list(sessions[0]) == SESSION_COLUMNS
    assert [int(r["session_id"]) for r in sessions] == ids
    assert [r["date"] for r in sessions] == [(D0 + timedelta(days=i)).isoformat()
                                             for i in range(3)]
    assert {r["patient"] for r in sessions} == {"exported"}
    # markup and SQL come back verbatim; a formula is defused with a leading quote
    assert [r["comment"] for r in sessions] == [TRICKY[0], TRICKY[1],
                                                "'=HYPERLINK(\"http://x\")"]
    assert [r["pain_after"] for r in sessions] == ["1", "3", "1"]
    assert all(r["completion"] == "completed" for r in sessions)
    assert float(sessions[0]["score"]) == pytest.approx(ca.session(ids[0]).score)
    reps = _rows(reps_text)
    assert list(reps[0]) == REP_COLUMNS
    assert len(reps) == 9
    assert [float(r["peak"]) for r in reps[::3]] == [30.0, 35.0, 40.0]
    assert {r["target_low"] for r in reps} == {"20.0"}
    assert all(r["complete"] == "1" for r in reps)


def test_csv_date_range(world: World) -> None:
    ca, pid, ids = _fill(world)
    sessions_text, reps_text = ca.export_csv(pid, D0 + timedelta(days=1),
                                             D0 + timedelta(days=1))
    assert [int(r["session_id"]) for r in _rows(sessions_text)] == [ids[1]]
    assert {int(r["session_id"]) for r in _rows(reps_text)} == {ids[1]}
    empty_s, empty_r = ca.export_csv(pid, date(2030, 1, 1), None)
    assert _rows(empty_s) == [] and _rows(empty_r) == []
    assert empty_s.splitlines()[0].split(",") == SESSION_COLUMNS


@pytest.mark.parametrize(("value", "cell"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-cmd", "'-cmd"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("plain", "plain"), (-3.5, -3.5), (None, ""), (True, 1),
    (float("nan"), ""),
])
def test_safe_cell(value: object, cell: object) -> None:
    assert safe_cell(value) == cell


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def _render(pdf: bytes, tmp_path: Path, pages: int = 2) -> np.ndarray:
    """Render page 1 with poppler's pdftoppm; returns the greyscale image."""
    path = tmp_path / "render.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True,
                          text=True).stdout
    assert re.search(rf"^Pages:\s+{pages}$", info, re.M), info
    subprocess.run(["pdftoppm", "-r", "40", "-gray", "-png", "-f", "1", "-l", "1", str(path),
                    str(tmp_path / "p")], check=True, capture_output=True)
    (png,) = sorted(tmp_path.glob("p*.png"))
    import cv2

    img = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
    assert img is not None
    return img


@pytest.mark.parametrize("name", TRICKY)
def test_pdf_renders_and_shows_the_name_as_text(world: World, tmp_path: Path, name: str
                                                ) -> None:
    ca, pid, _ = _fill(world, display_name=name)
    pdf = ca.export_pdf(pid, D0, D0 + timedelta(days=6))
    assert pdf.startswith(b"%PDF")
    img = _render(pdf, tmp_path)
    h, w = img.shape
    assert h > w > 200                      # A4 portrait
    assert (img < 128).mean() > 0.005       # something was drawn
    text = _pdf_text(pdf, tmp_path)
    assert f"Patient: {name}" in text       # markup, SQL and $math$ exactly as typed
    assert "Period: 2025-04-07 to 2025-04-13" in text
    # counted to today (the 9th, the clock of _fill): 3 days of a 3-a-week program owe 2
    assert "Adherence: 2 of 2 prescribed sessions done (100%), 7 Apr to 9 Apr 2025." in text
    assert "RED FLAG (open)" in text and "Pain rise (open)" in text
    assert "Session score" in text and "Range of motion" in text


def test_pdf_adherence_counts_from_the_program_start(world: World, tmp_path: Path) -> None:
    # a 9-week export period, the program set in its last week: owed from its start
    # (the 8th) to today (the 9th), not for 9 weeks (the PDF once said "2 of 60
    # prescribed (3 %)" for a new program)
    ca, pid, _ = _fill(world)
    later = Clinic(world.ther_a, world.engine, clock=FakeClock(
        datetime.combine(D0 + timedelta(days=1), datetime.min.time(), tzinfo=UTC)), tz=UTC)
    later.set_program(pid, [ProgramItemIn("neck_side_tilt", ("left",), times_per_week=3)])
    text = _pdf_text(ca.export_pdf(pid, D0 - timedelta(days=56), D0 + timedelta(days=6)),
                     tmp_path)
    text = " ".join(text.split())
    assert ("Adherence: 1 of 1 prescribed sessions done (100%), 8 Apr to 9 Apr 2025, from "
            "the program's start." in text)
    assert f"Program (from {(D0 + timedelta(days=1)).isoformat()}) 1. Neck" in text
    assert "Sessions recorded: 3 (completed 3" in text


def test_pdf_without_sessions(world: World, tmp_path: Path) -> None:
    pid = world.pat_a2.user_id
    pdf = Clinic(world.ther_a, world.engine).export_pdf(pid, None, None)
    text = _pdf_text(pdf, tmp_path)
    assert "Patient: Patient A2" in text
    assert "No scored sessions" in text and "None in this period" in text
    _render(pdf, tmp_path)


def test_patient_exports_own_data_only(world: World, tmp_path: Path) -> None:
    _fill(world)
    me = world.accounts.login("exported", PASSWORD)
    cp = Clinic(me, world.engine)
    s, _ = cp.export_csv(me.user_id, None, None)
    assert len(_rows(s)) == 3
    assert "Patient A" in _pdf_text(cp.export_pdf(me.user_id, None, None), tmp_path)
    with pytest.raises(AccessDenied):
        cp.export_csv(world.pat_a.user_id, None, None)
    with pytest.raises(AccessDenied):
        Clinic(world.ther_b, world.engine).export_pdf(me.user_id, None, None)


SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"


def _render_colour(pdf: bytes, tmp_path: Path, name: str, dpi: int = 72) -> np.ndarray:
    """Page 1 rendered in colour by pdftoppm (RGB), also saved to artifacts/screenshots/."""
    import cv2

    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", "1", "-l", "1", "-singlefile",
                    str(path), str(tmp_path / name)], check=True, capture_output=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    png = tmp_path / f"{name}.png"
    (SCREENSHOTS / f"{name}.png").write_bytes(png.read_bytes())
    img = cv2.imread(str(png), cv2.IMREAD_COLOR)
    assert img is not None
    return img[:, :, ::-1]


def _colour_span(img: np.ndarray, rect: tuple[float, float, float, float],
                 rgb: tuple[int, int, int], rows: tuple[float, float] = (0.0, 1.0)
                 ) -> float:
    """Share of the axes' width between the leftmost and rightmost pixel of colour ``rgb``
    inside the axes ``rect`` (figure fractions), within the ``rows`` band of its height
    (0 = bottom, 1 = top)."""
    h, w = img.shape[:2]
    left, bottom, width, height = rect
    x0, x1 = round(left * w), round((left + width) * w)
    y_top = round((1 - bottom - height * rows[1]) * h)
    y_bot = round((1 - bottom - height * rows[0]) * h)
    crop = img[y_top:y_bot, x0:x1].astype(int)
    hit = (np.abs(crop - np.array(rgb)).sum(axis=2) < 60)
    cols = np.flatnonzero(hit.any(axis=0))
    assert cols.size, f"no pixels of colour {rgb} in the chart"
    return (cols[-1] - cols[0]) / (x1 - x0)


def test_pdf_charts_span_the_sessions_not_squashed(world: World, tmp_path: Path) -> None:
    # sessions on 3 days of a 9-week export: the points must spread across the chart
    # (the old report drew them in the last 5 % of the width, against the right edge)
    ca, pid, _ = _fill(world)
    pdf = ca.export_pdf(pid, D0 - timedelta(days=56), D0 + timedelta(days=6))
    img = _render_colour(pdf, tmp_path, "report_progress_page1")
    # score: the first stretch's line (matplotlib's first colour), above the legend
    assert _colour_span(img, SCORE_AXES, (31, 119, 180), rows=(0.3, 1.0)) > 0.75
    # pain after each session: purple squares (1, 3, 1), below the legend
    assert _colour_span(img, PAIN_AXES, (148, 103, 189), rows=(0.0, 0.6)) > 0.75
    text = " ".join(_pdf_text(pdf, tmp_path).split())
    # dates on the x axis, in words
    assert "08 Apr 00:00" in text and "09 Apr 00:00" in text
    assert "Pain (0 = no pain, 10 = worst imaginable)" in text
    assert "after the session" in text and "before stretching" in text


def test_pdf_shows_prescription_therapist_and_period(world: World, tmp_path: Path) -> None:
    ca, pid, _ = _fill(world)
    ca.set_program(pid, [
        ProgramItemIn("neck_side_tilt", ("left", "right"), sets=2, reps=4, hold_s=8,
                      times_per_week=3, notes="Gently, <b>no</b> bouncing"),
        ProgramItemIn("chin_tuck", reps=6, times_per_week=7)], notes="Warm up first")
    text = " ".join(_pdf_text(ca.export_pdf(pid, D0, D0 + timedelta(days=6)),
                              tmp_path).split())
    assert "Therapist: Therapist A" in text
    assert "Period: 2025-04-07 to 2025-04-13" in text
    assert ("1. Neck side tilt: 2 sets of 4 repetitions, hold each 8 seconds, left and "
            "right side, 3 times a week") in text
    assert "Note: Gently, <b>no</b> bouncing" in text
    assert "2. Chin tuck:" in text and "6 repetitions" in text and "every day" in text
    assert "Program note: Warm up first" in text


def test_score_chart_points_span_the_axes(world: World, tmp_path: Path) -> None:
    # two stretches on alternate days: two lines, never one zig-zag joining them
    from sessions.progress_pdf import progress_figures
    from sessions.progress_report import progress_data

    ca, pid, _ = _fill(world)
    with ca._session() as s, s.begin():
        me = ca._me(s)
        data = progress_data(s, ca._patient(s, me, pid), ca._days(), ca.library, None, None)
    fig = progress_figures(data)[0]
    score_ax = next(a for a in fig.axes if "Session score" in a.get_title(loc="left"))
    lines = [ln for ln in score_ax.get_lines() if len(ln.get_xdata())]
    assert [len(ln.get_xdata()) for ln in lines] == [3]
    # the points span most of the axes (data transform, not the period's width)
    xy = score_ax.transData.transform(np.column_stack([
        score_ax.convert_xunits(lines[0].get_xdata()), lines[0].get_ydata()]))
    box = score_ax.get_window_extent()
    assert (xy[:, 0].max() - xy[:, 0].min()) / box.width > 0.85


def test_score_chart_draws_one_line_per_stretch() -> None:
    # two stretches on alternate days: two lines of three points, never one zig-zag
    # joining a neck tilt to a chin tuck
    from sessions.progress_pdf import ProgressData, progress_figures
    from sessions.service import StretchTrend, Trends

    days = [datetime(2025, 4, 7 + k, 9, tzinfo=UTC) for k in range(6)]

    def trend(exercise: str, name: str, when: list[datetime], score: float) -> StretchTrend:
        n = len(when)
        return StretchTrend(exercise, name, "Tilt", "deg", "increase", (20.0, 50.0),
                            list(range(n)), when, [score] * n, [30.0] * n, [1] * n, [2] * n)

    stretches = {"neck_side_tilt": trend("neck_side_tilt", "Neck side tilt", days[::2], 90),
                 "chin_tuck": trend("chin_tuck", "Chin tuck", days[1::2], 40)}
    data = ProgressData(
        display_name="P", username="p", since=D0, until=D0 + timedelta(days=6), sessions=6,
        completed=6, prescribed_per_week=6, program=[],
        trends=Trends(1, stretches, {}, days, [None] * 6, [None] * 6, [None] * 6, 6),
        flags=[], generated=datetime(2025, 4, 14, tzinfo=UTC), local=lambda t: t)
    page1, page2 = progress_figures(data)
    score_ax = next(a for a in page1.axes if "Session score" in a.get_title(loc="left"))
    lines = [ln for ln in score_ax.get_lines() if len(ln.get_xdata())]
    assert sorted((ln.get_label(), tuple(ln.get_ydata())) for ln in lines) == [
        ("Chin tuck", (40, 40, 40)), ("Neck side tilt", (90, 90, 90))]
    assert len([a for a in page2.axes if a.get_lines()]) == 2     # a ROM chart each
