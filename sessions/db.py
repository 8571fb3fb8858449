"""Where the data lives and how its schema is kept current.

The default database is an embedded SQLite file (``$STRETCH_COACH_DATA/sessions.db``
or ``~/.local/share/stretch-coach/sessions.db``); ``$STRETCH_COACH_DB_URL`` (or an
explicit URL) selects any SQLAlchemy database instead, e.g.
``postgresql+psycopg://user@host:5432/stretch_coach``.

The schema is versioned with Alembic; the migration scripts ship inside the
package (``sessions/migrations``) and run programmatically: no ``alembic.ini``.
A database made by the first release (``sessions.store`` before migrations: one
``sessions`` table and no ``alembic_version``) is adopted: stamped at the first
revision, then upgraded.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

from sessions.files import FILE_MODE, private_dir, private_file

__all__ = [
    "BASELINE_REVISION",
    "MIGRATIONS_DIR",
    "current_revision",
    "database_url",
    "default_data_dir",
    "dispose_engine",
    "ensure_schema",
    "get_engine",
    "head_revision",
    "upgrade",
]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BASELINE_REVISION = "0001"
# the columns of the pre-migration ``sessions`` table (sessions.store, first release)
_LEGACY_COLUMNS = {"id", "created_at", "exercise", "sides", "source", "score", "reps",
                   "complete", "problem", "report"}

_engines: dict[str, Engine] = {}
_upgraded: set[str] = set()
_lock = threading.RLock()


def default_data_dir() -> Path:
    """Folder holding the user's data: ``$STRETCH_COACH_DATA`` or the XDG data dir."""
    env = os.environ.get("STRETCH_COACH_DATA")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "stretch-coach"


def database_url() -> str:
    """The database URL: ``$STRETCH_COACH_DB_URL``, else the default SQLite file.

    The default file's folder is created when missing.
    """
    env = os.environ.get("STRETCH_COACH_DB_URL", "").strip()
    if env:
        return env
    folder = private_dir(default_data_dir())
    return f"sqlite:///{folder / 'sessions.db'}"


def _sqlite_file(engine: Engine) -> Path | None:
    name = engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def _sqlite_pragmas(engine: Engine) -> None:
    path = _sqlite_file(engine)
    if path is not None and path.parent.is_dir() and not path.exists():
        # health data: the file is the owner's only, whatever the umask
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")   # readers (UI) never block the writer (live)
        cur.execute("PRAGMA busy_timeout=5000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()
        if path is not None:
            for f in (path, path.with_name(path.name + "-wal"),
                      path.with_name(path.name + "-shm")):
                try:
                    private_file(f)
                except OSError:   # not ours to change (e.g. a read-only copy): keep going
                    log.debug("could not make %s private", f)


def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url`` (default: ``database_url()``), one per URL per process.

    SQLite engines turn on WAL, a busy timeout and foreign keys on every connection.
    """
    url = url or database_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = create_engine(url, pool_pre_ping=make_url(url).get_backend_name() != "sqlite")
            if engine.dialect.name == "sqlite":
                _sqlite_pragmas(engine)
            _engines[url] = engine
        return engine


def dispose_engine(url: str) -> None:
    """Close the cached engine of ``url`` (if any) and forget it."""
    with _lock:
        engine = _engines.pop(url, None)
        _upgraded.discard(url)
    if engine is not None:
        engine.dispose()


def _engine_of(url_or_engine: str | Engine | None) -> Engine:
    if isinstance(url_or_engine, Engine):
        return url_or_engine
    return get_engine(url_or_engine)


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration's revision id."""
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(None)
    return ScriptDirectory.from_config(cfg).get_current_head()


def current_revision(url_or_engine: str | Engine | None = None) -> str | None:
    """The revision the database is at (None: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with _engine_of(url_or_engine).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(url_or_engine: str | Engine | None = None, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the newest), in one transaction.

    A database made before migrations existed (the legacy ``sessions`` table, no
    ``alembic_version``) is stamped at the baseline revision first, so its rows stay.

    Raises:
        RuntimeError: a ``sessions`` table exists that is not the legacy one.
    """
    from alembic import command

    engine = _engine_of(url_or_engine)
    with _lock, engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # SQLite ALTERs copy and re-create tables ("batch" mode): with foreign keys on,
            # dropping the old copy would cascade-delete the rows that reference it.
            # The pragma only works outside a transaction; it is checked and restored below.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                _upgrade_in(conn, engine, revision, command)
                if sqlite:
                    bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if bad:
                        raise RuntimeError(f"migration left rows with broken foreign keys: "
                                           f"{bad[:5]}")
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
    if revision == "head":
        _upgraded.add(_key(engine))


def _upgrade_in(conn: Any, engine: Engine, revision: str, command: Any) -> None:
    """Adopt a pre-migration database if needed, then upgrade, on ``conn``'s transaction."""
    if conn.dialect.name == "postgresql":
        # two processes upgrading the same database wait for each other
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7370726)")
    tables = set(inspect(conn).get_table_names())
    cfg = _alembic_config(conn)
    if "alembic_version" not in tables and "sessions" in tables:
        cols = {c["name"] for c in inspect(conn).get_columns("sessions")}
        if not _LEGACY_COLUMNS.issubset(cols):
            raise RuntimeError(
                f"{engine.url.render_as_string(hide_password=True)}: has a 'sessions' table "
                f"that Stretch Coach did not make (columns {sorted(cols)}); use another "
                f"database (STRETCH_COACH_DB_URL)")
        log.info("adopting a database made before migrations: stamping %s", BASELINE_REVISION)
        command.stamp(cfg, BASELINE_REVISION)
    command.upgrade(cfg, revision)


def ensure_schema(engine: Engine) -> None:
    """``upgrade(engine)`` once per process per database."""
    key = _key(engine)
    if key in _upgraded:
        return
    with _lock:
        if key not in _upgraded:
            upgrade(engine)
