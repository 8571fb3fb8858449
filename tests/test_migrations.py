"""Alembic migrations on SQLite and PostgreSQL: from empty, from the first release, and back.

Each test gets its own fresh database (a temporary SQLite file, or a new
PostgreSQL database dropped afterwards).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    inspect,
    select,
    text,
)

from sessions import db
from sessions.models import Base
from sessions.store import SessionStore
from tests.clinic_support import backend_url, neck_report

BACKENDS = ["sqlite", "postgresql"]
NEW_TABLES = {"users", "login_sessions", "login_throttle", "programs", "program_items",
              "screenings", "session_reps", "session_faults", "session_series",
              "session_notes", "flags", "analysis_jobs"}

# The first release's table, copied verbatim from sessions/store.py before migrations
# existed (metadata.create_all made it): the baseline revision must reproduce it.
_legacy_metadata = MetaData()
legacy_sessions = Table(
    "sessions",
    _legacy_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("exercise", String(64), nullable=False, index=True),
    Column("sides", String(32), nullable=False),          # "left", "left,right", "both"
    Column("source", String(16), nullable=False),         # "live", "video", "camera"
    Column("score", Float, nullable=True),
    Column("reps", Integer, nullable=False, default=0),
    Column("complete", Boolean, nullable=False),
    Column("problem", Text, nullable=True),
    Column("report", JSON, nullable=False),
)


@contextmanager
def fresh_engine(backend: str, tag: str, tmp_path: Path) -> Iterator[Engine]:
    gen = backend_url(backend, tag, tmp_path)
    url = next(gen)
    try:
        yield db.get_engine(url)
    finally:
        gen.close()


def _legacy_row(complete: bool) -> dict:
    report = neck_report(2, stop_mid_rep=not complete)
    return {"created_at": datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc),
            "exercise": report.exercise, "sides": ",".join(report.sides),
            "source": report.source, "score": report.score["score"], "reps": report.reps_done,
            "complete": complete, "problem": report.problem,
            "report": json.loads(json.dumps(report.to_dict()))}


def _schema(engine: Engine, table: str) -> dict:
    """Everything the database says about ``table``, normalised for comparison."""
    insp = inspect(engine)
    cols = [(c["name"], c["type"].compile(dialect=engine.dialect), c["nullable"],
             c.get("default"), c.get("autoincrement")) for c in insp.get_columns(table)]
    out = {
        "columns": cols,
        "pk": insp.get_pk_constraint(table),
        "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                          for i in insp.get_indexes(table)),
        "fks": insp.get_foreign_keys(table),
        "uniques": insp.get_unique_constraints(table),
        "checks": insp.get_check_constraints(table),
    }
    if engine.dialect.name == "sqlite":
        with engine.connect() as c:
            out["ddl"] = c.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"),
                                   {"n": table}).scalar_one()
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_from_empty_to_head(backend: str, tmp_path: Path) -> None:
    with fresh_engine(backend, "empty", tmp_path) as eng:
        assert db.current_revision(eng) is None
        db.upgrade(eng)
        assert db.current_revision(eng) == db.head_revision() == "0005"
        tables = set(inspect(eng).get_table_names())
        assert tables == NEW_TABLES | {"sessions", "alembic_version"}
        db.upgrade(eng)   # idempotent
        assert db.current_revision(eng) == db.head_revision()


@pytest.mark.parametrize("backend", BACKENDS)
def test_baseline_revision_reproduces_the_first_release_table(backend: str,
                                                               tmp_path: Path) -> None:
    with fresh_engine(backend, "legacy", tmp_path / "a") as legacy, \
            fresh_engine(backend, "base", tmp_path / "b") as migrated:
        _legacy_metadata.create_all(legacy)
        db.upgrade(migrated, "0001")
        assert db.current_revision(migrated) == "0001"
        assert set(inspect(migrated).get_table_names()) == {"sessions", "alembic_version"}
        assert _schema(migrated, "sessions") == _schema(legacy, "sessions")


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_from_previous_revision_keeps_rows(backend: str, tmp_path: Path) -> None:
    with fresh_engine(backend, "prev", tmp_path) as eng:
        db.upgrade(eng, "0001")
        rows = [_legacy_row(True), _legacy_row(False)]
        with eng.begin() as c:
            ids = [c.execute(insert(legacy_sessions).values(**r)).inserted_primary_key[0]
                   for r in rows]
        db.upgrade(eng)
        assert db.current_revision(eng) == db.head_revision()
        t = Base.metadata.tables["sessions"]
        with eng.connect() as c:
            got = {r.id: r for r in c.execute(select(t).order_by(t.c.id))}
        assert set(got) == set(ids)
        done, broken = got[ids[0]], got[ids[1]]
        assert (done.completion, broken.completion) == ("completed", "interrupted")
        assert done.patient_id is None and broken.patient_id is None
        assert done.report == rows[0]["report"]
        assert broken.problem == rows[1]["problem"]
        # the personal-mode store reads the old rows as before
        store = SessionStore(eng.url.render_as_string(hide_password=False))
        old = store.get(ids[1])
        assert old is not None and not old.complete
        assert json.loads(json.dumps(old.report.to_dict())) == rows[1]["report"]
        assert old.created_at == datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)
        assert store.count() == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_database_made_before_migrations_is_adopted(backend: str, tmp_path: Path) -> None:
    with fresh_engine(backend, "adopt", tmp_path) as eng:
        _legacy_metadata.create_all(eng)   # the first release: no alembic_version
        with eng.begin() as c:
            sid = c.execute(insert(legacy_sessions).values(**_legacy_row(True))
                            ).inserted_primary_key[0]
        store = SessionStore(eng.url.render_as_string(hide_password=False))
        assert db.current_revision(eng) == db.head_revision()
        assert store.get(sid) is not None
        new_id = store.save(neck_report(1))
        assert [s.id for s in store.list()] == [new_id, sid]


@pytest.mark.parametrize("backend", BACKENDS)
def test_downgrade_to_previous_and_up_again(backend: str, tmp_path: Path) -> None:
    with fresh_engine(backend, "down", tmp_path) as eng:
        db.upgrade(eng)
        sid = SessionStore(eng.url.render_as_string(hide_password=False)).save(neck_report(1))
        with eng.begin() as c:
            command.downgrade(db._alembic_config(c), "0001")
        assert set(inspect(eng).get_table_names()) == {"sessions", "alembic_version"}
        assert [c["name"] for c in inspect(eng).get_columns("sessions")] == [
            c.name for c in legacy_sessions.columns]
        with eng.connect() as c:
            assert c.execute(select(legacy_sessions.c.id)).scalars().all() == [sid]
        db.upgrade(eng)
        assert db.current_revision(eng) == db.head_revision()


@pytest.mark.parametrize("backend", BACKENDS)
def test_models_match_the_migrated_schema(backend: str, tmp_path: Path) -> None:
    with fresh_engine(backend, "models", tmp_path) as eng:
        db.upgrade(eng)
        with eng.connect() as c:
            ctx = MigrationContext.configure(c, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_foreign_sessions_table_is_refused(backend: str, tmp_path: Path) -> None:
    with fresh_engine(backend, "foreign", tmp_path) as eng:
        with eng.begin() as c:
            c.execute(text("CREATE TABLE sessions (id INTEGER PRIMARY KEY, token TEXT)"))
        with pytest.raises(RuntimeError, match="did not make"):
            db.upgrade(eng)


def test_database_url_follows_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STRETCH_COACH_DB_URL", raising=False)
    monkeypatch.setenv("STRETCH_COACH_DATA", str(tmp_path / "d"))
    assert db.database_url() == f"sqlite:///{tmp_path / 'd' / 'sessions.db'}"
    assert (tmp_path / "d").is_dir()
    monkeypatch.setenv("STRETCH_COACH_DB_URL", "postgresql+psycopg://u@h:5432/x")
    assert db.database_url() == "postgresql+psycopg://u@h:5432/x"


def test_sqlite_engine_has_wal_and_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    eng = db.get_engine(url)
    assert db.get_engine(url) is eng
    with eng.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose_engine(url)


_FUTURE = '''"""A later migration that re-creates ``sessions`` on SQLite (test only)."""
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "0005"
branch_labels = None
depends_on = None


def _recreate() -> str:
    return "always" if op.get_bind().dialect.name == "sqlite" else "auto"


def upgrade() -> None:
    with op.batch_alter_table("sessions", recreate=_recreate()) as b:
        b.add_column(sa.Column("later", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sessions", recreate=_recreate()) as b:
        b.drop_column("later")
'''


@pytest.mark.parametrize("backend", BACKENDS)
def test_recreating_sessions_later_keeps_the_rows_that_reference_it(
        backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from sessions.service import Clinic
    from tests.clinic_support import make_world, screened

    with fresh_engine(backend, "later", tmp_path / "db") as eng:
        db.upgrade(eng)
        w = make_world(eng)
        sid = screened(Clinic(w.pat_a, eng)).save_session(neck_report(3), pain_before=0,
                                                         pain_after=5)
        migrations = tmp_path / "migrations"
        shutil.copytree(db.MIGRATIONS_DIR, migrations)
        (migrations / "versions" / "9999_later.py").write_text(_FUTURE, encoding="utf-8")
        monkeypatch.setattr(db, "MIGRATIONS_DIR", migrations)
        db.upgrade(eng)
        assert db.current_revision(eng) == "9999"
        d = Clinic(w.ther_a, eng).session(sid)   # reps, series and the flag survived
        assert len(d.reps_rows) == 3 and d.series
        assert [f.session_id for f in Clinic(w.ther_a, eng).flags()] == [sid]
        if backend == "sqlite":
            with eng.connect() as c:
                assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
