"""``stretch-coach users``, ``sessions`` and ``analyze --save`` on SQLite and PostgreSQL.

The commands run in-process (click's CliRunner) against the test database through
``$STRETCH_COACH_DB_URL``. ``analyze --save`` uses a real report of
``sample_videos/neck_side_tilt_left_good.mp4`` made once by ``analyze_video``; the
command's own call to ``analyze_video`` is replaced by one returning that report,
so the tests exercise the saving and access rules without re-running the model.
"""

from __future__ import annotations

import copy
import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

import app.cli as app_cli
import sessions.cli as sessions_cli
from coach.report import SessionReport
from sessions.models import LoginSession
from sessions.service import Clinic
from tests import clinic_support
from tests.clinic_support import (
    PASSWORD,
    TRICKY,
    World,
    neck_report,
    screened,
)

# the shared fixtures: every test here runs on SQLite and on PostgreSQL
db_url, engine, world = clinic_support.db_url, clinic_support.engine, clinic_support.world

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_videos" / "neck_side_tilt_left_good.mp4"


def run(db_url: str, *args: str, password: str | None = None, input: str | None = None,
        **env: str | None) -> Result:
    environ = {"STRETCH_COACH_DB_URL": db_url, "STRETCH_COACH_PASSWORD": password,
               "STRETCH_COACH_ADMIN_PASSWORD": None, "STRETCH_COACH_NEW_PASSWORD": None,
               **env}
    return CliRunner().invoke(app_cli.cli, list(args), env=environ, input=input,
                              catch_exceptions=False)


def assert_error(result: Result, code: int, *needles: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.output)
    # one error line (password prompts, if any, also go to stderr)
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error: ")]
    others = [ln for ln in result.stderr.splitlines()
              if ln.strip() and not ln.startswith(("error: ", "New password", "Password",
                                                   "Repeat for confirmation",
                                                   "Error: The two entered values"))]
    assert len(errors) == 1 and not others, result.stderr
    for n in needles:
        assert n in errors[0], errors[0]


def _logins(world_or_engine) -> int:
    eng = getattr(world_or_engine, "engine", world_or_engine)
    with eng.connect() as c:
        return c.execute(select(func.count()).select_from(LoginSession)).scalar_one()


def test_exit_codes_are_one_table() -> None:
    """One `stretch-coach` command, one table of exit codes: the coach's, the clinic's
    and the jobs' commands raise the same error type, and no code means two things."""
    import app.jobs_cli as jobs_cli
    import sessions.cli_common as common
    from sessions import errors as db_errors

    assert app_cli.CliError is sessions_cli.CliError is jobs_cli.CliError
    assert app_cli.EXIT_USAGE is common.EXIT_USAGE and sessions_cli.EXIT_AUTH == 7
    codes = {name: value for module in (common, db_errors) for name, value in
             vars(module).items() if name.startswith("EXIT_")}
    assert len(codes) >= 16
    assert len(set(codes.values())) == len(codes), codes
    assert 0 not in codes.values() and 1 not in codes.values()  # success, unexpected


# --------------------------------------------------------------------------- users


def test_create_admin_prompts_twice_with_hidden_input(db_url: str, engine) -> None:
    secret = "admin secret 123"
    r = run(db_url, "users", "create-admin", "--username", "boss",
            input=f"{secret}\n{secret}\n")
    assert r.exit_code == 0, r.output
    assert "created admin boss" in r.stdout
    assert secret not in r.output
    assert_error(run(db_url, "users", "create-admin", "--username", "boss2",
                     STRETCH_COACH_ADMIN_PASSWORD=secret), 7, "already exists")
    # the environment works too, and the list shows the account
    r = run(db_url, "users", "list", "--as-admin", "boss", password=secret)
    assert r.exit_code == 0 and "admin      boss" in r.stdout


def test_create_admin_refuses_bad_or_missing_passwords(db_url: str, engine) -> None:
    assert_error(run(db_url, "users", "create-admin", "--username", "boss",
                     STRETCH_COACH_ADMIN_PASSWORD="short"), 2, "too short")
    assert_error(run(db_url, "users", "create-admin", "--username", "boss", input=""),
                 2, "STRETCH_COACH_ADMIN_PASSWORD")
    # mismatched confirmation, then nothing more to read: no account
    assert_error(run(db_url, "users", "create-admin", "--username", "boss",
                     input="first password 1\nsecond password\n"), 2)
    assert_error(run(db_url, "users", "list", "--as-admin", "boss", password="whatever it is"),
                 7, "wrong username or password")


def test_admin_creates_therapists_and_patients(db_url: str, engine) -> None:
    admin_pw = "the admin password"
    assert run(db_url, "users", "create-admin", "--username", "boss",
               STRETCH_COACH_ADMIN_PASSWORD=admin_pw).exit_code == 0
    r = run(db_url, "users", "create", "--role", "therapist", "--username", "t1",
            "--display-name", TRICKY[0], "--as-admin", "boss", password=admin_pw,
            STRETCH_COACH_NEW_PASSWORD=PASSWORD)
    assert r.exit_code == 0, r.output
    r = run(db_url, "users", "create", "--role", "patient", "--username", TRICKY[1],
            "--therapist", "t1", "--display-name", "P One", "--as-admin", "boss",
            password=admin_pw, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    assert PASSWORD not in r.output and admin_pw not in r.output
    listed = run(db_url, "users", "list", "--as-admin", "boss", password=admin_pw).stdout
    assert f"therapist  t1  ({TRICKY[0]})" in listed
    assert f"patient    {TRICKY[1]}  (P One)  therapist: t1" in listed
    # wrong admin password, a non-admin listing, a therapist for a therapist
    assert_error(run(db_url, "users", "create", "--role", "therapist", "--username", "t2",
                     "--as-admin", "boss", password="not the password",
                     STRETCH_COACH_NEW_PASSWORD=PASSWORD), 7, "wrong username or password")
    assert_error(run(db_url, "users", "list", "--as-admin", "t1", password=PASSWORD), 7)
    assert_error(run(db_url, "users", "create", "--role", "therapist", "--username", "t3",
                     "--therapist", "t1", "--as-admin", "boss", password=admin_pw,
                     STRETCH_COACH_NEW_PASSWORD=PASSWORD), 2, "patient accounts only")
    # a therapist creates their own patient
    r = run(db_url, "users", "create", "--role", "patient", "--username", "p2", "--user", "t1",
            password=PASSWORD, STRETCH_COACH_NEW_PASSWORD=PASSWORD)
    assert r.exit_code == 0, r.output
    assert _logins(engine) == 0   # every command logged out


def test_reset_password(db_url: str, world: World) -> None:
    r = run(db_url, "users", "reset-password", "--username", "pat_a", "--as-admin", "admin",
            password=PASSWORD, input="new password 42\nnew password 42\n")
    assert r.exit_code == 0, r.output
    assert "new password 42" not in r.output
    assert world.accounts.login("pat_a", "new password 42").username == "pat_a"
    assert_error(run(db_url, "users", "reset-password", "--username", "pat_b", "--as-admin",
                     "ther_a", password=PASSWORD, STRETCH_COACH_NEW_PASSWORD="whatever 123"), 7)


def test_assign_patient(db_url: str, world: World) -> None:
    pw = {"password": PASSWORD}
    r = run(db_url, "users", "assign", "--patient", "pat_b", "--therapist", "ther_a",
            "--as-admin", "admin", **pw)
    assert r.exit_code == 0, r.output
    assert "pat_b" in [p.username for p in Clinic(world.ther_a, world.engine).patients()]
    assert_error(run(db_url, "users", "assign", "--patient", "pat_b", "--as-admin", "ther_a",
                     **pw), 7)


# --------------------------------------------------------------------------- sessions


@pytest.fixture
def saved(world: World) -> dict[str, int]:
    sa = screened(Clinic(world.pat_a, world.engine)).save_session(
        neck_report(), pain_before=1, pain_after=4, comment="ok \x1b[31mred\x1b[0m " + TRICKY[0])
    sb = screened(Clinic(world.pat_b, world.engine)).save_session(neck_report())
    return {"a": sa, "b": sb}


def test_sessions_list_and_show_are_scoped(db_url: str, world: World, saved: dict) -> None:
    pw = {"password": PASSWORD}
    r = run(db_url, "sessions", "list", "--user", "ther_a", **pw)
    assert r.exit_code == 0, r.output
    assert f"{saved['a']:>5}" in r.stdout and "pat_a" in r.stdout
    assert "pat_b" not in r.stdout and f"{saved['b']:>5} " not in r.stdout
    r = run(db_url, "sessions", "show", str(saved["a"]), "--user", "ther_a", **pw)
    assert r.exit_code == 0, r.output
    assert "Neck side tilt" in r.stdout and "rep 3" in r.stdout
    assert "\x1b" not in r.stdout and "\\x1b[31mred" in r.stdout   # escapes shown, not run
    assert TRICKY[0] in r.stdout
    for args in (["sessions", "show", str(saved["b"]), "--user", "ther_a"],
                 ["sessions", "show", "99999", "--user", "ther_a"],
                 ["sessions", "list", "--patient", "pat_b", "--user", "ther_a"],
                 ["sessions", "list", "--patient", "nobody", "--user", "ther_a"],
                 ["sessions", "note", str(saved["b"]), "hi", "--user", "ther_a"],
                 ["sessions", "flags", "--patient", "pat_b", "--user", "ther_a"],
                 ["sessions", "show", str(saved["b"]), "--user", "pat_a"],
                 ["sessions", "list", "--patient", "pat_b", "--user", "pat_a"],
                 ["sessions", "list", "--user", "admin"],
                 ["sessions", "export", "--patient", "pat_b", "--csv", "/tmp/x.csv",
                  "--user", "ther_a"]):
        assert_error(run(db_url, *args, **pw), 7)
    r = run(db_url, "sessions", "list", "--user", "pat_a", **pw)
    assert r.exit_code == 0 and f"{saved['a']:>5}" in r.stdout
    assert_error(run(db_url, "sessions", "list", "--user", "ther_a", password="wrong one!!"),
                 7, "wrong username or password")
    assert _logins(world) == 6   # the fixture's own logins; the commands logged out


def test_note_and_flags(db_url: str, world: World, saved: dict) -> None:
    pw = {"password": PASSWORD}
    r = run(db_url, "sessions", "flags", "--user", "ther_a", **pw)
    assert r.exit_code == 0 and "pain_rise (open)" in r.stdout
    r = run(db_url, "sessions", "note", str(saved["a"]), TRICKY[1], "--user", "ther_a", **pw)
    assert r.exit_code == 0, r.output
    assert [n.text for n in Clinic(world.pat_a, world.engine).session(saved["a"]).notes] == [
        TRICKY[1]]
    assert_error(run(db_url, "sessions", "note", str(saved["a"]), "x", "--user", "pat_a", **pw),
                 7)


def test_export_writes_csv_and_pdf(db_url: str, world: World, saved: dict,
                                   tmp_path: Path) -> None:
    pw = {"password": PASSWORD}
    out = tmp_path / "a.csv"
    pdf = tmp_path / "a.pdf"
    r = run(db_url, "sessions", "export", "--patient", "pat_a", "--since", "2000-01-01",
            "--until", "2100-12-31", "--csv", str(out), "--pdf", str(pdf), "--user", "ther_a",
            **pw)
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert [int(x["session_id"]) for x in rows] == [saved["a"]]
    assert rows[0]["comment"].endswith(TRICKY[0])
    reps = list(csv.DictReader(io.StringIO((tmp_path / "a_reps.csv").read_text("utf-8"),
                                           newline="")))
    assert len(reps) == 3
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Patient: Patient A" in text
    # the patient exports their own data without --patient
    r = run(db_url, "sessions", "export", "--pdf", str(tmp_path / "own.pdf"), "--user",
            "pat_a", **pw)
    assert r.exit_code == 0 and (tmp_path / "own.pdf").stat().st_size > 1000
    assert_error(run(db_url, "sessions", "export", "--patient", "pat_a", "--user", "ther_a",
                     **pw), 2, "nothing to export")
    assert_error(run(db_url, "sessions", "export", "--patient", "pat_a", "--csv",
                     str(tmp_path / "missing" / "x.csv"), "--user", "ther_a", **pw), 3,
                 "does not exist")
    assert_error(run(db_url, "sessions", "export", "--csv", str(out), "--user", "ther_a",
                     **pw), 2, "--patient is required")
    r = run(db_url, "sessions", "export", "--patient", "pat_a", "--since", "yesterday",
            "--csv", str(out), "--user", "ther_a", **pw)
    assert r.exit_code == 2


# --------------------------------------------------------------------------- analyze --save


@pytest.fixture(scope="session")
def sample_report() -> SessionReport:
    """The real report of the sample clip (the pose model runs once per test session)."""
    from coach.analyze import AnalysisOptions, analyze_video
    from exercises.definition import load_library

    d = load_library()["neck_side_tilt"]
    return analyze_video(SAMPLE, d, AnalysisOptions(side="left"))


@pytest.fixture
def fake_analysis(sample_report: SessionReport, monkeypatch: pytest.MonkeyPatch) -> list:
    import coach.analyze

    calls: list = []

    def analyze_video(path, definition, options=None, progress=None, estimator=None):
        calls.append(path)
        return SessionReport.from_dict(copy.deepcopy(sample_report.to_dict()))

    monkeypatch.setattr(coach.analyze, "analyze_video", analyze_video)
    return calls


NO_ANSWERS = "n\n" * 7   # the seven safety questions, all "no"


@pytest.fixture
def own_video(tmp_path: Path) -> Path:
    """A patient's own recording: not byte-identical to any bundled sample."""
    out = tmp_path / "my recording.mp4"
    out.write_bytes(SAMPLE.read_bytes() + b"\0")
    return out


def _analyze(db_url: str, *extra: str, password: str | None = PASSWORD,
             video: Path = SAMPLE, input: str | None = None) -> Result:
    return run(db_url, "analyze", str(video), "--exercise", "neck_side_tilt", "--side",
               "left", "-q", *extra, password=password, input=input)


def test_analyze_save_as_therapist_for_own_patient(db_url: str, world: World,
                                                   fake_analysis: list, own_video: Path,
                                                   sample_report: SessionReport) -> None:
    assert sample_report.reps_done >= 3 and sample_report.source == "video"
    r = _analyze(db_url, "--save", "--patient", "pat_a", "--user", "ther_a", video=own_video,
                 input=NO_ANSWERS + "2\n3\n")
    assert r.exit_code == 0, r.output
    assert fake_analysis == [own_video]
    sid = int(r.stdout.strip().splitlines()[-1].rsplit(" ", 1)[-1])
    d = Clinic(world.pat_a, world.engine).session(sid)
    assert (d.source, d.exercise, d.sides) == ("video", "neck_side_tilt", ("left",))
    assert (d.pain_before, d.pain_after) == (2, 3)
    assert d.screening == dict.fromkeys(d.screening, False) and len(d.screening) == 7
    assert d.reps == sample_report.reps_done
    assert len(d.reps_rows) == len(sample_report.reps)
    assert d.score == pytest.approx(sample_report.score["score"])
    assert _logins(world) == 6


def test_analyze_save_as_the_patient(db_url: str, world: World, fake_analysis: list,
                                     own_video: Path) -> None:
    r = _analyze(db_url, "--save", "--user", "pat_a", video=own_video,
                 input=NO_ANSWERS + "0\n0\n")
    assert r.exit_code == 0, r.output
    assert [s.patient_id for s in Clinic(world.ther_a, world.engine).sessions()] == [
        world.pat_a.user_id]


def test_analyze_save_refuses_a_bundled_sample(db_url: str, world: World,
                                               fake_analysis: list) -> None:
    assert_error(_analyze(db_url, "--save", "--user", "pat_a", input=NO_ANSWERS + "0\n0\n"),
                 2, "sample")
    assert fake_analysis == []
    assert Clinic(world.ther_a, world.engine).sessions() == []
    # renamed, it is still the sample
    assert_error(_analyze(db_url, "--save", "--user", "pat_a", input=NO_ANSWERS + "0\n0\n",
                          video=_copy(SAMPLE, world)), 2, "sample")
    assert fake_analysis == []


def _copy(src: Path, world: World) -> Path:
    import shutil
    import tempfile

    out = Path(tempfile.mkdtemp(prefix="sc-test-")) / "renamed.mp4"
    shutil.copyfile(src, out)
    return out


def test_analyze_save_stops_on_a_red_flag_for_the_whole_day(
        db_url: str, world: World, fake_analysis: list, own_video: Path) -> None:
    red = "n\ny\n" + "n\n" * 5 + "1\n"          # new weakness in the arms
    r = _analyze(db_url, "--save", "--user", "pat_a", video=own_video, input=red)
    assert r.exit_code == 10, r.output
    assert "don't stretch today" in r.stderr
    assert fake_analysis == []
    assert [f.kind for f in Clinic(world.ther_a, world.engine).flags()] == ["red_flag"]
    # answering "no" to everything later the same day does not open the gate
    r = _analyze(db_url, "--save", "--user", "pat_a", video=own_video,
                 input=NO_ANSWERS + "0\n0\n")
    assert r.exit_code == 10, r.output
    r = _analyze(db_url, "--save", "--patient", "pat_a", "--user", "ther_a", video=own_video,
                 input=NO_ANSWERS + "0\n0\n")
    assert r.exit_code == 10, r.output
    assert fake_analysis == []
    assert Clinic(world.ther_a, world.engine).sessions() == []
    # no answers at all (closed input): nothing is analysed or saved
    r = _analyze(db_url, "--save", "--user", "pat_a2", video=own_video, input="")
    assert r.exit_code == 10 and "safety questions" in r.stderr, r.output
    assert fake_analysis == []


@pytest.mark.parametrize(("extra", "code", "needle"), [
    (["--save"], 2, "--save needs --user"),
    (["--patient", "pat_a"], 2, "add --save"),
    (["--user", "ther_a"], 2, "add --save"),
    (["--save", "--user", "ther_a"], 2, "--patient is required"),
    (["--save", "--patient", "pat_b", "--user", "ther_a"], 7, "that you can access"),
    (["--save", "--patient", "pat_b", "--user", "pat_a"], 7, "that you can access"),
    (["--save", "--patient", "pat_a", "--user", "admin"], 7, "admin"),
])
def test_analyze_save_refusals_happen_before_the_analysis(
        db_url: str, world: World, fake_analysis: list, extra: list, code: int,
        needle: str, own_video: Path) -> None:
    before = len(Clinic(world.ther_b, world.engine).sessions())
    assert_error(_analyze(db_url, *extra, video=own_video), code, needle)
    assert fake_analysis == []
    assert len(Clinic(world.ther_b, world.engine).sessions()) == before
    assert _logins(world) == 6


def test_analyze_save_wrong_password(db_url: str, world: World, fake_analysis: list,
                                     own_video: Path) -> None:
    assert_error(_analyze(db_url, "--save", "--user", "pat_a", password="not my password",
                          video=own_video), 7, "wrong username or password")
    assert fake_analysis == []


def test_real_entry_point_prints_one_line_errors(db_url: str, world: World) -> None:
    import os
    import sys

    env = {**os.environ, "STRETCH_COACH_DB_URL": db_url, "STRETCH_COACH_PASSWORD": "wrong one!!",
           "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "app.cli", "sessions", "list", "--user", "ther_a"],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 7
    assert p.stderr.splitlines() == ["error: wrong username or password"]
    env["STRETCH_COACH_PASSWORD"] = PASSWORD
    p = subprocess.run([sys.executable, "-m", "app.cli", "sessions", "show", "12345", "--user",
                        "ther_a"], capture_output=True, text=True, env=env, cwd=ROOT,
                       timeout=120, stdin=subprocess.DEVNULL)
    assert p.returncode == 7
    assert p.stderr.splitlines() == ["error: no such session, or not one you can access"]


# --------------------------------------------------------------------------- output files (issue 9)


@pytest.mark.parametrize("target", ["/dev/full", "/proc/version"])
def test_analyze_save_with_an_unwritable_json_still_saves_and_prints(
        db_url: str, world: World, fake_analysis: list, own_video: Path, target: str) -> None:
    r = _analyze(db_url, "--save", "--user", "pat_a", "--json", target, video=own_video,
                 input=NO_ANSWERS + "1\n1\n")
    assert r.exit_code == 9, r.output
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
    assert errors == [f"error: could not write the JSON report {target}: "
                      f"{errors[0].rsplit(': ', 1)[-1]}"], r.stderr
    assert "Traceback" not in r.output
    assert "score" in r.stdout and "saved as session" in r.stdout
    sid = int(r.stdout.split("saved as session")[1].split()[0])
    assert Clinic(world.pat_a, world.engine).session(sid).pain_after == 1


def test_a_full_disk_during_the_analysis_names_the_file(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import coach.analyze

    def analyze_video(path, definition, options=None, progress=None, estimator=None):
        raise OSError(28, "No space left on device")   # what a full disk raises mid-write

    monkeypatch.setattr(coach.analyze, "analyze_video", analyze_video)
    r = run(db_url, "analyze", str(SAMPLE), "--exercise", "neck_side_tilt", "-q",
            "--csv", "/dev/full")
    assert_error(r, 9, "/dev/full", "No space left on device")


def _entry_point(*args: str, env: dict[str, str] | None = None
                 ) -> subprocess.CompletedProcess[str]:
    """The real ``stretch-coach`` entry point with its standard output on a full disk."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("STRETCH_COACH_")}
    environ.update(env or {}, PYTHONPATH=str(ROOT))
    with open("/dev/full", "w") as full:
        return subprocess.run([sys.executable, "-m", "app.cli", *args], stdout=full,
                              stderr=subprocess.PIPE, text=True, env=environ, cwd=ROOT,
                              timeout=120)


def test_a_full_disk_for_the_output_is_not_blamed_on_the_database(db_url: str, world: World
                                                                   ) -> None:
    # `stretch-coach ... > file` on a full disk: the output failed, not the database
    for args, env in ((("exercises",), {}),
                      (("sessions", "list", "--user", "pat_a"),
                       {"STRETCH_COACH_DB_URL": db_url, "STRETCH_COACH_PASSWORD": PASSWORD})):
        proc = _entry_point(*args, env=env)
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert proc.returncode == 9, (args, proc.returncode, proc.stderr)
        assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
        assert "No space left on device" in lines[0] and "output" in lines[0], lines[0]
        assert "database" not in lines[0], lines[0]


def test_a_file_error_names_the_file_and_only_the_database_path_is_the_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sessions import errors as db_errors
    from sessions.cli_common import EXIT_OUTPUT, describe_failure

    data = tmp_path / "data"
    monkeypatch.setenv("STRETCH_COACH_DATA", str(data))
    monkeypatch.delenv("STRETCH_COACH_DB_URL", raising=False)
    out = tmp_path / "out" / "report.csv"
    e = describe_failure(PermissionError(13, "Permission denied", str(out)))
    assert e is not None and e.exit_code == EXIT_OUTPUT
    assert str(out) in e.message and "Permission denied" in e.message
    assert "database" not in e.message
    # the database's own file, its folder or a parent of it: the database's problem
    for path in (data / "sessions.db", data / "sessions.db-journal", data, tmp_path):
        e = describe_failure(PermissionError(13, "Permission denied", str(path)))
        assert e is not None and e.exit_code == db_errors.EXIT_DB_READ_ONLY, path
    db = tmp_path / "elsewhere" / "clinic.db"
    monkeypatch.setenv("STRETCH_COACH_DB_URL", f"sqlite:///{db}")
    e = describe_failure(OSError(28, "No space left on device", str(db)))
    assert e is not None and e.exit_code == db_errors.EXIT_DB_FULL
    assert describe_failure(OSError(28, "No space left on device", str(out))
                            ).exit_code == EXIT_OUTPUT
    # not a file problem nor the database's: the caller's "unexpected" line
    assert describe_failure(ConnectionRefusedError(111, "Connection refused")) is None
    assert describe_failure(RuntimeError("x")) is None


def test_exports_are_private_files(db_url: str, world: World, saved: dict, tmp_path: Path
                                   ) -> None:
    old = os.umask(0o022)
    try:
        r = run(db_url, "sessions", "export", "--patient", "pat_a", "--csv",
                str(tmp_path / "s.csv"), "--pdf", str(tmp_path / "r.pdf"), "--user", "ther_a",
                password=PASSWORD)
    finally:
        os.umask(old)
    assert r.exit_code == 0, r.output
    for name in ("s.csv", "s_reps.csv", "r.pdf"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name
    r = run(db_url, "sessions", "export", "--patient", "pat_a", "--csv", "/dev/full",
            "--user", "ther_a", password=PASSWORD)
    assert_error(r, 9, "/dev/full")


def test_close_flag_needs_a_note_and_says_who_closed_it(db_url: str, world: World,
                                                       saved: dict) -> None:
    (flag,) = Clinic(world.ther_a, world.engine).flags()
    r = run(db_url, "sessions", "close-flag", str(flag.id), "--note", "  ", "--yes",
            "--user", "ther_a", password=PASSWORD)
    assert_error(r, 2, "--note")
    r = run(db_url, "sessions", "close-flag", str(flag.id), "--note", "called her", "--user",
            "ther_a", password=PASSWORD, input="n\n")
    assert r.exit_code == 2 and Clinic(world.ther_a, world.engine).flags() != []
    assert_error(run(db_url, "sessions", "close-flag", str(flag.id), "--note", "mine now",
                     "--yes", "--user", "ther_b", password=PASSWORD), 7, "no such flag")
    r = run(db_url, "sessions", "close-flag", str(flag.id), "--note", "called her", "--yes",
            "--user", "ther_a", password=PASSWORD)
    assert r.exit_code == 0, r.output
    listed = run(db_url, "sessions", "flags", "--all", "--user", "ther_a",
                 password=PASSWORD).stdout
    assert "closed by Therapist A" in listed and "called her" in listed


# --------------------------------------------------------------------------- batch --save


@pytest.fixture
def quick_analysis(monkeypatch: pytest.MonkeyPatch) -> list:
    """The batch's jobs run in this process on a ready report (no pose model): the calls."""
    import coach.analyze
    from coach import jobs

    calls: list = []

    def analyze_video(path, definition, options=None, progress=None, estimator=None):
        calls.append(Path(path))
        return neck_report(3)

    monkeypatch.setattr(coach.analyze, "analyze_video", analyze_video)
    monkeypatch.setenv(jobs.ENV_LOCAL_WORKERS, "1")   # the batch sets it for its runner
    monkeypatch.delenv(jobs.ENV_BROKER, raising=False)
    jobs.reset()
    yield calls
    jobs.reset()


def _batch(db_url: str, *args: str, input: str | None = None) -> Result:
    return run(db_url, "batch", *args, "-e", "neck_side_tilt", "--side", "left",
               password=PASSWORD, input=input)


def test_batch_save_skips_a_bundled_sample_and_saves_the_rest(
        db_url: str, world: World, quick_analysis: list, own_video: Path) -> None:
    renamed = _copy(SAMPLE, world)
    out = own_video.parent / "reports"
    old = os.umask(0o022)
    try:
        r = _batch(db_url, str(renamed), str(own_video), "--save", "--user", "pat_a",
                   "--json-dir", str(out), input=NO_ANSWERS + "0\n")
    finally:
        os.umask(old)
    assert r.exit_code == 17, r.output           # one video was not done
    # the reports are health data: private files in a private folder
    assert [p.name for p in out.iterdir()] == ["my recording.json"]
    assert (out / "my recording.json").stat().st_mode & 0o777 == 0o600
    assert out.stat().st_mode & 0o777 == 0o700
    assert "Traceback" not in r.output
    skipped = [ln for ln in r.stderr.splitlines() if "renamed.mp4" in ln]
    assert skipped == ["skipped: renamed.mp4 is a bundled sample video: samples are never "
                       "saved into a clinical record"], r.stderr
    assert quick_analysis == [own_video.resolve()]   # the sample is not even analysed
    (saved,) = Clinic(world.ther_a, world.engine).sessions()
    assert saved.patient_id == world.pat_a.user_id
    assert "my recording.mp4  done" in r.stdout and "renamed" not in r.stdout
    # only samples: refused before signing in or asking anything
    r = _batch(db_url, str(renamed), "--save", "--user", "pat_a")
    assert r.exit_code == 2 and "every video named is a bundled sample" in r.stderr
    assert len(Clinic(world.ther_a, world.engine).sessions()) == 1


@pytest.mark.parametrize("folder", ["/sys/nope", "/proc"])
def test_batch_json_dir_that_cant_be_written_is_said_before_any_job(
        db_url: str, quick_analysis: list, own_video: Path, folder: str) -> None:
    r = _batch(db_url, str(own_video), "--json-dir", folder)
    assert_error(r, 9, f"JSON folder {folder}")
    assert quick_analysis == []


def test_batch_json_dir_error_from_the_real_entry_point(db_url: str, own_video: Path
                                                        ) -> None:
    """Was "the database can't be written", exit 12: the folder is named, exit 9."""
    import sys

    env = {**os.environ, "STRETCH_COACH_DB_URL": db_url, "PYTHONPATH": str(ROOT)}
    env.pop("STRETCH_COACH_BROKER_URL", None)
    p = subprocess.run([sys.executable, "-m", "app.cli", "batch", str(own_video), "-e",
                        "neck_side_tilt", "--json-dir", "/sys/nope"], capture_output=True,
                       text=True, env=env, cwd=ROOT, timeout=120, stdin=subprocess.DEVNULL)
    assert p.returncode == 9, p.stderr
    assert p.stderr.splitlines() == ["error: could not create the JSON folder /sys/nope: "
                                     "Operation not permitted"]


def test_batch_a_report_that_cant_be_written_is_named_and_the_rest_goes_on(
        db_url: str, world: World, quick_analysis: list, own_video: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sessions.files

    def full(path, data):
        raise OSError(28, f"cannot write {path}: No space left on device", str(path))

    monkeypatch.setattr(sessions.files, "write_private", full)
    out = own_video.parent / "reports"
    r = _batch(db_url, str(own_video), "--save", "--user", "pat_a", "--json-dir", str(out),
               input=NO_ANSWERS + "0\n")
    assert r.exit_code == 9, r.output
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
    assert errors == [f"error: could not write the JSON report {out / 'my recording.json'}: "
                      "No space left on device"], r.stderr
    assert "my recording.mp4  done" in r.stdout and "Traceback" not in r.output
    assert len(Clinic(world.ther_a, world.engine).sessions()) == 1   # saved all the same
