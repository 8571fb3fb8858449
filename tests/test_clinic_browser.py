"""The clinic in a real browser: sign-in, therapist dashboard, program, exports, patient.

One app server for the module (``streamlit run app/Home.py``) on a fresh
``STRETCH_COACH_DATA`` and ``STRETCH_COACH_DB_URL`` (a temporary SQLite file).
The people are made through the backend API before the server starts: an admin,
two therapists, and their patients; one of therapist A's patients has a display
name full of markup, which must show as text. The seeded session is a real
analysis (pose model) of ``sample_videos/neck_side_tilt_left_good.mp4`` with its
annotated video kept.

Run: ``.venv/bin/python -m pytest -m browser tests/test_clinic_browser.py``.
Screenshots land in ``artifacts/screenshots/clinic_*.png``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from coach.report import SessionReport
from sessions.auth import Accounts, Principal
from sessions.db import dispose_engine, get_engine, upgrade
from sessions.service import SCREENING_QUESTIONS, Clinic, ProgramItemIn
from tests.browser_utils import (
    AppServer,
    launch,
    open_app,
    run_app,
    screenshot,
    sign_in,
    wait_app_idle,
)
from tests.clinic_support import neck_report as neck_report_for_tests
from tests.clinic_support import screened

pytestmark = [pytest.mark.browser]

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = Path(os.environ.get("STRETCH_COACH_SAMPLES") or ROOT / "sample_videos")
CLIP = SAMPLES / "neck_side_tilt_left_good.mp4"
TIMEOUT_MS = 120_000
PASSWORD = "a calm and long password"
MARKUP_NAME = "<b>x</b><script>alert(1)</script>"


@dataclass
class Clinic3:
    """The people and records made for the module."""

    url: str
    admin: Principal
    ther_a: Principal
    ther_b: Principal
    pat_a: Principal        # therapist A's, display name with markup, one real session
    pat_b: Principal        # therapist B's
    pat_c: Principal        # therapist A's, with a program, no sessions
    session_a: int          # today: complete, annotated video kept
    session_a2: int         # three days ago: abandoned, a fault, pain 3 -> 6
    session_b: int

    def clinic(self, who: Principal) -> Clinic:
        return Clinic(who, get_engine(self.url))


def _seed(url: str, workdir: Path) -> Clinic3:
    from coach.analyze import AnalysisOptions, analyze_video
    from exercises.definition import load_library

    engine = get_engine(url)
    upgrade(engine)
    acc = Accounts(engine)
    acc.create_admin("admin", PASSWORD)
    admin = acc.login("admin", PASSWORD)
    ta = acc.create_user(admin, "ther_a", PASSWORD, "therapist", "Therapist Anna")
    tb = acc.create_user(admin, "ther_b", PASSWORD, "therapist", "Therapist Bert")
    acc.create_user(admin, "pat_a", PASSWORD, "patient", MARKUP_NAME, therapist_id=ta)
    acc.create_user(admin, "pat_b", PASSWORD, "patient", "Foreign Patient Bea",
                    therapist_id=tb)
    acc.create_user(admin, "pat_c", PASSWORD, "patient", "Carla Patient", therapist_id=ta)
    acc.create_user(admin, "pat_v", PASSWORD, "patient", "Vic Video", therapist_id=tb)
    acc.create_user(admin, "pat_l", PASSWORD, "patient", "Lou Live", therapist_id=tb)
    acc.create_user(admin, "pat_u", PASSWORD, "patient", "Uma Upcoming", therapist_id=tb)
    ther_a, ther_b, pat_a, pat_b, pat_c = (acc.login(u, PASSWORD) for u in
                                           ("ther_a", "ther_b", "pat_a", "pat_b", "pat_c"))

    # a real session: the pose model over a sample clip, annotated video kept
    d = load_library()["neck_side_tilt"]
    annotated = workdir / "neck_annotated.mp4"
    report = analyze_video(CLIP, d, AnalysisOptions(side="left", annotated_path=annotated))
    assert report.reps_done >= 1
    Clinic(pat_a, engine).set_video_opt_in(True)
    svc_a = Clinic(pat_a, engine)
    screening = svc_a.record_screening({k: False for k in SCREENING_QUESTIONS}, 3)
    session_a = svc_a.save_session(report, pain_after=2, screening_id=screening.screening_id,
                                   comment="Felt <i>fine</i>, a bit stiff on the left",
                                   video_path=str(annotated))
    # three days earlier: the same stretch stopped early, with a form fault, pain went up
    # (a pain_rise flag for therapist A)
    earlier = SessionReport.from_dict(report.to_dict())
    earlier.faults = [{"id": "shoulder_shrug", "side": "left", "rep": 1, "start_s": 3.0,
                       "end_s": 5.5, "duration_s": 2.5, "cue": "Keep your shoulders down"}]
    earlier.complete, earlier.problem = False, "camera stopped before the set was finished"
    three_days_ago = datetime.now(timezone.utc) - timedelta(days=3)
    session_a2 = screened(Clinic(pat_a, engine, clock=lambda: three_days_ago)).save_session(
        earlier, pain_before=3, pain_after=6, completion="abandoned",
        abandon_reason="It hurt, or the pain got worse")
    session_b = screened(Clinic(pat_b, engine)).save_session(report, pain_before=1, pain_after=1)
    Clinic(ther_a, engine).set_program(pat_c.user_id, [
        ProgramItemIn("neck_side_tilt", sides=("left", "right"), sets=1, reps=3, hold_s=10,
                      times_per_week=5, notes="Slowly, and breathe out as you tilt"),
        ProgramItemIn("chin_tuck", sets=2, reps=5, hold_s=5, times_per_week=7,
                      times_per_day=2),
    ], notes="Twice a day if it feels good.")
    # a program that starts in five days and ends four weeks later
    Clinic(ther_b, engine).set_program(
        acc.user_id(ther_b, "pat_u"), [ProgramItemIn("chin_tuck", reps=5, hold_s=5)],
        starts_on=date.today() + timedelta(days=5), ends_on=date.today() + timedelta(days=33))
    pat_l = acc.login("pat_l", PASSWORD)
    Clinic(ther_b, engine).set_program(pat_l.user_id, [
        ProgramItemIn("neck_side_tilt", sides=("left",), reps=3, hold_s=5, times_per_week=7)])
    return Clinic3(url, admin, ther_a, ther_b, pat_a, pat_b, pat_c, session_a, session_a2,
                   session_b)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, Clinic3]]:
    data = tmp_path_factory.mktemp("clinic-data")
    url = f"sqlite:///{data / 'clinic.db'}"
    people = _seed(url, data)
    env = {"STRETCH_COACH_DB_URL": url, "STRETCH_COACH_SAMPLES": str(SAMPLES)}
    with run_app(data, env=env) as server:
        yield server, people
    assert server.process.poll() is not None
    dispose_engine(url)


@pytest.fixture()
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 1000},
                                   accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    p = context.new_page()
    p.dialogs = []  # type: ignore[attr-defined]
    p.on("dialog", lambda d: (p.dialogs.append(d.message), d.dismiss()))  # type: ignore
    yield p
    assert not p.dialogs, f"a script ran in the page: {p.dialogs}"  # type: ignore
    context.close()


@pytest.fixture()
def app_and_camera(playwright: Any, tmp_path: Path) -> Iterator[Any]:
    """A page in a Chromium whose camera plays the sample clip (after 2 s of stillness)."""
    from tests.browser_utils import fake_camera_file

    camera = fake_camera_file(CLIP, tmp_path / "camera.mjpeg", lead_in_s=2.0)
    b = launch(playwright, camera)
    context = b.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    p = context.new_page()
    yield p
    context.close()
    b.close()


def _open(page: Any, app: AppServer, path: str = "") -> None:
    open_app(page, app, path)


def _main(page: Any) -> Any:
    return page.locator('[data-testid="stMain"]')


def _no_exception(page: Any) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, _main(page).inner_text()
    assert "Traceback" not in _main(page).inner_text()


def _select(page: Any, label: str, option: str | re.Pattern[str],
            timeout_s: float = 120.0) -> None:
    """Choose ``option`` in the Streamlit selectbox labelled ``label``.

    A selectbox opened while a rerun is still on its way lists the options it had
    (e.g. before the account just created): close it, wait for the app to be idle and
    open it again, until the option is there (a loaded machine reruns slowly).
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    deadline = time.monotonic() + timeout_s
    while True:
        wait_app_idle(page)
        page.get_by_role("combobox", name=label, exact=True).click()
        choice = page.get_by_role("option", name=option).first
        try:
            choice.wait_for(timeout=5_000)
            break
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
            if time.monotonic() > deadline:
                raise
    choice.click()
    wait_app_idle(page)


def _radio(page: Any, question: str, answer: str) -> None:
    box = page.locator('[data-testid="stRadio"]').filter(has_text=question)
    box.get_by_text(answer, exact=True).click()


# --------------------------------------------------------------------------- sign-in


def test_wrong_password_is_one_calm_line(page: Any, world: tuple[AppServer, Clinic3]) -> None:
    app, _ = world
    _open(page, app, "Sign_in")
    sign_in(page, "ther_a", "not the password")
    error = page.locator('[data-testid="stAlertContentError"]').first
    error.wait_for()
    # one line (after the icon's ligature), no traceback, no detail about which was wrong
    assert error.inner_text().strip().splitlines()[-1] == "Wrong username or password."
    _no_exception(page)
    assert page.get_by_role("button", name="Sign in").count() == 1  # still the form
    screenshot(page, "clinic_login_error")


def test_personal_pages_need_sign_in_in_clinic_mode(page: Any,
                                                    world: tuple[AppServer, Clinic3]) -> None:
    app, _ = world
    _open(page, app)
    menu = page.locator(".st-key-app-menu")
    menu.get_by_role("link", name="Sign in").wait_for()
    assert menu.get_by_role("link", name="My patients").count() == 0
    _open(page, app, "My_sessions")
    page.get_by_role("button", name="Sign in").wait_for()
    _no_exception(page)


def _signed_in_as(page: Any, name: str) -> None:
    from playwright.sync_api import expect

    page.locator(".st-key-account-box").get_by_text(name).wait_for()
    # the sidebar can show the account a moment before the main area drops the form
    expect(page.get_by_role("button", name="Sign in")).to_have_count(0, timeout=TIMEOUT_MS)


def _login_cookie(page: Any) -> dict[str, Any] | None:
    from app.auth_ui import COOKIE_NAME

    return next((c for c in page.context.cookies() if c["name"] == COOKIE_NAME), None)


def test_sign_in_survives_a_reload_until_sign_out(page: Any,
                                                  world: tuple[AppServer, Clinic3]) -> None:
    import hashlib

    from sqlalchemy import select, update

    from app.auth_ui import COOKIE_MAX_AGE_S
    from sessions.models import LoginSession

    app, people = world
    engine = get_engine(people.url)
    _open(page, app, "My_program")
    sign_in(page, "pat_c", PASSWORD)
    _signed_in_as(page, "Carla Patient")
    _main(page).get_by_text("Today's program").wait_for()
    page.wait_for_function("() => document.cookie.includes('stretch_coach_login=')")
    cookie = _login_cookie(page)
    assert cookie is not None and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert 0 < cookie["expires"] - time.time() <= COOKIE_MAX_AGE_S + 60
    assert PASSWORD not in cookie["value"]
    # the cookie is a login token the database knows by its hash only
    digest = hashlib.sha256(cookie["value"].encode()).hexdigest()
    with engine.connect() as c:
        assert c.execute(select(LoginSession.id).where(
            LoginSession.token_hash == digest)).first() is not None

    # a reload, and a new tab of the same browser: still signed in
    page.reload()
    wait_app_idle(page)
    _signed_in_as(page, "Carla Patient")
    _main(page).get_by_text("Today's program").wait_for()
    other = page.context.new_page()
    _open(other, app, "My_program")
    _signed_in_as(other, "Carla Patient")
    other.close()
    screenshot(page, "clinic_reload_signed_in")

    # a login that expired in the database is not revived by its cookie
    with engine.begin() as c:
        c.execute(update(LoginSession).where(LoginSession.token_hash == digest)
                  .values(expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    page.reload()
    wait_app_idle(page)
    page.get_by_role("button", name="Sign in").wait_for()
    page.wait_for_function("() => !document.cookie.includes('stretch_coach_login=')")

    # sign in again, sign out, reload: signed out, and the old token is dead for good
    sign_in(page, "pat_c", PASSWORD)
    _signed_in_as(page, "Carla Patient")
    page.wait_for_function("() => document.cookie.includes('stretch_coach_login=')")
    old = _login_cookie(page)
    assert old is not None and old["value"] != cookie["value"]
    page.get_by_role("button", name="Sign out").click()
    wait_app_idle(page)
    page.locator(".st-key-app-menu").get_by_role("link", name="Sign in").wait_for()
    page.wait_for_function("() => !document.cookie.includes('stretch_coach_login=')")
    page.reload()
    wait_app_idle(page)
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.locator(".st-key-account-box").count() == 0
    # a copy of the signed-out cookie put back by hand signs nobody in
    page.context.add_cookies([{k: old[k] for k in ("name", "value", "domain", "path")}])
    page.reload()
    wait_app_idle(page)
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.locator(".st-key-account-box").count() == 0
    _no_exception(page)
    screenshot(page, "clinic_reload_signed_out")


def test_patient_prints_the_program_handout(page: Any, world: tuple[AppServer, Clinic3],
                                            tmp_path: Path) -> None:
    app, _ = world
    _open(page, app, "My_program")
    sign_in(page, "pat_c", PASSWORD)
    wait_app_idle(page)
    with page.expect_download(timeout=TIMEOUT_MS) as dl:
        page.get_by_role("button", name="Print my program (PDF)").click()
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    import subprocess

    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "For: Carla Patient" in text and "Neck side tilt" in text and "Chin tuck" in text
    _no_exception(page)


# --------------------------------------------------------------------------- therapist


def _therapist(page: Any, app: AppServer, path: str = "Therapist") -> None:
    _open(page, app, path)
    sign_in(page, "ther_a", PASSWORD)
    wait_app_idle(page)


def test_therapist_sees_only_own_patients(page: Any, world: tuple[AppServer, Clinic3]) -> None:
    app, people = world
    _therapist(page, app)
    main = _main(page)
    page.get_by_role("heading", name="Patients").wait_for()
    combo = page.get_by_role("combobox", name="Open a patient")
    combo.click()
    options = [o.inner_text() for o in page.get_by_role("option").all()]
    page.keyboard.press("Escape")
    assert any("(pat_a)" in o and MARKUP_NAME in o for o in options), options
    assert any("(pat_c)" in o for o in options), options
    assert not any("pat_b" in o or "Foreign" in o for o in options), options
    assert "Foreign Patient Bea" not in main.inner_text()
    # the pain-rise flag of pat_a's abandoned session waits for the therapist, name as text
    attention = main.locator('[class*="st-key-all-flags-card-"]')
    attention.first.wait_for()
    assert attention.count() == 1
    assert "Pain went up" in attention.inner_text()
    assert MARKUP_NAME in attention.inner_text()
    assert "from 3/10 to 6/10" in attention.inner_text()
    menu = page.locator(".st-key-app-menu")
    assert menu.get_by_role("link", name="My patients").count() == 1
    assert menu.get_by_role("link", name="Accounts").count() == 0
    page.locator(".st-key-account-box").get_by_text("Therapist Anna").wait_for()
    _no_exception(page)
    screenshot(page, "clinic_patient_list")

    # a therapist adds a patient of their own
    page.get_by_text("Add a patient").click()
    page.get_by_role("textbox", name="Username").fill("pat_added")
    page.get_by_role("textbox", name="Full name").fill("Ada Added")
    page.get_by_role("textbox", name=re.compile("First password")).fill(PASSWORD)
    page.get_by_role("button", name="Create patient account").click()
    main.get_by_text("Created the patient account pat_added").wait_for()
    assert "Ada Added" in {p.display_name for p in people.clinic(people.ther_a).patients()}

    # a bookmarked link to another therapist's patient: signed in again, same answer as
    # for an id that does not exist
    for foreign in (people.pat_b.user_id, 99_999, "abc"):
        _therapist(page, app, f"Therapist?patient={foreign}")
        main.get_by_text("Patient not found or not yours.").wait_for()
        assert "Foreign Patient Bea" not in main.inner_text()
        _no_exception(page)
    screenshot(page, "clinic_not_yours")
    _therapist(page, app, f"Therapist?patient={people.pat_a.user_id}"
                          f"&session={people.session_b}")
    main.get_by_text("Session not found or not yours.").wait_for()


def _until(act: Callable[[], object], done: Any, tries: int = 4,
           each_ms: float = 30_000) -> None:
    """Do ``act`` until ``done`` (a locator) shows: a state, tried ``tries`` times."""
    for _ in range(tries - 1):
        act()
        try:
            done.first.wait_for(timeout=each_ms)
            return
        except Exception:  # playwright's TimeoutError: act again
            continue
    act()
    try:
        done.first.wait_for(timeout=TIMEOUT_MS)
    except Exception as e:  # say what the page showed instead
        screenshot(done.page, "until_failed")
        text = done.page.locator('[data-testid="stMain"]').inner_text()[:3000]
        raise AssertionError(f"{done} never showed; the page said:\n{text}") from e


def test_therapist_reviews_a_patient(page: Any, world: tuple[AppServer, Clinic3]) -> None:
    from playwright.sync_api import expect

    app, people = world
    _therapist(page, app)
    _select(page, "Open a patient", re.compile(r"\(pat_a\)"))
    page.get_by_role("button", name="Open patient").click()
    wait_app_idle(page)
    main = _main(page)
    # the display name is text: the markup shows as typed, nothing is interpreted
    heading = page.get_by_role("heading", name=MARKUP_NAME)
    heading.wait_for()
    assert heading.locator("b, script").count() == 0
    assert main.locator("b", has_text=re.compile(r"^x$")).count() == 0
    # the address is updated by a message after the page renders: wait for it
    page.wait_for_url(re.compile(rf"[?&]patient={people.pat_a.user_id}(&|$)"))
    # progress: adherence calendar, score, pain and ROM-per-stretch charts
    main.get_by_text("Range of motion per stretch").wait_for()
    charts = main.locator('[data-testid="stVegaLiteChart"]')
    charts.nth(3).locator("canvas, svg").first.wait_for()
    assert charts.count() >= 4
    main.get_by_text("Neck side tilt", exact=False).first.wait_for()
    _no_exception(page)
    screenshot(page, "clinic_patient_progress")

    # the open flag is closed from the patient's page: a note and a confirmation first
    close = page.get_by_role("button", name="Close flag")

    def submit() -> None:
        # the expander opens on a click; one landing while the page reruns can be undone
        wait_app_idle(page)
        if not close.is_visible():
            page.get_by_text("Close this flag").first.click()
        close.click()

    # seen on a loaded CI machine (3 runs): the warning never came after one submit; a
    # submit without the tick changes nothing, so it is sent again until the page answers
    _until(submit, main.get_by_text("Tick \"I have dealt with this flag\""))
    assert len(people.clinic(people.ther_a).flags(people.pat_a.user_id)) == 1
    page.get_by_label("What did you do? (required; kept with the flag)").fill(
        "Phoned: <b>pain</b> settled after rest")
    page.get_by_text("I have dealt with this flag", exact=True).click()
    expect(page.get_by_role("checkbox", name="I have dealt with this flag")).to_be_checked()
    # closing a closed flag changes nothing (the first note stays): resending is safe
    _until(lambda: close.click() if close.is_visible() else None,
           main.get_by_text("Closed flags (1)"))
    close.wait_for(state="detached")
    assert people.clinic(people.ther_a).flags(people.pat_a.user_id) == []
    (done,) = people.clinic(people.ther_a).flags(people.pat_a.user_id, open_only=False)
    assert done.resolution_note == "Phoned: <b>pain</b> settled after rest"
    assert done.resolved_by == people.ther_a.user_id and done.resolved_at is not None
    page.get_by_text("Closed flags (1)").click()
    main.get_by_text("closed by Therapist Anna", exact=False).wait_for()

    # sessions: filter, open the seeded one
    page.get_by_role("tab", name="Sessions").click()
    wait_app_idle(page)
    main.get_by_role("combobox", name="Open a session").wait_for()
    _select(page, "Stretch", "Chin tuck")
    main.get_by_text("No sessions in this period.").wait_for()
    _select(page, "Stretch", "All stretches")
    page.get_by_role("button", name="Open session").click()
    page.get_by_role("heading", name="Replay").wait_for()
    wait_app_idle(page)
    # the address is updated by a message after the page renders: wait for it
    page.wait_for_url(re.compile(rf"[?&]session={people.session_a}(&|$)"))
    page.get_by_role("heading", name="Repetitions").wait_for()
    assert main.get_by_text("Felt <i>fine</i>, a bit stiff on the left").count() == 1
    # replay: the kept annotated video, and the measure chart
    page.locator('[data-testid="stVideo"]').first.wait_for()
    main.locator('[data-testid="stVegaLiteChart"]').first.locator(
        "canvas, svg").first.wait_for()
    m = page.locator('[data-testid="stMetric"]').filter(has_text="Pain before")
    assert "3 → 2" in m.inner_text()
    # a note for the patient
    note = "Good range. Keep the shoulders <down> & *relaxed*."
    page.get_by_label("Add a note (the patient can read it)").fill(note)
    page.get_by_role("button", name="Add note").click()
    wait_app_idle(page)
    main.get_by_text(note, exact=True).wait_for()
    notes = people.clinic(people.ther_a).session(people.session_a).notes
    assert [n.text for n in notes] == [note]
    _no_exception(page)
    screenshot(page, "clinic_session")

    # the earlier, abandoned session: why it stopped, and its form fault on a timeline
    page.get_by_role("button", name="Back to the patient").click()
    heading.wait_for()
    wait_app_idle(page)
    page.get_by_role("tab", name="Sessions").click()
    wait_app_idle(page)
    _select(page, "Open a session", re.compile("abandoned"))
    page.get_by_role("button", name="Open session").click()
    page.get_by_role("heading", name="Form faults").wait_for()
    wait_app_idle(page)
    # the address is updated by a message after the page renders: wait for it
    page.wait_for_url(re.compile(rf"[?&]session={people.session_a2}(&|$)"))
    main.get_by_text("It hurt, or the pain got worse").wait_for()
    faults = main.locator('[data-testid="stVegaLiteChart"]').last
    faults.locator("canvas, svg").first.wait_for()
    assert main.get_by_text("No form faults were seen.").count() == 0
    _no_exception(page)
    screenshot(page, "clinic_session_abandoned")


def test_therapist_prescribes_a_program(page: Any, world: tuple[AppServer, Clinic3]) -> None:
    from playwright.sync_api import expect

    app, people = world
    _therapist(page, app, f"Therapist?patient={people.pat_a.user_id}")
    page.get_by_role("tab", name="Program").click()
    wait_app_idle(page)
    main = _main(page)
    main.get_by_text("No stretches in the program yet").wait_for()
    _select(page, "Stretch", re.compile(r"^Chin tuck"))
    page.get_by_label("Reps per set").fill("4")
    page.get_by_label("Hold (s)").fill("6")
    page.get_by_label("Sets", exact=True).fill("3")
    page.get_by_label("Rest between sets (s)").fill("45")
    page.get_by_label("Days a week").fill("5")
    page.get_by_label("Times a day").fill("2")
    page.get_by_label("Note for the patient (optional)").fill("Stand tall against a wall")
    page.get_by_role("button", name="Add to program").click()
    wait_app_idle(page)
    main.get_by_text("1. Chin tuck").wait_for()
    main.get_by_text("3 sets of 4, hold 6 s, rest 45 s between sets, twice a day, 5 days a "
                     "week").wait_for()
    main.get_by_text("Unsaved changes").wait_for()
    # the same stretch again is refused by the service's rule, calmly, and not added
    # (the "Add a stretch" expander folds once the draft has an item: wait for that, then
    # open it again)
    adder = page.locator('[data-testid="stExpander"]').filter(has_text="Add a stretch")
    stretch = page.get_by_role("combobox", name="Stretch", exact=True)
    stretch.wait_for(state="hidden")

    def add_again() -> None:
        # a click landing while the page reruns can be lost (seen under load): open the
        # adder and pick Chin tuck again as needed; adding it twice is refused, so resending
        # changes nothing, and nothing else is ever submitted
        wait_app_idle(page)
        if not stretch.is_visible():
            adder.get_by_text("Add a stretch").click()
            stretch.wait_for(state="visible")
        if not stretch.input_value().startswith("Chin tuck"):
            _select(page, "Stretch", re.compile(r"^Chin tuck"))
        expect(stretch).to_have_value(re.compile(r"^Chin tuck"))
        page.get_by_role("button", name="Add to program").click()

    _until(add_again, main.get_by_text("Chin tuck is already in the program for these sides"))
    assert main.get_by_text(re.compile(r"^2\. Chin tuck")).count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    page.get_by_role("button", name="Save program").click()
    wait_app_idle(page)
    main.get_by_text("Program saved.").wait_for()
    info = people.clinic(people.ther_a).program_info(people.pat_a.user_id)
    assert info is not None
    assert (info.starts_on, info.ends_on) == (date.today(), None)   # the defaults
    assert [(i.exercise, i.sets, i.reps, i.hold_s, i.times_per_week, i.times_per_day,
             i.rest_between_sets_s, i.notes) for i in info.items] == [
        ("chin_tuck", 3, 4, 6.0, 5, 2, 45, "Stand tall against a wall")]
    _no_exception(page)
    screenshot(page, "clinic_program_editor")


def test_therapist_exports_csv_and_pdf(page: Any, world: tuple[AppServer, Clinic3],
                                       tmp_path: Path) -> None:
    app, people = world
    _therapist(page, app, f"Therapist?patient={people.pat_a.user_id}")
    page.get_by_role("tab", name="Export").click()
    wait_app_idle(page)
    files = {}
    for label in ("Sessions (CSV)", "Repetitions (CSV)", "Progress report (PDF)",
                  "Program handout (PDF)"):
        with page.expect_download(timeout=TIMEOUT_MS) as dl:
            page.get_by_role("button", name=label).click()
        path = tmp_path / dl.value.suggested_filename
        dl.value.save_as(path)
        files[label] = path
    sessions = list(csv.DictReader(io.StringIO(files["Sessions (CSV)"].read_text("utf-8"))))
    assert {int(r["session_id"]) for r in sessions} == {people.session_a, people.session_a2}
    by_id = {int(r["session_id"]): r for r in sessions}
    assert by_id[people.session_a]["exercise"] == "neck_side_tilt"
    assert (by_id[people.session_a]["pain_before"], by_id[people.session_a]["pain_after"]) \
        == ("3", "2")
    assert by_id[people.session_a2]["completion"] == "abandoned"
    reps = list(csv.DictReader(io.StringIO(files["Repetitions (CSV)"].read_text("utf-8"))))
    svc = people.clinic(people.ther_a)
    n_reps = sum(len(svc.session(i).reps_rows) for i in (people.session_a, people.session_a2))
    assert len(reps) == n_reps >= 2
    assert {int(r["session_id"]) for r in reps} == {people.session_a, people.session_a2}
    pdf = files["Progress report (PDF)"].read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF") and len(pdf) > 5000
    assert files["Sessions (CSV)"].name.startswith("pat_a_")
    handout = files["Program handout (PDF)"]
    assert handout.name == "pat_a_program.pdf" and handout.read_bytes().startswith(b"%PDF")
    _no_exception(page)
    screenshot(page, "clinic_exports")


# --------------------------------------------------------------------------- patient


def test_patient_program_and_red_flag_stop(page: Any, world: tuple[AppServer, Clinic3]) -> None:
    from playwright.sync_api import expect

    app, people = world
    _open(page, app, "My_program")
    sign_in(page, "pat_c", PASSWORD)
    wait_app_idle(page)
    main = _main(page)
    main.get_by_text("Today's program").wait_for()
    main.get_by_text("1. Neck side tilt").wait_for()
    main.get_by_text("2. Chin tuck").wait_for()
    # the period and the dose in words
    today = date.today()
    main.get_by_text(f"Your program runs from {today.day} {today:%b}, no end date.").wait_for()
    main.get_by_text("2 sets of 5, hold 5 s, rest 30 s between sets, twice a day, every "
                     "day").wait_for()
    main.get_by_text("3 reps, hold 10 s, left and right sides, 5 times a week").wait_for()
    # each prescribed stretch shows its demonstration (made from its definition)
    for name in ("Neck side tilt", "Chin tuck"):
        main.locator(f'video[aria-label*="{name}"]').wait_for()
    text = main.inner_text()
    assert "Slowly, and breathe out as you tilt" in text
    assert "Twice a day if it feels good." in text
    assert "Prescribed by Therapist Anna" in text
    menu = page.locator(".st-key-app-menu")
    assert menu.get_by_role("link", name="My patients").count() == 0
    _no_exception(page)
    screenshot(page, "clinic_my_program")

    # start the first item: the safety questions come first
    main.get_by_role("link", name="Start with the live coach").first.click()
    wait_app_idle(page)
    main.get_by_text("Before you start: a quick safety check").wait_for()
    assert page.locator('iframe[title*="webrtc"]').count() == 0
    questions = list(SCREENING_QUESTIONS.values())
    # an unanswered question is not taken as "no"
    page.get_by_role("button", name="Continue").click()
    main.get_by_text("Please answer every question").wait_for()
    for q in questions:
        _radio(page, q, "Yes" if "numbness" in q else "No")
    screenshot(page, "clinic_screening")
    page.get_by_role("button", name="Continue").click()
    wait_app_idle(page)
    stop = page.locator(".st-key-screening-stop")
    # the stop box is drawn piece by piece while the page reruns: wait until every part
    # is there (its last line included) before reading it
    for part in ("Please don't stretch today.", "Your therapist has been notified",
                 "You told us:", "numbness", "urgent care", "tell your therapist"):
        expect(stop).to_contain_text(part, timeout=TIMEOUT_MS)
    wait_app_idle(page)
    stop_text = stop.inner_text()
    assert page.locator('iframe[title*="webrtc"]').count() == 0
    flags = people.clinic(people.ther_a).flags(people.pat_c.user_id)
    assert [f.kind for f in flags] == ["red_flag"]
    _no_exception(page)
    screenshot(page, "clinic_red_flag")

    # "answered by mistake" does not reopen the day: nothing is offered that would
    # record a session, here or on any other page, even in a new tab
    assert page.get_by_role("button", name=re.compile("answered by mistake")).count() == 0
    assert "tell your therapist" in stop_text and "numbness" in stop_text
    for path in ("Live_coach", "Analyse_video"):
        _open(page, app, path)
        sign_in(page, "pat_c", PASSWORD)
        wait_app_idle(page)
        if path == "Analyse_video":   # the picker starts at the prescribed stretch
            assert "Neck side tilt" in page.get_by_role(
                "combobox", name="Stretch", exact=True).input_value()
        page.locator(".st-key-screening-stop").get_by_text(
            "Please don't stretch today").first.wait_for()
        assert main.get_by_text("Before you start: a quick safety check").count() == 0
        assert page.locator('iframe[title*="webrtc"]').count() == 0
        _no_exception(page)
    screenshot(page, "clinic_red_flag_day")
    with pytest.raises(ValueError, match="red flag"):
        people.clinic(people.ther_a).save_session(neck_report_for_tests(),
                                                  patient_id=people.pat_c.user_id)


def test_patient_sees_a_program_that_has_not_started(page: Any,
                                                     world: tuple[AppServer, Clinic3]) -> None:
    app, _ = world
    _open(page, app, "My_program")
    sign_in(page, "pat_u", PASSWORD)
    main = _main(page)
    start, end = date.today() + timedelta(days=5), date.today() + timedelta(days=33)

    def day(d: date) -> str:
        return f"{d.day} {d:%b}" + ("" if d.year == date.today().year else f" {d.year}")

    period = f"from {day(start)} to {day(end)}"
    main.get_by_text(f"Your program has not started yet: it runs {period}.").wait_for()
    main.get_by_text("1. Chin tuck").wait_for()
    wait_app_idle(page)
    assert main.get_by_text("Today's program").count() == 0
    assert main.get_by_role("link", name="Start with the live coach").count() == 0
    _no_exception(page)
    screenshot(page, "clinic_my_program_upcoming")


def test_patient_sees_own_sessions_and_notes(page: Any,
                                             world: tuple[AppServer, Clinic3]) -> None:
    app, people = world
    svc = people.clinic(people.ther_a)
    if not svc.session(people.session_a).notes:
        svc.add_note(people.session_a, "Well done this week")
    _open(page, app, "My_sessions")
    sign_in(page, "pat_a", PASSWORD)
    wait_app_idle(page)
    main = _main(page)
    main.get_by_role("heading", name="Notes").wait_for()
    # the notes render after their heading: wait for the note itself
    main.get_by_text(svc.session(people.session_a).notes[0].text, exact=True).first.wait_for()
    assert page.get_by_label("Add a note (the patient can read it)").count() == 0
    # a patient can't open another patient's session by id
    _open(page, app, f"My_sessions?session={people.session_b}")
    sign_in(page, "pat_a", PASSWORD)
    wait_app_idle(page)
    assert "Foreign" not in main.inner_text()
    _no_exception(page)
    screenshot(page, "clinic_my_sessions")


def test_patient_analyses_a_video_into_their_record(page: Any, tmp_path: Path,
                                                    world: tuple[AppServer, Clinic3]) -> None:
    app, people = world
    pat_v = Accounts(get_engine(people.url)).user_id(people.ther_b, "pat_v")
    # a sample: analysed, never offered for the record, never saved
    _open(page, app, f"Analyse_video?sample={CLIP.stem}")
    sign_in(page, "pat_v", PASSWORD)
    page.get_by_text("Save the result to my record").first.wait_for(state="attached")
    page.get_by_role("tab", name="Try a sample video").click()
    panel = page.get_by_role("tabpanel").filter(has_text="Analyse this sample")
    assert panel.get_by_text("Save the result to my record").count() == 0
    page.get_by_role("button", name="Analyse this sample").click()
    page.get_by_text("A sample video: the result is not saved to your record.").wait_for(
        timeout=240_000)
    wait_app_idle(page, 240_000)
    assert people.clinic(people.ther_b).sessions(pat_v) == []
    # the patient's own upload: the same safety questions first, then the pain after
    own = tmp_path / "my neck.mp4"
    own.write_bytes(CLIP.read_bytes() + b"\0")     # not byte-identical to the sample
    _open(page, app, "Analyse_video?stretch=neck_side_tilt")
    sign_in(page, "pat_v", PASSWORD)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(own))
    page.get_by_text(own.name).first.wait_for()
    main = _main(page)
    main.get_by_text("Before you start: a quick safety check").wait_for()
    assert page.get_by_role("button", name="Analyse", exact=True).is_disabled()
    for q in SCREENING_QUESTIONS.values():
        _radio(page, q, "No")
    _slide(page, "How much pain do you have right now?", 3)
    page.get_by_role("button", name="Continue").click()
    wait_app_idle(page)
    main.get_by_text("Safety check done").wait_for()
    page.get_by_role("button", name="Analyse", exact=True).click()
    form = page.locator(".st-key-analyse-after-box")
    form.get_by_text("How did it go?").wait_for(timeout=240_000)
    wait_app_idle(page)
    assert people.clinic(people.ther_b).sessions(pat_v) == []   # not before the question
    _slide(page, "How much pain do you have now?", 3)
    form.get_by_role("button", name="Save to my record").click()
    saved = page.get_by_text(re.compile(r"Saved to your record \(session (\d+)\)\."))
    saved.wait_for(timeout=120_000)
    sid = int(re.search(r"session (\d+)", saved.inner_text()).group(1))  # type: ignore[union-attr]
    mine = people.clinic(people.ther_b).sessions(pat_v)
    assert [(s.id, s.source, s.exercise, s.pain_before, s.pain_after) for s in mine] == [
        (sid, "video", "neck_side_tilt", 3, 3)]
    assert people.clinic(people.ther_b).session(sid).screening is not None
    assert sid not in {s.id for s in people.clinic(people.ther_a).sessions()}
    _no_exception(page)


def _slide(page: Any, label: str, value: int) -> None:
    """Move the Streamlit slider labelled ``label`` to ``value`` with the keyboard."""
    thumb = page.locator('[data-testid="stSlider"]').filter(has_text=label).get_by_role("slider")
    thumb.focus()
    now = int(thumb.input_value())  # an <input type="range">
    for _ in range(abs(value - now)):
        page.keyboard.press("ArrowRight" if value > now else "ArrowLeft")
    assert int(thumb.input_value()) == value


def test_patient_live_session_asks_how_it_went(app_and_camera: Any,
                                              world: tuple[AppServer, Clinic3]) -> None:
    """Today's program live: screening, one rep of three, stop, pain after and a reason."""
    app, people = world
    page = app_and_camera
    _open(page, app, "Live_coach")
    sign_in(page, "pat_l", PASSWORD)
    main = _main(page)
    main.get_by_text("Before you start: a quick safety check").wait_for()
    for q in SCREENING_QUESTIONS.values():
        _radio(page, q, "No")
    _slide(page, "How much pain do you have right now?", 2)
    page.get_by_role("button", name="Continue").click()
    picker = page.get_by_role("combobox", name="Stretch from your program")
    picker.wait_for()
    wait_app_idle(page)
    assert "Neck side tilt" in picker.input_value()
    main.get_by_text("Safety check done (pain 2/10)").wait_for()
    frame = page.frame_locator('iframe[title*="webrtc"]')
    frame.get_by_role("button", name="Start camera").click()
    panel = page.locator(".st-key-live-panel")
    panel.get_by_text(re.compile(r"Reps \(left\): [1-9] of 3")).wait_for(timeout=90_000)
    frame.get_by_role("button", name="Stop").click()
    # on a starved machine (load 7 on 2 cores, coaching at ~1 frame/s) the summary took
    # over 60 s once, as in test_app_browser: wait for it up to 180 s
    page.get_by_text("How did it go?").wait_for(timeout=180_000)
    wait_app_idle(page)
    form = page.locator(".st-key-after-session-box")
    form.get_by_text("You stopped before the end of the set").wait_for()
    form.get_by_text("I ran out of time", exact=True).click()
    _slide(page, "How much pain do you have now?", 4)
    form.get_by_label("Anything to tell your therapist? (optional)").fill("Neck felt <tight>")
    screenshot(page, "clinic_after_session")
    form.get_by_role("button", name="Save to my record").click()
    # pain went up by 2: saved, said so, and the safety questions come again
    done = page.get_by_text(re.compile(r"Saved to your record \(session (\d+)\)"))
    done.wait_for()
    assert "Your pain went up from 2 to 4" in done.inner_text()
    main.get_by_text("Before you start: a quick safety check").wait_for()
    sid = int(re.search(r"session (\d+)", done.inner_text()).group(1))  # type: ignore[union-attr]
    d = people.clinic(people.ther_b).session(sid)
    assert (d.source, d.exercise, d.sides) == ("live", "neck_side_tilt", ("left",))
    assert (d.pain_before, d.pain_after) == (2, 4)
    assert d.completion == "abandoned" and d.abandon_reason == "I ran out of time"
    assert d.comment == "Neck felt <tight>"
    assert d.screening is not None and not any(d.screening.values())
    assert d.reps >= 1
    assert [f.kind for f in people.clinic(people.ther_b).flags(d.patient_id)] == ["pain_rise"]
    # the repeated safety check starts at the pain just reported, not at 0
    slider = page.locator('[data-testid="stSlider"]').filter(
        has_text="How much pain do you have right now?").get_by_role("slider")
    assert int(slider.input_value()) == 4
    _no_exception(page)
    screenshot(page, "clinic_after_session_saved")


# --------------------------------------------------------------------------- admin


def test_first_admin_turns_on_clinic_mode(page: Any, tmp_path: Path) -> None:
    """No accounts: the personal coach, no sign-in; creating the admin turns accounts on."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    with run_app(tmp_path / "data", env={"STRETCH_COACH_DB_URL": url}) as app:
        _open(page, app)
        menu = page.locator(".st-key-app-menu")
        for name in ("Live coach", "Analyse video", "My sessions"):
            menu.get_by_role("link", name=name).wait_for()
        assert menu.get_by_role("link", name="Sign in").count() == 0
        page.get_by_role("link", name="Clinic accounts").click()
        page.get_by_role("heading", name="Create the administrator account").wait_for()
        page.get_by_role("textbox", name="Username").fill("boss")
        page.get_by_role("textbox", name="Password (at least 10 characters)").fill(PASSWORD)
        page.get_by_role("textbox", name="Password again").fill(PASSWORD)
        page.get_by_role("button", name="Create administrator").click()
        page.get_by_role("heading", name="Create an account").wait_for()
        wait_app_idle(page)
        assert menu.get_by_role("link", name="Accounts").count() == 1
        assert menu.get_by_role("link", name="Live coach").count() == 0
        page.locator(".st-key-account-box").get_by_text("boss").wait_for()
        assert Accounts(get_engine(url)).any_accounts()
        # signed out, the clinical pages ask for a sign-in
        page.get_by_role("button", name="Sign out").click()
        menu.get_by_role("link", name="Sign in").wait_for()
        _open(page, app, "Live_coach")
        page.get_by_role("button", name="Sign in").wait_for()
        _no_exception(page)
    dispose_engine(url)



def test_admin_manages_accounts_without_clinical_data(page: Any,
                                                      world: tuple[AppServer, Clinic3]) -> None:
    app, people = world
    _open(page, app, "Admin")
    sign_in(page, "admin", PASSWORD)
    main = _main(page)
    page.get_by_role("heading", name="Create an account").wait_for()
    menu = page.locator(".st-key-app-menu")
    assert menu.get_by_role("link", name="Accounts").count() == 1
    assert menu.get_by_role("link", name="My patients").count() == 0
    # a patient without a therapist, then assigned to therapist B
    page.get_by_role("textbox", name="Username").fill("pat_new")
    page.get_by_role("textbox", name=re.compile("Full name")).fill("Nina New")
    page.get_by_role("textbox", name=re.compile("First password")).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    main.get_by_text("Created the patient account pat_new").wait_for()
    _select(page, "Patient", re.compile(r"pat_new.*no therapist"))
    _select(page, "Therapist", re.compile(r"\(ther_b\)"))
    page.get_by_role("button", name="Assign").click()
    main.get_by_text("Nina New is now a patient of Therapist Bert.").wait_for()
    users = {u.username: u for u in Accounts(get_engine(people.url)).list_users(people.admin)}
    assert users["pat_new"].therapist_username == "ther_b"
    assert users["pat_new"].display_name == "Nina New"
    # a short password is refused in one line
    page.get_by_role("textbox", name="Username").fill("pat_short")
    page.get_by_role("textbox", name=re.compile("First password")).fill("short")
    page.get_by_role("button", name="Create account").click()
    main.get_by_text("The account was not created").wait_for()
    assert "pat_short" not in {u.username for u in
                               Accounts(get_engine(people.url)).list_users(people.admin)}
    _no_exception(page)
    screenshot(page, "clinic_admin")
    # no clinical pages for an administrator
    page.locator(".st-key-app-menu").get_by_role("link", name="Stretch library").click()
    wait_app_idle(page)
    _open(page, app, "Therapist")
    sign_in(page, "admin", PASSWORD)
    main.get_by_text("This page is for therapists").wait_for()


@pytest.mark.parametrize("broken", ["server_down", "data_is_a_file"])
def test_an_unusable_database_is_said_plainly(page: Any, tmp_path: Path, broken: str) -> None:
    """Never "no accounts are set up", never an offer to create an administrator."""
    data = tmp_path / "data"
    data.mkdir()
    if broken == "server_down":
        env = {"STRETCH_COACH_DB_URL": "postgresql+psycopg://postgres@127.0.0.1:1/clinic"}
    else:
        afile = tmp_path / "not-a-folder"
        afile.write_text("x")
        env = {"STRETCH_COACH_DATA": str(afile), "STRETCH_COACH_DB_URL": ""}
    with run_app(data, env=env) as app:
        for path in ("Sign_in", "My_sessions", "Admin", ""):
            _open(page, app, path)
            main = _main(page)
            main.get_by_text("Stretch Coach can't use its database right now").wait_for()
            text = main.inner_text()
            assert "No accounts are set up" not in text
            assert page.get_by_role("button", name="Create administrator").count() == 0
            for w in ("SELECT", "Traceback", "psycopg.", "sqlalchemy", "[SQL"):
                assert w not in text, (path, w)
            _no_exception(page)
        screenshot(page, f"database_{broken}")
