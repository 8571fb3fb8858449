"""Database problems said in one plain line, each with its own exit code.

Every way the database can fail (server down, read-only or immutable file, a
full disk, a damaged file, a schema from a newer release, a bad URL or a data
path that is a file) is recognised here once, for the command line (exit
codes) and the web pages (a calm message). Messages never contain SQL,
parameters or passwords.
"""

from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

__all__ = [
    "EXIT_DB_CONFIG",
    "EXIT_DB_DAMAGED",
    "EXIT_DB_FULL",
    "EXIT_DB_NEWER",
    "EXIT_DB_READ_ONLY",
    "EXIT_DB_UNREACHABLE",
    "DbProblem",
    "about_database",
    "db_error_line",
    "describe_db_error",
    "is_database_error",
    "log_failure",
]

log = logging.getLogger(__name__)

EXIT_DB_UNREACHABLE = 11   # the database server can't be reached, or the file can't be opened
EXIT_DB_READ_ONLY = 12     # the database (file or server) refuses writes
EXIT_DB_FULL = 13          # the disk holding the database is full
EXIT_DB_DAMAGED = 14       # the file is not a database, or is corrupt
EXIT_DB_NEWER = 15         # the schema was made by a newer release
EXIT_DB_CONFIG = 16        # a malformed database URL, or a data path that is a file


@dataclass(frozen=True)
class DbProblem:
    """One database failure, described for people.

    Attributes:
        kind: ``"unreachable"``, ``"read_only"``, ``"disk_full"``, ``"damaged"``,
            ``"newer_schema"`` or ``"config"``.
        message: one line, no SQL, no secrets.
        exit_code: the command line's exit code for this kind.
    """

    kind: str
    message: str
    exit_code: int


def _where(url: str | None) -> str:
    if not url:
        return "the database"
    try:
        u = make_url(url)
    except Exception:
        return "the database"
    if u.get_backend_name() == "sqlite":
        return f"the database file {u.database}" if u.database else "the database"
    host = u.host or "localhost"
    return f"the database server {host}:{u.port or 5432}" + (
        f" (database {u.database})" if u.database else "")


def _text(e: BaseException) -> str:
    orig = getattr(e, "orig", None)
    return f"{e} {orig or ''}".lower()


def describe_db_error(e: BaseException, url: str | None = None) -> DbProblem | None:
    """The plain description of database failure ``e``, or None if it is not one.

    Args:
        e: the exception raised by SQLAlchemy, Alembic, the driver or the file system.
        url: the database URL in use (only host, port and file name are shown).
    """
    from sqlalchemy import exc as sa

    where = _where(url)
    text = _text(e)
    if isinstance(e, sa.ArgumentError | sa.NoSuchModuleError) or (
            isinstance(e, ValueError) and "url" in text and "could not parse" in text):
        return DbProblem("config", "the database URL ($STRETCH_COACH_DB_URL) is not valid: "
                         "expected e.g. postgresql+psycopg://user@host:5432/name or "
                         "sqlite:///path/to/sessions.db", EXIT_DB_CONFIG)
    if isinstance(e, NotADirectoryError | FileExistsError):
        name = getattr(e, "filename", None) or ""
        return DbProblem("config", f"the data folder {name} is a file, not a folder: move it "
                         "away or set STRETCH_COACH_DATA to a folder".replace("  ", " "),
                         EXIT_DB_CONFIG)
    if isinstance(e, OSError) and not isinstance(e, sa.SQLAlchemyError):
        if e.errno == errno.ENOSPC:
            return DbProblem("disk_full", f"the disk is full: {where} can't be written; free "
                             "some space and try again", EXIT_DB_FULL)
        if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return DbProblem("read_only", f"{where} can't be written (read-only or no "
                             "permission)", EXIT_DB_READ_ONLY)
        return None
    alembic_error = type(e).__module__.startswith("alembic")
    if alembic_error and ("can't locate revision" in text or "no such revision" in text
                          or "resolution" in type(e).__name__.lower()):
        return DbProblem("newer_schema", f"{where} was last used by a newer Stretch Coach "
                         "(its schema is unknown to this version): upgrade Stretch Coach, or "
                         "use another database", EXIT_DB_NEWER)
    if not isinstance(e, sa.SQLAlchemyError):
        return None
    if "disk is full" in text or "no space left" in text or "could not extend file" in text \
            or "disk full" in text:
        return DbProblem("disk_full", f"the disk is full: {where} can't be written; free "
                         "some space and try again", EXIT_DB_FULL)
    if "readonly database" in text or "read-only" in text or "read only" in text \
            or "attempt to write a readonly" in text:
        return DbProblem("read_only", f"{where} is read-only: Stretch Coach can't save there "
                         "(check the file's permissions and attributes)", EXIT_DB_READ_ONLY)
    if "file is not a database" in text or "malformed" in text or "not a database" in text \
            or "database disk image" in text:
        return DbProblem("damaged", f"{where} is damaged or is not a Stretch Coach database: "
                         "restore it from a backup, or use another file", EXIT_DB_DAMAGED)
    if "unable to open database file" in text:
        return DbProblem("unreachable", f"{where} can't be opened: check that its folder "
                         "exists and that you may write to it", EXIT_DB_UNREACHABLE)
    if isinstance(e, sa.OperationalError | sa.InterfaceError | sa.TimeoutError) or \
            "connection" in text or "could not connect" in text:
        return DbProblem("unreachable", f"cannot reach {where}: is it running, and is "
                         "$STRETCH_COACH_DB_URL right?", EXIT_DB_UNREACHABLE)
    if isinstance(e, sa.DataError):
        return DbProblem("config", "a value is out of the range the database accepts",
                         EXIT_DB_CONFIG)
    return None


def db_error_line(e: BaseException, url: str | None = None) -> str | None:
    """One plain line for a database error (SQLAlchemy's, the driver's or Alembic's),
    without its SQL or parameters; None if ``e`` is not a database error.

    A known failure gets ``describe_db_error``'s message; any other says the database
    refused, with the first line of the driver's message (``sessions.checks.one_line``).
    A file-system error is not taken for the database's here: a video that can't be
    read is not a read-only database.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from sessions.checks import one_line

    if not isinstance(e, SQLAlchemyError) and not type(e).__module__.startswith("alembic"):
        return None
    problem = describe_db_error(e, url)
    if problem is not None:
        return problem.message
    return f"the database refused the change: {one_line(e)}"


def log_failure(logger: logging.Logger, what: str, e: BaseException,
                url: str | None = None) -> None:
    """Log that ``what`` failed because of ``e``: a database error in one line without
    its SQL or parameters (``db_error_line``), anything else with its traceback (a
    programming error needs it; it never holds health data)."""
    line = db_error_line(e, url)
    if line is not None:
        logger.error("%s: %s", what, line)
    else:
        logger.error("%s", what, exc_info=e)


def _database_paths(url: str | None) -> list[Path]:
    """The database's own paths: its SQLite file (the default one in the data folder
    when ``url`` is None) and the data folder."""
    from sessions.db import default_data_dir

    data = default_data_dir()
    paths = [data, data / "sessions.db"]
    if url:
        try:
            u = make_url(url)
        except Exception:
            return paths
        name = u.database or ""
        if u.get_backend_name() == "sqlite" and name and name != ":memory:":
            paths.append(Path(name.removeprefix("file:").split("?", 1)[0]))
    return paths


def about_database(e: BaseException, url: str | None = None) -> bool:
    """Whether ``e`` may be the database's failure (then ``describe_db_error`` says which).

    Anything but an ``OSError`` may be (SQLAlchemy, Alembic, a bad URL: the
    description decides). An ``OSError`` is the database's only when it names the
    database's own path: its SQLite file (or a ``-journal``/``-wal`` beside it), the
    data folder, or a folder above one of them (creating the data folder). Any other
    file (an output, a video, the terminal's output on a full disk) is not.

    Args:
        e: the exception.
        url: the database URL in use (None: the default SQLite file).
    """
    if not isinstance(e, OSError):
        return True
    name = e.filename
    if name is None or isinstance(name, int):
        return False
    try:
        path = Path(os.path.abspath(os.fsdecode(name)))
    except (TypeError, ValueError):
        return False
    for own in _database_paths(url):
        own = Path(os.path.abspath(own))
        if path == own or path in own.parents or (
                path.parent == own.parent and path.name.startswith(own.name + "-")):
            return True
    return False


def is_database_error(e: BaseException, url: str | None = None) -> bool:
    """Whether ``e`` is the database's failure: any SQLAlchemy, Alembic or driver error,
    or one ``describe_db_error`` recognises (a file error only about the database's own
    path: ``about_database``)."""
    from sqlalchemy import exc as sa

    if isinstance(e, sa.SQLAlchemyError) or type(e).__module__.split(".")[0] in (
            "alembic", "psycopg", "psycopg2", "sqlite3"):
        return True
    return about_database(e, url) and describe_db_error(e, url) is not None
