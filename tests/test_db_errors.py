"""Every database failure is one plain line with its own exit code (issue 9, defects 2, 5, 9).

Each case breaks a real database the way people do (server down, read-only file,
damaged file, a newer schema, a bad URL, a data path that is a file, oversized
ids and usernames) and runs the real command line against it: one ``error:``
line, a distinct exit code, never SQL, parameters or a traceback.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, event, text

from app import cli as app_cli
from sessions import cli_common as exit_codes
from sessions import errors as db_errors
from sessions.auth import Accounts
from sessions.db import dispose_engine, get_engine
from tests import clinic_support
from tests.clinic_support import FAST_HASHER, PASSWORD

db_url, engine = clinic_support.db_url, clinic_support.engine

SQL_WORDS = ("SELECT", "INSERT", "UPDATE ", "FROM ", "[SQL", "parameters", "Traceback",
             "sqlalchemy", "psycopg.")


def _run(*args: str, **env: str | None) -> Result:
    environ = {"STRETCH_COACH_DB_URL": None, "STRETCH_COACH_DATA": None,
               "STRETCH_COACH_PASSWORD": PASSWORD, **env}
    return CliRunner().invoke(app_cli.cli, list(args), env=environ, catch_exceptions=False)


def _one_line(r: Result, code: int, *needles: str) -> str:
    assert r.exit_code == code, (r.exit_code, r.output)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for w in SQL_WORDS:
        assert w not in r.output, (w, r.output)
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def _sqlite_with_admin(path: Path) -> str:
    url = f"sqlite:///{path}"
    Accounts(get_engine(url), hasher=FAST_HASHER).create_admin("boss", PASSWORD)
    dispose_engine(url)   # forget "already upgraded": the command checks the schema again
    return url


def test_each_database_failure_has_its_own_code(tmp_path: Path) -> None:
    codes = {}
    # the server is down (nothing listens on port 1)
    codes["unreachable"] = _one_line(_run("sessions", "list", "--user", "boss",
        STRETCH_COACH_DB_URL="postgresql+psycopg://postgres@127.0.0.1:1/nope"),
        db_errors.EXIT_DB_UNREACHABLE, "cannot reach", "127.0.0.1:1")
    # a read-only database file (mode=ro: what an immutable or read-only file gives)
    ok = tmp_path / "ok.db"
    _sqlite_with_admin(ok)
    codes["read_only"] = _one_line(_run("sessions", "list", "--user", "boss",
        STRETCH_COACH_DB_URL=f"sqlite:///file:{ok}?mode=ro&uri=true"),
        db_errors.EXIT_DB_READ_ONLY, "read-only")
    # a damaged file
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"\x13not a database\x00" * 400)
    codes["damaged"] = _one_line(_run("sessions", "list", "--user", "boss",
        STRETCH_COACH_DB_URL=f"sqlite:///{bad}"), db_errors.EXIT_DB_DAMAGED, "damaged", "bad.db")
    # a schema written by a newer release
    newer = tmp_path / "newer.db"
    _sqlite_with_admin(newer)
    with sqlite3.connect(newer) as c:
        c.execute("UPDATE alembic_version SET version_num = '9999'")
    codes["newer"] = _one_line(_run("sessions", "list", "--user", "boss",
        STRETCH_COACH_DB_URL=f"sqlite:///{newer}"), db_errors.EXIT_DB_NEWER, "newer")
    # a malformed URL, an unknown driver, a data path that is a file
    for url in ("postgres:://bad url", "nosuchdb://x"):
        codes[url] = _one_line(_run("sessions", "list", "--user", "boss",
            STRETCH_COACH_DB_URL=url), db_errors.EXIT_DB_CONFIG, "URL")
    afile = tmp_path / "data-is-a-file"
    afile.write_text("x")
    codes["data"] = _one_line(_run("sessions", "list", "--user", "boss",
        STRETCH_COACH_DATA=str(afile)), db_errors.EXIT_DB_CONFIG, str(afile), "not a folder")
    assert len({db_errors.EXIT_DB_UNREACHABLE, db_errors.EXIT_DB_READ_ONLY,
                db_errors.EXIT_DB_FULL, db_errors.EXIT_DB_DAMAGED, db_errors.EXIT_DB_NEWER,
                db_errors.EXIT_DB_CONFIG, exit_codes.EXIT_USAGE, exit_codes.EXIT_AUTH,
                exit_codes.EXIT_INPUT, 1}) == 10


def test_a_full_disk_is_named(tmp_path: Path) -> None:
    eng = create_engine(f"sqlite:///{tmp_path / 'tiny.db'}")

    @event.listens_for(eng, "connect")
    def _tiny(dbapi_conn, _record) -> None:   # a disk with room for 3 pages only
        dbapi_conn.execute("PRAGMA max_page_count = 3")

    with pytest.raises(Exception) as e, eng.begin() as c:
        c.execute(text("CREATE TABLE t (x TEXT)"))
        for _ in range(50):
            c.execute(text("INSERT INTO t VALUES (:x)"), {"x": "y" * 4000})
    problem = db_errors.describe_db_error(e.value, f"sqlite:///{tmp_path / 'tiny.db'}")
    assert problem is not None and problem.kind == "disk_full"
    assert problem.exit_code == db_errors.EXIT_DB_FULL and "tiny.db" in problem.message
    assert "INSERT" not in problem.message
    full = OSError(28, "No space left on device")
    assert db_errors.describe_db_error(full).kind == "disk_full"


def test_oversized_ids_and_usernames_never_reach_sql(db_url: str, engine) -> None:
    acc = Accounts(engine, hasher=FAST_HASHER)
    acc.create_admin("boss", PASSWORD)
    env = {"STRETCH_COACH_DB_URL": db_url}
    for sid in ("99999999999999999999999999", str(2**40)):
        _one_line(_run("sessions", "show", sid, "--user", "boss", **env), exit_codes.EXIT_USAGE,
                  "out of range")
    for name in ("u" * 151, "u" * 100_000):
        _one_line(_run("sessions", "list", "--user", name, **env), exit_codes.EXIT_AUTH,
                  "wrong username or password")
        _one_line(_run("users", "create", "--role", "therapist", "--username", name,
                       "--as-admin", "boss", STRETCH_COACH_NEW_PASSWORD=PASSWORD, **env),
                  exit_codes.EXIT_USAGE, "too long")


def test_db_error_line_is_plain_and_only_for_database_errors() -> None:
    """What an analysis job stores as its reason (the page shows it)."""
    import errno

    from sqlalchemy.exc import IntegrityError, OperationalError

    refused = IntegrityError("INSERT INTO reps (x) VALUES (?)", (1,),
                             sqlite3.IntegrityError("UNIQUE constraint failed: reps.x"))
    assert db_errors.db_error_line(refused) == ("the database refused the change: UNIQUE "
                                                "constraint failed: reps.x")
    down = OperationalError("SELECT 1", {}, Exception("connection refused"))
    line = db_errors.db_error_line(down, "postgresql+psycopg://u:secret@db.example:5433/c")
    assert line is not None and "db.example:5433" in line
    assert not any(w in line for w in (*SQL_WORDS, "secret"))
    # a video that can't be read is not a read-only database
    assert db_errors.db_error_line(PermissionError(errno.EACCES, "denied", "v.mp4")) is None
    assert db_errors.db_error_line(ValueError("no")) is None


# --------------------------------------------------------------------------- the web app

HOME = Path(__file__).resolve().parent.parent / "app" / "Home.py"


def _rendered(at) -> str:
    """Every text the page shows (errors, exceptions, markdown, captions...)."""
    parts = []
    for kind in ("exception", "error", "warning", "info", "success", "markdown", "caption",
                 "text", "code", "title", "header", "subheader"):
        for e in getattr(at, kind):
            parts.append(str(getattr(e, "value", "")))
            parts += [str(getattr(e, "message", "")), str(getattr(e, "stack_trace", ""))]
    return "\n".join(parts)


def test_a_database_failure_after_sign_in_is_one_plain_sentence(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
        ) -> None:
    """A page's query fails (here a table is gone): one calm error on the page and one log
    line, never a traceback or SQL (in the page or the server's terminal)."""
    from streamlit.testing.v1 import AppTest

    from tests.clinic_support import make_world

    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    monkeypatch.setenv("STRETCH_COACH_DB_URL", url)
    monkeypatch.setenv("STRETCH_COACH_DATA", str(tmp_path))
    try:
        w = make_world(get_engine(url))
        at = AppTest.from_file(str(HOME), default_timeout=60)
        at.session_state["auth-token"] = w.pat_a.token       # signed in as the patient
        at.run()
        at.switch_page("views/6_My_program.py").run()
        assert not at.exception and not at.error, _rendered(at)
        with get_engine(url).begin() as c:
            c.execute(text("DROP TABLE programs"))
        caplog.clear()
        at.run()
        shown = _rendered(at)
        assert not at.exception, shown
        assert len(at.error) == 1 and "database" in at.error[0].value, shown
        for w_ in (*SQL_WORDS, "programs.", "sqlite3"):
            assert w_ not in shown, (w_, shown)
        problems = [r for r in caplog.records if r.name.startswith("app.")]
        assert len(problems) == 1, [r.getMessage() for r in caplog.records]
        assert problems[0].exc_info is None and "\n" not in problems[0].getMessage()
        assert "SELECT" not in problems[0].getMessage()
    finally:
        dispose_engine(url)


def test_an_unusable_database_is_logged_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
        ) -> None:
    from streamlit.testing.v1 import AppTest

    bad = tmp_path / "bad.db"
    bad.write_bytes(b"\x13not a database\x00" * 400)
    url = f"sqlite:///{bad}"
    monkeypatch.setenv("STRETCH_COACH_DB_URL", url)
    monkeypatch.setenv("STRETCH_COACH_DATA", str(tmp_path))
    try:
        at = AppTest.from_file(str(HOME), default_timeout=60).run()
        shown = _rendered(at)
        assert not at.exception and len(at.error) == 1, shown
        assert "damaged" in at.error[0].value and "Traceback" not in shown
        problems = [r for r in caplog.records if r.name.startswith("app.")]
        assert problems and all(r.exc_info is None and "\n" not in r.getMessage()
                                for r in problems), [r.getMessage() for r in problems]
    finally:
        dispose_engine(url)


def test_the_app_never_shows_error_details() -> None:
    import tomllib

    config = Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml"
    with open(config, "rb") as fh:
        assert tomllib.load(fh)["client"]["showErrorDetails"] == "none"


def test_log_failure_is_one_line_for_a_database_error(caplog: pytest.LogCaptureFixture
                                                      ) -> None:
    """A failed save is logged without its SQL or parameters; a programming error keeps
    its traceback (the live coach's save and the jobs' worker log through it)."""
    import logging

    from sqlalchemy.exc import IntegrityError

    log = logging.getLogger("test.log_failure")
    refused = IntegrityError("INSERT INTO sessions (patient_id) VALUES (?)", (7,),
                             sqlite3.IntegrityError("NOT NULL constraint failed: x"))
    with caplog.at_level(logging.ERROR, logger="test.log_failure"):
        db_errors.log_failure(log, "could not save the live session", refused)
    (rec,) = caplog.records
    assert rec.exc_info is None
    assert rec.getMessage() == ("could not save the live session: the database refused the "
                                "change: NOT NULL constraint failed: x")
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="test.log_failure"):
        db_errors.log_failure(log, "could not save the live session", KeyError("bug"))
    (rec,) = caplog.records
    assert rec.exc_info is not None and rec.exc_info[0] is KeyError
