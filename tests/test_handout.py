"""The printable program handout on SQLite and PostgreSQL: it renders (pdftoppm), shows
every prescribed stretch with steps, dose, note, safety and demonstration stills, and
only its patient and their therapist can get it."""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from sessions.auth import AccessDenied
from sessions.demo_stills import demo_clip, demo_stills
from sessions.handout import fill_step
from sessions.service import Clinic, ProgramItemIn
from tests import clinic_support
from tests.clinic_support import TRICKY, FakeClock, World

db_url, engine, world = clinic_support.db_url, clinic_support.engine, clinic_support.world

SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
UTC = timezone.utc


def _program(world: World, pid: int | None = None) -> Clinic:
    ca = Clinic(world.ther_a, world.engine, tz=UTC,
                clock=FakeClock(datetime(2025, 4, 7, 9, tzinfo=UTC)))
    ca.set_program(pid or world.pat_a.user_id, [
        ProgramItemIn("neck_side_tilt", ("left", "right"), sets=2, reps=4, hold_s=8,
                      times_per_week=3, notes=TRICKY[2]),
        ProgramItemIn("chin_tuck", reps=6, times_per_week=7),
        ProgramItemIn("cat_cow", times_per_week=2, notes="On a mat")],
        notes="Warm up with a short walk first")
    return ca


def _pdf_files(pdf: bytes, tmp_path: Path, name: str) -> tuple[str, int, list[Path]]:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True,
                          text=True).stdout
    pages = int(next(ln.split()[-1] for ln in info.splitlines() if ln.startswith("Pages:")))
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(path), str(tmp_path / name)],
                   check=True, capture_output=True)
    return " ".join(text.split()), pages, sorted(tmp_path.glob(f"{name}*.png"))


def test_handout_renders_every_stretch_with_dose_steps_and_stills(world: World,
                                                                  tmp_path: Path) -> None:
    import cv2

    ca = _program(world)
    pdf = ca.export_handout(world.pat_a.user_id)
    assert pdf.startswith(b"%PDF")
    text, pages, pngs = _pdf_files(pdf, tmp_path, "handout")
    assert pages >= 2 and len(pngs) == pages
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for k, png in enumerate(pngs, 1):
        (SCREENSHOTS / f"handout_page{k}.png").write_bytes(png.read_bytes())
    assert "My stretching program" in text and "For: Patient A" in text
    assert "Prescribed by Therapist A, from 07 April 2025" in text
    assert "From your therapist: Warm up with a short walk first" in text
    assert ("1. Neck side tilt Dose: 2 sets of 4 repetitions, hold each 8 seconds, left and "
            "right side, 3 times a week") in text
    assert f"From your therapist: {TRICKY[2]}" in text      # markup and $math$ as typed
    assert "How to do it 1." in text
    assert "The steps are written for the left side; then do the same on the right side" \
        in text
    assert "2. Chin tuck" in text and "6 repetitions" in text and "every day" in text
    assert "3. Cat" in text and "On a mat" in text and "twice" not in text
    assert text.count("Safety:") == 3
    assert "Hold (left side)" in text and "Hold (right side)" in text
    assert "{side}" not in text
    # demonstration stills are drawn: the first page holds colourful photo pixels
    img = cv2.imread(str(pngs[0]), cv2.IMREAD_COLOR)
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    coloured = (hsv[:, :, 1] > 60) & (hsv[:, :, 2] > 60)
    assert coloured.mean() > 0.02, "no demonstration frames on the page"


def test_patient_gets_own_handout_and_nobody_else_does(world: World, tmp_path: Path) -> None:
    _program(world)
    mine = Clinic(world.pat_a, world.engine).export_handout()
    assert "For: Patient A" in _pdf_files(mine, tmp_path, "own")[0]
    assert Clinic(world.pat_a, world.engine).export_handout(world.pat_a.user_id)
    for who, pid in [(world.pat_a, world.pat_a2.user_id), (world.pat_b, world.pat_a.user_id),
                     (world.ther_b, world.pat_a.user_id), (world.admin, world.pat_a.user_id),
                     (world.ther_a, world.pat_b.user_id), (world.ther_a, 10**6)]:
        with pytest.raises(AccessDenied):
            Clinic(who, world.engine).export_handout(pid)


def test_handout_without_program(world: World, tmp_path: Path) -> None:
    pdf = Clinic(world.ther_a, world.engine).export_handout(world.pat_a2.user_id)
    text, pages, _ = _pdf_files(pdf, tmp_path, "empty")
    assert pages == 1 and "No program has been prescribed yet" in text


def test_demo_stills_come_from_the_demo_clip() -> None:
    clip, sidecar = demo_clip("neck_side_tilt")
    assert clip.name == "neck_side_tilt.mp4" and sidecar is not None
    stills = demo_stills("neck_side_tilt")
    assert [s.caption for s in stills] == ["Starting position", "Hold (left side)",
                                           "Hold (right side)"]
    reps = sidecar["reps"]
    for still, rep in zip(stills[1:], reps, strict=True):   # inside each side's hold
        assert rep["in_position_s"] <= still.time_s <= rep["hold_end_s"]
    assert all(s.image.shape == (360, 480, 3) and s.image.dtype == np.uint8 for s in stills)
    # the start and the hold differ (the head is tilted)
    assert np.abs(stills[0].image.astype(int) - stills[1].image.astype(int)).mean() > 1
    assert demo_stills("no_such_stretch") == []


@pytest.mark.parametrize(("step", "out"), [
    ("Tilt your {side} ear toward your {side} shoulder.",
     "Tilt your left ear toward your left shoulder."),
    ("Keep your {other_side} shoulder down; hold {hold_s} s.",
     "Keep your right shoulder down; hold 8 s."),
    ("{side:>1000000000}", "{side:>1000000000}"),          # a format spec never runs
])
def test_fill_step(step: str, out: str) -> None:
    assert fill_step(step, "left", (20, 50), 8) == out


def test_cli_writes_the_handout_0600_for_allowed_people_only(db_url: str, world: World,
                                                             tmp_path: Path) -> None:
    from tests.clinic_support import PASSWORD
    from tests.test_sessions_cli import assert_error, run

    _program(world)
    out = tmp_path / "program.pdf"
    r = run(db_url, "sessions", "export", "--patient", "pat_a", "--handout", str(out),
            "--user", "ther_a", password=PASSWORD)
    assert r.exit_code == 0, r.output
    assert out.stat().st_mode & 0o777 == 0o600
    assert "For: Patient A" in _pdf_files(out.read_bytes(), tmp_path, "cli")[0]
    own = tmp_path / "own.pdf"        # a patient: their own, without --patient
    assert run(db_url, "sessions", "export", "--handout", str(own), "--user", "pat_a",
               password=PASSWORD).exit_code == 0
    assert own.stat().st_mode & 0o777 == 0o600
    for user, patient in [("ther_b", "pat_a"), ("pat_b", "pat_a")]:
        assert_error(run(db_url, "sessions", "export", "--patient", patient, "--handout",
                         str(tmp_path / "x.pdf"), "--user", user, password=PASSWORD), 7)
    assert not (tmp_path / "x.pdf").exists()
